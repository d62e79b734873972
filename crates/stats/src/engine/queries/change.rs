//! One series over a range against a prior range: raw and like-for-like change.

use autointel_domain::{Change, MonthRange, Reading, SeriesKey};

use super::{Total, Used};
use crate::engine::Engine;
use crate::engine::FigureRef;

/// A comparison of two totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeAnswer {
    /// The current total.
    pub current: Total,
    /// The prior total.
    pub prior: Total,
    /// Raw change, when both totals are complete.
    pub change: Option<Change>,
    /// Change against the like-for-like base, when the current total is complete and every
    /// figure it used carries `comparable_prior`.
    pub like_for_like: Option<Change>,
    /// Figures used.
    pub figures: Vec<FigureRef>,
}

impl Engine {
    /// `current` against `prior` for one series: raw change when both tile, and the
    /// like-for-like change when every current figure carries a comparable base.
    pub fn change(
        &self,
        key: &SeriesKey,
        current: MonthRange,
        prior: MonthRange,
        reading: impl Into<Reading>,
    ) -> ChangeAnswer {
        let series = self.series_of(key);
        let pick = &self.pick(&reading.into());
        let (current_total, current_rows) = self.total_in(series, current, pick);
        let (prior_total, prior_rows) = self.total_in(series, prior, pick);
        let mut used = Used::default();
        used.add(&current_rows);
        used.add(&prior_rows);
        let change = match (current_total.units, prior_total.units) {
            (Some(c), Some(p)) => Some(Change {
                current: c,
                prior: p,
            }),
            _ => None,
        };
        let like_for_like = current_total.units.and_then(|c| {
            let mut base: u128 = 0;
            for r in &current_rows {
                base += u128::from(*self.comparable_priors.get(r)?);
            }
            (!current_rows.is_empty()).then_some(())?;
            Some(Change {
                current: c,
                prior: u64::try_from(base).ok()?,
            })
        });
        ChangeAnswer {
            current: current_total,
            prior: prior_total,
            change,
            like_for_like,
            figures: used.figures,
        }
    }
}
