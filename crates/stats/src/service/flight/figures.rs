//! Figures as Arrow record batches: the schema (`autointel export --format parquet`'s
//! columns, in its order) and a batch of figures read from the engine at a sequence mark.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Int8Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::types::Int8Type;
use arrow_array::{ArrayRef, DictionaryArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use autointel_domain::{
    Date, FigureNature, Flow, MeasureBasis, Powertrain, ReleaseStage, VehicleScope,
};

use crate::engine::{Engine, FigureName, FigureRef};
use crate::error::StatsError;

/// The columns of a figure, in order: name, type, nullable.
const COLUMNS: [(&str, Kind, bool); 20] = [
    ("name", Kind::Text, false),
    ("organization", Kind::Text, true),
    ("basis", Kind::Token, false),
    ("flow", Kind::Token, false),
    ("market", Kind::Text, false),
    ("scope", Kind::Token, false),
    ("powertrain", Kind::Token, false),
    ("destination", Kind::Text, true),
    ("nature", Kind::Token, false),
    ("period_start", Kind::Date, false),
    ("period_end", Kind::Date, false),
    ("units", Kind::Int, false),
    ("comparable_prior_units", Kind::Int, true),
    ("source", Kind::Text, false),
    ("stage", Kind::Token, false),
    ("as_of_date", Kind::Date, false),
    ("supersedes", Kind::Text, true),
    ("superseded_by", Kind::Text, true),
    ("note", Kind::Text, true),
    ("create_time", Kind::Time, false),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Text,
    /// A closed vocabulary's token: dictionary-encoded (int8 keys into every token).
    Token,
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
                    Kind::Token => {
                        DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8))
                    }
                    Kind::Date => DataType::Date32,
                    Kind::Int => DataType::Int64,
                    Kind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                };
                Field::new(name, data_type, nullable)
            })
            .collect::<Vec<_>>(),
    )
}

/// A value's key in its vocabulary's dictionary: its position in `all`.
fn code<T: PartialEq>(all: &[T], value: T) -> i8 {
    all.iter()
        .position(|v| *v == value)
        .and_then(|p| i8::try_from(p).ok())
        .unwrap_or_default()
}

/// A token column: its keys over the dictionary of every token of the vocabulary.
fn tokens<T: Copy>(
    mut keys: Int8Builder,
    all: &[T],
    token: fn(T) -> &'static str,
) -> Result<ArrayRef, StatsError> {
    let values = StringArray::from_iter_values(all.iter().map(|&v| token(v)));
    DictionaryArray::<Int8Type>::try_new(keys.finish(), Arc::new(values))
        .map(|a| Arc::new(a) as ArrayRef)
        .map_err(|e| StatsError::Internal(format!("a token column: {e}")))
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
    let (mut name, mut organization, mut market, mut destination) =
        (text(50), text(16), text(2), text(2));
    let (mut source, mut supersedes, mut superseded_by, mut note) =
        (text(16), text(50), text(50), text(0));
    let token = || Int8Builder::with_capacity(n);
    let (mut basis, mut flow, mut scope, mut powertrain, mut nature, mut stage) =
        (token(), token(), token(), token(), token(), token());
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
        organization.append_option(v.organization.map(|o| o.as_str()));
        basis.append_value(code(MeasureBasis::ALL, v.basis));
        flow.append_value(code(Flow::ALL, v.flow));
        market.append_value(v.market.as_str());
        scope.append_value(code(VehicleScope::ALL, v.scope));
        powertrain.append_value(code(Powertrain::ALL, v.powertrain));
        destination.append_option(v.destination.map(|d| d.as_str()));
        nature.append_value(code(FigureNature::ALL, v.nature));
        period_start.append_value(Date::first_of(v.period.start()).days_since_epoch());
        period_end.append_value(Date::last_of(v.period.end()).days_since_epoch());
        units.append_value(i64::try_from(v.units).map_err(|_| missing())?);
        comparable_prior_units
            .append_option(v.comparable_prior.and_then(|u| i64::try_from(u).ok()));
        source.append_value(v.source.as_str());
        stage.append_value(code(ReleaseStage::ALL, v.stage));
        as_of_date.append_value(v.as_of.days_since_epoch());
        write_name(&mut supersedes, v.supersedes)?;
        write_name(&mut superseded_by, v.superseded_by)?;
        note.append_option(v.note);
        create_time.append_value(v.create_time_micros);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(name.finish()),
        Arc::new(organization.finish()),
        tokens(basis, MeasureBasis::ALL, MeasureBasis::as_str)?,
        tokens(flow, Flow::ALL, Flow::as_str)?,
        Arc::new(market.finish()),
        tokens(scope, VehicleScope::ALL, VehicleScope::as_str)?,
        tokens(powertrain, Powertrain::ALL, Powertrain::as_str)?,
        Arc::new(destination.finish()),
        tokens(nature, FigureNature::ALL, FigureNature::as_str)?,
        Arc::new(period_start.finish()),
        Arc::new(period_end.finish()),
        Arc::new(units.finish()),
        Arc::new(comparable_prior_units.finish()),
        Arc::new(source.finish()),
        tokens(stage, ReleaseStage::ALL, ReleaseStage::as_str)?,
        Arc::new(as_of_date.finish()),
        Arc::new(supersedes.finish()),
        Arc::new(superseded_by.finish()),
        Arc::new(note.finish()),
        Arc::new(create_time.finish()),
    ];
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| StatsError::Internal(format!("a figures batch: {e}")))
}
