//! Parquet, written with the `parquet` crate's column writers (no Arrow), Snappy pages,
//! one row group per [`ROW_GROUP`] figures.
//!
//! # Schema (`autointel.sales_figure.v1`, in the file's key-value metadata)
//!
//! | column | type | |
//! |---|---|---|
//! | `name` | STRING | `salesFigures/{id}`, assigned by the service |
//! | `organization` | STRING, null for the whole market | bare id (`nissan-china`) |
//! | `basis`, `flow`, `market`, `scope`, `powertrain` | STRING | the series key, in the tokens of the CLI and CSV (`company_reported`, `CN`) |
//! | `destination` | STRING, null when none | an export's destination market |
//! | `nature` | STRING | `actual` or `forecast` |
//! | `period_start` | DATE | first day of the period's first month |
//! | `period_end` | DATE | last day of its last month (periods are inclusive month ranges) |
//! | `units` | INT64 | whole vehicles |
//! | `comparable_prior_units` | INT64, null when not stated | |
//! | `source` | STRING | bare source id |
//! | `stage` | STRING | release stage (`estimate` … `final`) |
//! | `as_of_date` | DATE | |
//! | `supersedes`, `superseded_by` | STRING, null when none | resource names of the neighbouring revisions of the same source |
//! | `note` | STRING, null when none | |
//! | `create_time` | TIMESTAMP (µs, UTC) | when the figure was imported |

use std::fs::File;
use std::sync::Arc;

use anyhow::Context;
use autointel_domain::{Date, SalesFigure, SalesFigureId, YearMonth};
use autointel_proto::convert::ResourceId;
use autointel_proto::convert::stats::sales_figure_from_wire;
use autointel_proto::stats as wire;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use super::Sink;

/// The schema's name in the file's key-value metadata (`autointel.schema`).
pub(crate) const SCHEMA_NAME: &str = "autointel.sales_figure.v1";

/// The schema, in Parquet's message syntax.
pub(crate) const SCHEMA: &str = "
message sales_figure {
  REQUIRED BYTE_ARRAY name (STRING);
  OPTIONAL BYTE_ARRAY organization (STRING);
  REQUIRED BYTE_ARRAY basis (STRING);
  REQUIRED BYTE_ARRAY flow (STRING);
  REQUIRED BYTE_ARRAY market (STRING);
  REQUIRED BYTE_ARRAY scope (STRING);
  REQUIRED BYTE_ARRAY powertrain (STRING);
  OPTIONAL BYTE_ARRAY destination (STRING);
  REQUIRED BYTE_ARRAY nature (STRING);
  REQUIRED INT32 period_start (DATE);
  REQUIRED INT32 period_end (DATE);
  REQUIRED INT64 units;
  OPTIONAL INT64 comparable_prior_units;
  REQUIRED BYTE_ARRAY source (STRING);
  REQUIRED BYTE_ARRAY stage (STRING);
  REQUIRED INT32 as_of_date (DATE);
  OPTIONAL BYTE_ARRAY supersedes (STRING);
  OPTIONAL BYTE_ARRAY superseded_by (STRING);
  OPTIONAL BYTE_ARRAY note (STRING);
  REQUIRED INT64 create_time (TIMESTAMP(MICROS,true));
}
";

/// Figures buffered per row group.
const ROW_GROUP: usize = 128 * 1024;

/// A column's values for one row group; `None` is null.
enum Column {
    Text(Vec<Option<ByteArray>>),
    Date(Vec<i32>),
    Int(Vec<Option<i64>>),
}

/// Figures as Parquet rows, a row group at a time.
pub(super) struct ParquetSink {
    writer: SerializedFileWriter<File>,
    columns: Vec<Column>,
    buffered: usize,
}

impl ParquetSink {
    pub(super) fn new(file: File) -> anyhow::Result<Self> {
        let schema = Arc::new(parse_message_type(SCHEMA).context("the Parquet schema")?);
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("autointel {}", autointel_server::version()))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                "autointel.schema".to_owned(),
                SCHEMA_NAME.to_owned(),
            )]))
            .build();
        let writer = SerializedFileWriter::new(file, schema, Arc::new(properties))?;
        Ok(Self {
            writer,
            columns: empty_columns(),
            buffered: 0,
        })
    }

    /// Writes the buffered figures as one row group.
    fn flush_row_group(&mut self) -> anyhow::Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        let columns = std::mem::replace(&mut self.columns, empty_columns());
        let mut group = self.writer.next_row_group()?;
        let mut values = columns.into_iter();
        while let Some(mut column) = group.next_column()? {
            match values.next().context("fewer columns than the schema")? {
                Column::Text(v) => {
                    let levels: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
                    let present: Vec<ByteArray> = v.into_iter().flatten().collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&present, Some(&levels), None)?;
                }
                Column::Date(v) => {
                    column.typed::<Int32Type>().write_batch(&v, None, None)?;
                }
                Column::Int(v) => {
                    let levels: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
                    let present: Vec<i64> = v.into_iter().flatten().collect();
                    column
                        .typed::<Int64Type>()
                        .write_batch(&present, Some(&levels), None)?;
                }
            }
            column.close()?;
        }
        group.close()?;
        self.buffered = 0;
        Ok(())
    }

    /// Appends one figure to the buffered columns.
    fn push(&mut self, w: &wire::SalesFigure) -> anyhow::Result<()> {
        let id = SalesFigureId::from_resource_name(&w.name)
            .map_err(|e| anyhow::anyhow!("figure name {:?}: {}", w.name, e.0))?;
        let f: SalesFigure =
            sales_figure_from_wire(id, w).map_err(|e| anyhow::anyhow!("figure {}: {e}", w.name))?;
        let text = |s: &str| Some(ByteArray::from(s));
        let optional = |s: &str| (!s.is_empty()).then(|| ByteArray::from(s));
        let create_time = w
            .create_time
            .map_or(0, |t| t.seconds * 1_000_000 + i64::from(t.nanos / 1_000));
        let cells = [
            Cell::Text(text(&w.name)),
            Cell::Text(f.key.organization.as_ref().and_then(|o| text(o.as_str()))),
            Cell::Text(text(f.key.basis.as_str())),
            Cell::Text(text(f.key.flow.as_str())),
            Cell::Text(text(f.key.market.as_str())),
            Cell::Text(text(f.key.scope.as_str())),
            Cell::Text(text(f.key.powertrain.as_str())),
            Cell::Text(f.key.destination.as_ref().and_then(|d| text(d.as_str()))),
            Cell::Text(text(f.nature.as_str())),
            Cell::Date(first_day(f.period.start())),
            Cell::Date(last_day(f.period.end())),
            Cell::Int(Some(f.units.to_i64())),
            Cell::Int(f.comparable_prior.map(|u| u.to_i64())),
            Cell::Text(text(f.provenance.source.as_str())),
            Cell::Text(text(f.provenance.stage.as_str())),
            Cell::Date(f.provenance.as_of.days_since_epoch()),
            Cell::Text(optional(&w.supersedes)),
            Cell::Text(optional(&w.superseded_by)),
            Cell::Text(f.note.as_deref().and_then(text)),
            Cell::Int(Some(create_time)),
        ];
        for (column, cell) in self.columns.iter_mut().zip(cells) {
            match (column, cell) {
                (Column::Text(v), Cell::Text(x)) => v.push(x),
                (Column::Date(v), Cell::Date(x)) => v.push(x),
                (Column::Int(v), Cell::Int(x)) => v.push(x),
                _ => anyhow::bail!("a cell does not match its column's type"),
            }
        }
        self.buffered += 1;
        Ok(())
    }
}

/// One value of a row, as its column holds it.
enum Cell {
    Text(Option<ByteArray>),
    Date(i32),
    Int(Option<i64>),
}

/// Empty columns in schema order.
fn empty_columns() -> Vec<Column> {
    use Column::{Date, Int, Text};
    vec![
        Text(Vec::new()), // name
        Text(Vec::new()), // organization
        Text(Vec::new()), // basis
        Text(Vec::new()), // flow
        Text(Vec::new()), // market
        Text(Vec::new()), // scope
        Text(Vec::new()), // powertrain
        Text(Vec::new()), // destination
        Text(Vec::new()), // nature
        Date(Vec::new()), // period_start
        Date(Vec::new()), // period_end
        Int(Vec::new()),  // units
        Int(Vec::new()),  // comparable_prior_units
        Text(Vec::new()), // source
        Text(Vec::new()), // stage
        Date(Vec::new()), // as_of_date
        Text(Vec::new()), // supersedes
        Text(Vec::new()), // superseded_by
        Text(Vec::new()), // note
        Int(Vec::new()),  // create_time
    ]
}

/// Days since 1970-01-01 of the first day of a month.
fn first_day(m: YearMonth) -> i32 {
    Date::first_of(m).days_since_epoch()
}

/// Days since 1970-01-01 of the last day of a month.
fn last_day(m: YearMonth) -> i32 {
    Date::last_of(m).days_since_epoch()
}

impl Sink for ParquetSink {
    fn write(&mut self, figures: &[wire::SalesFigure]) -> anyhow::Result<()> {
        for figure in figures {
            self.push(figure)?;
            if self.buffered >= ROW_GROUP {
                self.flush_row_group()?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        self.flush_row_group()?;
        let file = self.writer.into_inner()?;
        file.sync_all()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
