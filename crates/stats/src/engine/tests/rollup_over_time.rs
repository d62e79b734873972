//! Rollups and group rankings whose period a change of stakes splits.

use autointel_domain::{
    OwnershipHistory, PartialDate, Ratio, Relationship, RelationshipId, Stake, split_by,
};

use super::*;

/// An `owns` relationship of `basis_points` from `from` to `to` (months, inclusive).
fn owns(
    parent: &str,
    child: &str,
    basis_points: u32,
    from: Option<&str>,
    to: Option<&str>,
) -> Relationship {
    Relationship {
        id: RelationshipId::parse(&format!("{parent}-{child}-{basis_points}")).unwrap(),
        kind: RelationshipKind::Owns,
        parent: org(parent),
        child: org(child),
        stake: Some(Stake::from_basis_points(basis_points).unwrap()),
        valid_from_date: from.map(|d| d.parse::<PartialDate>().unwrap()),
        valid_to_date: to.map(|d| d.parse::<PartialDate>().unwrap()),
        sources: vec![SourceId::parse("s").unwrap()],
        controls: false,
    }
}

/// Each month of 2023 for `o`, `units` a month.
fn monthly(f: &mut Fixture, o: &str, units: u64) {
    for m in 1..=12 {
        f.add(&key(Some(o), all()), &format!("2023-{m:02}"), units);
    }
}

/// g holds 40% of jv until June 2023 and 60% from July.
fn stake_raised_in_july() -> OwnershipHistory {
    OwnershipHistory::new(vec![
        owns("g", "jv", 4_000, None, Some("2023-06")),
        owns("g", "jv", 6_000, Some("2023-07"), None),
    ])
}

#[test]
fn a_stake_change_splits_an_equity_share_rollup_at_the_change() {
    let mut f = Fixture::new();
    monthly(&mut f, "jv", 100);
    let history = stake_raised_in_july();
    let root = org("g");
    let year = range("2023-01..2023-12");
    let segments = split_by(year, |d| history.links_below(&root, d));
    let k = key(Some("g"), all());
    let a = f
        .engine
        .rollup_over_time(&k, &segments, year, None, RollupMode::EquityShare);
    // 6 × 100 × 40% + 6 × 100 × 60%, where one stake date for the year would say 720
    assert_eq!(a.total.units, Some(600));
    assert_eq!(a.exact, Ratio::new(600, 1));
    assert_eq!(a.segments.len(), 2);
    assert_eq!(a.segments[0].months, range("2023-01..2023-06"));
    assert_eq!(a.segments[0].answer.total.units, Some(240));
    assert_eq!(a.segments[1].answer.total.units, Some(360));
    assert_eq!(a.figures.len(), 12, "every month's figure cited once");
    let jv = a
        .contributions
        .iter()
        .find(|c| c.organization == org("jv"))
        .unwrap();
    assert_eq!(jv.units, Some(1_200));
    assert!(jv.counted);
    assert_eq!(jv.stake, None, "the stake changed within the year");
    assert!(
        a.assumptions[0].contains("2023-01..2023-06 over the hierarchy of 2023-06-30"),
        "{:?}",
        a.assumptions
    );

    // consolidated: controlled (60%) only from July
    let c = f
        .engine
        .rollup_over_time(&k, &segments, year, None, RollupMode::Consolidated);
    assert_eq!(c.total.units, Some(600));
    assert_eq!(c.segments[0].answer.total.units, Some(0));
}

#[test]
fn a_figure_spanning_the_change_cannot_be_split() {
    let mut f = Fixture::new();
    f.add(&key(Some("jv"), all()), "2023-01..2023-12", 1_200);
    let history = stake_raised_in_july();
    let root = org("g");
    let year = range("2023-01..2023-12");
    let segments = split_by(year, |d| history.links_below(&root, d));
    let a = f.engine.rollup_over_time(
        &key(Some("g"), all()),
        &segments,
        year,
        None,
        RollupMode::EquityShare,
    );
    assert_eq!(
        a.total.units, None,
        "an annual figure does not split at July"
    );
    assert_eq!(a.exact, None);
    assert!(a.figures.is_empty());
    assert!(a.assumptions[0].contains("cannot be split"));
}

#[test]
fn one_hierarchy_throughout_answers_as_a_plain_rollup() {
    let mut f = Fixture::new();
    f.add(&key(Some("jv"), all()), "2023-01..2023-12", 1_200);
    let history = OwnershipHistory::new(vec![owns("g", "jv", 5_000, None, None)]);
    let root = org("g");
    let year = range("2023-01..2023-12");
    let segments = split_by(year, |d| history.links_below(&root, d));
    let k = key(Some("g"), all());
    let over_time = f
        .engine
        .rollup_over_time(&k, &segments, year, None, RollupMode::EquityShare);
    let plain = f.engine.rollup(
        &k,
        &history.links_on(Date::last_of(year.end())),
        year,
        None,
        RollupMode::EquityShare,
    );
    assert_eq!(over_time, plain);
    assert_eq!(over_time.total.units, Some(600));
    assert!(over_time.segments.is_empty());
}

#[test]
fn an_acquired_group_ranks_with_the_months_before_its_acquisition() {
    // a owns a-sub; b owns b-sub until a buys b in July; the market is the sum
    let mut f = Fixture::new();
    monthly(&mut f, "a-sub", 20);
    monthly(&mut f, "b-sub", 10);
    for m in 1..=12 {
        f.add(&key(None, all()), &format!("2023-{m:02}"), 30);
    }
    let history = OwnershipHistory::new(vec![
        owns("a", "a-sub", 10_000, None, None),
        owns("b", "b-sub", 10_000, None, None),
        owns("a", "b", 10_000, Some("2023-07"), None),
    ]);
    for mode in [RollupMode::EquityShare, RollupMode::Consolidated] {
        let answer = f.engine.group_ranking(
            &key(None, all()),
            GroupHierarchy::Dated(&history),
            range("2023-01..2023-12"),
            10,
            None,
            mode,
        );
        let rows: Vec<_> = answer
            .entries
            .iter()
            .map(|e| (e.organization.to_string(), e.units))
            .collect();
        assert_eq!(
            rows,
            [("a".to_owned(), 240 + 60), ("b".to_owned(), 60)],
            "{mode:?}: b's first half is b's, its second half a's"
        );
        let ranked: u64 = answer.entries.iter().map(|e| e.units).sum();
        assert_eq!(ranked, answer.total_units, "nothing counted twice or lost");
        assert_eq!(answer.incomplete_count, 0);
    }
}

#[test]
fn a_group_with_only_a_figure_spanning_a_change_counts_as_incomplete() {
    let mut f = Fixture::new();
    f.add(&key(Some("jv"), all()), "2023-01..2023-12", 1_200);
    let answer = f.engine.group_ranking(
        &key(None, all()),
        GroupHierarchy::Dated(&stake_raised_in_july()),
        range("2023-01..2023-12"),
        10,
        None,
        RollupMode::EquityShare,
    );
    assert!(answer.entries.is_empty(), "{:?}", answer.entries);
    assert_eq!(answer.incomplete_count, 1);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever month a stake changes in, an equity-share rollup of monthly figures is the
    /// exact sum of each month's units at the stake of that month, and a consolidated one
    /// counts exactly the months in which the stake is above one half.
    #[test]
    fn a_split_rollup_weights_every_month_by_its_own_stake(
        units in proptest::collection::vec(0u64..1_000_000, 12),
        change in 2u8..=12,
        before in 1u32..=10_000,
        after in 1u32..=10_000,
    ) {
        let mut f = Fixture::new();
        for (m, &u) in units.iter().enumerate() {
            f.add(&key(Some("jv"), all()), &format!("2023-{:02}", m + 1), u);
        }
        let until = format!("2023-{:02}", change - 1);
        let from = format!("2023-{change:02}");
        let history = OwnershipHistory::new(vec![
            owns("g", "jv", before, None, Some(&until)),
            owns("g", "jv", after, Some(&from), None),
        ]);
        let year = range("2023-01..2023-12");
        let segments = split_by(year, |d| history.links_below(&org("g"), d));
        let k = key(Some("g"), all());
        let mut expected = Ratio::new(0, 1).unwrap();
        let mut controlled = 0u64;
        for (m, &u) in units.iter().enumerate() {
            let bp = if m + 1 < usize::from(change) { before } else { after };
            let share = Ratio::new(i128::from(u) * i128::from(bp), 10_000).unwrap();
            expected = expected.checked_add(share).unwrap();
            if bp > 5_000 {
                controlled += u;
            }
        }
        let equity = f.engine.rollup_over_time(&k, &segments, year, None, RollupMode::EquityShare);
        proptest::prop_assert_eq!(equity.exact, Some(expected));
        proptest::prop_assert_eq!(equity.segments.len(), if before == after { 0 } else { 2 });
        let consolidated =
            f.engine.rollup_over_time(&k, &segments, year, None, RollupMode::Consolidated);
        proptest::prop_assert_eq!(consolidated.total.units, Some(controlled));
    }
}
