//! Queries: change, coverage, target progress, rankings, shares and breakdowns,
//! and how they fail and recover while the registry is away.

use std::time::{Duration, Instant};

use autointel_proto::stats::{self as wire};
use autointel_proto::types::{self as twire};
use tonic::Code;
use tonic_types::StatusExt;

use crate::fixtures::{
    ARTICLE, build_hierarchy, change_request, create_target, date, figures, import, months, new_id,
    nissan_china, rollup_request, seed_figures, series, violated_fields,
};
use crate::harness::{spawn_stack, start_registry};

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    seed_yoy_matches_the_article,
    coverage_reports_uncovered_months,
    target_progress_tracks_a_registry_target,
    registry_outage_fails_fast_and_recovers,
    ranking_share_and_breakdown,
    forecast_accuracy_ranks_each_forecast_against_the_actual,
);

async fn seed_yoy_matches_the_article(db: &str) {
    let mut stack = spawn_stack(db).await;
    let response = import(&mut stack.stats, &new_id(), vec![seed_figures()])
        .await
        .unwrap();
    assert_eq!((response.imported_count, response.revision_count), (2, 0));

    let answer = stack
        .stats
        .compute_change(change_request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.current.unwrap().units, Some(694_900));
    assert_eq!(answer.prior.unwrap().units, Some(974_700));
    let change = answer.change.unwrap();
    assert_eq!(
        (
            change.current_units,
            change.prior_units,
            change.absolute_change
        ),
        (694_900, 974_700, -279_800)
    );
    assert_eq!(change.relative_change.unwrap().percent, "-28.7");
    assert!(answer.like_for_like_change.is_none());
    let provenance = answer.provenance.unwrap();
    assert_eq!(provenance.figures.len(), 2);
    assert_eq!(provenance.sources.len(), 1);
    assert_eq!(provenance.sources[0].name, ARTICLE);
    assert!(
        !provenance.sources[0].title.is_empty(),
        "source snapshot is served"
    );
    assert!(provenance.figures.iter().all(|f| f.source == ARTICLE));
}

async fn coverage_reports_uncovered_months(db: &str) {
    let mut stack = spawn_stack(db).await;
    import(
        &mut stack.stats,
        &new_id(),
        vec![figures(&[
            "byd,wholesale,total,CN,all,all,2023-01,100,,,article-nissan-china-exports-2023,final,2023-06-01,",
            "byd,wholesale,total,CN,all,all,2023-02,200,,,article-nissan-china-exports-2023,final,2023-06-01,",
            "byd,wholesale,total,CN,all,all,2023-04,400,,,article-nissan-china-exports-2023,final,2023-06-01,",
        ])],
    )
    .await
    .unwrap();
    let key = series(
        "organizations/byd",
        twire::MeasureBasis::Wholesale,
        twire::Powertrain::All,
    );
    let total = stack
        .stats
        .compute_total(wire::ComputeTotalRequest {
            source: String::new(),
            series: Some(key.clone()),
            period: Some(months((2023, 1), (2023, 5))),
            as_of_date: None,
        })
        .await
        .unwrap()
        .into_inner();
    let t = total.total.unwrap();
    assert_eq!(t.units, None);
    let coverage = t.coverage.unwrap();
    assert!(!coverage.complete);
    assert_eq!(
        coverage.covered,
        [months((2023, 1), (2023, 2)), months((2023, 4), (2023, 4))]
    );
    assert_eq!(
        coverage.uncovered,
        [months((2023, 3), (2023, 3)), months((2023, 5), (2023, 5))]
    );
    let series_answer = stack
        .stats
        .compute_series(wire::ComputeSeriesRequest {
            series: Some(key),
            period: Some(months((2023, 1), (2023, 2))),
            granularity: wire::Granularity::Month as i32,
            cumulative_within_year: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let points: Vec<_> = series_answer.points.iter().map(|p| p.units).collect();
    assert_eq!(points, [Some(100), Some(300)]);
}

async fn target_progress_tracks_a_registry_target(db: &str) {
    let mut stack = spawn_stack(db).await;
    let target = create_target(&mut stack).await;
    let request = || wire::ComputeTargetProgressRequest {
        target: target.clone(),
        ..Default::default()
    };
    let before = stack
        .stats
        .compute_target_progress(request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        before.status,
        wire::TargetProgressStatus::NotYetMeasurable as i32
    );
    import(
        &mut stack.stats,
        &new_id(),
        vec![figures(&[
            "kia-yancheng-plant,production,export,CN,all,all,2026-01,20000,,,article-nissan-china-exports-2023,final,2026-02-10,",
            "kia-yancheng-plant,production,export,CN,all,all,2026-02,20000,,,article-nissan-china-exports-2023,final,2026-03-10,",
            "kia-yancheng-plant,production,export,CN,all,all,2026-03,20000,,,article-nissan-china-exports-2023,final,2026-04-10,",
        ])],
    )
    .await
    .unwrap();
    let progress = stack
        .stats
        .compute_target_progress(request())
        .await
        .unwrap()
        .into_inner();
    // 60 000 in 3 of 12 months → 240 000 pro rata > 200 000.
    assert_eq!(progress.status, wire::TargetProgressStatus::OnTrack as i32);
    assert_eq!(progress.threshold_units, 200_000);
    let actual = progress.actual.unwrap();
    assert_eq!(actual.units, Some(60_000));
    assert_eq!(actual.period, Some(months((2026, 1), (2026, 3))));
    assert_eq!(progress.progress.unwrap().percent, "30.0");
    assert_eq!(progress.target.unwrap().name, target);
    assert_eq!(progress.provenance.unwrap().figures.len(), 3);
    assert!(progress.plan.is_none(), "no plan imported yet");

    // A plan for the whole year (a forecast figure) is shown beside the actual and never
    // counted in it: a 250 000 plan against a 200 000 target does not make it met.
    let text = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note,nature\n\
         kia-yancheng-plant,production,export,CN,all,all,2026-01..2026-12,250000,,,article-nissan-china-exports-2023,estimate,2026-01-05,,forecast\n";
    let plan = autointel_figure_file::read_sales_figures(text.as_bytes()).unwrap();
    import(&mut stack.stats, &new_id(), vec![plan])
        .await
        .unwrap();
    let progress = stack
        .stats
        .compute_target_progress(request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(progress.status, wire::TargetProgressStatus::OnTrack as i32);
    assert_eq!(progress.actual.unwrap().units, Some(60_000), "actuals only");
    assert_eq!(progress.progress.unwrap().percent, "30.0");
    let shown = progress.plan.expect("the plan beside the actual");
    assert_eq!(shown.units, Some(250_000));
    assert_eq!(shown.period, Some(months((2026, 1), (2026, 12))));
    let cited = progress.plan_provenance.expect("whose plan");
    assert_eq!(cited.figures.len(), 1);
    assert_eq!(cited.figures[0].nature, wire::FigureNature::Forecast as i32);
}

async fn registry_outage_fails_fast_and_recovers(db: &str) {
    let mut stack = spawn_stack(db).await;
    import(&mut stack.stats, &new_id(), vec![seed_figures()])
        .await
        .unwrap();
    build_hierarchy(&mut stack).await;
    let target = create_target(&mut stack).await;
    let events_request = || wire::ComputeSeriesRequest {
        series: Some(nissan_china()),
        period: Some(months((2023, 1), (2023, 12))),
        granularity: wire::Granularity::Year as i32,
        include_events: true,
        ..Default::default()
    };
    let target_request = || wire::ComputeTargetProgressRequest {
        target: target.clone(),
        ..Default::default()
    };
    // Everything works while the registry is up.
    stack
        .stats
        .compute_rollup(rollup_request("test-holding"))
        .await
        .unwrap();
    stack
        .stats
        .compute_target_progress(target_request())
        .await
        .unwrap();
    stack.stats.compute_series(events_request()).await.unwrap();

    let registry = stack.registry_server.take().unwrap();
    let addr = registry.addr;
    registry.stop().await;

    // Queries needing the registry fail fast with UNAVAILABLE (deadline sum: 3 × 2 s).
    let started = Instant::now();
    let err = stack
        .stats
        .compute_rollup(rollup_request("test-holding"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(
        err.message().contains("registry unavailable"),
        "{}",
        err.message()
    );
    let err = stack
        .stats
        .compute_target_progress(target_request())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let err = stack
        .stats
        .compute_series(events_request())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let elapsed = started.elapsed();
    eprintln!("three registry-dependent queries failed in {elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(2_500),
        "three failures took {elapsed:?}"
    );

    // Everything else keeps working.
    let change = stack
        .stats
        .compute_change(change_request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(change.change.unwrap().absolute_change, -279_800);
    stack
        .stats
        .compute_total(wire::ComputeTotalRequest {
            source: String::new(),
            series: Some(nissan_china()),
            period: Some(months((2023, 1), (2023, 11))),
            as_of_date: None,
        })
        .await
        .unwrap();
    let mut without_events = events_request();
    without_events.include_events = false;
    stack.stats.compute_series(without_events).await.unwrap();

    // The registry returns on the same port; stats recovers without a restart.
    let restarted = start_registry(addr, &stack.registry_db).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match stack
            .stats
            .compute_rollup(rollup_request("test-holding"))
            .await
        {
            Ok(answer) => {
                assert_eq!(answer.into_inner().total.unwrap().units, Some(1_070));
                break;
            }
            Err(e) if Instant::now() < deadline => {
                assert_eq!(e.code(), Code::Unavailable);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("stats did not recover: {e:?}"),
        }
    }
    stack
        .stats
        .compute_target_progress(target_request())
        .await
        .unwrap();
    stack.stats.compute_series(events_request()).await.unwrap();
    restarted.stop().await;
}

async fn ranking_share_and_breakdown(db: &str) {
    let mut stack = spawn_stack(db).await;
    let row = |org: &str, powertrain: &str, period: &str, units: u32| {
        format!(
            "{org},retail,domestic,CN,passenger,{powertrain},{period},{units},,,article-nissan-china-exports-2023,final,2024-01-10,"
        )
    };
    let rows = [
        row("", "all", "2023-10", 2_000),
        row("", "nev", "2023-10", 800),
        row("", "all", "2023-11", 2_500),
        row("", "nev", "2023-11", 1_000),
        row("byd", "all", "2023-10", 300),
        row("byd", "nev", "2023-10", 300),
        row("byd", "all", "2022-10", 200),
        row("tesla", "all", "2023-10", 60),
        row("tesla", "nev", "2023-10", 60),
    ];
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    import(&mut stack.stats, &new_id(), vec![figures(&lines)])
        .await
        .unwrap();
    let key = |org: &str, powertrain: twire::Powertrain| twire::SeriesKey {
        organization: org.to_owned(),
        basis: twire::MeasureBasis::Retail as i32,
        flow: twire::Flow::Domestic as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::Passenger as i32,
        powertrain: powertrain as i32,
        destination: String::new(),
    };

    let ranking = stack
        .stats
        .compute_ranking(wire::ComputeRankingRequest {
            series: Some(key("", twire::Powertrain::All)),
            period: Some(months((2023, 10), (2023, 10))),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ranking.total_is_market);
    assert_eq!(ranking.total_units, 2_000);
    let entries: Vec<_> = ranking
        .entries
        .iter()
        .map(|e| {
            (
                e.rank,
                e.organization.as_str(),
                e.units,
                e.share.as_ref().unwrap().percent.as_str(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (1, "organizations/byd", 300, "15.0"),
            (2, "organizations/tesla", 60, "3.0")
        ]
    );
    assert_eq!(
        ranking.entries[0]
            .year_over_year
            .as_ref()
            .unwrap()
            .relative_change
            .as_ref()
            .unwrap()
            .percent,
        "50.0"
    );

    let share = stack
        .stats
        .compute_share(wire::ComputeShareRequest {
            numerator: Some(key("", twire::Powertrain::Nev)),
            denominator: Some(key("", twire::Powertrain::All)),
            period: Some(months((2023, 10), (2023, 12))),
            granularity: wire::Granularity::Month as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let shares: Vec<Option<String>> = share
        .points
        .iter()
        .map(|p| p.share.as_ref().map(|r| r.percent.clone()))
        .collect();
    assert_eq!(
        shares,
        [Some("40.0".to_owned()), Some("40.0".to_owned()), None]
    );

    let breakdown = stack
        .stats
        .compute_breakdown(wire::ComputeBreakdownRequest {
            source: String::new(),
            series: Some(twire::SeriesKey {
                organization: String::new(),
                powertrain: 0,
                ..key("", twire::Powertrain::All)
            }),
            group_by: vec![
                wire::Dimension::Organization as i32,
                wire::Dimension::Powertrain as i32,
            ],
            period: Some(months((2023, 10), (2023, 10))),
            as_of_date: None,
        })
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<_> = breakdown
        .rows
        .iter()
        .map(|r| {
            let s = r.series.as_ref().unwrap();
            (
                s.organization.clone(),
                s.powertrain,
                r.total.as_ref().unwrap().units,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "organizations/byd".to_owned(),
                twire::Powertrain::Nev as i32,
                Some(300)
            ),
            (
                "organizations/byd".to_owned(),
                twire::Powertrain::All as i32,
                Some(300)
            ),
            (
                "organizations/tesla".to_owned(),
                twire::Powertrain::Nev as i32,
                Some(60)
            ),
            (
                "organizations/tesla".to_owned(),
                twire::Powertrain::All as i32,
                Some(60)
            ),
        ]
    );
    let err = stack
        .stats
        .compute_breakdown(wire::ComputeBreakdownRequest {
            source: String::new(),
            series: Some(key("", twire::Powertrain::All)),
            group_by: vec![wire::Dimension::Powertrain as i32],
            period: Some(months((2023, 10), (2023, 10))),
            as_of_date: None,
        })
        .await
        .unwrap_err();
    let fields: Vec<String> = err
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["series.powertrain"]);
}

async fn forecast_accuracy_ranks_each_forecast_against_the_actual(db: &str) {
    const JV: &str = "sources/nissan-dongfeng-jv-structure";
    let mut stack = spawn_stack(db).await;
    // 2024's actual tiles by month (60 000 each, December out on 2025-01-10); three forecasts
    // for the whole year by the article's source (January, July, November), one by another
    // source, and one for the first half that never counts against the year.
    let mut text = String::from(
        "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note,nature\n",
    );
    for m in 1..=12 {
        let published = if m == 12 {
            "2025-01-10".to_owned()
        } else {
            format!("2024-{:02}-10", m + 1)
        };
        text.push_str(&format!(
            "nissan-china,company_reported,total,CN,all,all,2024-{m:02},60000,,,article-nissan-china-exports-2023,final,{published},,actual\n"
        ));
    }
    for (units, source, as_of) in [
        (700_000, "article-nissan-china-exports-2023", "2024-01-15"),
        (750_000, "article-nissan-china-exports-2023", "2024-07-15"),
        (725_000, "article-nissan-china-exports-2023", "2024-11-15"),
        (715_000, "nissan-dongfeng-jv-structure", "2024-03-01"),
    ] {
        text.push_str(&format!(
            "nissan-china,company_reported,total,CN,all,all,2024-01..2024-12,{units},,,{source},estimate,{as_of},,forecast\n"
        ));
    }
    text.push_str("nissan-china,company_reported,total,CN,all,all,2024-01..2024-06,1,,,article-nissan-china-exports-2023,estimate,2024-01-15,,forecast\n");
    let batch = autointel_figure_file::read_sales_figures(text.as_bytes()).unwrap();
    import(&mut stack.stats, &new_id(), vec![batch])
        .await
        .unwrap();
    let request = |source: &str, as_of_date| wire::ComputeForecastAccuracyRequest {
        series: Some(nissan_china()),
        period: Some(months((2024, 1), (2024, 12))),
        source: source.to_owned(),
        as_of_date,
        percent_decimals: Some(2),
    };

    let answer = stack
        .stats
        .compute_forecast_accuracy(request("", None))
        .await
        .unwrap()
        .into_inner();
    let total = stack
        .stats
        .compute_total(wire::ComputeTotalRequest {
            source: String::new(),
            series: Some(nissan_china()),
            period: Some(months((2024, 1), (2024, 12))),
            as_of_date: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.actual, total.total,
        "the actual as ComputeTotal gives it"
    );
    assert_eq!(answer.actual.as_ref().unwrap().units, Some(720_000));
    let ranked: Vec<_> = answer
        .forecasts
        .iter()
        .map(|f| {
            let error = f.error.as_ref().unwrap();
            (
                f.source.as_str(),
                f.as_of_date.unwrap().month,
                f.units,
                f.error_units,
                (error.numerator, error.denominator, error.percent.as_str()),
            )
        })
        .collect();
    assert_eq!(
        ranked,
        [
            // |5 000| twice: the later forecast first
            (ARTICLE, 11, 725_000, Some(5_000), (1, 144, "0.69")),
            (JV, 3, 715_000, Some(-5_000), (-1, 144, "-0.69")),
            (ARTICLE, 1, 700_000, Some(-20_000), (-1, 36, "-2.78")),
            (ARTICLE, 7, 750_000, Some(30_000), (1, 24, "4.17")),
        ]
    );
    assert!(
        answer
            .forecasts
            .iter()
            .all(|f| f.figure.starts_with("salesFigures/"))
    );
    let provenance = answer.provenance.unwrap();
    assert_eq!(provenance.figures.len(), 12 + 4);
    let forecasts = provenance
        .figures
        .iter()
        .filter(|f| f.nature == wire::FigureNature::Forecast as i32)
        .count();
    assert_eq!(forecasts, 4);
    let mut sources: Vec<_> = provenance.sources.iter().map(|s| s.name.as_str()).collect();
    sources.sort_unstable();
    assert_eq!(sources, [ARTICLE, JV]);

    // One publisher's forecasts only.
    let jv = stack
        .stats
        .compute_forecast_accuracy(request(JV, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(jv.forecasts.len(), 1);
    assert_eq!(jv.forecasts[0].source, JV);
    assert_eq!(jv.forecasts[0].error_units, Some(-5_000));

    // Before December's actual was out: no actual, no errors, only what was known then.
    let before = stack
        .stats
        .compute_forecast_accuracy(request("", Some(date(2024, 12, 31))))
        .await
        .unwrap()
        .into_inner();
    let actual = before.actual.unwrap();
    assert_eq!(actual.units, None);
    assert!(!actual.coverage.unwrap().complete);
    assert_eq!(before.forecasts.len(), 4);
    assert!(
        before
            .forecasts
            .iter()
            .all(|f| f.error_units.is_none() && f.error.is_none())
    );
    let as_of_months: Vec<_> = before
        .forecasts
        .iter()
        .map(|f| f.as_of_date.unwrap().month)
        .collect();
    assert_eq!(as_of_months, [11, 7, 3, 1], "later forecasts first");
    let in_june = stack
        .stats
        .compute_forecast_accuracy(request(ARTICLE, Some(date(2024, 6, 30))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(in_june.forecasts.len(), 1);
    assert_eq!(in_june.forecasts[0].units, 700_000);

    // A malformed source name is refused with its field.
    let err = stack
        .stats
        .compute_forecast_accuracy(request("publishers/x", None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(violated_fields(&err), ["source"]);
}
