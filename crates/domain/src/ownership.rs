//! The ownership graph over time: every relationship with its validity, read as the
//! hierarchy in effect on any date, and a range of months split where the part of the
//! hierarchy a question depends on changes.
//!
//! A month takes the hierarchy in effect on its last day (the rule a rollup's default
//! hierarchy date follows), so a stake that changes on 1 July splits a year into January–June
//! and July–December; one that changes on 15 July counts from July's end, and July goes with
//! the second part.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::date::Date;
use crate::ids::OrganizationId;
use crate::period::{MonthRange, YearMonth};
use crate::query::HierarchyLink;
use crate::relationship::Relationship;

/// Every ownership relationship with its validity, indexed by parent and by child.
#[derive(Clone, Debug, Default)]
pub struct OwnershipHistory {
    relationships: Vec<Relationship>,
    /// Parent → indexes of its relationships.
    children: HashMap<OrganizationId, Vec<usize>>,
    /// Child → indexes of its relationships.
    parents: HashMap<OrganizationId, Vec<usize>>,
}

/// A run of consecutive months over which what a question depends on stays the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment<T> {
    /// The months.
    pub months: MonthRange,
    /// The date the months were read on: the last day of the run's last month.
    pub date: Date,
    /// What holds over the months.
    pub value: T,
}

impl OwnershipHistory {
    /// The history of `relationships`.
    pub fn new(relationships: Vec<Relationship>) -> Self {
        let mut children: HashMap<OrganizationId, Vec<usize>> = HashMap::new();
        let mut parents: HashMap<OrganizationId, Vec<usize>> = HashMap::new();
        for (i, r) in relationships.iter().enumerate() {
            children.entry(r.parent.clone()).or_default().push(i);
            parents.entry(r.child.clone()).or_default().push(i);
        }
        Self {
            relationships,
            children,
            parents,
        }
    }

    /// Every relationship.
    pub fn relationships(&self) -> &[Relationship] {
        &self.relationships
    }

    /// Every link in effect on `date`: the whole graph.
    pub fn links_on(&self, date: Date) -> Vec<HierarchyLink> {
        self.relationships
            .iter()
            .filter(|r| r.is_valid_on(date))
            .map(link)
            .collect()
    }

    /// The links a rollup from `root` reads on `date`: every link in effect into an
    /// organisation below `root` (from any parent, inside the hierarchy or not), in a
    /// canonical order, so two dates' answers compare equal when the hierarchy below
    /// `root` is the same.
    pub fn links_below(&self, root: &OrganizationId, date: Date) -> Vec<HierarchyLink> {
        let mut below: HashSet<&OrganizationId> = HashSet::new();
        let mut queue = VecDeque::from([root]);
        let mut links = Vec::new();
        while let Some(org) = queue.pop_front() {
            for &i in self.children.get(org).map_or(&[][..], Vec::as_slice) {
                let r = &self.relationships[i];
                if r.is_valid_on(date) && r.child != *root && below.insert(&r.child) {
                    queue.push_back(&r.child);
                }
            }
        }
        for child in below {
            for &i in self.parents.get(child).map_or(&[][..], Vec::as_slice) {
                let r = &self.relationships[i];
                if r.is_valid_on(date) {
                    links.push(link(r));
                }
            }
        }
        links.sort_by(|a, b| {
            (
                &a.parent,
                &a.child,
                a.kind.as_str(),
                a.stake_basis_points,
                a.controls,
            )
                .cmp(&(
                    &b.parent,
                    &b.child,
                    b.kind.as_str(),
                    b.stake_basis_points,
                    b.controls,
                ))
        });
        links
    }

    /// True when a link in effect on `date` holds `org` (it is not a top-level group then).
    pub fn is_held(&self, org: &OrganizationId, date: Date) -> bool {
        self.parents
            .get(org)
            .is_some_and(|rs| rs.iter().any(|&i| self.relationships[i].is_valid_on(date)))
    }

    /// Organisations that hold another on some month's last day in `period` and that
    /// nothing holds on that day: the groups of the ownership graph over the period.
    pub fn groups_in(&self, period: MonthRange) -> Vec<OrganizationId> {
        let mut groups: Vec<OrganizationId> = self
            .children
            .iter()
            .filter(|(parent, rs)| {
                period.months().any(|m| {
                    let date = Date::last_of(m);
                    rs.iter().any(|&i| self.relationships[i].is_valid_on(date))
                        && !self.is_held(parent, date)
                })
            })
            .map(|(parent, _)| parent.clone())
            .collect();
        groups.sort();
        groups
    }
}

/// `period` split into runs of consecutive months over which `at` (read on each month's
/// last day) gives equal values; one segment when it never changes.
pub fn split_by<T: PartialEq>(
    period: MonthRange,
    mut at: impl FnMut(Date) -> T,
) -> Vec<Segment<T>> {
    let mut segments: Vec<Segment<T>> = Vec::new();
    for month in period.months() {
        let date = Date::last_of(month);
        let value = at(date);
        match segments.last_mut() {
            Some(last) if last.value == value => {
                last.months = extend(last.months, month);
                last.date = date;
            }
            _ => segments.push(Segment {
                months: MonthRange::month(month),
                date,
                value,
            }),
        }
    }
    segments
}

fn extend(range: MonthRange, month: YearMonth) -> MonthRange {
    MonthRange::new(range.start(), month).unwrap_or(range)
}

fn link(r: &Relationship) -> HierarchyLink {
    HierarchyLink {
        parent: r.parent.clone(),
        child: r.child.clone(),
        kind: r.kind,
        stake_basis_points: r.stake.map(|s| s.basis_points()),
        controls: r.controls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::PartialDate;
    use crate::enums::RelationshipKind;
    use crate::ids::{RelationshipId, SourceId};
    use crate::units::Stake;

    fn org(id: &str) -> OrganizationId {
        OrganizationId::parse(id).expect("organisation id")
    }

    fn stake(
        id: &str,
        parent: &str,
        child: &str,
        bp: u32,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Relationship {
        Relationship {
            id: RelationshipId::parse(id).expect("id"),
            kind: RelationshipKind::Owns,
            parent: org(parent),
            child: org(child),
            stake: Some(Stake::from_basis_points(bp).expect("stake")),
            valid_from_date: from.map(|d| d.parse::<PartialDate>().expect("date")),
            valid_to_date: to.map(|d| d.parse::<PartialDate>().expect("date")),
            sources: vec![SourceId::parse("s").expect("source")],
            controls: false,
        }
    }

    fn year(y: i32) -> MonthRange {
        MonthRange::year(y).expect("year")
    }

    #[test]
    fn a_stake_change_on_the_first_of_a_month_splits_the_year_there() {
        let history = OwnershipHistory::new(vec![
            stake("r1", "g", "jv", 4_000, None, Some("2023-06")),
            stake("r2", "g", "jv", 6_000, Some("2023-07"), None),
        ]);
        let root = org("g");
        let segments = split_by(year(2023), |d| history.links_below(&root, d));
        assert_eq!(segments.len(), 2, "{segments:?}");
        assert_eq!(segments[0].months.to_string(), "2023-01..2023-06");
        assert_eq!(segments[0].value[0].stake_basis_points, Some(4_000));
        assert_eq!(segments[1].months.to_string(), "2023-07..2023-12");
        assert_eq!(segments[1].value[0].stake_basis_points, Some(6_000));
        assert_eq!(segments[1].date.to_string(), "2023-12-31");
    }

    #[test]
    fn changes_outside_the_hierarchy_below_the_root_do_not_split() {
        let history = OwnershipHistory::new(vec![
            stake("r1", "g", "a", 10_000, None, None),
            stake("r2", "other", "b", 5_000, Some("2023-04"), None),
            // who holds the root does not change what is below it
            stake("r3", "holder", "g", 3_000, Some("2023-09"), None),
        ]);
        let root = org("g");
        let segments = split_by(year(2023), |d| history.links_below(&root, d));
        assert_eq!(segments.len(), 1);
        assert_eq!(segments[0].months, year(2023));
    }

    #[test]
    fn links_below_include_outside_parents_of_descendants_and_deeper_levels() {
        let history = OwnershipHistory::new(vec![
            stake("r1", "nissan", "dfn", 5_000, None, None),
            stake("r2", "dongfeng", "dfn", 5_000, None, None),
            stake("r3", "dfn", "plant", 10_000, None, None),
            stake("r4", "dongfeng", "elsewhere", 10_000, None, None),
        ]);
        let date = Date::last_of(year(2023).end());
        let links = history.links_below(&org("nissan"), date);
        let pairs: Vec<(String, String)> = links
            .iter()
            .map(|l| (l.parent.to_string(), l.child.to_string()))
            .collect();
        assert_eq!(
            pairs,
            [("dfn", "plant"), ("dongfeng", "dfn"), ("nissan", "dfn")]
                .map(|(p, c)| (p.to_owned(), c.to_owned()))
        );
    }

    #[test]
    fn groups_are_the_unheld_parents_of_some_month() {
        let history = OwnershipHistory::new(vec![
            stake("r1", "a", "x", 10_000, None, None),
            // b is a group until it is acquired in July
            stake("r2", "b", "y", 10_000, None, None),
            stake("r3", "a", "b", 10_000, Some("2023-07"), None),
        ]);
        assert_eq!(history.groups_in(year(2023)), vec![org("a"), org("b")]);
        assert_eq!(history.groups_in(year(2024)), vec![org("a")]);
        let date = Date::last_of(year(2023).end());
        assert!(history.is_held(&org("b"), date));
        assert!(!history.is_held(&org("a"), date));
        assert_eq!(history.links_on(date).len(), 3);
    }
}
