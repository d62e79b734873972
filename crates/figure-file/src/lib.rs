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
//!
//! [`write_sales_figures`] (and [`FigureWriter`], a row at a time) writes figures in this
//! format, so that reading them back gives the same figures (`autointel export`).

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

mod write;

pub use write::{FigureWriter, WriteError, write_sales_figures};

#[cfg(test)]
mod tests;
