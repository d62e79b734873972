//! A rollup whose period the hierarchy's changes split: each part rolled up over the
//! hierarchy of its own months, and the parts added.

use autointel_domain::{HierarchyLink, MonthRange, Ratio, RollupMode, Segment, SeriesKey};

use super::Used;
use super::rollup::{Contribution, RollupAnswer, RollupSegment, mark_gaps, rollup_total};
use crate::engine::Engine;

impl Engine {
    /// `key` rolled up over `period` in `mode`, where `segments` split the period into runs
    /// of months with one hierarchy each (see [`autointel_domain::split_by`]): each run is
    /// rolled up over its own links ([`Engine::rollup`]) and the runs are added, so a stake
    /// that changes in July weights January–June by the old stake and July–December by the
    /// new. The sum is complete only when every run is: a figure that spans a change (an
    /// annual figure when the stake changed mid-year) cannot be split and leaves both runs
    /// incomplete. With one run this is [`Engine::rollup`] itself.
    pub fn rollup_over_time(
        &self,
        key: &SeriesKey,
        segments: &[Segment<Vec<HierarchyLink>>],
        period: MonthRange,
        reading: impl Into<autointel_domain::Reading>,
        mode: RollupMode,
    ) -> RollupAnswer {
        let pick = &self.pick(&reading.into());
        match segments {
            [] => self.rollup_picked(key, &[], period, pick, mode),
            [one] => self.rollup_picked(key, &one.value, period, pick, mode),
            _ => {
                let parts = segments
                    .iter()
                    .map(|s| RollupSegment {
                        months: s.months,
                        hierarchy_date: s.date,
                        answer: self.rollup_picked(key, &s.value, s.months, pick, mode),
                    })
                    .collect();
                added(period, mode, parts)
            }
        }
    }
}

/// The answer of `period` made of its `parts` (adjacent, in order).
fn added(period: MonthRange, mode: RollupMode, parts: Vec<RollupSegment>) -> RollupAnswer {
    let complete = parts.iter().all(|p| p.answer.total.units.is_some());
    let mut used = Used::default();
    let mut sum: u128 = 0;
    let mut exact = Ratio::new(0, 1);
    let n = period.len_months() as usize;
    let mut gaps = vec![false; n];
    let mut anything = false;
    for p in &parts {
        let a = &p.answer;
        used.add_figures(&a.figures);
        sum += u128::from(a.total.units.unwrap_or(0));
        exact = exact.and_then(|e| e.checked_add(a.exact?));
        anything |= !a.total.coverage.covered.is_empty();
        mark_gaps(period, &mut gaps, &a.total.coverage.uncovered);
    }
    let (total, exact) = rollup_total(period, mode, complete, anything, sum, exact, &gaps);
    let mut assumptions: Vec<String> = Vec::new();
    assumptions.push(format!(
        "the hierarchy changes within {period}: {}; each part is rolled up over its own \
         hierarchy and the parts are added (a figure spanning a change cannot be split)",
        parts
            .iter()
            .map(|p| format!("{} over the hierarchy of {}", p.months, p.hierarchy_date))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for p in &parts {
        for a in &p.answer.assumptions {
            if !assumptions.contains(a) {
                assumptions.push(a.clone());
            }
        }
    }
    RollupAnswer {
        total,
        contributions: merged_contributions(&parts),
        figures: if complete { used.figures } else { Vec::new() },
        mode,
        exact,
        assumptions,
        segments: parts,
    }
}

/// Each organisation once, in order of first appearance: its units summed when every part
/// has them, counted when any part counts it, its stake when every part agrees, and its
/// reasons by part when they differ.
fn merged_contributions(parts: &[RollupSegment]) -> Vec<Contribution> {
    /// An organisation's contribution so far, its reason in each part, and in how many
    /// parts it appears.
    type Merged = (Contribution, Vec<(MonthRange, String)>, usize);
    let mut merged: Vec<Merged> = Vec::new();
    for p in parts {
        for c in &p.answer.contributions {
            let reason = (p.months, c.reason.clone());
            match merged
                .iter_mut()
                .find(|(m, _, _)| m.organization == c.organization)
            {
                Some((m, reasons, seen)) => {
                    m.units = m.units.zip(c.units).map(|(a, b)| a.saturating_add(b));
                    m.counted |= c.counted;
                    m.has_figures |= c.has_figures;
                    if m.stake != c.stake {
                        m.stake = None;
                    }
                    reasons.push(reason);
                    *seen += 1;
                }
                None => merged.push((c.clone(), vec![reason], 1)),
            }
        }
    }
    merged
        .into_iter()
        .map(|(mut c, reasons, seen)| {
            if seen < parts.len() {
                // absent from a part: its own total does not cover the period
                c.units = None;
            }
            let first = &reasons[0].1;
            if seen < parts.len() || reasons.iter().any(|(_, r)| r != first) {
                c.reason = reasons
                    .iter()
                    .map(|(months, r)| format!("{months}: {r}"))
                    .collect::<Vec<_>>()
                    .join("; ");
            }
            c
        })
        .collect()
}
