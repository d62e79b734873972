//! The top organisations of a series over a range, with shares and year-on-year change.

use autointel_domain::{
    Change, MonthRange, OrganizationId, Ratio, Reading, RollupMode, SeriesKey, share,
};

use super::Used;
use crate::engine::layout::NONE;
use crate::engine::{Engine, FigureRef};

/// One place in a ranking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankingEntry {
    /// Place from 1; equal totals share a place.
    pub rank: u32,
    /// The organisation.
    pub organization: OrganizationId,
    /// Its total.
    pub units: u64,
    /// Its share of the ranking's total.
    pub share: Option<Ratio>,
    /// Its change on the same months a year earlier, when those tile.
    pub year_over_year: Option<Change>,
    /// A group ranked by equity share: its exact value (`units` is it rounded).
    pub exact: Option<Ratio>,
}

/// A ranking of organisations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankingAnswer {
    /// The top organisations, highest first.
    pub entries: Vec<RankingEntry>,
    /// Denominator of the shares.
    pub total_units: u64,
    /// True when `total_units` is the whole-market figure.
    pub total_is_market: bool,
    /// Organisations with figures in the period that do not tile it.
    pub incomplete_count: u32,
    /// Figures used.
    pub figures: Vec<FigureRef>,
    /// A ranking of groups: the rollup mode.
    pub mode: Option<RollupMode>,
    /// A ranking of groups: what the rollups assumed, in words.
    pub assumptions: Vec<String>,
}

impl Engine {
    /// The top `limit` organisations of the series `dims` (its organisation is ignored) over
    /// `period`, with shares of the whole-market total when that tiles (else of the sum of
    /// every ranked organisation) and year-on-year change.
    pub fn ranking(
        &self,
        dims: &SeriesKey,
        period: MonthRange,
        limit: usize,
        reading: impl Into<Reading>,
    ) -> RankingAnswer {
        let pick = &self.pick(&reading.into());
        let candidates = self
            .lookup_dims(dims)
            .and_then(|d| self.by_dims.get(&d))
            .map_or(&[][..], Vec::as_slice);
        let mut complete: Vec<(&OrganizationId, u64, u32, Vec<u32>)> = Vec::new();
        let mut incomplete_count = 0u32;
        let mut market_series = None;
        for &s in candidates {
            let k = &self.series_keys[s as usize];
            if k.organization == NONE {
                market_series = Some(s);
                continue;
            }
            let Some(org) = self.organizations.value(k.organization) else {
                continue;
            };
            let (total, rows) = self.total_in(Some(s), period, pick);
            match total.units {
                Some(units) => complete.push((org, units, s, rows)),
                None if self.has_figures_in(s, period, pick) => incomplete_count += 1,
                None => {}
            }
        }
        complete.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));

        let mut used = Used::default();
        let (market_total, market_rows) = self.total_in(market_series, period, pick);
        let (total_units, total_is_market) = match market_total.units {
            Some(units) => {
                used.add(&market_rows);
                (units, true)
            }
            None => {
                let sum: u128 = complete.iter().map(|c| u128::from(c.1)).sum();
                for c in &complete {
                    used.add(&c.3);
                }
                (u64::try_from(sum).unwrap_or(u64::MAX), false)
            }
        };

        let prior = period.same_range_previous_year();
        let mut entries = Vec::new();
        let mut rank = 0u32;
        let mut previous_units = None;
        for (position, (org, units, s, rows)) in complete.into_iter().enumerate() {
            if position >= limit {
                break;
            }
            if previous_units != Some(units) {
                rank = u32::try_from(position + 1).unwrap_or(u32::MAX);
                previous_units = Some(units);
            }
            used.add(&rows);
            let year_over_year = prior.and_then(|prior| {
                let (prior_total, prior_rows) = self.total_in(Some(s), prior, pick);
                let p = prior_total.units?;
                used.add(&prior_rows);
                Some(Change {
                    current: units,
                    prior: p,
                })
            });
            entries.push(RankingEntry {
                rank,
                organization: org.clone(),
                units,
                share: share(units, total_units),
                year_over_year,
                exact: None,
            });
        }
        RankingAnswer {
            entries,
            total_units,
            total_is_market,
            incomplete_count,
            figures: used.figures,
            mode: None,
            assumptions: Vec::new(),
        }
    }
}
