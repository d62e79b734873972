//! The sales-figure file format, shared by the CLI (`autointel import`), the stats seed,
//! the benchmarks and the fuzz targets: reads sales figures from CSV (the format of
//! `data/seed/sales_figures.csv`) into wire figures ready for `ImportSalesFigures`, each
//! with the line it came from, or straight into validated domain figures.
//!
//! Columns, by header name: `organization` (bare id, empty for the whole market), `basis`,
//! `flow`, `market`, `scope`, `powertrain` (the domain's tokens), `period` (`YYYY-MM..YYYY-MM`
//! or `YYYY-MM`), `units` or `ten_thousand_units` (exactly one), `comparable_prior_units`
//! (optional), `source` (bare id), `stage`, `as_of_date` (`YYYY-MM-DD`), `note` (optional),
//! and two optional columns a file may leave out altogether: `nature` (`actual`, the
//! default when empty or absent, or `forecast`) and `destination` (an export's destination
//! market, same code rules as `market`; empty for none, and only for flow `export`).
//! Every bad cell is reported with its 1-based line and its column.
//!
//! JSON import files (an array of objects keyed by the same column names) are turned into
//! CSV text by [`json_to_csv`] so that both formats go through one parser.

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use autointel_domain::{
    Date, FigureNature, Flow, Market, MeasureBasis, MonthRange, OrganizationId, Powertrain,
    Provenance, ReleaseStage, SalesFigureId, SeriesKey as DomainSeriesKey, SourceId,
    TEXT_MAX_CHARS, Units, ValueError, VehicleScope, optional_long_text,
};
use autointel_proto::convert::types::{date_to_wire, month_range_to_wire};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::stats::{SalesFigure, sales_figure};
use autointel_proto::types::SeriesKey;

/// One bad cell (or line) of a CSV file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number (the header is line 1).
    pub line: u64,
    /// 1-based number of the data record (0 for the header or the whole file). It differs
    /// from `line - 1` once a quoted cell spans lines; a JSON file's record `n` is CSV
    /// record `n`.
    pub record: u64,
    /// Column name; empty when the whole line is at fault.
    pub column: String,
    /// What is wrong.
    pub description: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "line {}: {}", self.line, self.description)
        } else {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.description
            )
        }
    }
}

/// Every problem found in a CSV file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct Error {
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

/// The columns of an import file, in order; the [`OPTIONAL_COLUMNS`] may be absent.
pub const COLUMNS: [&str; 16] = [
    "organization",
    "basis",
    "flow",
    "market",
    "scope",
    "powertrain",
    "period",
    "units",
    "ten_thousand_units",
    "comparable_prior_units",
    "source",
    "stage",
    "as_of_date",
    "note",
    "nature",
    "destination",
];

/// Columns a file may leave out (added after the format's first release; a file without
/// them imports exactly as before: actuals without a destination).
pub const OPTIONAL_COLUMNS: [&str; 2] = ["nature", "destination"];

/// Why a JSON import file cannot be turned into CSV rows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The content is not a JSON array of objects.
    #[error("not a JSON array of objects (line {line}, column {column}): {message}")]
    NotAnArray {
        /// 1-based line of the JSON syntax or type error.
        line: usize,
        /// 1-based column of the JSON syntax or type error.
        column: usize,
        /// The JSON parser's message.
        message: String,
    },
    /// Records have fields that are not import columns: (1-based record number, field name).
    #[error("unknown fields: {}", .0.iter().map(|(i, k)| format!("record {i}: {k:?}")).collect::<Vec<_>>().join("; "))]
    UnknownFields(Vec<(usize, String)>),
    /// Writing the CSV text failed.
    #[error("{0}")]
    Write(String),
}

/// Turns a JSON array of objects into CSV text with the import [`COLUMNS`], so both formats
/// go through [`read_sales_figures`]. Record `i` (from 1) becomes line `i + 1`; `null` and
/// absent fields are empty cells, strings are taken as they are, other values as JSON text.
pub fn json_to_csv(content: &[u8]) -> Result<Vec<u8>, JsonError> {
    let records: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(content)
        .map_err(|e| JsonError::NotAnArray {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
    let mut unknown = Vec::new();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write = |e: csv::Error| JsonError::Write(e.to_string());
    writer.write_record(COLUMNS).map_err(write)?;
    for (i, record) in records.iter().enumerate() {
        for key in record.keys() {
            if !COLUMNS.contains(&key.as_str()) {
                unknown.push((i + 1, key.clone()));
            }
        }
        let row = COLUMNS.iter().map(|c| match record.get(*c) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        });
        writer.write_record(row).map_err(write)?;
    }
    if !unknown.is_empty() {
        return Err(JsonError::UnknownFields(unknown));
    }
    writer
        .into_inner()
        .map_err(|e| JsonError::Write(e.to_string()))
}

/// Reads the figures of a CSV file.
pub fn read_sales_figures_file(path: &Path) -> Result<Vec<SalesFigure>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error {
        problems: vec![Problem {
            line: 0,
            record: 0,
            column: String::new(),
            description: format!("cannot open {}: {e}", path.display()),
        }],
    })?;
    read_sales_figures(file)
}

/// Follows the `"` of the input as the CSV reader consumes it. A quoted cell that is never
/// closed makes the csv crate read the rest of the file into that cell, silently
/// swallowing every later row; an odd number of quotes at the end reveals it.
#[derive(Debug)]
struct QuoteTracker<R> {
    inner: R,
    /// 1-based line of the byte being read.
    line: u64,
    /// Whether an odd number of quotes was read so far.
    open: bool,
    /// The line of the quote that left it open.
    opened_on: u64,
}

impl<R: Read> Read for QuoteTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in buf.get(..n).unwrap_or_default() {
            match b {
                b'"' => {
                    self.open = !self.open;
                    if self.open {
                        self.opened_on = self.line;
                    }
                }
                b'\n' => self.line += 1,
                _ => {}
            }
        }
        Ok(n)
    }
}

/// A figure of a file and where it is: the file's own line and record numbers, so a
/// service's answer about `figures[i]` can name the line an editor shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    /// 1-based line the record starts on (the header is line 1).
    pub line: u64,
    /// 1-based data record number (a JSON file's record `n` is record `n`).
    pub record: u64,
    /// The figure, ready for `ImportSalesFigures`.
    pub figure: SalesFigure,
}

/// Reads figures from CSV text with a header line.
pub fn read_sales_figures(reader: impl Read) -> Result<Vec<SalesFigure>, Error> {
    Ok(read_located_figures(reader)?
        .into_iter()
        .map(|l| l.figure)
        .collect())
}

/// Reads figures from CSV text with a header line, each with its place in the file (one
/// parse).
pub fn read_located_figures(reader: impl Read) -> Result<Vec<Located>, Error> {
    let mut figures = Vec::new();
    read_rows(reader, |row, cells| {
        if let Some(parsed) = row.row(cells) {
            figures.push(Located {
                line: row.line,
                record: row.record,
                figure: parsed.into_wire(),
            });
        }
    })?;
    Ok(figures)
}

/// Reads figures from CSV text with a header line straight into domain values, each under
/// the next id of `ids`: the figures (and problems) that [`read_sales_figures`] followed by
/// the service's wire → domain conversion give, with every cell parsed once.
pub fn read_domain_figures(
    reader: impl Read,
    mut ids: impl FnMut() -> Result<SalesFigureId, ValueError>,
) -> Result<Vec<autointel_domain::SalesFigure>, Error> {
    let mut figures = Vec::new();
    read_rows(reader, |row, cells| {
        let Some(parsed) = row.row(cells) else {
            return;
        };
        let Some(id) = row.check("", ids()) else {
            return;
        };
        let figure = parsed.into_domain(id);
        match figure.validate() {
            Ok(()) => figures.push(figure),
            Err(e) => {
                for violation in e.into_violations() {
                    row.check::<()>(&violation.field, Err(ValueError(violation.description)));
                }
            }
        }
    })?;
    Ok(figures)
}

/// Reads the header and every record of CSV text, handing each record's cells (in
/// [`COLUMNS`] order, trimmed) to `each` with a [`RowReader`] that records problems at the
/// record's line. Fails with every problem found.
fn read_rows(
    reader: impl Read,
    mut each: impl FnMut(&mut RowReader<'_>, &[&str; COLUMNS.len()]),
) -> Result<(), Error> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(QuoteTracker {
            inner: reader,
            line: 1,
            open: false,
            opened_on: 0,
        });
    let mut problems = Vec::new();
    let headers = match csv.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(Error {
                problems: vec![Problem {
                    line: 1,
                    record: 0,
                    column: String::new(),
                    description: e.to_string(),
                }],
            });
        }
    };
    let mut index = [None; COLUMNS.len()];
    for (slot, name) in index.iter_mut().zip(COLUMNS) {
        match headers.iter().position(|h| h.trim() == name) {
            Some(i) => *slot = Some(i),
            None if OPTIONAL_COLUMNS.contains(&name) => {}
            None => problems.push(Problem {
                line: 1,
                record: 0,
                column: name.to_owned(),
                description: "missing column".to_owned(),
            }),
        }
    }
    // A misspelt optional column (`notes`) would otherwise be dropped without a word.
    for header in headers.iter().map(str::trim) {
        if !COLUMNS.contains(&header) {
            problems.push(Problem {
                line: 1,
                record: 0,
                column: header.to_owned(),
                description: format!("unknown column (the columns are {})", COLUMNS.join(",")),
            });
        }
    }
    if !problems.is_empty() {
        return Err(Error { problems });
    }
    // One record buffer for the whole file.
    let mut record = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                problems.push(Problem {
                    line: e.position().map_or(0, |p| p.line()),
                    record: e.position().map_or(0, |p| p.record()),
                    column: String::new(),
                    description: e.to_string(),
                });
                continue;
            }
        }
        let (line, number) = record.position().map_or((0, 0), |p| (p.line(), p.record()));
        let cells = index.map(|i| trim(i.and_then(|i| record.get(i)).unwrap_or("")));
        let mut row = RowReader {
            line,
            record: number,
            problems: &mut problems,
        };
        each(&mut row, &cells);
    }
    let quotes = csv.into_inner();
    if quotes.open {
        problems.push(Problem {
            line: quotes.opened_on,
            record: 0,
            column: String::new(),
            description: "unbalanced quotes: a quoted cell starting on this line is never closed, \
                          so every later line would have been read into it"
                .to_owned(),
        });
        problems.sort_by_key(|p| p.line);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error { problems })
    }
}

/// `str::trim`, without decoding characters when the cell starts and ends with a printable
/// ASCII character (as nearly every cell does).
fn trim(cell: &str) -> &str {
    let plain = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii_graphic());
    let bytes = cell.as_bytes();
    if plain(bytes.first()) && plain(bytes.last()) {
        cell
    } else {
        cell.trim()
    }
}

struct RowReader<'a> {
    line: u64,
    record: u64,
    problems: &'a mut Vec<Problem>,
}

impl RowReader<'_> {
    fn check<T>(&mut self, column: &str, r: Result<T, ValueError>) -> Option<T> {
        match r {
            Ok(t) => Some(t),
            Err(e) => {
                self.problems.push(Problem {
                    line: self.line,
                    record: self.record,
                    column: column.to_owned(),
                    description: e.0,
                });
                None
            }
        }
    }

    fn token<T: FromStr<Err = ValueError>>(&mut self, column: &str, value: &str) -> Option<T> {
        self.check(column, value.parse())
    }

    /// Parses one record's cells, recording every bad cell.
    fn row<'c>(&mut self, cells: &[&'c str; COLUMNS.len()]) -> Option<Row<'c>> {
        let cell = |column: usize| cells.get(column).copied().unwrap_or("");
        let organization = match cell(0) {
            "" => Some(None),
            id => self.check(COLUMNS[0], OrganizationId::parse(id)).map(Some),
        };
        let basis = self.token::<MeasureBasis>(COLUMNS[1], cell(1));
        let flow = self.token::<Flow>(COLUMNS[2], cell(2));
        let market = self.check(COLUMNS[3], Market::parse(cell(3)));
        let scope = self.token::<VehicleScope>(COLUMNS[4], cell(4));
        let powertrain = self.token::<Powertrain>(COLUMNS[5], cell(5));
        let period = self.token::<MonthRange>(COLUMNS[6], cell(6));
        let quantity = match (cell(7), cell(8)) {
            ("", "") => self.check(
                COLUMNS[7],
                Err(ValueError::new("set units or ten_thousand_units")),
            ),
            (units, "") => self
                .check(
                    COLUMNS[7],
                    units
                        .parse::<i64>()
                        .map_err(|e| {
                            ValueError(format!(
                                "{} is not a whole number: {e}",
                                autointel_domain::Shown(units)
                            ))
                        })
                        .and_then(Units::new),
                )
                .map(|u| (u, None)),
            ("", tens) => self
                .check(COLUMNS[8], Units::from_ten_thousands(tens))
                .map(|u| (u, Some(tens))),
            (_, _) => self.check(
                COLUMNS[8],
                Err(ValueError::new(
                    "set only one of units and ten_thousand_units",
                )),
            ),
        };
        let comparable = match cell(9) {
            "" => Some(None),
            text => self
                .check(
                    COLUMNS[9],
                    text.parse::<i64>()
                        .map_err(|e| {
                            ValueError(format!(
                                "{} is not a whole number: {e}",
                                autointel_domain::Shown(text)
                            ))
                        })
                        .and_then(Units::new),
                )
                .map(Some),
        };
        let source = self.check(COLUMNS[10], SourceId::parse(cell(10)));
        let stage = self.token::<ReleaseStage>(COLUMNS[11], cell(11));
        let as_of = self.token::<Date>(COLUMNS[12], cell(12));
        // The service checks the note too; check it here so the problem has its line.
        let note = self.check(COLUMNS[13], optional_long_text(cell(13), TEXT_MAX_CHARS));
        let nature = match cell(14) {
            "" => Some(FigureNature::Actual),
            token => self.token::<FigureNature>(COLUMNS[14], token),
        };
        let destination = match cell(15) {
            "" => Some(None),
            code => self.check(COLUMNS[15], Market::parse(code)).map(Some),
        };
        if let (Some(Some(_)), Some(flow)) = (&destination, flow)
            && flow != Flow::Export
        {
            self.check::<()>(
                COLUMNS[15],
                Err(ValueError(format!(
                    "only flow export may name a destination (flow is {flow})"
                ))),
            );
            return None;
        }
        let (units, ten_thousands) = quantity?;
        Some(Row {
            key: DomainSeriesKey {
                organization: organization?,
                basis: basis?,
                flow: flow?,
                market: market?,
                scope: scope?,
                powertrain: powertrain?,
                destination: destination?,
            },
            nature: nature?,
            period: period?,
            units,
            ten_thousands,
            comparable: comparable?,
            source: source?,
            stage: stage?,
            as_of: as_of?,
            note_cell: cell(13),
            note: note?,
        })
    }
}

/// One record's cells as domain values, each parsed once.
struct Row<'c> {
    key: DomainSeriesKey,
    nature: FigureNature,
    period: MonthRange,
    units: Units,
    /// The `ten_thousand_units` cell, when the quantity was given that way.
    ten_thousands: Option<&'c str>,
    comparable: Option<Units>,
    source: SourceId,
    stage: ReleaseStage,
    as_of: Date,
    /// The note cell as written (the wire carries it unchanged).
    note_cell: &'c str,
    note: Option<String>,
}

impl Row<'_> {
    /// The wire figure `ImportSalesFigures` takes.
    fn into_wire(self) -> SalesFigure {
        let quantity = match self.ten_thousands {
            Some(tens) => sales_figure::Quantity::TenThousandUnits(tens.to_owned()),
            None => sales_figure::Quantity::Units(self.units.to_i64()),
        };
        SalesFigure {
            series: Some(SeriesKey {
                organization: self
                    .key
                    .organization
                    .as_ref()
                    .map(ResourceId::resource_name)
                    .unwrap_or_default(),
                basis: self.key.basis.to_wire(),
                flow: self.key.flow.to_wire(),
                market: self.key.market.as_str().to_owned(),
                scope: self.key.scope.to_wire(),
                powertrain: self.key.powertrain.to_wire(),
                destination: self
                    .key
                    .destination
                    .as_ref()
                    .map(|d| d.as_str().to_owned())
                    .unwrap_or_default(),
            }),
            // An actual stays proto3's zero, so a file without the new columns sends the
            // bytes it always did (its idempotency digest is unchanged).
            nature: match self.nature {
                FigureNature::Actual => 0,
                forecast => forecast.to_wire(),
            },
            period: Some(month_range_to_wire(self.period)),
            quantity: Some(quantity),
            comparable_prior_units: self.comparable.map(Units::to_i64),
            source: self.source.resource_name(),
            stage: self.stage.to_wire(),
            as_of_date: Some(date_to_wire(self.as_of)),
            note: self.note_cell.to_owned(),
            ..Default::default()
        }
    }

    /// The domain figure the service makes of [`Row::into_wire`]'s figure, under `id`.
    fn into_domain(self, id: SalesFigureId) -> autointel_domain::SalesFigure {
        autointel_domain::SalesFigure {
            id,
            key: self.key,
            period: self.period,
            units: self.units,
            nature: self.nature,
            comparable_prior: self.comparable,
            provenance: Provenance {
                source: self.source,
                stage: self.stage,
                as_of: self.as_of,
                supersedes: None,
            },
            note: self.note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note\n";

    #[test]
    fn reads_the_seed_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/seed/sales_figures.csv");
        let figures = read_sales_figures_file(&path).unwrap();
        assert_eq!(figures.len(), 2);
        assert_eq!(
            figures[0].series.as_ref().unwrap().organization,
            "organizations/nissan-china"
        );
        assert_eq!(
            figures[0].quantity,
            Some(sales_figure::Quantity::Units(694_900))
        );
        assert_eq!(
            figures[0].source,
            "sources/article-nissan-china-exports-2023"
        );
    }

    #[test]
    fn reads_ten_thousands_and_single_months() {
        let text = format!(
            "{HEADER},retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,\n"
        );
        let figures = read_sales_figures(text.as_bytes()).unwrap();
        assert_eq!(
            figures[0].quantity,
            Some(sales_figure::Quantity::TenThousandUnits("76.7".to_owned()))
        );
        assert_eq!(figures[0].series.as_ref().unwrap().organization, "");
    }

    #[test]
    fn a_cell_spanning_lines_does_not_shift_later_record_numbers() {
        // Found by the import_json fuzz target: a JSON note with a newline becomes a quoted
        // multi-line CSV cell, and later records were numbered from their line.
        let text = format!(
            "{HEADER},retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,\"two\nlines\"\n\
             ,retail,domestic,CN,passenger,nev,2023-10,x,,,cpca,final,2023-11-09,\n"
        );
        let err = read_sales_figures(text.as_bytes()).unwrap_err();
        let located: Vec<_> = err
            .problems
            .iter()
            .map(|p| (p.line, p.record, p.column.as_str()))
            .collect();
        assert_eq!(located, vec![(4, 2, "units")]);
    }

    #[test]
    fn an_unknown_column_is_reported_not_ignored() {
        let text = format!(
            "{}notes\n,retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,,x\n",
            HEADER.trim_end_matches('\n').to_owned() + ","
        );
        let err = read_sales_figures(text.as_bytes()).unwrap_err();
        let located: Vec<_> = err
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect();
        assert_eq!(located, vec![(1, "notes")]);
    }

    #[test]
    fn an_unclosed_quote_is_reported_instead_of_swallowing_later_rows() {
        // The csv crate reads an unclosed quoted cell to the end of the file: without the
        // check, the rows after line 2 vanished into its note and the import succeeded.
        let row = ",retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,";
        let text = format!("{HEADER}{row}\"unclosed note\n{row}\n{row}\n");
        let err = read_sales_figures(text.as_bytes()).unwrap_err();
        let located: Vec<_> = err.problems.iter().map(|p| p.line).collect();
        assert_eq!(located, vec![2], "{err}");
        assert!(err.problems[0].description.contains("never closed"));
        // Quotes that are closed, and doubled quotes inside them, are fine.
        let fine = format!("{HEADER}{row}\"a \"\"quoted\"\" note\nover two lines\"\n{row}\n");
        assert_eq!(read_sales_figures(fine.as_bytes()).unwrap().len(), 2);
    }

    #[test]
    fn a_note_the_service_would_reject_is_reported_with_its_line() {
        // Found by the import_csv fuzz target (fuzz/regressions/import_csv/): a control
        // character in the note passed the local check and was rejected by the service.
        let text = format!(
            "{HEADER},retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,a\u{6}b\n"
        );
        let err = read_sales_figures(text.as_bytes()).unwrap_err();
        let located: Vec<_> = err
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect();
        assert_eq!(located, vec![(2, "note")]);
    }

    #[test]
    fn json_records_become_csv_records_in_order() {
        let json = br#"[{"organization": "nissan-china", "units": 5, "note": "a\nb"}, {}]"#;
        let csv = json_to_csv(json).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][0], "nissan-china");
        assert_eq!(&rows[0][7], "5");
        assert_eq!(&rows[0][13], "a\nb");
        assert!(rows[1].iter().all(str::is_empty));
        assert_eq!(
            json_to_csv(br#"[{"colour": 1}]"#),
            Err(JsonError::UnknownFields(vec![(1, "colour".to_owned())]))
        );
        assert!(matches!(
            json_to_csv(b"{}"),
            Err(JsonError::NotAnArray { line: 1, .. })
        ));
    }

    /// The figures of the wire path: the seed reader, then the service's conversion.
    fn through_wire(text: &str) -> Result<Vec<autointel_domain::SalesFigure>, Error> {
        let wire = read_sales_figures(text.as_bytes())?;
        Ok(wire
            .iter()
            .enumerate()
            .map(|(i, w)| {
                autointel_proto::convert::stats::sales_figure_from_wire(test_id(i), w).unwrap()
            })
            .collect())
    }

    fn test_id(i: usize) -> SalesFigureId {
        SalesFigureId::parse(&format!("f{i}")).unwrap()
    }

    fn direct(text: &str) -> Result<Vec<autointel_domain::SalesFigure>, Error> {
        let mut i = 0;
        read_domain_figures(text.as_bytes(), || {
            i += 1;
            Ok(test_id(i - 1))
        })
    }

    #[test]
    fn domain_figures_are_the_wire_paths_figures() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/seed/sales_figures.csv");
        let seed = std::fs::read_to_string(path).unwrap();
        let rows = [
            ",retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,",
            " nissan-china ,company_reported,total,CN,all,all, 2023-01..2023-11 ,694900,,12, article ,preliminary,2023-12-17,  a note  ",
            "nissan-china,wholesale,export,EU,light_commercial,bev,2020-01..2020-03,0,,0,a-b,restated,2020-04-01,\"quoted, \"\"note\"\"\"",
            ",production,total,GLOBAL,commercial,ice,1900-01,,0.0001,,x,estimate,2999-12-31,\u{a0}",
        ];
        for text in [seed, format!("{HEADER}{}\n", rows.join("\n"))] {
            let direct = direct(&text).unwrap();
            assert_eq!(direct, through_wire(&text).unwrap());
            assert!(!direct.is_empty());
        }
    }

    #[test]
    fn domain_figures_report_the_wire_paths_problems() {
        let text = format!(
            "{HEADER}nissan-china,company_reported,total,CN,all,all,2023-01..2023-11,694900,,,article,final,2023-12-17,\n\
             Nissan,sold,total,cn,all,all,2023-13,1,2,,article,final,2023-12-17,\n\
             ,retail,domestic,CN,passenger,nev,2023-10,x,,,cpca,final,2023-11-31,a\u{6}b\n\
             ,retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,\"open\n"
        );
        assert_eq!(direct(&text).unwrap_err(), through_wire(&text).unwrap_err());
        let no_id = read_domain_figures(
            format!(
                "{HEADER},retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,\n"
            )
            .as_bytes(),
            || Err(ValueError::new("no id")),
        )
        .unwrap_err();
        assert_eq!(no_id.problems.len(), 1);
        assert_eq!(no_id.problems[0].line, 2);
    }

    #[test]
    fn reports_every_bad_cell_with_line_and_column() {
        let text = format!(
            "{HEADER}nissan-china,company_reported,total,CN,all,all,2023-01..2023-11,694900,,,article,final,2023-12-17,\n\
             Nissan,sold,total,cn,all,all,2023-13,1,2,,article,final,2023-12-17,\n"
        );
        let err = read_sales_figures(text.as_bytes()).unwrap_err();
        let cells: Vec<_> = err
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect();
        assert_eq!(
            cells,
            vec![
                (3, "organization"),
                (3, "basis"),
                (3, "market"),
                (3, "period"),
                (3, "ten_thousand_units"),
            ]
        );
    }

    #[test]
    fn nature_and_destination_columns_are_optional_and_read_when_present() {
        const WITH: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note,nature,destination\n";
        let text = format!(
            "{WITH}nissan-china,wholesale,export,CN,passenger,all,2024-01,900,,,article,final,2024-02-10,,,DE\n\
             nissan-china,wholesale,export,CN,passenger,all,2024-01,1000,,,plan,final,2023-12-01,,forecast,\n\
             nissan-china,wholesale,export,CN,passenger,all,2024-01,1100,,,article,final,2024-02-10,,actual,\n"
        );
        let direct = direct(&text).unwrap();
        assert_eq!(direct, through_wire(&text).unwrap());
        let natures: Vec<_> = direct.iter().map(|f| f.nature).collect();
        assert_eq!(
            natures,
            [
                FigureNature::Actual,
                FigureNature::Forecast,
                FigureNature::Actual
            ]
        );
        assert_eq!(
            direct[0].key.destination.as_ref().map(Market::as_str),
            Some("DE")
        );
        assert_eq!(direct[1].key.destination, None);
        // an actual goes on the wire as proto3's zero, as before the column existed
        let wire = read_sales_figures(text.as_bytes()).unwrap();
        assert_eq!(wire[0].nature, 0);
        assert_eq!(wire[2].nature, 0);
        // a file without the columns reads exactly as before
        let old = format!(
            "{HEADER}nissan-china,wholesale,export,CN,passenger,all,2024-01,900,,,article,final,2024-02-10,\n"
        );
        let old = direct_of(&old);
        assert_eq!(old[0].nature, FigureNature::Actual);
        assert_eq!(old[0].key.destination, None);
        // JSON takes them too
        let json = br#"[{"organization":"nissan-china","basis":"wholesale","flow":"export","market":"CN","scope":"passenger","powertrain":"all","period":"2024-01","units":5,"source":"plan","stage":"final","as_of_date":"2023-12-01","nature":"forecast","destination":"DE"}]"#;
        let csv = json_to_csv(json).unwrap();
        let figures = direct_of(std::str::from_utf8(&csv).unwrap());
        assert_eq!(figures[0].nature, FigureNature::Forecast);
        assert_eq!(
            figures[0].key.destination.as_ref().map(Market::as_str),
            Some("DE")
        );
    }

    fn direct_of(text: &str) -> Vec<autointel_domain::SalesFigure> {
        direct(text).unwrap()
    }

    #[test]
    fn bad_nature_and_destination_cells_are_reported_with_line_and_column() {
        const WITH: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note,nature,destination\n";
        let text = format!(
            "{WITH}nissan-china,wholesale,export,CN,passenger,all,2024-01,900,,,article,final,2024-02-10,,plan,de\n\
             nissan-china,wholesale,domestic,CN,passenger,all,2024-01,900,,,article,final,2024-02-10,,,DE\n"
        );
        let err = read_sales_figures(text.as_bytes()).unwrap_err();
        let cells: Vec<_> = err
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect();
        assert_eq!(
            cells,
            vec![(2, "nature"), (2, "destination"), (3, "destination")]
        );
        assert!(err.problems[2].description.contains("only flow export"));
        assert_eq!(direct(&text).unwrap_err(), err);
    }
}
