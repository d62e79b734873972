//! Gross rollups over a hierarchy.

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
