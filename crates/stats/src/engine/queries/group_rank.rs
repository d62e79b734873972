//! The top groups of a series: every top-level organisation of the ownership graph (one no
//! link holds) and every organisation outside it, ranked by its rollup in one mode.

use crate::engine::pick::Pick;
use std::collections::{BTreeSet, HashSet};

use autointel_domain::{
    Change, HierarchyLink, MonthRange, OrganizationId, OwnershipHistory, Ratio, Reading,
    RollupMode, Segment, SeriesKey, split_by,
};

use super::Used;
use super::rank::{RankingAnswer, RankingEntry};
use super::rollup::RollupAnswer;
use crate::engine::layout::NONE;
use crate::engine::{Engine, FigureRef};

/// The ownership a ranking of groups rolls up over.
#[derive(Clone, Copy, Debug)]
pub enum GroupHierarchy<'a> {
    /// The links in effect on one date (gross mode: the period's end).
    On(&'a [HierarchyLink]),
    /// Every relationship with its validity: each group is rolled up month by month over
    /// the hierarchy below it, split where that changes, and only over the months in which
    /// nothing holds it (consolidated and equity share).
    Dated(&'a OwnershipHistory),
}

/// One group's rollup over the period.
struct Ranked {
    organization: OrganizationId,
    exact: Ratio,
    figures: Vec<FigureRef>,
}

/// A group's rollup over a range: its exact value when complete, the figures it used and
/// what it assumed; `covered` when any of its figures falls in the range.
struct GroupValue {
    exact: Option<Ratio>,
    figures: Vec<FigureRef>,
    assumptions: Vec<String>,
    covered: bool,
}

impl GroupValue {
    fn of(answer: RollupAnswer) -> Self {
        Self {
            exact: value(&answer),
            covered: answer.contributions.iter().any(|c| c.has_figures),
            figures: answer.figures,
            assumptions: answer.assumptions,
        }
    }
}

impl Engine {
    /// The top `limit` groups of the series `dims` (its organisation is ignored) over
    /// `period`, each rolled up over `hierarchy` in `mode` (see [`Engine::rollup`]). The
    /// groups are the organisations that hold others and that no link holds, and the
    /// organisations with figures of the series that no link touches (a group of one). A
    /// group whose rollup is incomplete is left out and counted in `incomplete_count`.
    ///
    /// Over a [`GroupHierarchy::Dated`] hierarchy a group's value adds up the months in
    /// which it is a group, each run of months over the hierarchy below it then: a group
    /// acquired in July ranks with its January–June sales, and the acquirer counts the rest.
    ///
    /// Shares are of the whole-market total when that tiles the period, else of the sum of
    /// every complete group. Equity-share values are exact (`RankingEntry::exact`), units
    /// rounded for display; a year-on-year change is given when both years' values are
    /// whole vehicles.
    pub fn group_ranking(
        &self,
        dims: &SeriesKey,
        hierarchy: GroupHierarchy<'_>,
        period: MonthRange,
        limit: usize,
        reading: impl Into<Reading>,
        mode: RollupMode,
    ) -> RankingAnswer {
        let pick = &self.pick(&reading.into());
        let candidates = self
            .lookup_dims(dims)
            .and_then(|d| self.by_dims.get(&d))
            .map_or(&[][..], Vec::as_slice);
        let mut market_series = None;
        let mut with_figures: BTreeSet<OrganizationId> = BTreeSet::new();
        for &s in candidates {
            let k = &self.series_keys[s as usize];
            if k.organization == NONE {
                market_series = Some(s);
            } else if let Some(org) = self.organizations.value(k.organization) {
                with_figures.insert(org.clone());
            }
        }
        let groups: BTreeSet<OrganizationId> = match hierarchy {
            GroupHierarchy::On(links) => {
                let held: HashSet<&OrganizationId> = links.iter().map(|l| &l.child).collect();
                let linked: HashSet<&OrganizationId> =
                    links.iter().flat_map(|l| [&l.parent, &l.child]).collect();
                links
                    .iter()
                    .filter(|l| !held.contains(&l.parent))
                    .map(|l| l.parent.clone())
                    .chain(with_figures.into_iter().filter(|o| !linked.contains(o)))
                    .collect()
            }
            // organisations held in every month drop out below (no run of their own)
            GroupHierarchy::Dated(history) => history
                .groups_in(period)
                .into_iter()
                .chain(with_figures)
                .collect(),
        };

        let rollup_of = |group: &OrganizationId, range: MonthRange| -> Option<GroupValue> {
            let key = SeriesKey {
                organization: Some(group.clone()),
                ..dims.clone()
            };
            match hierarchy {
                GroupHierarchy::On(links) => Some(GroupValue::of(
                    self.rollup_picked(&key, links, range, pick, mode),
                )),
                GroupHierarchy::Dated(history) => {
                    let runs: Vec<Segment<Vec<HierarchyLink>>> = split_by(range, |date| {
                        let held = history.is_held(group, date);
                        (held, (!held).then(|| history.links_below(group, date)))
                    })
                    .into_iter()
                    .filter_map(|s| {
                        Some(Segment {
                            months: s.months,
                            date: s.date,
                            value: s.value.1?,
                        })
                    })
                    .collect();
                    (!runs.is_empty()).then(|| self.group_runs(&key, &runs, pick, mode))
                }
            }
        };
        let mut complete = Vec::new();
        let mut incomplete_count = 0u32;
        let mut assumptions = BTreeSet::new();
        for group in &groups {
            let Some(answer) = rollup_of(group, period) else {
                continue;
            };
            match answer.exact {
                Some(exact) => {
                    assumptions.extend(answer.assumptions);
                    complete.push(Ranked {
                        organization: group.clone(),
                        exact,
                        figures: answer.figures,
                    });
                }
                None if answer.covered => incomplete_count += 1,
                None => {}
            }
        }
        complete.sort_by(|a, b| {
            b.exact
                .cmp(&a.exact)
                .then_with(|| a.organization.cmp(&b.organization))
        });

        let mut used = Used::default();
        let (market_total, market_rows) = self.total_in(market_series, period, pick);
        let (denominator, total_is_market) = match market_total.units {
            Some(units) => {
                used.add(&market_rows);
                (Ratio::new(i128::from(units), 1), true)
            }
            None => {
                let sum = Ratio::new(0, 1).and_then(|zero| {
                    complete
                        .iter()
                        .try_fold(zero, |sum, c| sum.checked_add(c.exact))
                });
                for c in &complete {
                    used.add_figures(&c.figures);
                }
                (sum, false)
            }
        };
        let inverse = denominator
            .filter(|d| d.numerator() != 0)
            .and_then(|d| Ratio::new(d.denominator(), d.numerator()));

        let prior = period.same_range_previous_year();
        let mut entries = Vec::new();
        let mut rank = 0u32;
        let mut previous = None;
        for (position, ranked) in complete.into_iter().enumerate().take(limit) {
            if previous != Some(ranked.exact) {
                rank = u32::try_from(position + 1).unwrap_or(u32::MAX);
                previous = Some(ranked.exact);
            }
            used.add_figures(&ranked.figures);
            let units = u64::try_from(ranked.exact.rounded()).unwrap_or(0);
            let year_over_year = prior.and_then(|prior| {
                let before = rollup_of(&ranked.organization, prior)?;
                let prior_exact = before.exact?;
                let whole = |r: Ratio| {
                    (r.denominator() == 1)
                        .then(|| u64::try_from(r.numerator()).ok())
                        .flatten()
                };
                let change = Change {
                    current: whole(ranked.exact)?,
                    prior: whole(prior_exact)?,
                };
                used.add_figures(&before.figures);
                Some(change)
            });
            entries.push(RankingEntry {
                rank,
                organization: ranked.organization,
                units,
                share: inverse.and_then(|i| ranked.exact.checked_mul(i)),
                year_over_year,
                exact: (mode == RollupMode::EquityShare).then_some(ranked.exact),
            });
        }
        let total_units = denominator
            .map(|d| u64::try_from(d.rounded()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        RankingAnswer {
            entries,
            total_units,
            total_is_market,
            incomplete_count,
            figures: used.figures,
            mode: Some(mode),
            assumptions: assumptions.into_iter().collect(),
        }
    }
}

impl Engine {
    /// A group's value over `runs`, the months in which it is a group (not the whole
    /// range): each run rolled up over its own hierarchy, complete when every run is.
    fn group_runs(
        &self,
        key: &SeriesKey,
        runs: &[Segment<Vec<HierarchyLink>>],
        pick: &Pick,
        mode: RollupMode,
    ) -> GroupValue {
        let mut sum = Ratio::new(0, 1);
        let mut used = Used::default();
        let mut assumptions = Vec::new();
        let mut covered = false;
        for run in runs {
            let part = GroupValue::of(self.rollup_picked(key, &run.value, run.months, pick, mode));
            covered |= part.covered;
            sum = sum.and_then(|s| s.checked_add(part.exact?));
            used.add_figures(&part.figures);
            assumptions.extend(part.assumptions);
        }
        GroupValue {
            exact: sum,
            figures: if sum.is_some() {
                used.figures
            } else {
                Vec::new()
            },
            assumptions,
            covered,
        }
    }
}

/// A complete rollup's exact value (equity share: `exact`; else its whole units).
fn value(answer: &RollupAnswer) -> Option<Ratio> {
    let units = answer.total.units?;
    answer.exact.or_else(|| Ratio::new(i128::from(units), 1))
}
