//! Reads sales figures from CSV (the format of `data/seed/sales_figures.csv`) into wire
//! figures ready for `ImportSalesFigures`.
//!
//! Columns, by header name: `organization` (bare id, empty for the whole market), `basis`,
//! `flow`, `market`, `scope`, `powertrain` (the domain's tokens), `period` (`YYYY-MM..YYYY-MM`
//! or `YYYY-MM`), `units` or `ten_thousand_units` (exactly one), `comparable_prior_units`
//! (optional), `source` (bare id), `stage`, `as_of_date` (`YYYY-MM-DD`), `note` (optional).
//! Every bad cell is reported with its 1-based line and its column.
//!
//! JSON import files (an array of objects keyed by the same column names) are turned into
//! CSV text by [`json_to_csv`] so that both formats go through one parser.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use autointel_domain::{
    Date, Flow, Market, MeasureBasis, MonthRange, OrganizationId, Powertrain, ReleaseStage,
    SourceId, TEXT_MAX_CHARS, Units, ValueError, VehicleScope, optional_long_text,
};
use autointel_proto::convert::types::{date_to_wire, month_range_to_wire};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::stats::{SalesFigure, sales_figure};
use autointel_proto::types::SeriesKey;

/// One bad cell (or line) of a CSV file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedProblem {
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

impl fmt::Display for SeedProblem {
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
pub struct SeedError {
    /// The problems, in file order.
    pub problems: Vec<SeedProblem>,
}

/// The columns of an import file, in order.
pub const COLUMNS: [&str; 14] = [
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
];

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
pub fn read_sales_figures_file(path: &Path) -> Result<Vec<SalesFigure>, SeedError> {
    let file = std::fs::File::open(path).map_err(|e| SeedError {
        problems: vec![SeedProblem {
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

/// Reads figures from CSV text with a header line.
pub fn read_sales_figures(reader: impl Read) -> Result<Vec<SalesFigure>, SeedError> {
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
            return Err(SeedError {
                problems: vec![SeedProblem {
                    line: 1,
                    record: 0,
                    column: String::new(),
                    description: e.to_string(),
                }],
            });
        }
    };
    let mut index = [0usize; COLUMNS.len()];
    for (slot, name) in index.iter_mut().zip(COLUMNS) {
        match headers.iter().position(|h| h.trim() == name) {
            Some(i) => *slot = i,
            None => problems.push(SeedProblem {
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
            problems.push(SeedProblem {
                line: 1,
                record: 0,
                column: header.to_owned(),
                description: format!("unknown column (the columns are {})", COLUMNS.join(",")),
            });
        }
    }
    if !problems.is_empty() {
        return Err(SeedError { problems });
    }
    let mut figures = Vec::new();
    for record in csv.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(SeedProblem {
                    line: e.position().map_or(0, |p| p.line()),
                    record: e.position().map_or(0, |p| p.record()),
                    column: String::new(),
                    description: e.to_string(),
                });
                continue;
            }
        };
        let (line, number) = record.position().map_or((0, 0), |p| (p.line(), p.record()));
        let cells: Vec<&str> = index
            .iter()
            .map(|&i| record.get(i).unwrap_or("").trim())
            .collect();
        let mut row = RowReader {
            line,
            record: number,
            problems: &mut problems,
        };
        if let Some(figure) = row.figure(&cells) {
            figures.push(figure);
        }
    }
    let quotes = csv.into_inner();
    if quotes.open {
        problems.push(SeedProblem {
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
        Ok(figures)
    } else {
        Err(SeedError { problems })
    }
}

struct RowReader<'a> {
    line: u64,
    record: u64,
    problems: &'a mut Vec<SeedProblem>,
}

impl RowReader<'_> {
    fn check<T>(&mut self, column: &str, r: Result<T, ValueError>) -> Option<T> {
        match r {
            Ok(t) => Some(t),
            Err(e) => {
                self.problems.push(SeedProblem {
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

    fn figure(&mut self, cells: &[&str]) -> Option<SalesFigure> {
        let cell = |column: usize| cells.get(column).copied().unwrap_or("");
        let organization = match cell(0) {
            "" => Some(String::new()),
            id => self
                .check(COLUMNS[0], OrganizationId::parse(id))
                .map(|o| o.resource_name()),
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
                        .map_err(|e| ValueError(format!("{units:?} is not a whole number: {e}")))
                        .and_then(Units::new),
                )
                .map(|u| sales_figure::Quantity::Units(u.to_i64())),
            ("", tens) => self
                .check(COLUMNS[8], Units::from_ten_thousands(tens))
                .map(|_| sales_figure::Quantity::TenThousandUnits(tens.to_owned())),
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
                        .map_err(|e| ValueError(format!("{text:?} is not a whole number: {e}")))
                        .and_then(Units::new),
                )
                .map(|u| Some(u.to_i64())),
        };
        let source = self
            .check(COLUMNS[10], SourceId::parse(cell(10)))
            .map(|s| s.resource_name());
        let stage = self.token::<ReleaseStage>(COLUMNS[11], cell(11));
        let as_of = self.token::<Date>(COLUMNS[12], cell(12));
        // The service checks the note too; check it here so the problem has its line.
        let note = self
            .check(COLUMNS[13], optional_long_text(cell(13), TEXT_MAX_CHARS))
            .map(|_| cell(13).to_owned());
        Some(SalesFigure {
            series: Some(SeriesKey {
                organization: organization?,
                basis: basis?.to_wire(),
                flow: flow?.to_wire(),
                market: market?.as_str().to_owned(),
                scope: scope?.to_wire(),
                powertrain: powertrain?.to_wire(),
            }),
            period: Some(month_range_to_wire(period?)),
            quantity: Some(quantity?),
            comparable_prior_units: comparable?,
            source: source?,
            stage: stage?.to_wire(),
            as_of_date: Some(date_to_wire(as_of?)),
            note: note?,
            ..Default::default()
        })
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
}
