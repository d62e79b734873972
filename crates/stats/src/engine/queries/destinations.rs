//! An origin's exports by destination: each destination series of one destination-less
//! export series, ranked, with shares of the stated destinations, year-on-year change and,
//! when asked, units per month; beside the origin's own total for all destinations.
//!
//! Missing is not zero: a destination whose figures do not tile the range has no units and
//! no rank; the destination-less total is never the sum of the destinations nor added to
//! them; the remainder no destination states is given only when that total exists and every
//! country destination is complete, and a negative remainder is reported, never clipped.
//! A region (`Market::is_region`) may contain countries listed beside it, so regions are
//! ranked with the others but never summed with anything.

use crate::engine::pick::Pick;
use autointel_domain::{Change, Market, MonthRange, Ratio, Reading, SeriesKey, share};

use super::{Total, Used};
use crate::engine::layout::{ACTUAL, NONE};
use crate::engine::{Engine, FigureRef};

/// One destination of an origin's exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationEntry {
    /// The destination market.
    pub destination: Market,
    /// True for a region code: never summed with other destinations.
    pub region: bool,
    /// Place by units from 1 (equal units share a place); 0 when the total is incomplete.
    pub rank: u32,
    /// Its total over the range, with coverage.
    pub total: Total,
    /// Its share of the stated country destinations; `None` for a region or an incomplete
    /// total.
    pub share: Option<Ratio>,
    /// Its change on the same months a year earlier, when both years tile.
    pub year_over_year: Option<Change>,
    /// Its total per month of the range, when asked for (empty otherwise).
    pub months: Vec<Total>,
}

/// An origin's exports by destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationsAnswer {
    /// The destinations, complete ones highest first (ties by code), then incomplete ones
    /// by code; at most the limit.
    pub entries: Vec<DestinationEntry>,
    /// Destinations with figures in the range, before the limit.
    pub destination_count: u32,
    /// The sum of every complete country destination: the shares' denominator.
    pub stated_units: u64,
    /// Destinations with figures in the range that do not tile it.
    pub incomplete_count: u32,
    /// The origin's own destination-less total.
    pub all_destinations: Total,
    /// `all_destinations` minus `stated_units`, when the former is complete and every
    /// country destination is; negative when the sources disagree.
    pub not_stated_units: Option<i64>,
    /// The origin's destination-less total per month, when asked for (empty otherwise).
    pub all_destinations_months: Vec<Total>,
    /// Figures used.
    pub figures: Vec<FigureRef>,
}

impl DestinationsAnswer {
    /// True when the stated destinations add up to more than the origin's total for all
    /// destinations: their sources are inconsistent.
    pub fn inconsistent(&self) -> bool {
        self.not_stated_units.is_some_and(|n| n < 0)
    }
}

/// A destination series with figures in the range, before ranking.
struct Found<'a> {
    destination: &'a Market,
    region: bool,
    series: u32,
    total: Total,
    rows: Vec<u32>,
}

impl Engine {
    /// The exports of `origin` (an export series without a destination) broken down by
    /// destination over `period`: the top `limit` destinations (every one when `None`), with
    /// shares of the stated country destinations and year-on-year change, per month too when
    /// `include_months`, beside the origin's own total for all destinations.
    pub fn destinations(
        &self,
        origin: &SeriesKey,
        period: MonthRange,
        limit: Option<usize>,
        include_months: bool,
        reading: impl Into<Reading>,
    ) -> DestinationsAnswer {
        let pick = &self.pick(&reading.into());
        // Only the origin's own destination series: the index holds them by origin.
        let mut found = Vec::new();
        for &s in self.destinations_of(origin, ACTUAL) {
            let k = &self.series_keys[s as usize];
            let Some(destination) = self.markets.value(k.destination) else {
                continue;
            };
            // Usable figures in the period mean figures in it; only a series without any
            // is walked again for figures that overlap the period without fitting it.
            let (total, rows) = self.total_in(Some(s), period, pick);
            if total.coverage.covered.is_empty() && !self.has_figures_in(s, period, pick) {
                continue;
            }
            found.push(Found {
                destination,
                region: destination.is_region(),
                series: s,
                total,
                rows,
            });
        }
        // Complete first, highest first, ties and incomplete ones by code.
        found.sort_by(|a, b| {
            let key = |f: &Found<'_>| (f.total.units.is_none(), std::cmp::Reverse(f.total.units));
            key(a)
                .cmp(&key(b))
                .then_with(|| a.destination.cmp(b.destination))
        });

        let mut used = Used::default();
        let origin_series = self.series_of(origin);
        let (all_destinations, all_rows) = self.total_in(origin_series, period, pick);
        used.add(&all_rows);

        let countries = found.iter().filter(|f| !f.region);
        let stated: u128 = countries
            .clone()
            .filter_map(|f| f.total.units)
            .map(u128::from)
            .sum();
        let stated_units = u64::try_from(stated).unwrap_or(u64::MAX);
        let country_incomplete = countries.clone().any(|f| f.total.units.is_none());
        let incomplete_count = found.iter().filter(|f| f.total.units.is_none()).count();
        let not_stated_units = match (all_destinations.units, country_incomplete) {
            (Some(all), false) => i128::try_from(stated)
                .ok()
                .and_then(|stated| i64::try_from(i128::from(all) - stated).ok()),
            _ => None,
        };

        // Every country destination in the stated sum is cited, listed or not.
        for f in found
            .iter()
            .filter(|f| !f.region && f.total.units.is_some())
        {
            used.add(&f.rows);
        }

        let prior = period.same_range_previous_year();
        let destination_count = u32::try_from(found.len()).unwrap_or(u32::MAX);
        let (mut rank, mut previous_units) = (0u32, None);
        let mut entries = Vec::new();
        for (position, f) in found.into_iter().enumerate() {
            if limit.is_some_and(|l| position >= l) {
                break;
            }
            if let Some(units) = f.total.units
                && previous_units != Some(units)
            {
                rank = u32::try_from(position + 1).unwrap_or(u32::MAX);
                previous_units = Some(units);
            }
            used.add(&f.rows);
            let year_over_year = match (f.total.units, prior) {
                (Some(current), Some(prior)) => {
                    let (prior_total, prior_rows) = self.total_in(Some(f.series), prior, pick);
                    prior_total.units.map(|p| {
                        used.add(&prior_rows);
                        Change { current, prior: p }
                    })
                }
                _ => None,
            };
            let months = if include_months {
                self.month_totals(Some(f.series), period, pick, &mut used)
            } else {
                Vec::new()
            };
            entries.push(DestinationEntry {
                destination: f.destination.clone(),
                region: f.region,
                rank: if f.total.units.is_some() { rank } else { 0 },
                share: match (f.region, f.total.units) {
                    (false, Some(units)) => share(units, stated_units),
                    _ => None,
                },
                total: f.total,
                year_over_year,
                months,
            });
        }
        let all_destinations_months = if include_months {
            self.month_totals(origin_series, period, pick, &mut used)
        } else {
            Vec::new()
        };
        DestinationsAnswer {
            entries,
            destination_count,
            stated_units,
            incomplete_count: u32::try_from(incomplete_count).unwrap_or(u32::MAX),
            all_destinations,
            not_stated_units,
            all_destinations_months,
            figures: used.figures,
        }
    }

    /// One total per month of `period` (a month is tiled only by its own monthly figure),
    /// the figures used added to `used`.
    fn month_totals(
        &self,
        series: Option<u32>,
        period: MonthRange,
        pick: &Pick,
        used: &mut Used,
    ) -> Vec<Total> {
        let rows = self.month_rows(series, period, pick);
        let units = self.units_of(&rows);
        let months = Self::months_of(period);
        used.add(
            &rows
                .iter()
                .copied()
                .filter(|&r| r != NONE)
                .collect::<Vec<_>>(),
        );
        months
            .into_iter()
            .zip(rows.iter().zip(&units))
            .map(|(m, (&row, &u))| Self::month_total(m, row, u))
            .collect()
    }
}
