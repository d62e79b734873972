//! Where a target stands: met, on track or behind, from the longest stretch that tiles.

use std::cmp::Ordering;

use autointel_domain::{
    Comparator, FigureNature, MonthRange, ProgressStatus, Ratio, Reading, SeriesKey, share,
};

use super::Total;
use crate::engine::{Engine, FigureRef};

/// Progress of a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetProgressAnswer {
    /// Total over the longest tiled stretch from the period's start (or the full period's
    /// coverage when none).
    pub actual: Total,
    /// actual / threshold, when there is an actual and the threshold is positive.
    pub progress: Option<Ratio>,
    /// Where it stands.
    pub status: ProgressStatus,
    /// Figures used.
    pub figures: Vec<FigureRef>,
    /// The latest plan or forecast for the same series over the whole target period
    /// (figures of nature `forecast`), beside the actual and never counted in it, the
    /// progress or the status; `None` when no forecast tiles the period.
    pub plan: Option<Total>,
    /// The forecast figures the plan comes from (their sources say whose plan it is).
    pub plan_figures: Vec<FigureRef>,
}

/// `a` compared with `b`, where both are exact fractions `an/ad`, `bn/bd`.
fn cmp_scaled(an: u128, ad: u128, bn: u128, bd: u128) -> Ordering {
    // Cross-multiplied; units are at most 10^12 and month counts small, so no overflow.
    (an.saturating_mul(bd)).cmp(&bn.saturating_mul(ad))
}

fn comparator_holds(comparator: Comparator, ordering: Ordering) -> bool {
    match comparator {
        Comparator::GreaterThan => ordering == Ordering::Greater,
        Comparator::GreaterOrEqual => ordering != Ordering::Less,
        Comparator::LessThan => ordering == Ordering::Less,
        Comparator::LessOrEqual => ordering != Ordering::Greater,
    }
}

impl Engine {
    /// Evaluates a target: `metric` over `period` against `threshold` with `comparator`.
    ///
    /// The actual is the total over the longest stretch from the period's start that tiles.
    /// On the full period the comparator decides MET or BEHIND. On a partial stretch a
    /// lower bound (`>`, `>=`) already met is MET and an upper bound (`<`, `<=`) already
    /// broken is BEHIND; otherwise the stretch is extrapolated pro rata (actual × months of
    /// the period / months measured, exactly) and the comparator on that decides ON_TRACK or
    /// BEHIND. With no stretch that tiles it is NOT_YET_MEASURABLE.
    pub fn target_progress(
        &self,
        metric: &SeriesKey,
        period: MonthRange,
        threshold: u64,
        comparator: Comparator,
        reading: impl Into<Reading>,
    ) -> TargetProgressAnswer {
        let series = self.series_of(metric);
        let pick = &self.pick(&reading.into());
        let (plan, plan_figures) = {
            let forecasts = self.series_of_nature(
                metric,
                crate::engine::series::nature_code(FigureNature::Forecast),
            );
            let (total, rows) = self.total_in(forecasts, period, pick);
            if total.units.is_some() {
                (Some(total), rows.into_iter().map(FigureRef).collect())
            } else {
                (None, Vec::new())
            }
        };
        let (full, full_rows) = self.total_in(series, period, pick);
        let (actual, rows, measured) = if full.units.is_some() {
            (full, full_rows, period.len_months())
        } else {
            let mut found = None;
            let mut end = period.end().pred();
            while let Some(e) = end {
                if e < period.start() {
                    break;
                }
                if let Ok(prefix) = MonthRange::new(period.start(), e) {
                    let (t, r) = self.total_in(series, prefix, pick);
                    if t.units.is_some() {
                        found = Some((t, r, prefix.len_months()));
                        break;
                    }
                }
                end = e.pred();
            }
            match found {
                Some(f) => f,
                None => {
                    return TargetProgressAnswer {
                        actual: full,
                        progress: None,
                        status: ProgressStatus::NotYetMeasurable,
                        figures: Vec::new(),
                        plan,
                        plan_figures,
                    };
                }
            }
        };
        let units = actual.units.unwrap_or(0);
        let total_months = period.len_months();
        let holds_now = comparator_holds(comparator, units.cmp(&threshold));
        let status = if measured == total_months {
            if holds_now {
                ProgressStatus::Met
            } else {
                ProgressStatus::Behind
            }
        } else {
            let lower_bound = matches!(
                comparator,
                Comparator::GreaterThan | Comparator::GreaterOrEqual
            );
            if lower_bound && holds_now {
                ProgressStatus::Met
            } else if !lower_bound && !holds_now {
                ProgressStatus::Behind
            } else {
                let projected = cmp_scaled(
                    u128::from(units) * u128::from(total_months),
                    u128::from(measured),
                    u128::from(threshold),
                    1,
                );
                if comparator_holds(comparator, projected) {
                    ProgressStatus::OnTrack
                } else {
                    ProgressStatus::Behind
                }
            }
        };
        TargetProgressAnswer {
            progress: if threshold > 0 {
                share(units, threshold)
            } else {
                None
            },
            actual,
            status,
            figures: rows.into_iter().map(FigureRef).collect(),
            plan,
            plan_figures,
        }
    }
}
