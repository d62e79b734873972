//! A series rolled up an organisation hierarchy, each organisation counted at most once.

use std::collections::{HashMap, HashSet, VecDeque};

use autointel_domain::{Date, MonthRange, OrganizationId, SeriesKey};

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
            Total::nothing(period)
        } else {
            let (covered, uncovered) = runs(period, &gaps);
            Total::partial(period, covered, uncovered)
        };
        RollupAnswer {
            total,
            contributions,
            figures: if complete { used.figures } else { Vec::new() },
        }
    }
}
