//! Writing sales figures in the import format: every figure a row of the import
//! [`COLUMNS`](crate::COLUMNS), so that what is written reads back
//! ([`read_sales_figures`](crate::read_sales_figures)) as the same figures. Output-only
//! fields of the wire figure (its name, `supersedes`, `superseded_by`, `create_time`) are
//! not part of the format: an import links a figure to the revision it follows itself (the
//! latest of its series, nature, source and period that is not later than it by stage and
//! as-of date; ties go to the later row), so rows written in revision order re-link.

use std::io::Write;

use autointel_domain::{FigureNature, SalesFigureId};
use autointel_proto::convert::stats::sales_figure_from_wire;
use autointel_proto::stats::{SalesFigure, sales_figure};

use crate::COLUMNS;

/// Why a figure cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A figure is not one the import format can hold: (0-based index among the figures
    /// written, every violation).
    #[error("figure {0}: {1}")]
    Invalid(u64, String),
    /// The output failed.
    #[error("{0}")]
    Csv(#[from] csv::Error),
}

/// Writes figures in the import format, one row each, after a header of every column.
#[derive(Debug)]
pub struct FigureWriter<W: Write> {
    csv: csv::Writer<W>,
    written: u64,
}

impl<W: Write> FigureWriter<W> {
    /// A writer that has written the header line.
    pub fn new(out: W) -> Result<Self, WriteError> {
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(COLUMNS)?;
        Ok(Self { csv, written: 0 })
    }

    /// Writes one figure; a figure the format cannot hold is refused with every reason.
    pub fn write(&mut self, figure: &SalesFigure) -> Result<(), WriteError> {
        let row = row(figure).map_err(|e| WriteError::Invalid(self.written, e))?;
        self.csv.write_record(&row)?;
        self.written += 1;
        Ok(())
    }

    /// Figures written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and hands the output back.
    pub fn finish(self) -> Result<W, WriteError> {
        self.csv
            .into_inner()
            .map_err(|e| WriteError::Csv(csv::Error::from(e.into_error())))
    }
}

/// Writes figures in the import format (header and one row each).
pub fn write_sales_figures<'a, W: Write>(
    out: W,
    figures: impl IntoIterator<Item = &'a SalesFigure>,
) -> Result<W, WriteError> {
    let mut writer = FigureWriter::new(out)?;
    for figure in figures {
        writer.write(figure)?;
    }
    writer.finish()
}

/// A figure's cells in [`COLUMNS`] order. The figure is checked as the service checks an
/// import (every value valid), so a row written is a row the reader takes.
fn row(w: &SalesFigure) -> Result<[String; COLUMNS.len()], String> {
    let placeholder = SalesFigureId::parse("written").map_err(|e| e.0)?;
    let f = sales_figure_from_wire(placeholder, w).map_err(|e| {
        e.violations()
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    // A quantity given in ten-thousands keeps its spelling (the reader takes it exactly).
    let (units, ten_thousands) = match &w.quantity {
        Some(sales_figure::Quantity::TenThousandUnits(t)) => (String::new(), t.clone()),
        _ => (f.units.get().to_string(), String::new()),
    };
    let key = &f.key;
    Ok([
        key.organization
            .as_ref()
            .map(|o| o.as_str().to_owned())
            .unwrap_or_default(),
        key.basis.as_str().to_owned(),
        key.flow.as_str().to_owned(),
        key.market.as_str().to_owned(),
        key.scope.as_str().to_owned(),
        key.powertrain.as_str().to_owned(),
        f.period.to_string(),
        units,
        ten_thousands,
        f.comparable_prior
            .map(|u| u.get().to_string())
            .unwrap_or_default(),
        f.provenance.source.as_str().to_owned(),
        f.provenance.stage.as_str().to_owned(),
        f.provenance.as_of.to_string(),
        f.note.unwrap_or_default(),
        match f.nature {
            FigureNature::Actual => String::new(),
            other => other.as_str().to_owned(),
        },
        key.destination
            .as_ref()
            .map(|d| d.as_str().to_owned())
            .unwrap_or_default(),
    ])
}
