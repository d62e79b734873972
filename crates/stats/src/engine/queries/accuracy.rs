//! How far each forecast of a series for exactly one period missed the actual.

use std::cmp::Reverse;

use autointel_domain::{Date, FigureNature, MonthRange, Ratio, Reading, SeriesKey, SourceId};

use super::Total;
use crate::engine::layout::{as_of_to_day_code, date_from_code, month_code};
use crate::engine::series::nature_code;
use crate::engine::{Engine, FigureRef};

/// One forecast and its error against the actual.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForecastErrorEntry {
    /// The forecast figure.
    pub figure: FigureRef,
    /// Its source.
    pub source: SourceId,
    /// When it was made (its as-of date).
    pub as_of: Date,
    /// The forecast, whole vehicles.
    pub units: u64,
    /// Forecast − actual, signed; `None` while the actual is unknown.
    pub error_units: Option<i128>,
    /// error / actual, exact; `None` while the actual is unknown or zero.
    pub error: Option<Ratio>,
}

/// The actual over a period and every forecast of exactly that period against it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForecastAccuracyAnswer {
    /// The actual, as [`Engine::total`] gives it.
    pub actual: Total,
    /// The forecasts, by absolute error ascending (ties: later as-of first, then figure id);
    /// by as-of descending while the actual is unknown.
    pub forecasts: Vec<ForecastErrorEntry>,
    /// Figures used: the actual's (none when incomplete), then the forecasts in rank order.
    pub figures: Vec<FigureRef>,
}

impl Engine {
    /// Every forecast of `key` for exactly `period` (of `source` when given) known on
    /// `as_of` (every revision, each by its as-of date), with its error against the actual
    /// total of `key` over `period` as known on `as_of`.
    pub fn forecast_accuracy(
        &self,
        key: &SeriesKey,
        period: MonthRange,
        source: Option<&SourceId>,
        as_of: Option<Date>,
    ) -> ForecastAccuracyAnswer {
        let as_of_code = Self::as_of_key(as_of);
        let pick = &self.pick(&Reading::as_of(as_of));
        let (actual, rows) = self.total_in(self.series_of(key), period, pick);
        let source_code = match source {
            Some(s) => self.sources.get(s).map(Some),
            None => Some(None),
        };
        let chain = match (
            self.series_of_nature(key, nature_code(FigureNature::Forecast)),
            source_code,
        ) {
            (Some(series), Some(_)) => {
                self.chain(series, month_code(period.start()), month_code(period.end()))
            }
            _ => &[],
        };
        let mut forecasts: Vec<(u128, ForecastErrorEntry)> = chain
            .iter()
            .filter_map(|e| {
                let row = self.rows.get(e.row as usize)?;
                if as_of_code.is_some_and(|d| row.as_of() > d)
                    || source_code.flatten().is_some_and(|s| row.source != s)
                {
                    return None;
                }
                let units = row.units();
                let error_units = actual.units.map(|a| i128::from(units) - i128::from(a));
                let error = error_units
                    .zip(actual.units)
                    .and_then(|(err, a)| Ratio::new(err, i128::from(a)));
                Some((
                    self.numbers.get(e.row as usize),
                    ForecastErrorEntry {
                        figure: FigureRef(e.row),
                        source: self.sources.value(row.source)?.clone(),
                        as_of: date_from_code(as_of_to_day_code(row.as_of()))?,
                        units,
                        error_units,
                        error,
                    },
                ))
            })
            .collect();
        forecasts.sort_by_key(|(number, f)| {
            (
                f.error_units.map(i128::unsigned_abs),
                Reverse(f.as_of),
                *number,
            )
        });
        let figures = rows
            .into_iter()
            .map(FigureRef)
            .chain(forecasts.iter().map(|(_, f)| f.figure))
            .collect();
        ForecastAccuracyAnswer {
            actual,
            forecasts: forecasts.into_iter().map(|(_, f)| f).collect(),
            figures,
        }
    }
}
