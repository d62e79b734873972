//! CSV in the import format, through the figure-file crate's writer.

use std::io::Write;

use autointel_figure_file::FigureWriter;

use arrow_array::RecordBatch;

use super::Sink;

/// Figures as rows of the import format.
pub(super) struct CsvSink<W: Write> {
    writer: FigureWriter<W>,
}

impl<W: Write> CsvSink<W> {
    pub(super) fn new(out: W) -> anyhow::Result<Self> {
        Ok(Self {
            writer: FigureWriter::new(out)?,
        })
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        for figure in &super::rows::figures(batch)? {
            self.writer.write(figure)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        self.writer.finish()?.flush()?;
        Ok(())
    }
}
