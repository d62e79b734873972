//! A batch of the Flight figures schema back into `SalesFigure`s (for CSV and JSON Lines):
//! each row read into a domain figure by column name, then converted once to the wire.

use anyhow::{Context, anyhow};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int8Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use autointel_domain::{
    Date, MonthRange, OrganizationId, Provenance, SalesFigure, SalesFigureId, SeriesKey, SourceId,
    Units, ValueError,
};
use autointel_proto::convert::ResourceId;
use autointel_proto::convert::stats::sales_figure_to_wire;
use autointel_proto::stats as wire;

/// The columns of a batch, by name.
struct Columns<'a>(&'a RecordBatch);

impl Columns<'_> {
    fn column(&self, name: &str) -> anyhow::Result<&ArrayRef> {
        self.0
            .column_by_name(name)
            .with_context(|| format!("the figures stream has no column {name}"))
    }

    /// A text column's value: plain text, or a token of a dictionary column.
    fn text(&self, name: &str, row: usize) -> anyhow::Result<Option<&str>> {
        let column = self.column(name)?;
        if let Some(tokens) = column.as_dictionary_opt::<Int8Type>() {
            if tokens.is_null(row) {
                return Ok(None);
            }
            let values = tokens
                .values()
                .as_string_opt::<i32>()
                .with_context(|| format!("column {name}'s dictionary is not text"))?;
            let key = usize::try_from(tokens.keys().value(row))
                .ok()
                .filter(|&k| k < values.len())
                .with_context(|| format!("row {row}: {name} has no token"))?;
            return Ok(Some(values.value(key)));
        }
        let column = column
            .as_string_opt::<i32>()
            .with_context(|| format!("column {name} is not text"))?;
        Ok((!column.is_null(row)).then(|| column.value(row)))
    }

    fn required(&self, name: &str, row: usize) -> anyhow::Result<&str> {
        self.text(name, row)?
            .with_context(|| format!("row {row}: {name} is null"))
    }

    fn parsed<T: std::str::FromStr<Err = ValueError>>(
        &self,
        name: &str,
        row: usize,
    ) -> anyhow::Result<T> {
        let text = self.required(name, row)?;
        text.parse()
            .map_err(|e: ValueError| anyhow!("row {row}: {name} {text:?}: {}", e.0))
    }

    fn int(&self, name: &str, row: usize) -> anyhow::Result<Option<i64>> {
        let column = self
            .column(name)?
            .as_primitive_opt::<Int64Type>()
            .with_context(|| format!("column {name} is not int64"))?;
        Ok((!column.is_null(row)).then(|| column.value(row)))
    }

    fn date(&self, name: &str, row: usize) -> anyhow::Result<Date> {
        let column = self
            .column(name)?
            .as_primitive_opt::<Date32Type>()
            .with_context(|| format!("column {name} is not a date"))?;
        Date::from_days_since_epoch(column.value(row))
            .map_err(|e| anyhow!("row {row}: {name}: {}", e.0))
    }

    fn micros(&self, name: &str, row: usize) -> anyhow::Result<i64> {
        let column = self
            .column(name)?
            .as_primitive_opt::<TimestampMicrosecondType>()
            .with_context(|| format!("column {name} is not a timestamp"))?;
        Ok(column.value(row))
    }
}

fn value<T>(r: Result<T, ValueError>, what: &str) -> anyhow::Result<T> {
    r.map_err(|e| anyhow!("{what}: {}", e.0))
}

fn figure_id(name: &str) -> anyhow::Result<SalesFigureId> {
    value(SalesFigureId::from_resource_name(name), name)
}

/// Every row of `batch` as a wire `SalesFigure`, as `ListSalesFigures` gives it.
pub(super) fn figures(batch: &RecordBatch) -> anyhow::Result<Vec<wire::SalesFigure>> {
    let c = Columns(batch);
    (0..batch.num_rows()).map(|row| figure(&c, row)).collect()
}

fn figure(c: &Columns<'_>, row: usize) -> anyhow::Result<wire::SalesFigure> {
    let organization = c
        .text("organization", row)?
        .map(|o| value(OrganizationId::parse(o), "organization"))
        .transpose()?;
    let destination = c
        .text("destination", row)?
        .map(|d| value(d.parse(), "destination"))
        .transpose()?;
    let key = SeriesKey {
        organization,
        basis: c.parsed("basis", row)?,
        flow: c.parsed("flow", row)?,
        market: c.parsed("market", row)?,
        scope: c.parsed("scope", row)?,
        powertrain: c.parsed("powertrain", row)?,
        destination,
    };
    let period = value(
        MonthRange::new(
            c.date("period_start", row)?.year_month(),
            c.date("period_end", row)?.year_month(),
        ),
        "period",
    )?;
    let units = |n: i64| value(Units::new(n), "units");
    let figure = SalesFigure {
        id: figure_id(c.required("name", row)?)?,
        key,
        period,
        units: units(c.int("units", row)?.context("units is null")?)?,
        nature: c.parsed("nature", row)?,
        comparable_prior: c
            .int("comparable_prior_units", row)?
            .map(units)
            .transpose()?,
        provenance: Provenance {
            source: value(SourceId::parse(c.required("source", row)?), "source")?,
            stage: c.parsed("stage", row)?,
            as_of: c.date("as_of_date", row)?,
            supersedes: c.text("supersedes", row)?.map(figure_id).transpose()?,
        },
        note: c.text("note", row)?.map(str::to_owned),
    };
    let superseded_by = c.text("superseded_by", row)?.map(figure_id).transpose()?;
    let mut w = sales_figure_to_wire(&figure, superseded_by.as_ref());
    let micros = c.micros("create_time", row)?;
    w.create_time = Some(prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    });
    Ok(w)
}
