//! Series, rankings, shares, breakdowns and target progress.

use super::*;

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
