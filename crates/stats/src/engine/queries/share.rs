//! One series over another per period of a grain.

use autointel_domain::{Granularity, MonthRange, Ratio, Reading, SeriesKey, grain_periods, share};

use super::{Total, Used};
use crate::engine::layout::NONE;
use crate::engine::{Engine, FigureRef};

/// A share for one period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharePoint {
    /// The numerator total.
    pub numerator: Total,
    /// The denominator total.
    pub denominator: Total,
    /// numerator / denominator when both are complete and the denominator is positive.
    pub share: Option<Ratio>,
}

/// Shares per period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareAnswer {
    /// One point per period.
    pub points: Vec<SharePoint>,
    /// Figures used.
    pub figures: Vec<FigureRef>,
}

impl Engine {
    /// `numerator` over `denominator` per period of the grain.
    pub fn share(
        &self,
        numerator: &SeriesKey,
        denominator: &SeriesKey,
        period: MonthRange,
        grain: Granularity,
        reading: impl Into<Reading>,
    ) -> ShareAnswer {
        let pick = &self.pick(&reading.into());
        let (ns, ds) = (self.series_of(numerator), self.series_of(denominator));
        if grain == Granularity::Month && (ns != ds || ns.is_none()) {
            // One walk over each series; rows distinct (different series), used in the
            // order numerator, denominator per month.
            let (nrows, drows) = (
                self.month_rows(ns, period, pick),
                self.month_rows(ds, period, pick),
            );
            let (nunits, dunits) = (self.units_of(&nrows), self.units_of(&drows));
            // The ratios first, in a loop of their own: the reductions are independent and
            // overlap there, instead of queueing behind the points' stores.
            let ratios: Vec<Option<Ratio>> = nrows
                .iter()
                .zip(&drows)
                .zip(nunits.iter().zip(&dunits))
                .map(|((&nrow, &drow), (&n, &d))| {
                    if nrow == NONE || drow == NONE || d == 0 {
                        None
                    } else {
                        share(n, d)
                    }
                })
                .collect();
            let points = Self::months_of(period)
                .iter()
                .zip(nrows.iter().zip(&nunits))
                .zip(drows.iter().zip(&dunits))
                .zip(&ratios)
                .map(|(((&m, (&nrow, &n)), (&drow, &d)), &ratio)| SharePoint {
                    numerator: Self::month_total(m, nrow, n),
                    denominator: Self::month_total(m, drow, d),
                    share: ratio,
                })
                .collect();
            let mut figures = Vec::with_capacity(nrows.len() * 2);
            for (&nrow, &drow) in nrows.iter().zip(&drows) {
                figures.extend(
                    [nrow, drow]
                        .into_iter()
                        .filter(|&r| r != NONE)
                        .map(FigureRef),
                );
            }
            return ShareAnswer { points, figures };
        }
        let mut used = Used::default();
        let points = grain_periods(period, grain)
            .into_iter()
            .map(|p| {
                let (n, nrows) = self.total_in(ns, p, pick);
                let (d, drows) = self.total_in(ds, p, pick);
                used.add(&nrows);
                used.add(&drows);
                let ratio = match (n.units, d.units) {
                    (Some(n), Some(d)) if d > 0 => share(n, d),
                    _ => None,
                };
                SharePoint {
                    numerator: n,
                    denominator: d,
                    share: ratio,
                }
            })
            .collect();
        ShareAnswer {
            points,
            figures: used.figures,
        }
    }
}
