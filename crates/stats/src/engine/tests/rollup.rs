//! Gross rollups over a hierarchy, and groups ranked by their rollups.

use super::*;

#[test]
fn rollup_never_counts_a_figure_twice() {
    // holding ─┬─ group (1000, includes jv) ── jv (400)
    //          └─ partner (no figures) ─┬─ jv (reached twice)
    //                                   └─ plant (50)
    let mut f = Fixture::new();
    let k = |o: &str| key(Some(o), all());
    let period = "2023-01..2023-12";
    f.add(&k("group"), period, 1_000);
    f.add(&k("jv"), period, 400);
    f.add(&k("plant"), period, 50);
    let links = vec![
        subsidiary("holding", "group"),
        subsidiary("holding", "partner"),
        subsidiary("group", "jv"),
        subsidiary("partner", "jv"),
        subsidiary("partner", "plant"),
    ];
    let answer = f.engine.rollup(
        &k("holding"),
        &links,
        range(period),
        None,
        RollupMode::Gross,
    );
    assert_eq!(answer.total.units, Some(1_050));
    let rows: Vec<_> = answer
        .contributions
        .iter()
        .map(|c| (c.organization.as_str(), c.units, c.counted))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("holding", None, false),
            ("group", Some(1_000), true),
            ("partner", None, false),
            ("jv", Some(400), false),
            ("plant", Some(50), true),
        ]
    );
    assert_eq!(
        answer.contributions[3].reason,
        "included in organizations/group's reported total"
    );
    assert_eq!(answer.figures.len(), 2);
}

#[test]
fn rollup_of_a_reporting_root_counts_only_the_root() {
    let mut f = Fixture::new();
    let k = |o: &str| key(Some(o), all());
    f.add(&k("group"), "2023-01", 1_000);
    f.add(&k("jv"), "2023-01", 400);
    let links = vec![subsidiary("group", "jv")];
    let answer = f.engine.rollup(
        &k("group"),
        &links,
        range("2023-01"),
        None,
        RollupMode::Gross,
    );
    assert_eq!(answer.total.units, Some(1_000));
    assert!(!answer.contributions[1].counted);
}

#[test]
fn rollup_with_a_partial_leaf_is_incomplete() {
    let mut f = Fixture::new();
    let k = |o: &str| key(Some(o), all());
    f.add(&k("a"), "2023-01..2023-02", 10);
    f.add(&k("b"), "2023-01", 5);
    let links = vec![subsidiary("root", "a"), subsidiary("root", "b")];
    let answer = f.engine.rollup(
        &k("root"),
        &links,
        range("2023-01..2023-02"),
        None,
        RollupMode::Gross,
    );
    assert_eq!(answer.total.units, None);
    assert_eq!(answer.total.coverage.uncovered, vec![range("2023-02")]);
    assert_eq!(answer.total.coverage.covered, vec![range("2023-01")]);
}

/// A link of `kind` with a stake of `basis_points`.
fn stake(kind: RelationshipKind, parent: &str, child: &str, basis_points: u16) -> HierarchyLink {
    HierarchyLink {
        parent: org(parent),
        child: org(child),
        kind,
        stake_basis_points: Some(basis_points),
        controls: false,
    }
}

#[test]
fn groups_are_ranked_by_their_rollup_in_each_mode() {
    // alpha ─┬─ alpha-sub (300, owned 80%)         beta ── jv (50%)
    //        └─ jv (400, 50%)                       gamma (100, no links)
    // market: 1 000
    let mut f = Fixture::new();
    let period = "2024-01";
    f.add(&key(None, all()), period, 1_000);
    f.add(&key(Some("alpha-sub"), all()), period, 300);
    f.add(&key(Some("jv"), all()), period, 400);
    f.add(&key(Some("gamma"), all()), period, 100);
    let jv = RelationshipKind::JointVenturePartner;
    let links = vec![
        stake(RelationshipKind::Owns, "alpha", "alpha-sub", 8_000),
        stake(jv, "alpha", "jv", 5_000),
        stake(jv, "beta", "jv", 5_000),
    ];
    let rank = |mode| {
        let answer = f.engine.group_ranking(
            &key(None, all()),
            GroupHierarchy::On(&links),
            range(period),
            10,
            None,
            mode,
        );
        assert!(answer.total_is_market);
        assert_eq!(answer.total_units, 1_000);
        assert_eq!(answer.mode, Some(mode));
        answer
            .entries
            .iter()
            .map(|e| (e.rank, e.organization.to_string(), e.units, e.share))
            .collect::<Vec<_>>()
    };
    let ratio = |n, d| autointel_domain::Ratio::new(n, d);
    assert_eq!(
        rank(RollupMode::EquityShare),
        [
            (1, "alpha".to_owned(), 440, ratio(11, 25)),
            (2, "beta".to_owned(), 200, ratio(1, 5)),
            (3, "gamma".to_owned(), 100, ratio(1, 10)),
        ],
        "80% of alpha-sub and half the JV to alpha, the other half to beta"
    );
    assert_eq!(
        rank(RollupMode::Gross),
        [
            (1, "alpha".to_owned(), 700, ratio(7, 10)),
            (2, "beta".to_owned(), 400, ratio(2, 5)),
            (3, "gamma".to_owned(), 100, ratio(1, 10)),
        ]
    );
    let consolidated = rank(RollupMode::Consolidated);
    assert_eq!(
        consolidated.first(),
        Some(&(1, "alpha".to_owned(), 300, ratio(3, 10))),
        "a 50% JV is not controlled"
    );
    assert!(consolidated.iter().all(|e| e.1 != "beta" || e.2 == 0));
}
