//! One series per period of a grain, optionally cumulative within each year; the
//! one-walk monthly path that shares use too.

use crate::engine::pick::Pick;
use autointel_domain::{Granularity, MonthRange, Reading, SeriesKey, grain_periods};

use super::{Coverage, Runs, Total, Used};
use crate::engine::layout::{NONE, month_code};
use crate::engine::{Engine, FigureRef};

/// Points of a series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesAnswer {
    /// One total per period, in order.
    pub points: Vec<Total>,
    /// Figures used.
    pub figures: Vec<FigureRef>,
}

impl Engine {
    /// A series by grain over `period`; with `cumulative_within_year` each point is the
    /// year-to-date total from January of its end month's year (even when that January lies
    /// before `period`) up to its end.
    pub fn series(
        &self,
        key: &SeriesKey,
        period: MonthRange,
        grain: Granularity,
        cumulative_within_year: bool,
        reading: impl Into<Reading>,
    ) -> SeriesAnswer {
        let series = self.series_of(key);
        let pick = &self.pick(&reading.into());
        if grain == Granularity::Month && !cumulative_within_year {
            // Each month is its own figure: one walk over the series, rows distinct.
            let rows = self.month_rows(series, period, pick);
            let units = self.units_of(&rows);
            // Collected (not pushed one by one) so each point is written in place rather
            // than assembled on the stack and copied.
            let points = Self::months_of(period)
                .iter()
                .zip(rows.iter().zip(&units))
                .map(|(&month, (&row, &units))| Self::month_total(month, row, units))
                .collect();
            let mut figures = Vec::with_capacity(rows.len());
            figures.extend(rows.iter().filter(|&&r| r != NONE).map(|&r| FigureRef(r)));
            return SeriesAnswer { points, figures };
        }
        let mut used = Used::default();
        let points = grain_periods(period, grain)
            .into_iter()
            .map(|p| {
                let p = if cumulative_within_year {
                    MonthRange::year_to_date(p.end())
                } else {
                    p
                };
                let (total, rows) = self.total_in(series, p, pick);
                used.add(&rows);
                total
            })
            .collect();
        SeriesAnswer {
            points,
            figures: used.figures,
        }
    }

    /// The row known by `pick` of every month of `period` (a month is tiled only by its own
    /// monthly figure), [`NONE`] where there is none; one walk over the series' entries.
    pub(super) fn month_rows(
        &self,
        series: Option<u32>,
        period: MonthRange,
        pick: &Pick,
    ) -> Vec<u32> {
        let (start, end) = (month_code(period.start()), month_code(period.end()));
        let mut picked = vec![NONE; usize::from(end - start) + 1];
        let list = series.map_or(&[][..], |s| self.entries[s as usize].as_slice());
        let from = list.partition_point(|e| e.start < start);
        // Entries are sorted by (start, end, revision): each month's own chain is one
        // contiguous run in revision order, so the last entry of the run that is known on
        // `pick` (any, without one) is the month's figure. Longer periods are skipped.
        for e in &list[from..] {
            if e.start > end {
                break;
            }
            if e.end == e.start
                && pick.known(&self.rows[e.row as usize])
                && let Some(slot) = picked.get_mut(usize::from(e.start - start))
                && self.answers_before(pick, e.row, *slot)
            {
                *slot = e.row;
            }
        }
        picked
    }

    /// Every month of `period` as a one-month range, in order.
    pub(super) fn months_of(period: MonthRange) -> Vec<MonthRange> {
        // Built in a pass of its own: a month read back right after it was written field by
        // field stalls on store forwarding in the loops that build the points.
        let mut months = Vec::with_capacity(period.len_months() as usize);
        let mut m = period.start();
        loop {
            months.push(MonthRange::month(m));
            match m.succ() {
                Some(next) if next <= period.end() => m = next,
                _ => break,
            }
        }
        months
    }

    /// The units of every row of [`Engine::month_rows`] (0 for [`NONE`]), in one tight loop
    /// so the row loads overlap instead of waiting on each other.
    pub(super) fn units_of(&self, rows: &[u32]) -> Vec<u64> {
        rows.iter()
            .map(|&r| self.rows.get(r as usize).map_or(0, |row| row.units()))
            .collect()
    }

    /// The total of one month from [`Engine::month_rows`] and [`Engine::units_of`].
    pub(super) fn month_total(month: MonthRange, row: u32, units: u64) -> Total {
        // One shape for both cases (no branch between two differently built values).
        let known = row != NONE;
        let (covered, uncovered) = if known {
            (Runs::one(month), Runs::new())
        } else {
            (Runs::new(), Runs::one(month))
        };
        Total {
            period: month,
            units: known.then_some(units),
            coverage: Coverage {
                complete: known,
                covered,
                uncovered,
            },
        }
    }
}
