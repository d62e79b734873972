//! Figures as Arrow record batches: the schema (`autointel export --format parquet`'s
//! columns, in its order) and a batch of figures read from the engine at a sequence mark.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use autointel_domain::Date;

use crate::engine::{Engine, FigureName, FigureRef};
use crate::error::StatsError;

/// The columns of a figure, in order: name, type, nullable.
const COLUMNS: [(&str, Kind, bool); 20] = [
    ("name", Kind::Text, false),
    ("organization", Kind::Text, true),
    ("basis", Kind::Text, false),
    ("flow", Kind::Text, false),
    ("market", Kind::Text, false),
    ("scope", Kind::Text, false),
    ("powertrain", Kind::Text, false),
    ("destination", Kind::Text, true),
    ("nature", Kind::Text, false),
    ("period_start", Kind::Date, false),
    ("period_end", Kind::Date, false),
    ("units", Kind::Int, false),
    ("comparable_prior_units", Kind::Int, true),
    ("source", Kind::Text, false),
    ("stage", Kind::Text, false),
    ("as_of_date", Kind::Date, false),
    ("supersedes", Kind::Text, true),
    ("superseded_by", Kind::Text, true),
    ("note", Kind::Text, true),
    ("create_time", Kind::Time, false),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Text,
    Date,
    Int,
    Time,
}

/// The figures' schema (Arrow), without metadata: the columns of `flight.proto`'s `figures`
/// and of `autointel export --format parquet`.
pub fn figure_schema() -> Schema {
    Schema::new(
        COLUMNS
            .iter()
            .map(|&(name, kind, nullable)| {
                let data_type = match kind {
                    Kind::Text => DataType::Utf8,
                    Kind::Date => DataType::Date32,
                    Kind::Int => DataType::Int64,
                    Kind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                };
                Field::new(name, data_type, nullable)
            })
            .collect::<Vec<_>>(),
    )
}

/// Appends a figure's name (or null) to a text column, formatted in place.
fn write_name(column: &mut StringBuilder, name: Option<FigureName>) -> Result<(), StatsError> {
    match name {
        Some(name) => {
            write!(column, "{name}")
                .map_err(|e| StatsError::Internal(format!("writing a name: {e}")))?;
            column.append_value("");
        }
        None => column.append_null(),
    }
    Ok(())
}

/// One batch of figures (in [`figure_schema`]), as the engine held them at `mark`
/// (`supersedes` and `superseded_by` name only figures stored by then).
pub fn figure_batch(
    engine: &Engine,
    figures: &[FigureRef],
    mark: i64,
    schema: &SchemaRef,
) -> Result<RecordBatch, StatsError> {
    let n = figures.len();
    let text = |bytes_each: usize| StringBuilder::with_capacity(n, n * bytes_each);
    let (mut name, mut organization, mut basis, mut flow, mut market) =
        (text(50), text(16), text(16), text(10), text(2));
    let (mut scope, mut powertrain, mut destination, mut nature) =
        (text(10), text(6), text(2), text(6));
    let (mut source, mut stage, mut supersedes, mut superseded_by, mut note) =
        (text(16), text(8), text(50), text(50), text(0));
    let date = || Date32Builder::with_capacity(n);
    let (mut period_start, mut period_end, mut as_of_date) = (date(), date(), date());
    let (mut units, mut comparable_prior_units) = (
        Int64Builder::with_capacity(n),
        Int64Builder::with_capacity(n),
    );
    let mut create_time = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let missing = || StatsError::Internal("figure missing from the engine".to_owned());
    for &f in figures {
        let v = engine.view(f, Some(mark)).ok_or_else(missing)?;
        write_name(&mut name, Some(v.name))?;
        organization.append_option(v.organization);
        basis.append_value(v.basis.as_str());
        flow.append_value(v.flow.as_str());
        market.append_value(v.market);
        scope.append_value(v.scope.as_str());
        powertrain.append_value(v.powertrain.as_str());
        destination.append_option(v.destination);
        nature.append_value(v.nature.as_str());
        period_start.append_value(Date::first_of(v.period.start()).days_since_epoch());
        period_end.append_value(Date::last_of(v.period.end()).days_since_epoch());
        units.append_value(i64::try_from(v.units).map_err(|_| missing())?);
        comparable_prior_units
            .append_option(v.comparable_prior.and_then(|u| i64::try_from(u).ok()));
        source.append_value(v.source);
        stage.append_value(v.stage.as_str());
        as_of_date.append_value(v.as_of.days_since_epoch());
        write_name(&mut supersedes, v.supersedes)?;
        write_name(&mut superseded_by, v.superseded_by)?;
        note.append_option(v.note);
        create_time.append_value(v.create_time_micros);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(name.finish()),
        Arc::new(organization.finish()),
        Arc::new(basis.finish()),
        Arc::new(flow.finish()),
        Arc::new(market.finish()),
        Arc::new(scope.finish()),
        Arc::new(powertrain.finish()),
        Arc::new(destination.finish()),
        Arc::new(nature.finish()),
        Arc::new(period_start.finish()),
        Arc::new(period_end.finish()),
        Arc::new(units.finish()),
        Arc::new(comparable_prior_units.finish()),
        Arc::new(source.finish()),
        Arc::new(stage.finish()),
        Arc::new(as_of_date.finish()),
        Arc::new(supersedes.finish()),
        Arc::new(superseded_by.finish()),
        Arc::new(note.finish()),
        Arc::new(create_time.finish()),
    ];
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| StatsError::Internal(format!("a figures batch: {e}")))
}
