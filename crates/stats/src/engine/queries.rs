//! The queries: totals with coverage, changes, series, rankings, shares, breakdowns,
//! rollups, target progress, listing. Each is a pure function of the engine's figures.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet, VecDeque};

use super::{Dims, Entry, FastSet, as_of_to_day_code};

use autointel_domain::{
    Change, Comparator, Date, Flow, Market, MeasureBasis, MonthRange, OrganizationId, Powertrain,
    Ratio, SeriesKey, Tiling, VehicleScope, YearMonth, share, tile,
};

use super::{Engine, FigureRef, NONE, enum_code, month_code, range_from_codes};

/// Month runs in order. None or one run (by far the most common: a complete or an empty
/// total) is kept inline, so a total costs no heap allocation; more go to the heap. Reads as
/// a slice of [`MonthRange`]s.
#[derive(Clone, Debug, Default)]
pub struct Runs(RunsInner);

#[derive(Clone, Debug, Default)]
enum RunsInner {
    #[default]
    Empty,
    One(MonthRange),
    Many(Vec<MonthRange>),
}

impl Runs {
    /// No run.
    pub fn new() -> Self {
        Self(RunsInner::Empty)
    }

    /// A single run.
    pub fn one(run: MonthRange) -> Self {
        Self(RunsInner::One(run))
    }

    /// The runs as a slice.
    pub fn as_slice(&self) -> &[MonthRange] {
        match &self.0 {
            RunsInner::Empty => &[],
            RunsInner::One(run) => std::slice::from_ref(run),
            RunsInner::Many(runs) => runs,
        }
    }
}

impl std::ops::Deref for Runs {
    type Target = [MonthRange];

    fn deref(&self) -> &[MonthRange] {
        self.as_slice()
    }
}

impl From<Vec<MonthRange>> for Runs {
    fn from(runs: Vec<MonthRange>) -> Self {
        match runs.as_slice() {
            [] => Self::new(),
            [run] => Self::one(*run),
            _ => Self(RunsInner::Many(runs)),
        }
    }
}

impl From<Runs> for Vec<MonthRange> {
    fn from(runs: Runs) -> Self {
        match runs.0 {
            RunsInner::Empty => Vec::new(),
            RunsInner::One(run) => vec![run],
            RunsInner::Many(runs) => runs,
        }
    }
}

impl FromIterator<MonthRange> for Runs {
    fn from_iter<I: IntoIterator<Item = MonthRange>>(iter: I) -> Self {
        Self::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> IntoIterator for &'a Runs {
    type Item = &'a MonthRange;
    type IntoIter = std::slice::Iter<'a, MonthRange>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl PartialEq for Runs {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Runs {}

impl PartialEq<Vec<MonthRange>> for Runs {
    fn eq(&self, other: &Vec<MonthRange>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<[MonthRange]> for Runs {
    fn eq(&self, other: &[MonthRange]) -> bool {
        self.as_slice() == other
    }
}

/// How far the stored figures cover a requested range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// True when the range is tiled exactly.
    pub complete: bool,
    /// Maximal runs covered by at least one usable figure.
    pub covered: Runs,
    /// Maximal runs no usable figure covers.
    pub uncovered: Runs,
}

impl Coverage {
    fn complete(period: MonthRange) -> Self {
        Self {
            complete: true,
            covered: Runs::one(period),
            uncovered: Runs::new(),
        }
    }

    fn nothing(period: MonthRange) -> Self {
        Self {
            complete: false,
            covered: Runs::new(),
            uncovered: Runs::one(period),
        }
    }
}

impl Total {
    /// A total no usable figure covers.
    fn nothing(period: MonthRange) -> Self {
        Self {
            period,
            units: None,
            coverage: Coverage::nothing(period),
        }
    }
}

/// A total over a month range; `units` only when the coverage is complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Total {
    /// The months totalled.
    pub period: MonthRange,
    /// Whole vehicles, when the range is tiled exactly.
    pub units: Option<u64>,
    /// How the figures cover the range.
    pub coverage: Coverage,
}

/// Period grain of a series or share.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
    /// Calendar years.
    Year,
}

/// A dimension of a series key.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// The organisation.
    Organization,
    /// The measure basis.
    Basis,
    /// The flow.
    Flow,
    /// The market.
    Market,
    /// The vehicle scope.
    Scope,
    /// The powertrain.
    Powertrain,
}

/// The figures an answer used, each once, in first-use order.
#[derive(Clone, Debug, Default)]
struct Used {
    seen: FastSet<u32>,
    figures: Vec<FigureRef>,
}

impl Used {
    fn add(&mut self, rows: &[u32]) {
        for &r in rows {
            if self.seen.insert(r) {
                self.figures.push(FigureRef(r));
            }
        }
    }
}

/// A total and the figures it used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotalAnswer {
    /// The total.
    pub total: Total,
    /// Figures used (none when incomplete).
    pub figures: Vec<FigureRef>,
}

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

/// Points of a series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesAnswer {
    /// One total per period, in order.
    pub points: Vec<Total>,
    /// Figures used.
    pub figures: Vec<FigureRef>,
}

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
}

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

/// Which series a breakdown covers: `None` marks a grouped dimension (any value).
///
/// For the organisation, `None` means every organisation-level series (whole-market series
/// are not an organisation and are left out); `Some(None)` fixes the whole market.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BreakdownFilter {
    /// The organisation, or grouped.
    pub organization: Option<Option<OrganizationId>>,
    /// The basis, or grouped.
    pub basis: Option<MeasureBasis>,
    /// The flow, or grouped.
    pub flow: Option<Flow>,
    /// The market, or grouped.
    pub market: Option<Market>,
    /// The scope, or grouped.
    pub scope: Option<VehicleScope>,
    /// The powertrain, or grouped.
    pub powertrain: Option<Powertrain>,
}

/// Totals per group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakdownAnswer {
    /// One row per series with figures in the period, ordered by series key.
    pub rows: Vec<(SeriesKey, Total)>,
    /// Figures used.
    pub figures: Vec<FigureRef>,
}

/// How one organisation contributed to a rollup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// The organisation.
    pub organization: OrganizationId,
    /// Its own total, if its figures tile the period.
    pub units: Option<u64>,
    /// True when its total is part of the rollup.
    pub counted: bool,
    /// Why, in words.
    pub reason: String,
}

/// A rollup over an organisation hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupAnswer {
    /// The rolled-up total.
    pub total: Total,
    /// The root first, then its descendants parents-first.
    pub contributions: Vec<Contribution>,
    /// Figures used.
    pub figures: Vec<FigureRef>,
}

/// Where a target stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProgressStatus {
    /// The comparator holds (for the full period, or already for a lower bound).
    Met,
    /// Partial figures, pro rata, meet it.
    OnTrack,
    /// Partial figures, pro rata, fall short, or the full period does not meet it.
    Behind,
    /// No figures tile any stretch from the period's start.
    NotYetMeasurable,
}

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
}

/// Filters of a figure listing.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListFilter {
    /// Only this organisation.
    pub organization: Option<OrganizationId>,
    /// Only this basis.
    pub basis: Option<MeasureBasis>,
    /// Only this flow.
    pub flow: Option<Flow>,
    /// Only this market.
    pub market: Option<Market>,
    /// Only this scope.
    pub scope: Option<VehicleScope>,
    /// Only this powertrain.
    pub powertrain: Option<Powertrain>,
    /// Only periods overlapping these months.
    pub overlapping: Option<MonthRange>,
    /// Only figures known on this date (and of those, the latest unless superseded ones are
    /// asked for).
    pub as_of: Option<Date>,
    /// Also superseded revisions.
    pub include_superseded: bool,
}

/// Sort key of a listed figure: series (as `SeriesKey` orders), period, then revision. Its
/// text form is the cursor of a keyset page token.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListKey {
    organization: String,
    basis: u8,
    flow: u8,
    market: String,
    scope: u8,
    powertrain: u8,
    start: u16,
    end: u16,
    stage: u8,
    as_of: u32,
    number: u128,
}

impl ListKey {
    /// The key as text (for a page token).
    pub fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{:x}",
            self.organization,
            self.basis,
            self.flow,
            self.market,
            self.scope,
            self.powertrain,
            self.start,
            self.end,
            self.stage,
            self.as_of,
            self.number
        )
    }

    /// Parses [`ListKey::encode`]'s text.
    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split('|');
        let mut next = || parts.next();
        let key = Self {
            organization: next()?.to_owned(),
            basis: next()?.parse().ok()?,
            flow: next()?.parse().ok()?,
            market: next()?.to_owned(),
            scope: next()?.parse().ok()?,
            powertrain: next()?.parse().ok()?,
            start: next()?.parse().ok()?,
            end: next()?.parse().ok()?,
            stage: next()?.parse().ok()?,
            as_of: next()?.parse().ok()?,
            number: u128::from_str_radix(next()?, 16).ok()?,
        };
        next().is_none().then_some(key)
    }
}

/// The periods of a grain that meet `period`, clipped to it.
pub fn grain_periods(period: MonthRange, grain: Granularity) -> Vec<MonthRange> {
    let mut out = Vec::new();
    let mut cursor = Some(period.start());
    while let Some(start) = cursor {
        if start > period.end() {
            break;
        }
        let natural_end = match grain {
            Granularity::Month => start,
            Granularity::Quarter => {
                let last = start.quarter() * 3;
                YearMonth::new(start.year(), last).unwrap_or(start)
            }
            Granularity::Year => YearMonth::new(start.year(), 12).unwrap_or(start),
        };
        let end = natural_end.min(period.end());
        out.push(MonthRange::new(start, end).unwrap_or(MonthRange::month(start)));
        cursor = end.succ();
    }
    out
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
    fn as_of_key(as_of: Option<Date>) -> Option<u32> {
        as_of.map(super::as_of_code)
    }

    /// The total of series `series` over `period` from the latest-known figure of every
    /// stored period inside it; the rows used when exact.
    fn total_in(
        &self,
        series: Option<u32>,
        period: MonthRange,
        as_of: Option<u32>,
    ) -> (Total, Vec<u32>) {
        let Some(series) = series else {
            return (Total::nothing(period), Vec::new());
        };
        let (start, end) = (month_code(period.start()), month_code(period.end()));
        let list = &self.entries[series as usize];
        let from = list.partition_point(|e| e.start < start);
        // The latest known figure of every stored period inside the range, in (start, end)
        // order (the order `tile` breaks ties by).
        let mut candidates: Vec<Entry> = Vec::new();
        let mut longer = false;
        let mut rest = &list[from..];
        while let Some(first) = rest.first() {
            if first.start > end {
                break;
            }
            let same = rest
                .iter()
                .take_while(|e| e.period() == first.period())
                .count();
            let (chain, tail) = rest.split_at(same);
            rest = tail;
            if first.end > end {
                continue;
            }
            if let Some(row) = self.latest_known(chain, as_of) {
                longer |= first.end != first.start;
                candidates.push(Entry {
                    start: first.start,
                    end: first.end,
                    row,
                });
            }
        }
        let months = usize::from(end - start) + 1;
        let pieces: Option<Vec<u32>> =
            if let Some(whole) = candidates.iter().find(|c| c.period() == (start, end)) {
                // One figure for exactly the range: the fewest pieces possible.
                Some(vec![whole.row])
            } else if !longer && candidates.len() == months {
                // One figure per month, every month: the only tiling.
                Some(candidates.iter().map(|c| c.row).collect())
            } else {
                tile_entries(start, months, &candidates)
            };
        match pieces {
            Some(used) => {
                let sum: u128 = used
                    .iter()
                    .map(|&r| u128::from(self.rows[r as usize].units()))
                    .sum();
                let units = u64::try_from(sum).ok();
                (
                    Total {
                        period,
                        units,
                        coverage: if units.is_some() {
                            Coverage::complete(period)
                        } else {
                            Coverage::nothing(period)
                        },
                    },
                    used,
                )
            }
            None => {
                let ranges: Vec<MonthRange> = candidates
                    .iter()
                    .map(|c| range_from_codes(c.start, c.end))
                    .collect();
                let (covered, uncovered) = match tile(period, &ranges) {
                    Tiling::Incomplete { covered, uncovered } => (covered, uncovered),
                    // Not reached: `tile_entries` finds every exact tiling.
                    Tiling::Exact(_) => (vec![period], Vec::new()),
                };
                (
                    Total {
                        period,
                        units: None,
                        coverage: Coverage {
                            complete: false,
                            covered: covered.into(),
                            uncovered: uncovered.into(),
                        },
                    },
                    Vec::new(),
                )
            }
        }
    }

    /// The row known on `as_of` of every month of `period` (a month is tiled only by its own
    /// monthly figure), [`NONE`] where there is none; one walk over the series' entries.
    fn month_rows(&self, series: Option<u32>, period: MonthRange, as_of: Option<u32>) -> Vec<u32> {
        let (start, end) = (month_code(period.start()), month_code(period.end()));
        let mut picked = vec![NONE; usize::from(end - start) + 1];
        let list = series.map_or(&[][..], |s| self.entries[s as usize].as_slice());
        let from = list.partition_point(|e| e.start < start);
        // Entries are sorted by (start, end, revision): each month's own chain is one
        // contiguous run in revision order, so the last entry of the run that is known on
        // `as_of` (any, without one) is the month's figure. Longer periods are skipped.
        for e in &list[from..] {
            if e.start > end {
                break;
            }
            if e.end == e.start
                && as_of.is_none_or(|d| self.rows[e.row as usize].as_of() <= d)
                && let Some(slot) = picked.get_mut(usize::from(e.start - start))
            {
                *slot = e.row;
            }
        }
        picked
    }

    /// Every month of `period` as a one-month range, in order.
    fn months_of(period: MonthRange) -> Vec<MonthRange> {
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
    fn units_of(&self, rows: &[u32]) -> Vec<u64> {
        rows.iter()
            .map(|&r| self.rows.get(r as usize).map_or(0, |row| row.units()))
            .collect()
    }

    /// The total of one month from [`Engine::month_rows`] and [`Engine::units_of`].
    fn month_total(month: MonthRange, row: u32, units: u64) -> Total {
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

    /// True when series `series` has a figure known on `as_of` that overlaps `period`.
    fn has_figures_in(&self, series: u32, period: MonthRange, as_of: Option<u32>) -> bool {
        let (start, end) = (month_code(period.start()), month_code(period.end()));
        self.entries[series as usize]
            .iter()
            .take_while(|e| e.start <= end)
            .any(|e| e.end >= start && as_of.is_none_or(|d| self.rows[e.row as usize].as_of() <= d))
    }

    /// Total of `key` over `period` as known on `as_of` (latest when `None`).
    pub fn total(&self, key: &SeriesKey, period: MonthRange, as_of: Option<Date>) -> TotalAnswer {
        let (total, rows) = self.total_in(self.series_of(key), period, Self::as_of_key(as_of));
        TotalAnswer {
            total,
            figures: rows.into_iter().map(FigureRef).collect(),
        }
    }

    /// `current` against `prior` for one series: raw change when both tile, and the
    /// like-for-like change when every current figure carries a comparable base.
    pub fn change(
        &self,
        key: &SeriesKey,
        current: MonthRange,
        prior: MonthRange,
        as_of: Option<Date>,
    ) -> ChangeAnswer {
        let series = self.series_of(key);
        let as_of = Self::as_of_key(as_of);
        let (current_total, current_rows) = self.total_in(series, current, as_of);
        let (prior_total, prior_rows) = self.total_in(series, prior, as_of);
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

    /// A series by grain over `period`; with `cumulative_within_year` each point is the
    /// year-to-date total from January of its end month's year (even when that January lies
    /// before `period`) up to its end.
    pub fn series(
        &self,
        key: &SeriesKey,
        period: MonthRange,
        grain: Granularity,
        cumulative_within_year: bool,
        as_of: Option<Date>,
    ) -> SeriesAnswer {
        let series = self.series_of(key);
        let as_of = Self::as_of_key(as_of);
        if grain == Granularity::Month && !cumulative_within_year {
            // Each month is its own figure: one walk over the series, rows distinct.
            let rows = self.month_rows(series, period, as_of);
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
                let (total, rows) = self.total_in(series, p, as_of);
                used.add(&rows);
                total
            })
            .collect();
        SeriesAnswer {
            points,
            figures: used.figures,
        }
    }

    /// The interned dimensions of `dims` (its organisation ignored); `None` when its market
    /// was never stored.
    fn lookup_dims(&self, dims: &SeriesKey) -> Option<Dims> {
        Some(Dims {
            market: self.markets.get(&dims.market)?,
            basis: enum_code(MeasureBasis::ALL, dims.basis),
            flow: enum_code(Flow::ALL, dims.flow),
            scope: enum_code(VehicleScope::ALL, dims.scope),
            powertrain: enum_code(Powertrain::ALL, dims.powertrain),
        })
    }

    /// The top `limit` organisations of the series `dims` (its organisation is ignored) over
    /// `period`, with shares of the whole-market total when that tiles (else of the sum of
    /// every ranked organisation) and year-on-year change.
    pub fn ranking(
        &self,
        dims: &SeriesKey,
        period: MonthRange,
        limit: usize,
        as_of: Option<Date>,
    ) -> RankingAnswer {
        let as_of = Self::as_of_key(as_of);
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
            let (total, rows) = self.total_in(Some(s), period, as_of);
            match total.units {
                Some(units) => complete.push((org, units, s, rows)),
                None if self.has_figures_in(s, period, as_of) => incomplete_count += 1,
                None => {}
            }
        }
        complete.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));

        let mut used = Used::default();
        let (market_total, market_rows) = self.total_in(market_series, period, as_of);
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
                let (prior_total, prior_rows) = self.total_in(Some(s), prior, as_of);
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
            });
        }
        RankingAnswer {
            entries,
            total_units,
            total_is_market,
            incomplete_count,
            figures: used.figures,
        }
    }

    /// `numerator` over `denominator` per period of the grain.
    pub fn share(
        &self,
        numerator: &SeriesKey,
        denominator: &SeriesKey,
        period: MonthRange,
        grain: Granularity,
        as_of: Option<Date>,
    ) -> ShareAnswer {
        let as_of = Self::as_of_key(as_of);
        let (ns, ds) = (self.series_of(numerator), self.series_of(denominator));
        if grain == Granularity::Month && (ns != ds || ns.is_none()) {
            // One walk over each series; rows distinct (different series), used in the
            // order numerator, denominator per month.
            let (nrows, drows) = (
                self.month_rows(ns, period, as_of),
                self.month_rows(ds, period, as_of),
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
                let (n, nrows) = self.total_in(ns, p, as_of);
                let (d, drows) = self.total_in(ds, p, as_of);
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

    /// Totals of every series matching `filter` that has figures in `period`.
    pub fn breakdown(
        &self,
        filter: &BreakdownFilter,
        period: MonthRange,
        as_of: Option<Date>,
    ) -> BreakdownAnswer {
        let as_of = Self::as_of_key(as_of);
        let fixed_org = match &filter.organization {
            None => None,
            Some(None) => Some(NONE),
            Some(Some(o)) => match self.organizations.get(o) {
                Some(i) => Some(i),
                None => {
                    return BreakdownAnswer {
                        rows: Vec::new(),
                        figures: Vec::new(),
                    };
                }
            },
        };
        let market = match &filter.market {
            Some(m) => match self.markets.get(m) {
                Some(i) => Some(i),
                None => {
                    return BreakdownAnswer {
                        rows: Vec::new(),
                        figures: Vec::new(),
                    };
                }
            },
            None => None,
        };
        // Only the series that can match: the organisation's, or those of the fixed dimensions,
        // or (with grouped dimensions and organisation) every series.
        let scan: Vec<u32>;
        let candidates: &[u32] = match (
            fixed_org,
            market,
            filter.basis,
            filter.flow,
            filter.scope,
            filter.powertrain,
        ) {
            (Some(o), ..) => self.by_organization.get(&o).map_or(&[], Vec::as_slice),
            (None, Some(market), Some(basis), Some(flow), Some(scope), Some(powertrain)) => self
                .by_dims
                .get(&Dims {
                    market,
                    basis: enum_code(MeasureBasis::ALL, basis),
                    flow: enum_code(Flow::ALL, flow),
                    scope: enum_code(VehicleScope::ALL, scope),
                    powertrain: enum_code(Powertrain::ALL, powertrain),
                })
                .map_or(&[], Vec::as_slice),
            _ => {
                scan = (0..u32::try_from(self.series_keys.len()).unwrap_or(NONE)).collect();
                &scan
            }
        };
        let mut groups = Vec::new();
        for &s in candidates {
            let k = &self.series_keys[s as usize];
            let org_ok = match fixed_org {
                Some(o) => k.organization == o,
                None => k.organization != NONE,
            };
            let ok = org_ok
                && market.is_none_or(|m| k.market == m)
                && filter
                    .basis
                    .is_none_or(|b| k.basis == enum_code(MeasureBasis::ALL, b))
                && filter
                    .flow
                    .is_none_or(|f| k.flow == enum_code(Flow::ALL, f))
                && filter
                    .scope
                    .is_none_or(|v| k.scope == enum_code(VehicleScope::ALL, v))
                && filter
                    .powertrain
                    .is_none_or(|p| k.powertrain == enum_code(Powertrain::ALL, p));
            if ok
                && self.has_figures_in(s, period, as_of)
                && let Some(key) = self.key_of(k)
            {
                groups.push((key, s));
            }
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        // Every series is listed once and a figure belongs to one series: no duplicates.
        let mut figures = Vec::new();
        let rows = groups
            .into_iter()
            .map(|(key, s)| {
                let (total, rows) = self.total_in(Some(s), period, as_of);
                figures.extend(rows.into_iter().map(FigureRef));
                (key, total)
            })
            .collect();
        BreakdownAnswer { rows, figures }
    }

    /// Rolls `key` up from its organisation (the root) over the hierarchy `links`
    /// (`(parent, child)`, every link below the root, an organisation may have several
    /// parents).
    ///
    /// Walking parents first: an organisation whose own figures tile the period is counted
    /// and everything below it is taken as included in its figure; otherwise its children
    /// stand for it. An organisation reached through several parents is visited once, and
    /// is included if any parent's figure includes it. The total is complete when at least
    /// one organisation is counted and no organisation without children to stand for it has
    /// figures that fail to tile the period; organisations without any figure in the period
    /// contribute nothing.
    pub fn rollup(
        &self,
        key: &SeriesKey,
        links: &[(OrganizationId, OrganizationId)],
        period: MonthRange,
        as_of: Option<Date>,
    ) -> RollupAnswer {
        let as_of_code = Self::as_of_key(as_of);
        let Some(root) = key.organization.clone() else {
            return RollupAnswer {
                total: Total::nothing(period),
                contributions: Vec::new(),
                figures: Vec::new(),
            };
        };
        // The subgraph reachable from the root (every step linear in the links: sets for
        // membership, a queue for the ready nodes).
        let mut children: HashMap<&OrganizationId, Vec<&OrganizationId>> = HashMap::new();
        let mut linked: HashSet<(&OrganizationId, &OrganizationId)> = HashSet::new();
        for (parent, child) in links {
            if linked.insert((parent, child)) {
                children.entry(parent).or_default().push(child);
            }
        }
        let mut reachable: Vec<&OrganizationId> = vec![&root];
        let mut in_reach: HashSet<&OrganizationId> = HashSet::from([&root]);
        let mut i = 0;
        while let Some(&node) = reachable.get(i) {
            for &c in children.get(node).map(Vec::as_slice).unwrap_or(&[]) {
                if in_reach.insert(c) {
                    reachable.push(c);
                }
            }
            i += 1;
        }
        let mut parents: HashMap<&OrganizationId, Vec<&OrganizationId>> = HashMap::new();
        for &node in &reachable {
            for &c in children.get(node).map(Vec::as_slice).unwrap_or(&[]) {
                if c != &root {
                    parents.entry(c).or_default().push(node);
                }
            }
        }
        // Parents first (Kahn); nodes on a cycle follow in discovery order.
        let mut order: Vec<&OrganizationId> = Vec::new();
        let mut pending: HashMap<&OrganizationId, usize> = reachable
            .iter()
            .map(|&n| (n, parents.get(n).map_or(0, Vec::len)))
            .collect();
        let mut ready: VecDeque<&OrganizationId> = VecDeque::from([&root]);
        let mut in_ready: HashSet<&OrganizationId> = HashSet::from([&root]);
        let mut placed: HashSet<&OrganizationId> = HashSet::new();
        // Every node before `unplaced` in `reachable` is placed (placing only adds).
        let mut unplaced = 0;
        while order.len() < reachable.len() {
            let next = match ready.pop_front() {
                Some(node) => {
                    in_ready.remove(node);
                    Some(node)
                }
                None => {
                    while reachable.get(unplaced).is_some_and(|n| placed.contains(n)) {
                        unplaced += 1;
                    }
                    reachable.get(unplaced).copied()
                }
            };
            let Some(node) = next else { break };
            if !placed.insert(node) {
                continue;
            }
            order.push(node);
            for &c in children.get(node).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(count) = pending.get_mut(c) {
                    *count = count.saturating_sub(1);
                    if *count == 0 && !placed.contains(c) && in_ready.insert(c) {
                        ready.push_back(c);
                    }
                }
            }
        }

        #[derive(Clone)]
        enum State {
            Counted,
            Included(OrganizationId),
            Open,
        }
        let dims = |org: &OrganizationId| SeriesKey {
            organization: Some(org.clone()),
            ..key.clone()
        };
        let mut state: HashMap<&OrganizationId, State> = HashMap::new();
        let mut used = Used::default();
        let mut contributions = Vec::new();
        let mut sum: u128 = 0;
        let mut counted_any = false;
        let n = period.len_months() as usize;
        let mut gaps = vec![false; n];
        let mut partial = false;
        for &org in &order {
            let series = self.series_of(&dims(org));
            let (own, rows) = self.total_in(series, period, as_of_code);
            let including = parents.get(org).and_then(|ps| {
                ps.iter().find_map(|p| match state.get(p) {
                    Some(State::Counted) => Some((*p).clone()),
                    Some(State::Included(by)) => Some(by.clone()),
                    _ => None,
                })
            });
            let has_children = children
                .get(org)
                .is_some_and(|cs| cs.iter().any(|c| c != &&root));
            let (st, counted, reason) = if let Some(by) = including {
                (
                    State::Included(by.clone()),
                    false,
                    format!("included in organizations/{by}'s reported total"),
                )
            } else if let Some(units) = own.units {
                sum += u128::from(units);
                counted_any = true;
                used.add(&rows);
                (
                    State::Counted,
                    true,
                    "its figures tile the period; counted once for itself and everything below it"
                        .to_owned(),
                )
            } else if series.is_some_and(|s| self.has_figures_in(s, period, as_of_code)) {
                if has_children {
                    (
                        State::Open,
                        false,
                        "its figures do not tile the period; its descendants are counted instead"
                            .to_owned(),
                    )
                } else {
                    partial = true;
                    for gap in &own.coverage.uncovered {
                        for m in gap.months() {
                            let offset = m.index() - period.start().index();
                            if let Some(slot) =
                                usize::try_from(offset).ok().and_then(|o| gaps.get_mut(o))
                            {
                                *slot = true;
                            }
                        }
                    }
                    (
                        State::Open,
                        false,
                        "its figures do not tile the period".to_owned(),
                    )
                }
            } else {
                (State::Open, false, "no figures for the period".to_owned())
            };
            state.insert(org, st);
            contributions.push(Contribution {
                organization: org.clone(),
                units: own.units,
                counted,
                reason,
            });
        }

        let complete = counted_any && !partial;
        let total = if complete {
            Total {
                period,
                units: u64::try_from(sum).ok(),
                coverage: Coverage::complete(period),
            }
        } else if !counted_any && !partial {
            Total {
                period,
                units: None,
                coverage: Coverage::nothing(period),
            }
        } else {
            let (covered, uncovered) = runs(period, &gaps);
            Total {
                period,
                units: None,
                coverage: Coverage {
                    complete: false,
                    covered: covered.into(),
                    uncovered: uncovered.into(),
                },
            }
        };
        RollupAnswer {
            total,
            contributions,
            figures: if complete { used.figures } else { Vec::new() },
        }
    }

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
        as_of: Option<Date>,
    ) -> TargetProgressAnswer {
        let series = self.series_of(metric);
        let as_of = Self::as_of_key(as_of);
        let (full, full_rows) = self.total_in(series, period, as_of);
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
                    let (t, r) = self.total_in(series, prefix, as_of);
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
        }
    }

    /// The [`ListKey`] of a figure, as [`Engine::list`] makes it.
    pub fn list_key(&self, f: FigureRef) -> Option<ListKey> {
        let row = self.rows.get(f.0 as usize)?;
        let k = self.series_keys.get(row.series as usize)?;
        let (list, pos) = self.entry_of(f)?;
        let e = list[pos];
        Some(ListKey {
            organization: if k.organization == NONE {
                String::new()
            } else {
                self.organizations
                    .value(k.organization)?
                    .as_str()
                    .to_owned()
            },
            basis: k.basis,
            flow: k.flow,
            market: self.markets.value(k.market)?.as_str().to_owned(),
            scope: k.scope,
            powertrain: k.powertrain,
            start: e.start,
            end: e.end,
            stage: row.stage(),
            as_of: as_of_to_day_code(row.as_of()),
            number: self.numbers.get(f.0 as usize),
        })
    }

    /// The figure a [`ListKey`] names, when every part of the key is that figure's.
    pub fn figure_of_list_key(&self, key: &ListKey) -> Option<FigureRef> {
        let f = FigureRef(self.row_of(key.number)?);
        (self.list_key(f).as_ref() == Some(key)).then_some(f)
    }

    /// Every figure matching `filter`, sorted by [`ListKey`].
    pub fn list(&self, filter: &ListFilter) -> Vec<(ListKey, FigureRef)> {
        let as_of = Self::as_of_key(filter.as_of);
        let org = match &filter.organization {
            Some(o) => match self.organizations.get(o) {
                Some(i) => Some(i),
                None => return Vec::new(),
            },
            None => None,
        };
        let market = match &filter.market {
            Some(m) => match self.markets.get(m) {
                Some(i) => Some(i),
                None => return Vec::new(),
            },
            None => None,
        };
        let mut out = Vec::new();
        for (s, k) in self.series_keys.iter().enumerate() {
            let ok = org.is_none_or(|o| k.organization == o)
                && market.is_none_or(|m| k.market == m)
                && filter
                    .basis
                    .is_none_or(|b| k.basis == enum_code(MeasureBasis::ALL, b))
                && filter
                    .flow
                    .is_none_or(|f| k.flow == enum_code(Flow::ALL, f))
                && filter
                    .scope
                    .is_none_or(|v| k.scope == enum_code(VehicleScope::ALL, v))
                && filter
                    .powertrain
                    .is_none_or(|p| k.powertrain == enum_code(Powertrain::ALL, p));
            if !ok {
                continue;
            }
            let organization = if k.organization == NONE {
                String::new()
            } else {
                self.organizations
                    .value(k.organization)
                    .map(|o| o.as_str().to_owned())
                    .unwrap_or_default()
            };
            let market_text = self
                .markets
                .value(k.market)
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default();
            for chain in self.entries[s].chunk_by(|a, b| a.period() == b.period()) {
                let Some(&e) = chain.first() else { continue };
                if let Some(range) = filter.overlapping
                    && (e.start > month_code(range.end()) || e.end < month_code(range.start()))
                {
                    continue;
                }
                let picked: Vec<u32> = if filter.include_superseded {
                    chain
                        .iter()
                        .map(|e| e.row)
                        .filter(|&r| as_of.is_none_or(|d| self.rows[r as usize].as_of() <= d))
                        .collect()
                } else {
                    self.latest_known(chain, as_of).into_iter().collect()
                };
                for r in picked {
                    let row = &self.rows[r as usize];
                    out.push((
                        ListKey {
                            organization: organization.clone(),
                            basis: k.basis,
                            flow: k.flow,
                            market: market_text.clone(),
                            scope: k.scope,
                            powertrain: k.powertrain,
                            start: e.start,
                            end: e.end,
                            stage: row.stage(),
                            as_of: as_of_to_day_code(row.as_of()),
                            number: self.numbers.get(r as usize),
                        },
                        FigureRef(r),
                    ));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Covered and uncovered runs of `period`, where `gaps[i]` marks month `i` uncovered.
fn runs(period: MonthRange, gaps: &[bool]) -> (Vec<MonthRange>, Vec<MonthRange>) {
    let mut covered = Vec::new();
    let mut uncovered = Vec::new();
    let mut start = 0usize;
    while start < gaps.len() {
        let value = gaps[start];
        let mut end = start;
        while end + 1 < gaps.len() && gaps[end + 1] == value {
            end += 1;
        }
        let month = |o: usize| {
            i32::try_from(o)
                .ok()
                .and_then(|o| period.start().add_months(o))
        };
        if let (Some(a), Some(b)) = (month(start), month(end))
            && let Ok(run) = MonthRange::new(a, b)
        {
            if value {
                uncovered.push(run);
            } else {
                covered.push(run);
            }
        }
        start = end + 1;
    }
    (covered, uncovered)
}

/// The exact tiling of `months` months from `start` by `candidates` (sorted by (start,
/// end), each inside the range) with the fewest pieces, ties to the lexicographically
/// smallest candidate indices, exactly as [`tile`] chooses; the rows used, or `None` when no
/// exact tiling exists.
fn tile_entries(start: u16, months: usize, candidates: &[Entry]) -> Option<Vec<u32>> {
    const NO: u32 = u32::MAX;
    // best[p]: fewest pieces tiling months p..months; choice[p]: its first piece.
    let mut best = vec![NO; months + 1];
    let mut choice = vec![usize::MAX; months + 1];
    best[months] = 0;
    let mut i = candidates.len();
    while i > 0 {
        let first = candidates[i - 1].start;
        let mut j = i - 1;
        while j > 0 && candidates[j - 1].start == first {
            j -= 1;
        }
        let p = usize::from(first - start);
        for (k, c) in candidates.iter().enumerate().take(i).skip(j) {
            let to = usize::from(c.end - start) + 1;
            let rest = best[to];
            if rest != NO && (best[p] == NO || rest + 1 < best[p]) {
                best[p] = rest + 1;
                choice[p] = k;
            }
        }
        i = j;
    }
    if best[0] == NO {
        return None;
    }
    let mut rows = Vec::with_capacity(best[0] as usize);
    let mut p = 0;
    while p < months {
        let c = candidates.get(choice[p])?;
        rows.push(c.row);
        p = usize::from(c.end - start) + 1;
    }
    Some(rows)
}
