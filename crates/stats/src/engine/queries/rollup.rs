//! A series rolled up an organisation hierarchy, each organisation counted at most once:
//! gross (every descendant at 100%), consolidated (what the root controls, at 100%) or
//! equity share (weighted by the root's effective stake).

use crate::engine::pick::Pick;
use std::collections::{HashMap, HashSet, VecDeque};

use autointel_domain::{
    Date, HierarchyLink, MonthRange, OrganizationId, Ratio, Reading, RelationshipKind, RollupMode,
    SeriesKey,
};

use super::coverage::runs;
use super::{Coverage, Total, Used};
use crate::engine::{Engine, FigureRef};

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
    /// The root's effective stake in it (consolidated: 1 when controlled; gross: none).
    pub stake: Option<Ratio>,
    /// True when any of its own figures falls in the period.
    pub has_figures: bool,
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
    /// The mode it was computed in.
    pub mode: RollupMode,
    /// Equity share: the exact total (its rounding is `total.units`).
    pub exact: Option<Ratio>,
    /// What the answer assumed, in words.
    pub assumptions: Vec<String>,
    /// The parts of a period the hierarchy's changes split, in order (empty when one
    /// hierarchy holds throughout; see [`Engine::rollup_over_time`]).
    pub segments: Vec<RollupSegment>,
}

/// One part of a rollup split where the hierarchy changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupSegment {
    /// Its months.
    pub months: MonthRange,
    /// The date whose hierarchy it used: its last month's last day.
    pub hierarchy_date: Date,
    /// Its rollup.
    pub answer: RollupAnswer,
}

/// The share one link gives its parent in its child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// A stated stake.
    Stake(Ratio),
    /// A brand or plant link without a stake: wholly held, by assumption.
    Wholly,
    /// A subsidiary: controlled, but with no stake data.
    Controlled,
}

impl Step {
    /// What the strongest of the links between one parent and one child says (two links
    /// between the same pair describe one holding, so they are not added).
    fn of(links: &[&HierarchyLink]) -> Option<Self> {
        let stake = links
            .iter()
            .filter_map(|l| l.stake_basis_points)
            .max()
            .and_then(|bp| Ratio::new(i128::from(bp), 10_000));
        if let Some(stake) = stake {
            return Some(Self::Stake(stake));
        }
        if links.iter().any(|l| {
            matches!(
                l.kind,
                RelationshipKind::BrandOf | RelationshipKind::OperatesPlant
            )
        }) {
            return Some(Self::Wholly);
        }
        links
            .iter()
            .any(|l| l.kind == RelationshipKind::SubsidiaryOf)
            .then_some(Self::Controlled)
    }

    /// Control: a stake above one half, or a subsidiary, brand or plant link (a link's
    /// control flag also gives control, whatever this says).
    fn controls(self) -> bool {
        match self {
            Self::Stake(s) => s > Ratio::new(1, 2).unwrap_or(s),
            Self::Wholly | Self::Controlled => true,
        }
    }
}

impl Engine {
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
    ///
    /// `mode` decides who counts and with what weight: gross counts everyone at 100%;
    /// consolidated only the organisations the root controls (along a chain of controlling
    /// links); equity share weights each by the root's effective stake (stakes multiply
    /// along chains and add across parallel paths, exactly), and lists an organisation
    /// reached only through links without stake data instead of counting it.
    pub fn rollup(
        &self,
        key: &SeriesKey,
        links: &[HierarchyLink],
        period: MonthRange,
        reading: impl Into<Reading>,
        mode: RollupMode,
    ) -> RollupAnswer {
        self.rollup_picked(key, links, period, &self.pick(&reading.into()), mode)
    }

    /// [`Engine::rollup`] of a reading in the engine's codes.
    pub(super) fn rollup_picked(
        &self,
        key: &SeriesKey,
        links: &[HierarchyLink],
        period: MonthRange,
        pick: &Pick,
        mode: RollupMode,
    ) -> RollupAnswer {
        let Some(root) = key.organization.clone() else {
            return RollupAnswer {
                total: Total::nothing(period),
                contributions: Vec::new(),
                figures: Vec::new(),
                mode,
                exact: None,
                assumptions: Vec::new(),
                segments: Vec::new(),
            };
        };
        // The subgraph reachable from the root (every step linear in the links: sets for
        // membership, a queue for the ready nodes).
        let mut children: HashMap<&OrganizationId, Vec<&OrganizationId>> = HashMap::new();
        let mut pair_links: HashMap<(&OrganizationId, &OrganizationId), Vec<&HierarchyLink>> =
            HashMap::new();
        for link in links {
            let pair = (&link.parent, &link.child);
            let list = pair_links.entry(pair).or_default();
            if list.is_empty() {
                children.entry(&link.parent).or_default().push(&link.child);
            }
            list.push(link);
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

        let weights = Weights::of(&root, &order, &children, &pair_links, mode);

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
        let mut exact = Ratio::new(0, 1);
        let mut counted_any = false;
        // Consolidated: an organisation with complete figures that the root does not control;
        // with nothing else counted, the rollup is a complete zero (the root consolidates
        // nothing), not an unknown.
        let mut excluded_complete = false;
        let n = period.len_months() as usize;
        let mut gaps = vec![false; n];
        let mut partial = false;
        // Each organisation's own total, once.
        let totals: Vec<_> = order
            .iter()
            .map(|&org| {
                let series = self.series_of(&dims(org));
                (series, self.total_in(series, period, pick))
            })
            .collect();
        // Consolidated and equity share recompute the group from its entities: a figure
        // reported at several levels counts at the lowest level that reports it (whose
        // stake is known), so how a parent reported (gross or not) cannot skew the mode.
        let mut reports_below: HashSet<&OrganizationId> = HashSet::new();
        if mode != RollupMode::Gross {
            let reports: HashSet<&OrganizationId> = order
                .iter()
                .zip(&totals)
                .filter(|(org, (_, (own, _)))| own.units.is_some() && weights.weight(org).is_ok())
                .map(|(&org, _)| org)
                .collect();
            for &org in order.iter().rev() {
                let below = children.get(org).is_some_and(|cs| {
                    cs.iter()
                        .any(|&c| c != &root && (reports_below.contains(c) || reports.contains(c)))
                });
                if below {
                    reports_below.insert(org);
                }
            }
        }
        for (&org, (series, (own, rows))) in order.iter().zip(totals) {
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
            let weight = weights.weight(org);
            let (st, counted, reason) = if let Some(by) = including {
                (
                    State::Included(by.clone()),
                    false,
                    format!("included in organizations/{by}'s reported total"),
                )
            } else if let Err(why) = weight {
                // consolidated: not controlled, so what it reports counts for nothing here
                // (equity share: its stake is unknown, which is not zero)
                excluded_complete |= mode == RollupMode::Consolidated && own.units.is_some();
                (State::Open, false, why)
            } else if own.units.is_some() && reports_below.contains(org) {
                (
                    State::Open,
                    false,
                    "organisations below it report their own figures, which are counted \
                     instead (a figure reported at several levels counts at the lowest)"
                        .to_owned(),
                )
            } else if let Some(units) = own.units {
                sum += u128::from(units);
                if let Ok(Some(w)) = weight {
                    exact = exact.and_then(|e| {
                        e.checked_add(Ratio::new(i128::from(units), 1)?.checked_mul(w)?)
                    });
                }
                counted_any = true;
                used.add(&rows);
                (
                    State::Counted,
                    true,
                    "its figures tile the period; counted once for itself and everything below it"
                        .to_owned(),
                )
            } else if series.is_some_and(|s| self.has_figures_in(s, period, pick)) {
                if has_children {
                    (
                        State::Open,
                        false,
                        "its figures do not tile the period; its descendants are counted instead"
                            .to_owned(),
                    )
                } else {
                    partial = true;
                    mark_gaps(period, &mut gaps, &own.coverage.uncovered);
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
                stake: weights.stake(org),
                has_figures: own.units.is_some()
                    || series.is_some_and(|s| self.has_figures_in(s, period, pick)),
            });
        }

        let complete = (counted_any || excluded_complete) && !partial;
        let known = counted_any || partial;
        let (total, exact) = rollup_total(period, mode, complete, known, sum, exact, &gaps);
        RollupAnswer {
            total,
            contributions,
            figures: if complete { used.figures } else { Vec::new() },
            mode,
            exact,
            assumptions: weights.assumptions,
            segments: Vec::new(),
        }
    }
}

/// Marks the months of `uncovered` in `gaps`, one slot a month of `period`.
pub(super) fn mark_gaps(period: MonthRange, gaps: &mut [bool], uncovered: &[MonthRange]) {
    for gap in uncovered {
        for m in gap.months() {
            let offset = m.index() - period.start().index();
            if let Some(slot) = usize::try_from(offset).ok().and_then(|o| gaps.get_mut(o)) {
                *slot = true;
            }
        }
    }
}

/// A rollup's total of `period` and, in equity share, its exact value: `sum` (or `exact`,
/// rounded for display) when `complete`; nothing when nothing is `known`; else the runs
/// that `gaps` leave covered.
pub(super) fn rollup_total(
    period: MonthRange,
    mode: RollupMode,
    complete: bool,
    known: bool,
    sum: u128,
    exact: Option<Ratio>,
    gaps: &[bool],
) -> (Total, Option<Ratio>) {
    let exact = (complete && mode == RollupMode::EquityShare)
        .then_some(exact)
        .flatten();
    let total = if complete {
        let units = match mode {
            RollupMode::EquityShare => exact.and_then(|e| u64::try_from(e.rounded()).ok()),
            _ => u64::try_from(sum).ok(),
        };
        Total {
            period,
            units,
            coverage: Coverage::complete(period),
        }
    } else if !known {
        Total::nothing(period)
    } else {
        let (covered, uncovered) = runs(period, gaps);
        Total::partial(period, covered, uncovered)
    };
    (total, exact)
}

/// Who counts in a rollup and with what weight (see [`Engine::rollup`]).
struct Weights<'a> {
    mode: RollupMode,
    /// Equity share: the root's effective stake; consolidated: 1 for each controlled one.
    stakes: HashMap<&'a OrganizationId, Ratio>,
    /// Reached (in equity share) through a link without stake data.
    unknown: HashSet<&'a OrganizationId>,
    assumptions: Vec<String>,
}

impl<'a> Weights<'a> {
    fn of(
        root: &'a OrganizationId,
        order: &[&'a OrganizationId],
        children: &HashMap<&'a OrganizationId, Vec<&'a OrganizationId>>,
        pair_links: &HashMap<(&'a OrganizationId, &'a OrganizationId), Vec<&'a HierarchyLink>>,
        mode: RollupMode,
    ) -> Self {
        let mut w = Self {
            mode,
            stakes: HashMap::new(),
            unknown: HashSet::new(),
            assumptions: Vec::new(),
        };
        if mode == RollupMode::Gross {
            return w;
        }
        let one = Ratio::new(1, 1);
        if let Some(one) = one {
            w.stakes.insert(root, one);
        }
        // Parents first: a parent's effective stake is final before its children's.
        for &node in order {
            let Some(&held) = w.stakes.get(node) else {
                continue;
            };
            for &child in children.get(node).map(Vec::as_slice).unwrap_or(&[]) {
                if child == root {
                    continue;
                }
                let links = pair_links
                    .get(&(node, child))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let step = Step::of(links);
                // a link that says the parent controls the child decides, whatever the stake
                let flagged = links.iter().any(|l| l.controls);
                match (mode, step) {
                    (RollupMode::Consolidated, step)
                        if flagged || step.is_some_and(Step::controls) =>
                    {
                        if let Some(one) = one {
                            w.stakes.insert(child, one);
                        }
                    }
                    (RollupMode::EquityShare, Some(Step::Stake(stake))) => {
                        w.add(child, held.checked_mul(stake));
                    }
                    (RollupMode::EquityShare, Some(Step::Wholly)) => {
                        w.assumptions.push(format!(
                            "organizations/{child} is a brand or plant of organizations/{node} \
                             without a stake: counted as wholly held by it"
                        ));
                        w.add(child, Some(held));
                    }
                    (RollupMode::EquityShare, _) => {
                        w.unknown.insert(child);
                    }
                    _ => {}
                }
            }
        }
        w
    }

    fn add(&mut self, child: &'a OrganizationId, stake: Option<Ratio>) {
        let sum = match (self.stakes.get(child), stake) {
            (Some(&have), Some(more)) => have.checked_add(more),
            (None, more) => more,
            (Some(_), None) => None,
        };
        match sum {
            Some(s) => {
                self.stakes.insert(child, s);
            }
            None => {
                self.unknown.insert(child);
            }
        }
    }

    /// `Ok(None)`: counts at 100% (gross); `Ok(Some(w))`: counts with weight `w`;
    /// `Err(why)`: the mode leaves it out.
    fn weight(&self, org: &OrganizationId) -> Result<Option<Ratio>, String> {
        match self.mode {
            RollupMode::Gross => Ok(None),
            RollupMode::Consolidated => self.stakes.get(org).copied().map(Some).ok_or_else(|| {
                "not controlled by the root on the hierarchy date (no chain of stakes above \
                 50% or subsidiary, brand or plant links): not consolidated"
                    .to_owned()
            }),
            RollupMode::EquityShare => match self.stakes.get(org) {
                Some(&s) if !self.unknown.contains(org) => Ok(Some(s)),
                Some(_) => Err(
                    "reached both through stakes and through links without stake data: not \
                     counted (its effective stake is unknown)"
                        .to_owned(),
                ),
                None => Err(
                    "reached only through links without stake data: not counted (never taken \
                     as 0% or 100%)"
                        .to_owned(),
                ),
            },
        }
    }

    fn stake(&self, org: &OrganizationId) -> Option<Ratio> {
        self.weight(org).unwrap_or_default()
    }
}
