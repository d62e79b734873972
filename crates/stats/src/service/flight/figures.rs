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

use crate::engine::{Engine, FigureName, Listed};
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
    figures: &[Listed],
    mark: i64,
    schema: &SchemaRef,
) -> Result<RecordBatch, StatsError> {
    let mut columns = FigureColumns::with_capacity(figures.len());
    columns.append(engine, figures, mark)?;
    columns.finish(schema)
}

/// The columns of a batch of figures being built, appended a few at a time: a stream
/// appends each group of the listing right after listing it, while the rows it read are
/// still cached.
pub struct FigureColumns {
    rows: usize,
    name: StringBuilder,
    organization: StringBuilder,
    basis: Int8Builder,
    flow: Int8Builder,
    market: StringBuilder,
    scope: Int8Builder,
    powertrain: Int8Builder,
    destination: StringBuilder,
    nature: Int8Builder,
    period_start: Date32Builder,
    period_end: Date32Builder,
    units: Int64Builder,
    comparable_prior_units: Int64Builder,
    source: StringBuilder,
    stage: Int8Builder,
    as_of_date: Date32Builder,
    supersedes: StringBuilder,
    superseded_by: StringBuilder,
    note: StringBuilder,
    create_time: TimestampMicrosecondBuilder,
}

impl FigureColumns {
    /// Empty columns with room for `n` figures.
    pub fn with_capacity(n: usize) -> Self {
        let text = |bytes_each: usize| StringBuilder::with_capacity(n, n * bytes_each);
        let token = || Int8Builder::with_capacity(n);
        let date = || Date32Builder::with_capacity(n);
        Self {
            rows: 0,
            name: text(50),
            organization: text(16),
            basis: token(),
            flow: token(),
            market: text(2),
            scope: token(),
            powertrain: token(),
            destination: text(2),
            nature: token(),
            period_start: date(),
            period_end: date(),
            units: Int64Builder::with_capacity(n),
            comparable_prior_units: Int64Builder::with_capacity(n),
            source: text(16),
            stage: token(),
            as_of_date: date(),
            supersedes: text(50),
            superseded_by: text(50),
            note: text(0),
            create_time: TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC"),
        }
    }

    /// Figures appended so far.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Appends `figures` as the engine held them at `mark`.
    pub fn append(
        &mut self,
        engine: &Engine,
        figures: &[Listed],
        mark: i64,
    ) -> Result<(), StatsError> {
        let missing = || StatsError::Internal("figure missing from the engine".to_owned());
        for &f in figures {
            let v = engine.view_listed(f, Some(mark)).ok_or_else(missing)?;
            write_name(&mut self.name, Some(v.name))?;
            self.organization
                .append_option(v.organization.map(|o| o.as_str()));
            self.basis.append_value(code(MeasureBasis::ALL, v.basis));
            self.flow.append_value(code(Flow::ALL, v.flow));
            self.market.append_value(v.market.as_str());
            self.scope.append_value(code(VehicleScope::ALL, v.scope));
            self.powertrain
                .append_value(code(Powertrain::ALL, v.powertrain));
            self.destination
                .append_option(v.destination.map(|d| d.as_str()));
            self.nature.append_value(code(FigureNature::ALL, v.nature));
            self.period_start
                .append_value(Date::first_of(v.period.start()).days_since_epoch());
            self.period_end
                .append_value(Date::last_of(v.period.end()).days_since_epoch());
            self.units
                .append_value(i64::try_from(v.units).map_err(|_| missing())?);
            self.comparable_prior_units
                .append_option(v.comparable_prior.and_then(|u| i64::try_from(u).ok()));
            self.source.append_value(v.source.as_str());
            self.stage.append_value(code(ReleaseStage::ALL, v.stage));
            self.as_of_date.append_value(v.as_of.days_since_epoch());
            write_name(&mut self.supersedes, v.supersedes)?;
            write_name(&mut self.superseded_by, v.superseded_by)?;
            self.note.append_option(v.note);
            self.create_time.append_value(v.create_time_micros);
            self.rows += 1;
        }
        Ok(())
    }

    /// The batch (in `schema`, [`figure_schema`] with metadata).
    pub fn finish(mut self, schema: &SchemaRef) -> Result<RecordBatch, StatsError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.name.finish()),
            Arc::new(self.organization.finish()),
            tokens(self.basis, MeasureBasis::ALL, MeasureBasis::as_str)?,
            tokens(self.flow, Flow::ALL, Flow::as_str)?,
            Arc::new(self.market.finish()),
            tokens(self.scope, VehicleScope::ALL, VehicleScope::as_str)?,
            tokens(self.powertrain, Powertrain::ALL, Powertrain::as_str)?,
            Arc::new(self.destination.finish()),
            tokens(self.nature, FigureNature::ALL, FigureNature::as_str)?,
            Arc::new(self.period_start.finish()),
            Arc::new(self.period_end.finish()),
            Arc::new(self.units.finish()),
            Arc::new(self.comparable_prior_units.finish()),
            Arc::new(self.source.finish()),
            tokens(self.stage, ReleaseStage::ALL, ReleaseStage::as_str)?,
            Arc::new(self.as_of_date.finish()),
            Arc::new(self.supersedes.finish()),
            Arc::new(self.superseded_by.finish()),
            Arc::new(self.note.finish()),
            Arc::new(self.create_time.finish()),
        ];
        RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| StatsError::Internal(format!("a figures batch: {e}")))
    }
}
