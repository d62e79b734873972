//! Forecasts beside actuals, sources and destinations as series of their own, and forecast accuracy.

use super::*;

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
