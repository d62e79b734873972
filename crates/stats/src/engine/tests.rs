//! Engine tests with hand-computed expectations.

use autointel_domain::{
    Comparator, Date, Flow, HierarchyLink, Market, MeasureBasis, MonthRange, OrganizationId,
    Powertrain, Provenance, RelationshipKind, ReleaseStage, RollupMode, SalesFigure, SalesFigureId,
    SeriesKey, SourceId, Units, VehicleScope,
};

use super::*;

pub(super) fn range(s: &str) -> MonthRange {
    s.parse().unwrap()
}

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

pub(super) fn org(s: &str) -> OrganizationId {
    OrganizationId::parse(s).unwrap()
}

pub(super) fn key(organization: Option<&str>, powertrain: Powertrain) -> SeriesKey {
    SeriesKey {
        organization: organization.map(org),
        basis: MeasureBasis::Wholesale,
        flow: Flow::Total,
        market: Market::parse("CN").unwrap(),
        scope: VehicleScope::All,
        powertrain,
        destination: None,
    }
}

fn nissan() -> SeriesKey {
    SeriesKey {
        organization: Some(org("nissan-china")),
        basis: MeasureBasis::CompanyReported,
        flow: Flow::Total,
        market: Market::parse("CN").unwrap(),
        scope: VehicleScope::All,
        powertrain: Powertrain::All,
        destination: None,
    }
}

pub(super) struct Fixture {
    pub(super) engine: Engine,
    next: u128,
}

impl Fixture {
    pub(super) fn new() -> Self {
        Self {
            engine: Engine::new(),
            next: 1,
        }
    }

    fn add_full(
        &mut self,
        key: &SeriesKey,
        period: &str,
        units: u64,
        stage: ReleaseStage,
        as_of: &str,
        comparable_prior: Option<u64>,
    ) -> FigureRef {
        let mut figure = SalesFigure {
            id: figure_id(self.next).unwrap(),
            key: key.clone(),
            period: range(period),
            units: Units::from_u64(units).unwrap(),
            nature: autointel_domain::FigureNature::Actual,
            comparable_prior: comparable_prior.map(|u| Units::from_u64(u).unwrap()),
            provenance: Provenance {
                source: SourceId::parse("article").unwrap(),
                stage,
                as_of: date(as_of),
                supersedes: None,
            },
            note: None,
        };
        figure.provenance.supersedes = self
            .engine
            .predecessor_of(&figure)
            .and_then(|p| self.engine.figure_id(p));
        self.next += 1;
        self.engine.insert(&figure, 0).unwrap()
    }

    pub(super) fn add(&mut self, key: &SeriesKey, period: &str, units: u64) -> FigureRef {
        self.add_full(key, period, units, ReleaseStage::Final, "2024-01-15", None)
    }
}

pub(super) fn all() -> Powertrain {
    Powertrain::All
}

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

#[test]
fn as_of_before_and_after_a_revision() {
    let mut f = Fixture::new();
    let k = key(None, Powertrain::Nev);
    let estimate = f.add_full(
        &k,
        "2023-10",
        750_000,
        ReleaseStage::Estimate,
        "2023-10-31",
        None,
    );
    let preliminary = f.add_full(
        &k,
        "2023-10",
        765_000,
        ReleaseStage::Preliminary,
        "2023-11-02",
        None,
    );
    let final_ = f.add_full(
        &k,
        "2023-10",
        767_000,
        ReleaseStage::Final,
        "2023-11-09",
        None,
    );
    let total = |as_of: Option<&str>| {
        f.engine
            .total(&k, range("2023-10"), as_of.map(date))
            .total
            .units
    };
    assert_eq!(total(Some("2023-10-30")), None);
    assert_eq!(total(Some("2023-10-31")), Some(750_000));
    assert_eq!(total(Some("2023-11-08")), Some(765_000));
    assert_eq!(total(Some("2023-11-09")), Some(767_000));
    assert_eq!(total(None), Some(767_000));

    assert_eq!(
        f.engine.revisions(&k, range("2023-10")),
        vec![estimate, preliminary, final_]
    );
    assert_eq!(
        f.engine.neighbours(preliminary),
        (Some(estimate), Some(final_))
    );
    let wire_like = f.engine.figure(final_).unwrap();
    assert_eq!(
        wire_like.provenance.supersedes,
        f.engine.figure_id(preliminary)
    );
}

#[test]
fn an_estimate_imported_after_the_final_does_not_replace_it() {
    let mut f = Fixture::new();
    let k = key(None, Powertrain::Nev);
    let final_ = f.add_full(
        &k,
        "2023-10",
        767_000,
        ReleaseStage::Final,
        "2023-11-09",
        None,
    );
    let estimate = f.add_full(
        &k,
        "2023-10",
        750_000,
        ReleaseStage::Estimate,
        "2023-10-31",
        None,
    );
    assert_eq!(
        f.engine.revisions(&k, range("2023-10")),
        vec![estimate, final_]
    );
    assert_eq!(
        f.engine.total(&k, range("2023-10"), None).total.units,
        Some(767_000)
    );
}

#[test]
fn series_by_quarter_and_cumulative_within_year() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    for (m, units) in [
        ("2023-01", 10),
        ("2023-02", 20),
        ("2023-03", 30),
        ("2023-04", 40),
    ] {
        f.add(&k, m, units);
    }
    let quarters = f.engine.series(
        &k,
        range("2023-02..2023-04"),
        Granularity::Quarter,
        false,
        None,
    );
    assert_eq!(
        quarters
            .points
            .iter()
            .map(|p| (p.period, p.units))
            .collect::<Vec<_>>(),
        vec![
            (range("2023-02..2023-03"), Some(50)),
            (range("2023-04"), Some(40))
        ]
    );
    let ytd = f.engine.series(
        &k,
        range("2023-02..2023-04"),
        Granularity::Month,
        true,
        None,
    );
    assert_eq!(
        ytd.points
            .iter()
            .map(|p| (p.period, p.units))
            .collect::<Vec<_>>(),
        vec![
            (range("2023-01..2023-02"), Some(30)),
            (range("2023-01..2023-03"), Some(60)),
            (range("2023-01..2023-04"), Some(100)),
        ]
    );
    assert_eq!(ytd.figures.len(), 4);
}

#[test]
fn ranking_shares_places_and_yoy() {
    let mut f = Fixture::new();
    f.add(&key(None, all()), "2023-01..2023-12", 1_000);
    f.add(&key(Some("alpha"), all()), "2023-01..2023-12", 300);
    f.add(&key(Some("beta"), all()), "2023-01..2023-12", 300);
    f.add(&key(Some("gamma"), all()), "2023-01..2023-12", 100);
    f.add(&key(Some("alpha"), all()), "2022-01..2022-12", 200);
    // Only half a year: incomplete.
    f.add(&key(Some("delta"), all()), "2023-01..2023-06", 900);
    let answer = f
        .engine
        .ranking(&key(None, all()), range("2023-01..2023-12"), 10, None);
    assert!(answer.total_is_market);
    assert_eq!(answer.total_units, 1_000);
    assert_eq!(answer.incomplete_count, 1);
    let places: Vec<_> = answer
        .entries
        .iter()
        .map(|e| (e.rank, e.organization.as_str(), e.units))
        .collect();
    assert_eq!(
        places,
        vec![(1, "alpha", 300), (1, "beta", 300), (3, "gamma", 100)]
    );
    assert_eq!(answer.entries[0].share.unwrap().percent_rounded(1), "30.0");
    let yoy = answer.entries[0].year_over_year.unwrap();
    assert_eq!(
        (yoy.prior, yoy.percent_rounded(1).as_deref()),
        (200, Some("50.0"))
    );
    assert_eq!(answer.entries[1].year_over_year, None);

    let top1 = f
        .engine
        .ranking(&key(None, all()), range("2023-01..2023-12"), 1, None);
    assert_eq!(top1.entries.len(), 1);
}

#[test]
fn ranking_without_market_total_uses_the_sum_of_ranked() {
    let mut f = Fixture::new();
    f.add(&key(Some("alpha"), all()), "2023-05", 75);
    f.add(&key(Some("beta"), all()), "2023-05", 25);
    let answer = f
        .engine
        .ranking(&key(None, all()), range("2023-05"), 10, None);
    assert!(!answer.total_is_market);
    assert_eq!(answer.total_units, 100);
    assert_eq!(answer.entries[1].share.unwrap().percent_rounded(0), "25");
}

#[test]
fn share_per_period() {
    let mut f = Fixture::new();
    let nev = key(None, Powertrain::Nev);
    let total = key(None, all());
    f.add(&nev, "2023-01", 300);
    f.add(&total, "2023-01", 1_000);
    f.add(&nev, "2023-02", 0);
    f.add(&total, "2023-02", 800);
    f.add(&nev, "2023-03", 500);
    let answer = f.engine.share(
        &nev,
        &total,
        range("2023-01..2023-03"),
        Granularity::Month,
        None,
    );
    let shares: Vec<_> = answer
        .points
        .iter()
        .map(|p| p.share.map(|s| s.percent_rounded(1)))
        .collect();
    assert_eq!(
        shares,
        vec![Some("30.0".to_owned()), Some("0.0".to_owned()), None]
    );
    assert_eq!(answer.points[2].denominator.units, None);
    // Q1 as one period: the denominator misses March.
    let quarter = f.engine.share(
        &nev,
        &total,
        range("2023-01..2023-03"),
        Granularity::Quarter,
        None,
    );
    assert_eq!(quarter.points.len(), 1);
    assert_eq!(quarter.points[0].numerator.units, Some(800));
    assert_eq!(quarter.points[0].share, None);
}

#[test]
fn monthly_series_walk_with_gap_revisions_as_of_and_longer_periods() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    let jan = f.add_full(&k, "2023-01", 100, ReleaseStage::Final, "2023-02-10", None);
    // February: a preliminary figure, revised later.
    let feb_pre = f.add_full(
        &k,
        "2023-02",
        190,
        ReleaseStage::Preliminary,
        "2023-03-05",
        None,
    );
    let feb = f.add_full(&k, "2023-02", 200, ReleaseStage::Final, "2023-04-20", None);
    // March has no figure of its own, only the quarter and a cumulative covering it.
    f.add(&k, "2023-01..2023-03", 600);
    f.add(&k, "2023-02..2023-04", 700);
    let apr = f.add_full(&k, "2023-04", 400, ReleaseStage::Final, "2023-03-31", None);
    let months = range("2023-01..2023-04");

    let latest = f.engine.series(&k, months, Granularity::Month, false, None);
    let units: Vec<_> = latest.points.iter().map(|p| p.units).collect();
    assert_eq!(units, vec![Some(100), Some(200), None, Some(400)]);
    assert_eq!(latest.figures, vec![jan, feb, apr]);
    assert_eq!(latest.points[2].period, range("2023-03"));
    assert_eq!(
        latest.points[2].coverage,
        Coverage {
            complete: false,
            covered: Runs::new(),
            uncovered: vec![range("2023-03")].into(),
        }
    );
    assert_eq!(latest.points[1].coverage.covered, vec![range("2023-02")]);
    assert!(latest.points[1].coverage.uncovered.is_empty());

    // Known on 2023-04-01: February's preliminary figure, not the final one.
    let early = f.engine.series(
        &k,
        months,
        Granularity::Month,
        false,
        Some(date("2023-04-01")),
    );
    let units: Vec<_> = early.points.iter().map(|p| p.units).collect();
    assert_eq!(units, vec![Some(100), Some(190), None, Some(400)]);
    assert_eq!(early.figures, vec![jan, feb_pre, apr]);

    // Known before anything was published: every month uncovered, nothing used.
    let none = f.engine.series(
        &k,
        months,
        Granularity::Month,
        false,
        Some(date("2022-12-31")),
    );
    assert!(none.points.iter().all(|p| p.units.is_none()));
    assert!(none.figures.is_empty());

    // Every point equals the month's own total.
    for (point, m) in latest.points.iter().zip(months.months()) {
        assert_eq!(point, &f.engine.total(&k, MonthRange::month(m), None).total);
    }
    // A range reaching past the stored months, and a series never stored.
    let wide = f.engine.series(
        &k,
        range("2022-11..2023-06"),
        Granularity::Month,
        false,
        None,
    );
    assert_eq!(wide.points.len(), 8);
    assert_eq!(wide.figures, vec![jan, feb, apr]);
    let unknown = f
        .engine
        .series(&nissan(), months, Granularity::Month, false, None);
    assert_eq!(unknown.points.len(), 4);
    assert!(unknown.figures.is_empty());
}

#[test]
fn monthly_shares_reduce_and_list_figures_per_month() {
    let mut f = Fixture::new();
    let nev = key(None, Powertrain::Nev);
    let total = key(None, all());
    let n1 = f.add(&nev, "2023-01", 300);
    let d1 = f.add(&total, "2023-01", 1_200);
    let d2 = f.add(&total, "2023-02", 0);
    let n2 = f.add(&nev, "2023-02", 0);
    let d3 = f.add(&total, "2023-03", 700);
    let answer = f.engine.share(
        &nev,
        &total,
        range("2023-01..2023-03"),
        Granularity::Month,
        None,
    );
    let shares: Vec<_> = answer.points.iter().map(|p| p.share).collect();
    assert_eq!(shares, vec![autointel_domain::Ratio::new(1, 4), None, None]);
    // Numerator then denominator, month by month.
    assert_eq!(answer.figures, vec![n1, d1, n2, d2, d3]);
    assert_eq!(answer.points[2].numerator.units, None);
    assert_eq!(answer.points[2].denominator.units, Some(700));
}

#[test]
fn breakdown_by_powertrain() {
    let mut f = Fixture::new();
    f.add(&key(Some("byd"), Powertrain::Bev), "2023-01", 60);
    f.add(&key(Some("byd"), Powertrain::Phev), "2023-01", 40);
    f.add(&key(Some("byd"), Powertrain::Phev), "2022-01", 10);
    f.add(&key(Some("tesla"), Powertrain::Bev), "2023-01", 70);
    let filter = BreakdownFilter {
        organization: Some(Some(org("byd"))),
        basis: Some(MeasureBasis::Wholesale),
        flow: Some(Flow::Total),
        market: Some(Market::parse("CN").unwrap()),
        scope: Some(VehicleScope::All),
        powertrain: None,
    };
    let answer = f.engine.breakdown(&filter, range("2023-01"), None);
    let rows: Vec<_> = answer
        .rows
        .iter()
        .map(|(k, t)| (k.powertrain, t.units))
        .collect();
    assert_eq!(
        rows,
        vec![(Powertrain::Bev, Some(60)), (Powertrain::Phev, Some(40))]
    );
    let by_org = BreakdownFilter {
        organization: None,
        powertrain: Some(Powertrain::Bev),
        ..filter
    };
    let answer = f.engine.breakdown(&by_org, range("2023-01"), None);
    assert_eq!(answer.rows.len(), 2);
    assert_eq!(answer.rows[1].0.organization, Some(org("tesla")));
}

/// A subsidiary link without a stake.
pub(super) fn subsidiary(parent: &str, child: &str) -> HierarchyLink {
    HierarchyLink {
        parent: org(parent),
        child: org(child),
        kind: RelationshipKind::SubsidiaryOf,
        stake_basis_points: None,
    }
}

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

#[test]
fn target_progress_statuses() {
    let mut f = Fixture::new();
    let k = key(Some("kia-yancheng"), all());
    let year = range("2024-01..2024-12");
    let progress = |e: &Engine, threshold| {
        e.target_progress(&k, year, threshold, Comparator::GreaterOrEqual, None)
    };
    let none = progress(&f.engine, 1_200);
    assert_eq!(none.status, ProgressStatus::NotYetMeasurable);
    assert_eq!(none.actual.units, None);

    f.add(&k, "2024-01", 100);
    f.add(&k, "2024-02", 100);
    f.add(&k, "2024-03", 100);
    f.add(&k, "2024-05", 100); // April missing: the stretch stops at March.
    // 300 in 3 of 12 months → 1 200 pro rata.
    let on_track = progress(&f.engine, 1_200);
    assert_eq!(on_track.status, ProgressStatus::OnTrack);
    assert_eq!(on_track.actual.period, range("2024-01..2024-03"));
    assert_eq!(on_track.actual.units, Some(300));
    assert_eq!(on_track.progress.unwrap().percent_rounded(1), "25.0");
    assert_eq!(progress(&f.engine, 1_201).status, ProgressStatus::Behind);
    assert_eq!(progress(&f.engine, 250).status, ProgressStatus::Met);

    f.add(&k, "2024-01..2024-12", 1_100);
    let closed = progress(&f.engine, 1_200);
    assert_eq!(closed.status, ProgressStatus::Behind);
    assert_eq!(closed.actual.units, Some(1_100));
    let upper = f
        .engine
        .target_progress(&k, year, 1_200, Comparator::LessThan, None);
    assert_eq!(upper.status, ProgressStatus::Met);
}

#[test]
fn list_orders_by_series_then_period_and_hides_superseded() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    f.add(&k, "2023-02", 2);
    let old = f.add_full(
        &k,
        "2023-01",
        1,
        ReleaseStage::Preliminary,
        "2023-02-01",
        None,
    );
    let new = f.add(&k, "2023-01", 11);
    f.add(&key(Some("alpha"), all()), "2023-05", 5);
    let listed = f.engine.list(&ListFilter::default());
    assert_eq!(listed.len(), 3);
    assert_eq!(
        f.engine.figure(listed[0].1).unwrap().key.organization,
        Some(org("alpha"))
    );
    assert_eq!(listed[1].1, new);
    let with_old = f.engine.list(&ListFilter {
        include_superseded: true,
        ..ListFilter::default()
    });
    assert_eq!(with_old.len(), 4);
    assert_eq!(with_old[1].1, old);
    let cursor = ListKey::decode(&with_old[1].0.encode()).unwrap();
    assert_eq!(cursor, with_old[1].0);
    let then = f.engine.list(&ListFilter {
        as_of: Some(date("2023-03-01")),
        ..ListFilter::default()
    });
    assert_eq!(then.len(), 1);
    assert_eq!(then[0].1, old);
}

#[test]
fn rejects_duplicate_and_foreign_ids() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    let r = f.add(&k, "2023-02", 2);
    let mut figure = f.engine.figure(r).unwrap();
    assert!(matches!(
        f.engine.insert(&figure, 0),
        Err(EngineError::Duplicate(_))
    ));
    figure.id = SalesFigureId::parse("not-ours").unwrap();
    assert!(matches!(
        f.engine.insert(&figure, 0),
        Err(EngineError::ForeignId(_))
    ));
}

#[test]
fn grain_periods_are_clipped() {
    assert_eq!(
        grain_periods(range("2023-11..2024-02"), Granularity::Year),
        vec![range("2023-11..2023-12"), range("2024-01..2024-02")]
    );
    assert_eq!(
        grain_periods(range("2023-05..2023-05"), Granularity::Quarter),
        vec![range("2023-05")]
    );
}

#[test]
fn row_is_compact() {
    assert_eq!(size_of::<Row>(), 16);
    assert_eq!(size_of::<Entry>(), 8);
    assert_eq!(size_of::<CompactKey>(), 20);
}

#[test]
fn the_id_index_finds_every_number_before_and_after_compaction() {
    // numbers shaped like UUIDv7 values: a clock-like high half, a scrambled low half
    let numbers: Vec<u128> = (0..50_000u64)
        .map(|i| {
            let low = i.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ (i << 17);
            (u128::from(1_700_000_000_000 + i / 7) << 64) | u128::from(low)
        })
        .collect();
    let mut index = IdIndex::default();
    let mut present = Numbers::default();
    for row in 0..40_000u32 {
        present.push(numbers[row as usize]);
        index.insert(row, &present);
    }
    assert!(index.len * 8 <= index.slots.len() * 7, "at most 7/8 full");
    let check = |index: &IdIndex, present: &Numbers, rows: usize| {
        for (row, number) in numbers.iter().enumerate().take(rows) {
            assert_eq!(present.get(row), *number);
            assert_eq!(
                index.find(*number, present),
                Some(u32::try_from(row).unwrap())
            );
        }
        for absent in &numbers[rows..] {
            assert_eq!(index.find(*absent, present), None);
        }
        // same low half, other high half: not the same figure
        assert_eq!(index.find(numbers[0] ^ (1 << 100), present), None);
    };
    check(&index, &present, 40_000);
    assert_eq!(present.run_starts.len(), 40_000_usize.div_ceil(7));

    index.compact(&present);
    assert_eq!(
        index.slots.len(),
        40_000 + 10_000 + 1,
        "4/5 full after compaction"
    );
    check(&index, &present, 40_000);

    // loading goes on after compaction
    for row in 40_000..50_000u32 {
        present.push(numbers[row as usize]);
        index.insert(row, &present);
    }
    check(&index, &present, 50_000);
}

/// `n` revisions of one figure with as-of dates a day apart from 2000-01-01 on, ids
/// ascending, each naming the one before it, units growing by one.
fn long_chain(n: usize) -> Vec<SalesFigure> {
    let mut as_of = date("2000-01-01");
    let mut figures: Vec<SalesFigure> = Vec::with_capacity(n);
    for i in 0..n {
        let figure = SalesFigure {
            id: figure_id(u128::try_from(i).unwrap() + 1).unwrap(),
            key: nissan(),
            period: range("2023-05"),
            units: Units::from_u64(50_000 + u64::try_from(i).unwrap()).unwrap(),
            nature: autointel_domain::FigureNature::Actual,
            comparable_prior: None,
            provenance: Provenance {
                source: SourceId::parse("article").unwrap(),
                stage: ReleaseStage::Final,
                as_of,
                supersedes: figures.last().map(|f| f.id.clone()),
            },
            note: None,
        };
        as_of = if as_of == Date::last_of(as_of.year_month()) {
            Date::first_of(as_of.year_month().succ().unwrap())
        } else {
            Date::new(as_of.year(), as_of.month(), as_of.day() + 1).unwrap()
        };
        figures.push(figure);
    }
    figures
}

/// A chain of 100,000 revisions of one series and period, loaded newest first (each
/// revision goes before all the others), then walked: every lookup (a figure, its
/// neighbours, where a newcomer would go, the latest, a page) is logarithmic and the load
/// one merge, so the whole test takes a second or two even in a debug build. With a scan of
/// the series per lookup, a chain copied per `predecessor_of` and a shift of the series per
/// insert it ran for minutes.
#[test]
fn a_long_chain_is_loaded_and_walked_in_logarithmic_steps() {
    const N: usize = 100_000;
    let started = std::time::Instant::now();
    let figures = long_chain(N);
    let mut engine = Engine::new();
    let loaded = engine
        .insert_all(figures.iter().rev().map(|f| (f, 0)))
        .unwrap();
    assert_eq!(loaded, N);
    let refs: Vec<FigureRef> = figures
        .iter()
        .map(|f| engine.find(&f.id).unwrap())
        .collect();
    assert_eq!(engine.revision_count(&nissan(), range("2023-05")), N);
    assert_eq!(
        engine.latest_revision(&nissan(), range("2023-05")),
        refs.last().copied()
    );
    for (i, &f) in refs.iter().enumerate() {
        let back = engine.figure(f).unwrap();
        assert_eq!(back.units.get(), 50_000 + u64::try_from(i).unwrap());
        assert_eq!(
            back.provenance.supersedes,
            i.checked_sub(1).map(|p| figures[p].id.clone())
        );
        assert_eq!(engine.superseded_by(f), refs.get(i + 1).copied());
        // A newcomer with the same stage and as-of date goes right after this revision.
        let newcomer = SalesFigure {
            id: figure_id(u128::MAX >> 8).unwrap(),
            ..figures[i].clone()
        };
        assert_eq!(engine.predecessor_of(&newcomer), Some(f));
    }
    let mut after = None;
    let mut walked = 0;
    loop {
        let page = engine
            .revision_page(&nissan(), range("2023-05"), after, 1000)
            .unwrap();
        assert_eq!(page.previous, after);
        assert_eq!(
            page.revisions[..],
            refs[walked..walked + page.revisions.len()]
        );
        walked += page.revisions.len();
        after = page.revisions.last().copied();
        if !page.more {
            break;
        }
    }
    assert_eq!(walked, N);
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(60),
        "a chain of {N} took {took:?}: not logarithmic steps"
    );
}

/// A revision link that goes against id order (ids minted on clocks out of step) marks its
/// series irregular; inserts there keep one-at-a-time order, and lookups still find every
/// figure.
#[test]
fn a_link_against_id_order_keeps_one_at_a_time_order() {
    let mut figures = long_chain(12);
    // Two revisions with the same stage and as-of date: the later names the earlier, whose
    // id is larger.
    figures[11].provenance.as_of = figures[10].provenance.as_of;
    figures[11].id = figure_id(5_000).unwrap();
    figures[10].id = figure_id(9_000).unwrap();
    figures[11].provenance.supersedes = Some(figures[10].id.clone());
    let mut one_by_one = Engine::new();
    for f in &figures[..10] {
        one_by_one.insert(f, 0).unwrap();
    }
    let tail = figures[10..].to_vec();
    for f in &tail {
        one_by_one.insert(f, 0).unwrap();
    }
    let mut batched = Engine::new();
    batched
        .insert_all(figures[..10].iter().chain(&tail).map(|f| (f, 0)))
        .unwrap();
    assert!(batched.irregular.contains(&0));
    assert_eq!(batched.entries, one_by_one.entries);
    let chain = batched.revisions(&nissan(), range("2023-05"));
    // The link wins over id order: 9000 first, then 5000 which names it.
    let ids: Vec<String> = chain[10..]
        .iter()
        .map(|&f| batched.figure_id(f).unwrap().to_string())
        .collect();
    assert_eq!(ids, [tail[0].id.to_string(), tail[1].id.to_string()]);
    for (i, &f) in chain.iter().enumerate() {
        assert_eq!(batched.neighbours(f).0, i.checked_sub(1).map(|p| chain[p]));
        assert_eq!(batched.neighbours(f).1, chain.get(i + 1).copied());
    }
}

/// A figure of `source` and `nature`, linked as an import links it.
fn add_from(
    f: &mut Fixture,
    key: &SeriesKey,
    period: &str,
    units: u64,
    source: &str,
    nature: autointel_domain::FigureNature,
    (stage, as_of): (ReleaseStage, &str),
) -> FigureRef {
    let mut figures = vec![SalesFigure {
        id: figure_id(f.next).unwrap(),
        key: key.clone(),
        period: range(period),
        units: Units::from_u64(units).unwrap(),
        nature,
        comparable_prior: None,
        provenance: Provenance {
            source: SourceId::parse(source).unwrap(),
            stage,
            as_of: date(as_of),
            supersedes: None,
        },
        note: None,
    }];
    f.engine.link_revisions(&mut figures);
    f.next += 1;
    f.engine.insert(&figures[0], 0).unwrap()
}

#[test]
fn queries_never_read_forecasts_and_chains_never_cross_nature_or_source() {
    use autointel_domain::FigureNature::{Actual, Forecast};
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    let final_ = (ReleaseStage::Final, "2024-02-10");
    let plan = f.add_from_(
        &k,
        "2024-01",
        999_999,
        "plan",
        Forecast,
        (ReleaseStage::Final, "2023-12-01"),
    );
    let article = f.add_from_(
        &k,
        "2024-01",
        100,
        "article",
        Actual,
        (ReleaseStage::Preliminary, "2024-02-02"),
    );
    let cpca = f.add_from_(&k, "2024-01", 110, "cpca", Actual, final_);
    let article_final = f.add_from_(
        &k,
        "2024-01",
        105,
        "article",
        Actual,
        (ReleaseStage::Final, "2024-02-12"),
    );
    // a later forecast of the same series and period: revises only the plan
    let replan = f.add_from_(
        &k,
        "2024-01",
        888_888,
        "plan",
        Forecast,
        (ReleaseStage::Restated, "2024-03-01"),
    );

    // The answer: the latest actual by (stage, as-of) across sources, never a forecast.
    let total = f.engine.total(&k, range("2024-01"), None);
    assert_eq!(total.total.units, Some(105));
    assert_eq!(total.figures, vec![article_final]);
    let then = f
        .engine
        .total(&k, range("2024-01"), Some(date("2024-02-11")));
    assert_eq!(then.total.units, Some(110));
    let before_any_actual = f
        .engine
        .total(&k, range("2024-01"), Some(date("2024-01-01")));
    assert_eq!(before_any_actual.total.units, None);
    let ranking = f.engine.ranking(&k, range("2024-01"), 10, None);
    assert_eq!(ranking.entries.len(), 1);
    assert_eq!(ranking.entries[0].units, 105);
    let monthly = f
        .engine
        .series(&k, range("2024-01"), Granularity::Month, false, None);
    assert_eq!(monthly.points[0].units, Some(105));

    // Chains: per source, per nature.
    let id = |r| f.engine.figure_id(r);
    assert_eq!(f.engine.neighbours(article), (None, Some(article_final)));
    assert_eq!(f.engine.neighbours(article_final), (Some(article), None));
    assert_eq!(f.engine.neighbours(cpca), (None, None));
    assert_eq!(f.engine.neighbours(plan), (None, Some(replan)));
    assert_eq!(
        f.engine
            .figure(article_final)
            .unwrap()
            .provenance
            .supersedes,
        id(article)
    );
    assert_eq!(f.engine.figure(cpca).unwrap().provenance.supersedes, None);
    assert_eq!(
        f.engine.figure(replan).unwrap().provenance.supersedes,
        id(plan)
    );
    assert_eq!(f.engine.figure(plan).unwrap().nature, Forecast);
    // The actuals' history holds every source's actuals, no forecast.
    assert_eq!(
        f.engine.revisions(&k, range("2024-01")),
        vec![article, cpca, article_final]
    );

    // Listing shows forecasts and each source's latest revision.
    let mut listed: Vec<FigureRef> = f
        .engine
        .list(&ListFilter::default())
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    listed.sort();
    assert_eq!(listed, vec![cpca, article_final, replan]);
    let all = ListFilter {
        include_superseded: true,
        ..ListFilter::default()
    };
    assert_eq!(f.engine.list(&all).len(), 5);
}

#[test]
fn a_destination_is_a_series_of_its_own_and_never_summed_into_the_total() {
    use autointel_domain::FigureNature::Actual;
    let mut f = Fixture::new();
    let all_destinations = SeriesKey {
        flow: Flow::Export,
        ..key(Some("byd"), all())
    };
    let to = |code: &str| SeriesKey {
        destination: Some(Market::parse(code).unwrap()),
        ..all_destinations.clone()
    };
    let stage = (ReleaseStage::Final, "2024-02-10");
    let de = f.add_from_(&to("DE"), "2024-01", 30, "customs", Actual, stage);
    let br = f.add_from_(&to("BR"), "2024-01", 20, "customs", Actual, stage);
    // no destination-less figure: missing is not zero, and destinations are not added up
    assert_eq!(
        f.engine
            .total(&all_destinations, range("2024-01"), None)
            .total
            .units,
        None
    );
    let total = f.add_from_(&all_destinations, "2024-01", 70, "customs", Actual, stage);
    assert_eq!(
        f.engine
            .total(&all_destinations, range("2024-01"), None)
            .figures,
        vec![total]
    );
    assert_eq!(
        f.engine.total(&to("DE"), range("2024-01"), None).figures,
        vec![de]
    );
    assert_eq!(
        f.engine
            .total(&to("BR"), range("2024-01"), None)
            .total
            .units,
        Some(20)
    );
    assert_eq!(f.engine.neighbours(br), (None, None));
    assert_eq!(f.engine.figure(de).unwrap().key, to("DE"));
    let ranking = f
        .engine
        .ranking(&all_destinations, range("2024-01"), 10, None);
    assert_eq!(ranking.entries.len(), 1);
    assert_eq!(ranking.entries[0].units, 70);
    let breakdown = f
        .engine
        .breakdown(&BreakdownFilter::default(), range("2024-01"), None);
    assert_eq!(breakdown.rows.len(), 1);
    assert_eq!(f.engine.list(&ListFilter::default()).len(), 3);
}

impl Fixture {
    fn add_from_(
        &mut self,
        key: &SeriesKey,
        period: &str,
        units: u64,
        source: &str,
        nature: autointel_domain::FigureNature,
        order: (ReleaseStage, &str),
    ) -> FigureRef {
        add_from(self, key, period, units, source, nature, order)
    }
}

#[test]
fn forecast_accuracy_ranks_each_forecast_by_its_exact_error_against_the_actual() {
    use autointel_domain::FigureNature::{Actual, Forecast};
    use autointel_domain::Ratio;
    let mut f = Fixture::new();
    let k = key(None, all());
    let year = range("2024-01..2024-12");
    let final_ = (ReleaseStage::Final, "2025-01-10");
    for m in 1..=12 {
        f.add_from_(
            &k,
            &format!("2024-{m:02}"),
            2_000_000,
            "caam",
            Actual,
            final_,
        );
    }
    let at = |d| (ReleaseStage::Final, d);
    let jan = f.add_from_(
        &k,
        "2024-01..2024-12",
        23_000_000,
        "cpca",
        Forecast,
        at("2024-01-15"),
    );
    let jul = f.add_from_(
        &k,
        "2024-01..2024-12",
        24_600_000,
        "cpca",
        Forecast,
        at("2024-07-15"),
    );
    let nov = f.add_from_(
        &k,
        "2024-01..2024-12",
        24_100_000,
        "cpca",
        Forecast,
        at("2024-11-15"),
    );
    let citi = f.add_from_(
        &k,
        "2024-01..2024-12",
        23_900_000,
        "citi",
        Forecast,
        at("2024-06-01"),
    );
    // A forecast of another period never counts.
    f.add_from_(
        &k,
        "2024-01..2024-06",
        12_000_000,
        "cpca",
        Forecast,
        at("2024-01-15"),
    );

    let a = f.engine.forecast_accuracy(&k, year, None, None);
    assert_eq!(a.actual.units, Some(24_000_000));
    let ranked: Vec<_> = a
        .forecasts
        .iter()
        .map(|e| (e.figure, e.error_units, e.error))
        .collect();
    assert_eq!(
        ranked,
        vec![
            // |100,000| ties: the later forecast first
            (nov, Some(100_000), Ratio::new(1, 240)),
            (citi, Some(-100_000), Ratio::new(-1, 240)),
            (jul, Some(600_000), Ratio::new(1, 40)),
            (jan, Some(-1_000_000), Ratio::new(-1, 24)),
        ]
    );
    assert_eq!(a.forecasts[0].as_of, date("2024-11-15"));
    assert_eq!(a.forecasts[1].source.as_str(), "citi");
    assert_eq!(a.forecasts[3].units, 23_000_000);
    assert_eq!(a.figures.len(), 12 + 4);
    assert_eq!(a.figures[12..], [nov, citi, jul, jan]);

    let cpca = SourceId::parse("cpca").unwrap();
    let only = f.engine.forecast_accuracy(&k, year, Some(&cpca), None);
    let figures: Vec<_> = only.forecasts.iter().map(|e| e.figure).collect();
    assert_eq!(figures, [nov, jul, jan]);
    let unknown = SourceId::parse("nobody").unwrap();
    assert!(
        f.engine
            .forecast_accuracy(&k, year, Some(&unknown), None)
            .forecasts
            .is_empty()
    );

    // Before the actuals were out: no actual, no errors, later forecasts first; only what
    // was known then.
    let then = f
        .engine
        .forecast_accuracy(&k, year, None, Some(date("2024-10-01")));
    assert_eq!(then.actual.units, None);
    assert!(!then.actual.coverage.complete);
    let known: Vec<_> = then
        .forecasts
        .iter()
        .map(|e| (e.figure, e.error_units, e.error))
        .collect();
    assert_eq!(
        known,
        [(jul, None, None), (citi, None, None), (jan, None, None)]
    );
    assert_eq!(then.figures, [jul, citi, jan]);
}
