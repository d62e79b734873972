//! Totals over a range: tiling, coverage and changes against a prior period.

use super::*;

#[test]
fn tiling_by_months_sums_every_month() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    let jan = f.add(&k, "2023-01", 100);
    let feb = f.add(&k, "2023-02", 200);
    let mar = f.add(&k, "2023-03", 300);
    let answer = f.engine.total(&k, range("2023-01..2023-03"), None);
    assert_eq!(answer.total.units, Some(600));
    assert!(answer.total.coverage.complete);
    assert_eq!(answer.figures, vec![jan, feb, mar]);
}

#[test]
fn tiling_by_one_cumulative_figure() {
    let mut f = Fixture::new();
    let k = nissan();
    let cumulative = f.add(&k, "2023-01..2023-11", 694_900);
    f.add(&k, "2023-01", 50_000);
    let answer = f.engine.total(&k, range("2023-01..2023-11"), None);
    assert_eq!(answer.total.units, Some(694_900));
    assert_eq!(answer.figures, vec![cumulative]);
}

#[test]
fn tiling_by_a_quarter_and_months() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    f.add(&k, "2023-01..2023-03", 1_000);
    f.add(&k, "2023-04", 400);
    f.add(&k, "2023-05", 500);
    // A figure reaching outside the request is never split.
    f.add(&k, "2023-05..2023-06", 9_999);
    let answer = f.engine.total(&k, range("2023-01..2023-05"), None);
    assert_eq!(answer.total.units, Some(1_900));
    assert_eq!(answer.figures.len(), 3);
}

#[test]
fn uncovered_months_are_reported_without_a_number() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    f.add(&k, "2023-01", 100);
    f.add(&k, "2023-02", 200);
    f.add(&k, "2023-04", 400);
    let answer = f.engine.total(&k, range("2023-01..2023-05"), None);
    assert_eq!(answer.total.units, None);
    assert_eq!(
        answer.total.coverage,
        Coverage {
            complete: false,
            covered: vec![range("2023-01..2023-02"), range("2023-04")].into(),
            uncovered: vec![range("2023-03"), range("2023-05")].into(),
        }
    );
    assert!(answer.figures.is_empty());
}

#[test]
fn unknown_series_is_entirely_uncovered() {
    let f = Fixture::new();
    let answer = f.engine.total(&nissan(), range("2023-01..2023-02"), None);
    assert_eq!(
        answer.total.coverage.uncovered,
        vec![range("2023-01..2023-02")]
    );
    assert_eq!(answer.total.units, None);
}

#[test]
fn yoy_of_jan_nov_matches_the_article() {
    let mut f = Fixture::new();
    let k = nissan();
    let current = f.add(&k, "2023-01..2023-11", 694_900);
    let prior = f.add(&k, "2022-01..2022-11", 974_700);
    let period = range("2023-01..2023-11");
    let answer = f
        .engine
        .change(&k, period, period.same_range_previous_year().unwrap(), None);
    let change = answer.change.unwrap();
    assert_eq!((change.current, change.prior), (694_900, 974_700));
    assert_eq!(change.absolute(), -279_800);
    assert_eq!(change.percent_rounded(1).as_deref(), Some("-28.7"));
    assert_eq!(answer.like_for_like, None);
    assert_eq!(answer.figures, vec![current, prior]);
}

#[test]
fn zero_prior_gives_no_percentage() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), Powertrain::Bev);
    f.add(&k, "2023-03", 1_200);
    f.add(&k, "2022-03", 0);
    let answer = f
        .engine
        .change(&k, range("2023-03"), range("2022-03"), None);
    let change = answer.change.unwrap();
    assert_eq!(change.absolute(), 1_200);
    assert_eq!(change.relative(), None);
}

#[test]
fn missing_prior_gives_no_change() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    f.add(&k, "2023-03", 1_200);
    let answer = f
        .engine
        .change(&k, range("2023-03"), range("2023-02"), None);
    assert_eq!(answer.change, None);
    assert_eq!(answer.prior.coverage.uncovered, vec![range("2023-02")]);
}

#[test]
fn like_for_like_uses_the_comparable_base() {
    let mut f = Fixture::new();
    let k = nissan();
    f.add_full(
        &k,
        "2023-01..2023-11",
        694_900,
        ReleaseStage::Final,
        "2023-12-17",
        Some(900_000),
    );
    f.add(&k, "2022-01..2022-11", 974_700);
    let answer = f.engine.change(
        &k,
        range("2023-01..2023-11"),
        range("2022-01..2022-11"),
        None,
    );
    let lfl = answer.like_for_like.unwrap();
    assert_eq!(
        (lfl.current, lfl.prior, lfl.absolute()),
        (694_900, 900_000, -205_100)
    );
    // -205100 / 900000 = -22.788…%
    assert_eq!(lfl.percent_rounded(1).as_deref(), Some("-22.8"));
    assert_eq!(answer.change.unwrap().absolute(), -279_800);
}
