//! Totals with coverage: a range is totalled only from figures that tile it exactly (fewest
//! pieces); otherwise its covered and uncovered runs are reported and no number is given.

use crate::engine::pick::Pick;
use autointel_domain::{MonthRange, Tiling, tile};

use crate::engine::Engine;
use crate::engine::layout::{Entry, month_code, range_from_codes};

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
    pub(super) fn complete(period: MonthRange) -> Self {
        Self {
            complete: true,
            covered: Runs::one(period),
            uncovered: Runs::new(),
        }
    }

    pub(super) fn nothing(period: MonthRange) -> Self {
        Self {
            complete: false,
            covered: Runs::new(),
            uncovered: Runs::one(period),
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

impl Total {
    /// A total no usable figure covers.
    pub(super) fn nothing(period: MonthRange) -> Self {
        Self {
            period,
            units: None,
            coverage: Coverage::nothing(period),
        }
    }

    /// A total whose usable figures cover `covered` and leave `uncovered`: no number.
    pub(super) fn partial(
        period: MonthRange,
        covered: Vec<MonthRange>,
        uncovered: Vec<MonthRange>,
    ) -> Self {
        Self {
            period,
            units: None,
            coverage: Coverage {
                complete: false,
                covered: covered.into(),
                uncovered: uncovered.into(),
            },
        }
    }
}

impl Engine {
    /// The total of series `series` over `period` from the latest-known figure of every
    /// stored period inside it; the rows used when exact.
    pub(super) fn total_in(
        &self,
        series: Option<u32>,
        period: MonthRange,
        pick: &Pick,
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
            if let Some(row) = self.latest_known(chain, pick) {
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
                (Total::partial(period, covered, uncovered), Vec::new())
            }
        }
    }

    /// True when series `series` has a figure known by `pick` that overlaps `period`.
    pub(super) fn has_figures_in(&self, series: u32, period: MonthRange, pick: &Pick) -> bool {
        let (start, end) = (month_code(period.start()), month_code(period.end()));
        self.entries[series as usize]
            .iter()
            .take_while(|e| e.start <= end)
            .any(|e| e.end >= start && pick.known(&self.rows[e.row as usize]))
    }
}

/// Covered and uncovered runs of `period`, where `gaps[i]` marks month `i` uncovered.
pub(super) fn runs(period: MonthRange, gaps: &[bool]) -> (Vec<MonthRange>, Vec<MonthRange>) {
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
