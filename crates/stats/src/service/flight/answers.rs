//! The computed answers (series, share, breakdown, ranking) as Arrow record batches: each
//! answer as `StatsService` gives it, one row per point, group or entry (schemas in
//! `flight.proto`).

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Int32Builder, Int64Builder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use autointel_domain::Date;
use autointel_proto::convert::types::{month_range_from_wire, series_key_from_wire};
use autointel_proto::stats as wire;
use autointel_proto::types as twire;

use crate::error::StatsError;

/// An answer's rows: its schema's fields and columns, and the sources it cites.
pub(super) struct Rows {
    pub(super) fields: Vec<Field>,
    pub(super) columns: Vec<ArrayRef>,
    pub(super) sources: Vec<String>,
}

impl Rows {
    /// The rows as one batch, under `schema` (the fields with the stream's metadata).
    pub(super) fn batch(self, schema: Arc<Schema>) -> Result<RecordBatch, StatsError> {
        RecordBatch::try_new(schema, self.columns)
            .map_err(|e| StatsError::Internal(format!("an answer batch: {e}")))
    }
}

fn field(name: &str, data_type: DataType, nullable: bool) -> Field {
    Field::new(name, data_type, nullable)
}

fn sources(p: Option<&wire::Provenance>) -> Vec<String> {
    p.map(|p| p.sources.iter().map(|s| s.name.clone()).collect())
        .unwrap_or_default()
}

/// A period's first and last days (days since 1970-01-01).
fn period_days(r: Option<&twire::MonthRange>) -> Result<(i32, i32), StatsError> {
    let r = r
        .and_then(|r| month_range_from_wire(r).ok())
        .ok_or_else(|| StatsError::Internal("an answer without its period".to_owned()))?;
    Ok((
        Date::first_of(r.start()).days_since_epoch(),
        Date::last_of(r.end()).days_since_epoch(),
    ))
}

/// Builders of a total's columns: `period_start`, `period_end`, `units`, `complete`.
#[derive(Default)]
struct Totals {
    start: Date32Builder,
    end: Date32Builder,
    units: Int64Builder,
    complete: BooleanBuilder,
}

impl Totals {
    fn push(&mut self, t: Option<&wire::Total>) -> Result<(), StatsError> {
        let t = t.ok_or_else(|| StatsError::Internal("an answer without its total".to_owned()))?;
        let (start, end) = period_days(t.period.as_ref())?;
        self.start.append_value(start);
        self.end.append_value(end);
        self.units.append_option(t.units);
        self.complete
            .append_value(t.coverage.as_ref().is_some_and(|c| c.complete));
        Ok(())
    }

    fn fields() -> Vec<Field> {
        vec![
            field("period_start", DataType::Date32, false),
            field("period_end", DataType::Date32, false),
            field("units", DataType::Int64, true),
            field("complete", DataType::Boolean, false),
        ]
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.start.finish()),
            Arc::new(self.end.finish()),
            Arc::new(self.units.finish()),
            Arc::new(self.complete.finish()),
        ]
    }
}

/// Builders of an exact ratio's columns: `{prefix}_numerator`, `{prefix}_denominator`,
/// `{prefix}_percent`.
#[derive(Default)]
struct Ratios {
    numerator: Int64Builder,
    denominator: Int64Builder,
    percent: StringBuilder,
}

impl Ratios {
    fn push(&mut self, r: Option<&twire::Ratio>) {
        self.numerator.append_option(r.map(|r| r.numerator));
        self.denominator.append_option(r.map(|r| r.denominator));
        self.percent.append_option(r.map(|r| r.percent.as_str()));
    }

    fn fields(prefix: &str) -> Vec<Field> {
        vec![
            field(&format!("{prefix}_numerator"), DataType::Int64, true),
            field(&format!("{prefix}_denominator"), DataType::Int64, true),
            field(&format!("{prefix}_percent"), DataType::Utf8, true),
        ]
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.numerator.finish()),
            Arc::new(self.denominator.finish()),
            Arc::new(self.percent.finish()),
        ]
    }
}

/// `ComputeSeries`' points.
pub(super) fn series(a: &wire::ComputeSeriesResponse) -> Result<Rows, StatsError> {
    let mut totals = Totals::default();
    for p in &a.points {
        totals.push(Some(p))?;
    }
    Ok(Rows {
        fields: Totals::fields(),
        columns: totals.finish(),
        sources: sources(a.provenance.as_ref()),
    })
}

/// `ComputeShare`'s points.
pub(super) fn share(a: &wire::ComputeShareResponse) -> Result<Rows, StatsError> {
    let (mut start, mut end) = (Date32Builder::new(), Date32Builder::new());
    let (mut numerator, mut denominator) = (Int64Builder::new(), Int64Builder::new());
    let mut share = Ratios::default();
    for p in &a.points {
        let part = p.numerator.as_ref();
        let (s, e) = period_days(part.and_then(|t| t.period.as_ref()))?;
        start.append_value(s);
        end.append_value(e);
        numerator.append_option(part.and_then(|t| t.units));
        denominator.append_option(p.denominator.as_ref().and_then(|t| t.units));
        share.push(p.share.as_ref());
    }
    let mut fields = vec![
        field("period_start", DataType::Date32, false),
        field("period_end", DataType::Date32, false),
        field("numerator_units", DataType::Int64, true),
        field("denominator_units", DataType::Int64, true),
    ];
    fields.extend(Ratios::fields("share"));
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(start.finish()),
        Arc::new(end.finish()),
        Arc::new(numerator.finish()),
        Arc::new(denominator.finish()),
    ];
    columns.extend(share.finish());
    Ok(Rows {
        fields,
        columns,
        sources: sources(a.provenance.as_ref()),
    })
}

/// `ComputeBreakdown`'s groups: the group's series key, then its total.
pub(super) fn breakdown(a: &wire::ComputeBreakdownResponse) -> Result<Rows, StatsError> {
    let mut keys: Vec<StringBuilder> = (0..7).map(|_| StringBuilder::new()).collect();
    let mut totals = Totals::default();
    for row in &a.rows {
        let key = row
            .series
            .as_ref()
            .and_then(|k| series_key_from_wire(k).ok())
            .ok_or_else(|| StatsError::Internal("a breakdown row without its key".to_owned()))?;
        keys[0].append_option(key.organization.as_ref().map(|o| o.as_str()));
        keys[1].append_value(key.basis.as_str());
        keys[2].append_value(key.flow.as_str());
        keys[3].append_value(key.market.as_str());
        keys[4].append_value(key.scope.as_str());
        keys[5].append_value(key.powertrain.as_str());
        keys[6].append_option(key.destination.as_ref().map(|d| d.as_str()));
        totals.push(row.total.as_ref())?;
    }
    let names = [
        ("organization", true),
        ("basis", false),
        ("flow", false),
        ("market", false),
        ("scope", false),
        ("powertrain", false),
        ("destination", true),
    ];
    let mut fields: Vec<Field> = names
        .iter()
        .map(|&(name, nullable)| field(name, DataType::Utf8, nullable))
        .collect();
    fields.extend(Totals::fields());
    let mut columns: Vec<ArrayRef> = keys
        .into_iter()
        .map(|mut k| Arc::new(k.finish()) as ArrayRef)
        .collect();
    columns.extend(totals.finish());
    Ok(Rows {
        fields,
        columns,
        sources: sources(a.provenance.as_ref()),
    })
}

/// `ComputeRanking`'s entries.
pub(super) fn ranking(a: &wire::ComputeRankingResponse) -> Result<Rows, StatsError> {
    let mut rank = Int32Builder::new();
    let mut organization = StringBuilder::new();
    let mut units = Int64Builder::new();
    let mut share = Ratios::default();
    let (mut prior, mut change_units) = (Int64Builder::new(), Int64Builder::new());
    let mut change = Ratios::default();
    for e in &a.entries {
        rank.append_value(e.rank);
        organization.append_value(
            e.organization
                .strip_prefix("organizations/")
                .unwrap_or(&e.organization),
        );
        units.append_value(e.units);
        share.push(e.share.as_ref());
        let yoy = e.year_over_year.as_ref();
        prior.append_option(yoy.map(|c| c.prior_units));
        change_units.append_option(yoy.map(|c| c.absolute_change));
        change.push(yoy.and_then(|c| c.relative_change.as_ref()));
    }
    let mut fields = vec![
        field("rank", DataType::Int32, false),
        field("organization", DataType::Utf8, false),
        field("units", DataType::Int64, false),
    ];
    fields.extend(Ratios::fields("share"));
    fields.push(field("prior_units", DataType::Int64, true));
    fields.push(field("change_units", DataType::Int64, true));
    fields.extend(Ratios::fields("change"));
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(rank.finish()),
        Arc::new(organization.finish()),
        Arc::new(units.finish()),
    ];
    columns.extend(share.finish());
    columns.push(Arc::new(prior.finish()));
    columns.push(Arc::new(change_units.finish()));
    columns.extend(change.finish());
    Ok(Rows {
        fields,
        columns,
        sources: sources(a.provenance.as_ref()),
    })
}
