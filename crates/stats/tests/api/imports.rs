//! Imports: retried, refused whole, unknown organizations; forecasts, sources and
//! destinations kept apart.

use autointel_figure_file::read_sales_figures;
use autointel_proto::stats::{self as wire};
use autointel_proto::types::{self as twire};
use tonic::Code;
use tonic_types::StatusExt;

use autointel_testkit::status::{fields, precondition_subjects};

use crate::fixtures::{figures, import, list_all, months, new_id, seed_figures, violated_fields};
use crate::harness::{spawn_stack, spawn_stats_with};

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    retried_import_writes_nothing_twice,
    invalid_rows_reject_the_whole_import,
    unknown_organization_is_failed_precondition,
    forecasts_sources_and_destinations_are_kept_apart,
    the_configured_source_preference_chooses_and_is_cited,
    a_source_the_registry_changes_is_cited_as_it_is_now,
);

async fn retried_import_writes_nothing_twice(db: &str) {
    let mut stack = spawn_stack(db).await;
    let id = new_id();
    let first = import(&mut stack.stats, &id, vec![seed_figures()])
        .await
        .unwrap();
    // The same import, split differently across batches, is the same import.
    let mut batches = seed_figures();
    let second_half = batches.split_off(1);
    let retry = import(&mut stack.stats, &id, vec![batches, second_half])
        .await
        .unwrap();
    assert_eq!(retry, first);
    assert_eq!(list_all(&mut stack.stats).await.len(), 2);

    let mut changed = seed_figures();
    changed[0].note = "different".to_owned();
    let err = import(&mut stack.stats, &id, vec![changed])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<String> = err
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["request_id"]);
    let err = import(&mut stack.stats, "not-a-uuid", vec![seed_figures()])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(list_all(&mut stack.stats).await.len(), 2);
}

async fn invalid_rows_reject_the_whole_import(db: &str) {
    let mut stack = spawn_stack(db).await;
    let good = seed_figures();
    let mut bad_basis = good[1].clone();
    bad_basis.series.as_mut().unwrap().basis = 0;
    let mut bad_period_and_source = good[0].clone();
    bad_period_and_source.period = Some(months((2023, 5), (2023, 1)));
    bad_period_and_source.source = String::new();
    let err = import(
        &mut stack.stats,
        &new_id(),
        vec![
            vec![good[0].clone(), bad_basis],
            vec![good[1].clone(), bad_period_and_source],
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&err),
        [
            "figures[1].series.basis",
            "figures[3].period.end",
            "figures[3].source"
        ]
    );
    let info = err.get_details_error_info().unwrap();
    assert_eq!(info.domain, "stats.autointel");
    assert!(
        list_all(&mut stack.stats).await.is_empty(),
        "nothing written"
    );
}

async fn unknown_organization_is_failed_precondition(db: &str) {
    let mut stack = spawn_stack(db).await;
    let err = import(
        &mut stack.stats,
        &new_id(),
        vec![figures(&[
            "no-such-maker,retail,total,CN,all,all,2023-01,10,,,article-nissan-china-exports-2023,final,2023-02-01,",
            "nissan-china,retail,total,CN,all,all,2023-01,10,,,article-nissan-china-exports-2023,final,2023-02-01,",
            "another-unknown,retail,total,CN,all,all,2023-01,10,,,no-such-source,final,2023-02-01,",
        ])],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("organizations/no-such-maker"),
        "{}",
        err.message()
    );
    assert_eq!(
        precondition_subjects(&err),
        [
            "organizations/no-such-maker",
            "organizations/another-unknown",
            "sources/no-such-source"
        ]
    );
    assert!(list_all(&mut stack.stats).await.is_empty());
}

/// Forecasts, a second source and export destinations for one series and month: stored,
/// listed with `nature` and `destination`, chained per source and nature, and never read by
/// a query for the destination-less actuals.
async fn forecasts_sources_and_destinations_are_kept_apart(db: &str) {
    const WITH: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note,nature,destination\n";
    const JV: &str = "sources/nissan-dongfeng-jv-structure";
    let mut stack = spawn_stack(db).await;
    let row = |units: u32, source: &str, stage: &str, as_of: &str, nature: &str, to: &str| {
        format!(
            "nissan-china,wholesale,export,CN,passenger,all,2024-01,{units},,,{source},{stage},{as_of},,{nature},{to}"
        )
    };
    let a = "article-nissan-china-exports-2023";
    let lines = [
        row(95, a, "preliminary", "2024-02-02", "", ""),
        row(100, a, "final", "2024-02-10", "actual", ""),
        row(
            120,
            "nissan-dongfeng-jv-structure",
            "final",
            "2024-02-08",
            "",
            "",
        ),
        row(999_999, a, "final", "2023-12-01", "forecast", ""),
        row(40, a, "final", "2024-02-10", "", "DE"),
        row(30, a, "final", "2024-02-10", "", "BR"),
    ];
    let text = format!("{WITH}{}\n", lines.join("\n"));
    let imported = import(
        &mut stack.stats,
        &new_id(),
        vec![read_sales_figures(text.as_bytes()).unwrap()],
    )
    .await
    .unwrap();
    // only the article's final revises (its own preliminary)
    assert_eq!((imported.imported_count, imported.revision_count), (6, 1));

    let key = |destination: &str| twire::SeriesKey {
        organization: "organizations/nissan-china".to_owned(),
        basis: twire::MeasureBasis::Wholesale as i32,
        flow: twire::Flow::Export as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::Passenger as i32,
        powertrain: twire::Powertrain::All as i32,
        destination: destination.to_owned(),
    };
    let total = |destination: &str| wire::ComputeTotalRequest {
        source: String::new(),
        series: Some(key(destination)),
        period: Some(months((2024, 1), (2024, 1))),
        as_of_date: None,
    };
    let mut totals = stack.stats.clone();
    let mut units = async |request| {
        totals
            .compute_total(request)
            .await
            .unwrap()
            .into_inner()
            .total
            .unwrap()
            .units
    };
    // The latest actual by (stage, as-of) across sources; no forecast, no destinations
    // added in.
    assert_eq!(units(total("")).await, Some(100));
    assert_eq!(units(total("DE")).await, Some(40));
    assert_eq!(units(total("BR")).await, Some(30));
    assert_eq!(units(total("FR")).await, None);

    let all = list_all(&mut stack.stats).await;
    assert_eq!(all.len(), 6);
    let by_units = |u: i64| {
        all.iter()
            .find(|f| f.quantity == Some(wire::sales_figure::Quantity::Units(u)))
            .unwrap()
            .clone()
    };
    let (preliminary, final_, jv, forecast, de) = (
        by_units(95),
        by_units(100),
        by_units(120),
        by_units(999_999),
        by_units(40),
    );
    assert_eq!(forecast.nature, wire::FigureNature::Forecast as i32);
    for f in [&preliminary, &final_, &jv, &de] {
        assert_eq!(f.nature, wire::FigureNature::Actual as i32);
    }
    assert_eq!(de.series.as_ref().unwrap().destination, "DE");
    assert_eq!(final_.series.as_ref().unwrap().destination, "");
    // Chains per source and nature.
    assert_eq!(final_.supersedes, preliminary.name);
    assert_eq!(preliminary.superseded_by, final_.name);
    assert_eq!(
        (jv.supersedes.as_str(), jv.superseded_by.as_str()),
        ("", "")
    );
    assert_eq!(jv.source, JV);
    assert_eq!(
        (
            forecast.supersedes.as_str(),
            forecast.superseded_by.as_str()
        ),
        ("", "")
    );
    let got = stack
        .stats
        .get_sales_figure(wire::GetSalesFigureRequest {
            name: forecast.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.nature, wire::FigureNature::Forecast as i32);
    // The latest of each source by default: both sources kept, and the forecast.
    let latest = stack
        .stats
        .list_sales_figures(wire::ListSalesFiguresRequest::default())
        .await
        .unwrap()
        .into_inner()
        .sales_figures;
    assert_eq!(latest.len(), 5);
    assert!(!latest.iter().any(|f| f.name == preliminary.name));

    // The history of the actuals: every source, in revision order; each change against
    // the revision of its own source.
    let history = stack
        .stats
        .get_revision_history(wire::GetRevisionHistoryRequest {
            series: Some(key("")),
            period: Some(months((2024, 1), (2024, 1))),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .revisions;
    let shown: Vec<(String, Option<i64>)> = history
        .iter()
        .map(|r| {
            (
                r.figure.as_ref().unwrap().name.clone(),
                r.change_from_previous_units,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (preliminary.name.clone(), None),
            (jv.name.clone(), None),
            (final_.name.clone(), Some(5)),
        ]
    );

    // A later import revises its own source's chain only.
    let restated = format!("{WITH}{}\n", row(101, a, "restated", "2024-03-01", "", ""));
    let again = import(
        &mut stack.stats,
        &new_id(),
        vec![read_sales_figures(restated.as_bytes()).unwrap()],
    )
    .await
    .unwrap();
    assert_eq!(again.revision_count, 1);
    let all = list_all(&mut stack.stats).await;
    let restated = all
        .iter()
        .find(|f| f.quantity == Some(wire::sales_figure::Quantity::Units(101)))
        .unwrap();
    assert_eq!(restated.supersedes, final_.name);
    let first_jv_revision = format!(
        "{WITH}{}\n",
        row(
            125,
            "nissan-dongfeng-jv-structure",
            "restated",
            "2024-03-02",
            "",
            ""
        )
    );
    import(
        &mut stack.stats,
        &new_id(),
        vec![read_sales_figures(first_jv_revision.as_bytes()).unwrap()],
    )
    .await
    .unwrap();
    let all = list_all(&mut stack.stats).await;
    let jv_restated = all
        .iter()
        .find(|f| f.quantity == Some(wire::sales_figure::Quantity::Units(125)))
        .unwrap();
    assert_eq!(jv_restated.supersedes, jv.name);
    assert_eq!(units(total("")).await, Some(125));
    // Both sources kept and each answerable by name; the answer cites the one it used.
    let of = |source: &str| wire::ComputeTotalRequest {
        source: source.to_owned(),
        ..total("")
    };
    assert_eq!(units(of(JV)).await, Some(125));
    assert_eq!(units(of(&format!("sources/{a}"))).await, Some(101));
    let cited = |response: wire::ComputeTotalResponse| -> Vec<String> {
        let p = response.provenance.unwrap();
        p.sources.into_iter().map(|s| s.name).collect()
    };
    let article = stack
        .stats
        .compute_total(of(&format!("sources/{a}")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cited(article), [format!("sources/{a}")]);
    let err = stack.stats.compute_total(of("cpca")).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["source"]);

    // A destination on a non-export flow, and a bad destination code, are refused.
    let mut domestic = read_sales_figures(
        format!("{WITH}{}\n", row(1, a, "final", "2024-02-10", "", "DE")).as_bytes(),
    )
    .unwrap();
    domestic[0].series.as_mut().unwrap().flow = twire::Flow::Domestic as i32;
    let mut bad_code = domestic.clone();
    bad_code[0].series.as_mut().unwrap().flow = twire::Flow::Export as i32;
    bad_code[0].series.as_mut().unwrap().destination = "de".to_owned();
    let err = import(&mut stack.stats, &new_id(), vec![domestic, bad_code])
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&err),
        [
            "figures[0].series.destination",
            "figures[1].series.destination"
        ]
    );
}

/// With `engine.source_preference`, a month two sources publish is answered by the
/// preferred one, even when the other published later; a named source still wins.
async fn the_configured_source_preference_chooses_and_is_cited(db: &str) {
    const WITH: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note\n";
    const ARTICLE: &str = "article-nissan-china-exports-2023";
    const JV: &str = "nissan-dongfeng-jv-structure";
    let stack = spawn_stack(db).await;
    let registry = stack.registry_server.as_ref().unwrap().addr;
    let (mut stats, _stop, _) = spawn_stats_with(db, registry, |s| {
        s.engine.source_preference = vec![format!("sources/{ARTICLE}")];
    })
    .await;
    let row = |month: &str, units: u32, source: &str, as_of: &str| {
        format!(
            "nissan-china,wholesale,domestic,CN,passenger,all,{month},{units},,,{source},final,{as_of},"
        )
    };
    let text = format!(
        "{WITH}{}\n",
        [
            row("2024-01", 100, ARTICLE, "2024-02-05"),
            row("2024-01", 120, JV, "2024-02-20"),
            row("2024-02", 80, JV, "2024-03-20"),
        ]
        .join("\n")
    );
    import(
        &mut stats,
        &new_id(),
        vec![read_sales_figures(text.as_bytes()).unwrap()],
    )
    .await
    .unwrap();
    let request = |source: &str| wire::ComputeTotalRequest {
        source: source.to_owned(),
        series: Some(twire::SeriesKey {
            organization: "organizations/nissan-china".to_owned(),
            basis: twire::MeasureBasis::Wholesale as i32,
            flow: twire::Flow::Domestic as i32,
            market: "CN".to_owned(),
            scope: twire::VehicleScope::Passenger as i32,
            powertrain: twire::Powertrain::All as i32,
            destination: String::new(),
        }),
        period: Some(months((2024, 1), (2024, 2))),
        as_of_date: None,
    };
    let mut answer = async |source: &str| {
        let r = stats
            .compute_total(request(source))
            .await
            .unwrap()
            .into_inner();
        let cited: Vec<String> = r
            .provenance
            .unwrap()
            .sources
            .into_iter()
            .map(|s| s.name)
            .collect();
        (r.total.unwrap().units, cited)
    };
    // January from the preferred article, February from the only source that has it.
    assert_eq!(
        answer("").await,
        (
            Some(180),
            vec![format!("sources/{ARTICLE}"), format!("sources/{JV}")]
        )
    );
    // Only the JV: both months of its own.
    assert_eq!(
        answer(&format!("sources/{JV}")).await,
        (Some(200), vec![format!("sources/{JV}")])
    );
    // Only the article: February is missing, never taken from another source.
    assert_eq!(answer(&format!("sources/{ARTICLE}")).await, (None, vec![]));
}

/// stats copies a source when a figure first cites it; once the registry changes the
/// source, provenance shows the registry's version within `registry.cache_ttl_ms` (the
/// stored copy changes too, so a restart keeps it).
async fn a_source_the_registry_changes_is_cited_as_it_is_now(db: &str) {
    let (_, registry_db) = crate::harness::temp_db();
    let registry_server = crate::harness::start_registry(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        &registry_db,
    )
    .await;
    let (mut stats, _stop, _) = spawn_stats_with(db, registry_server.addr, |s| {
        s.registry.cache_ttl_ms = 200;
    })
    .await;
    let mut registry =
        autointel_proto::registry::registry_service_client::RegistryServiceClient::connect(
            format!("http://{}", registry_server.addr),
        )
        .await
        .unwrap();
    import(&mut stats, &new_id(), vec![seed_figures()])
        .await
        .unwrap();
    let before = cited_titles(&mut stats).await;
    assert_eq!(before.len(), 1);
    assert_ne!(before[0], "Retitled by the registry");

    let source = registry
        .get_source(autointel_proto::registry::GetSourceRequest {
            name: crate::fixtures::ARTICLE.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    registry
        .update_source(autointel_proto::registry::UpdateSourceRequest {
            source: Some(autointel_proto::registry::Source {
                title: "Retitled by the registry".to_owned(),
                ..source
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".to_owned()],
            }),
        })
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if cited_titles(&mut stats).await == ["Retitled by the registry"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "provenance still cites the old title after 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The titles of the sources the seed total cites.
async fn cited_titles(
    stats: &mut autointel_proto::stats::stats_service_client::StatsServiceClient<
        tonic::transport::Channel,
    >,
) -> Vec<String> {
    stats
        .compute_total(wire::ComputeTotalRequest {
            source: String::new(),
            series: Some(crate::fixtures::nissan_china()),
            period: Some(months((2023, 1), (2023, 11))),
            as_of_date: None,
        })
        .await
        .unwrap()
        .into_inner()
        .provenance
        .unwrap()
        .sources
        .into_iter()
        .map(|s| s.title)
        .collect()
}
