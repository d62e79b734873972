//! Parquet: the Flight figures stream's record batches written by the `parquet` crate's
//! Arrow writer, Snappy pages, row groups of [`ROW_GROUP`] figures.
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

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::Sink;

/// The schema's name in the file's key-value metadata (`autointel.schema`).
pub(crate) const SCHEMA_NAME: &str = "autointel.sales_figure.v1";

/// Figures per row group.
const ROW_GROUP: usize = 128 * 1024;

/// Figures as Parquet rows; the writer is made with the first batch's schema, named
/// [`SCHEMA_NAME`] in its metadata too (readers such as pyarrow show the Arrow schema's
/// metadata, not the file's key-value pairs).
pub(super) struct ParquetSink {
    file: Option<File>,
    writer: Option<(ArrowWriter<File>, SchemaRef)>,
}

/// `schema` with `autointel.schema` in its metadata.
fn named(schema: &Schema) -> SchemaRef {
    let mut metadata = schema.metadata().clone();
    metadata.insert("autointel.schema".to_owned(), SCHEMA_NAME.to_owned());
    Arc::new(Schema::new_with_metadata(schema.fields().clone(), metadata))
}

impl ParquetSink {
    pub(super) fn new(file: File) -> anyhow::Result<Self> {
        Ok(Self {
            file: Some(file),
            writer: None,
        })
    }

    fn properties() -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .set_created_by(format!("autointel {}", autointel_server::version()))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                "autointel.schema".to_owned(),
                SCHEMA_NAME.to_owned(),
            )]))
            .build()
    }
}

impl Sink for ParquetSink {
    fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        if self.writer.is_none()
            && let Some(file) = self.file.take()
        {
            let schema = named(&batch.schema());
            let writer = ArrowWriter::try_new(file, schema.clone(), Some(Self::properties()))?;
            self.writer = Some((writer, schema));
        }
        match &mut self.writer {
            Some((writer, schema)) => {
                Ok(writer.write(&batch.clone().with_schema(schema.clone())?)?)
            }
            None => anyhow::bail!("the Parquet writer is gone"),
        }
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        if let Some(file) = self.file.take() {
            // No figure: a file with the figures schema and no rows.
            let schema = named(&autointel_stats::service::figure_schema());
            let writer = ArrowWriter::try_new(file, schema.clone(), Some(Self::properties()))?;
            self.writer = Some((writer, schema));
        }
        if let Some((writer, _)) = self.writer.take() {
            let file = writer.into_inner()?;
            file.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
