//! gRPC tests: a real registry server and a real stats server on 127.0.0.1, over SQLite
//! always and over PostgreSQL when `AUTOINTEL_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use autointel_figure_file::{read_sales_figures, read_sales_figures_file};
use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_proto::registry::{self as rwire};
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_proto::stats::{self as wire};
use autointel_proto::types::{self as twire};
use autointel_stats::{Application, Settings};
use autointel_testkit::{Backend, TestDatabase};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

const ARTICLE: &str = "sources/article-nissan-china-exports-2023";
const HEADER: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note\n";

// ------------------------------------------------------------------------------------------
// Harness.

struct RunningRegistry {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

async fn start_registry(addr: SocketAddr, database_url: &str) -> RunningRegistry {
    let mut settings = autointel_registry::Settings::default();
    settings.auth.disabled = true;
    settings.server.listen_address = addr;
    settings.database.url = database_url.to_owned();
    settings.seed.load = true;
    let app = autointel_registry::Application::build(settings)
        .await
        .unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        app.serve_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    RunningRegistry {
        addr,
        stop: Some(stop),
        task,
    }
}

impl RunningRegistry {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

struct Stack {
    stats: StatsServiceClient<Channel>,
    registry: RegistryServiceClient<Channel>,
    registry_server: Option<RunningRegistry>,
    registry_db: String,
    _stats_stop: oneshot::Sender<()>,
}

fn temp_db() -> (PathBuf, String) {
    let path = std::env::temp_dir().join(format!(
        "autointel-stats-test-registry-{}.db",
        uuid::Uuid::new_v4().simple()
    ));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    (path, url)
}

async fn spawn_stack(stats_db: &str) -> Stack {
    let (_, registry_db) = temp_db();
    let registry_server = start_registry(SocketAddr::from(([127, 0, 0, 1], 0)), &registry_db).await;
    let (stats, stats_stop) = spawn_stats(stats_db, registry_server.addr).await;
    let registry = RegistryServiceClient::connect(format!("http://{}", registry_server.addr))
        .await
        .unwrap();
    Stack {
        stats,
        registry,
        registry_server: Some(registry_server),
        registry_db,
        _stats_stop: stats_stop,
    }
}

/// A stats server on `stats_db` using the registry at `registry`.
async fn spawn_stats(
    stats_db: &str,
    registry: SocketAddr,
) -> (StatsServiceClient<Channel>, oneshot::Sender<()>) {
    let mut settings = Settings::default();
    settings.auth.disabled = true;
    settings.server.listen_address = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.database.url = stats_db.to_owned();
    settings.registry.endpoint = format!("http://{registry}");
    settings.engine.refresh_interval_ms = 200;
    let app = Application::build(settings).await.unwrap();
    let stats_addr = app.local_addr();
    let (stats_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        app.serve_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let stats = StatsServiceClient::connect(format!("http://{stats_addr}"))
        .await
        .unwrap();
    (stats, stats_stop)
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(path) = self
            .registry_db
            .strip_prefix("sqlite://")
            .and_then(|p| p.split('?').next())
        {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

fn sqlite_url() -> String {
    "sqlite::memory:".to_owned()
}

/// The stats database of one test, on `backend` (dropped with it).
async fn database(backend: Backend) -> TestDatabase {
    TestDatabase::create(&backend, "stats_api").await
}

autointel_testkit::on_each_backend!(
    crate::database =>
    seed_yoy_matches_the_article,
    retried_import_writes_nothing_twice,
    invalid_rows_reject_the_whole_import,
    unknown_organization_is_failed_precondition,
    revisions_are_kept_and_as_of_reads_the_past,
    coverage_reports_uncovered_months,
    rollup_counts_each_figure_once,
    target_progress_tracks_a_registry_target,
    registry_outage_fails_fast_and_recovers,
    ranking_share_and_breakdown,
    revision_history_comes_in_pages,
    forecasts_sources_and_destinations_are_kept_apart,
);

mod a_replica_sees_another_replicas_import {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_file() {
        let path = std::env::temp_dir().join(format!(
            "autointel-stats-test-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        super::a_replica_sees_another_replicas_import(&url).await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(backend) = autointel_testkit::Backend::postgres() {
            let db = super::database(backend).await;
            super::a_replica_sees_another_replicas_import(&db).await;
        }
    }
}

// ------------------------------------------------------------------------------------------
// Helpers.

fn figures(lines: &[&str]) -> Vec<wire::SalesFigure> {
    let text = format!("{HEADER}{}\n", lines.join("\n"));
    read_sales_figures(text.as_bytes()).unwrap()
}

fn seed_figures() -> Vec<wire::SalesFigure> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/seed/sales_figures.csv");
    read_sales_figures_file(&path).unwrap()
}

async fn import(
    client: &mut StatsServiceClient<Channel>,
    request_id: &str,
    batches: Vec<Vec<wire::SalesFigure>>,
) -> Result<wire::ImportSalesFiguresResponse, Status> {
    let requests: Vec<_> = batches
        .into_iter()
        .map(|figures| wire::ImportSalesFiguresRequest {
            request_id: request_id.to_owned(),
            figures,
        })
        .collect();
    client
        .import_sales_figures(tokio_stream::iter(requests))
        .await
        .map(tonic::Response::into_inner)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn ym(year: i32, month: i32) -> twire::YearMonth {
    twire::YearMonth { year, month }
}

fn months(start: (i32, i32), end: (i32, i32)) -> twire::MonthRange {
    twire::MonthRange {
        start: Some(ym(start.0, start.1)),
        end: Some(ym(end.0, end.1)),
    }
}

fn date(year: i32, month: i32, day: i32) -> autointel_proto::google::r#type::Date {
    autointel_proto::google::r#type::Date { year, month, day }
}

fn series(
    organization: &str,
    basis: twire::MeasureBasis,
    powertrain: twire::Powertrain,
) -> twire::SeriesKey {
    twire::SeriesKey {
        organization: organization.to_owned(),
        basis: basis as i32,
        flow: twire::Flow::Total as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::All as i32,
        powertrain: powertrain as i32,
        destination: String::new(),
    }
}

fn nissan_china() -> twire::SeriesKey {
    series(
        "organizations/nissan-china",
        twire::MeasureBasis::CompanyReported,
        twire::Powertrain::All,
    )
}

async fn list_all(client: &mut StatsServiceClient<Channel>) -> Vec<wire::SalesFigure> {
    client
        .list_sales_figures(wire::ListSalesFiguresRequest {
            page_size: 1000,
            include_superseded: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .sales_figures
}

async fn create_org(
    registry: &mut RegistryServiceClient<Channel>,
    id: &str,
    kind: rwire::OrganizationKind,
) {
    registry
        .create_organization(rwire::CreateOrganizationRequest {
            organization: Some(rwire::Organization {
                kind: kind as i32,
                english_name: format!("Test {id}"),
                country_code: "CN".to_owned(),
                ..Default::default()
            }),
            organization_id: id.to_owned(),
            request_id: new_id(),
        })
        .await
        .unwrap();
}

async fn link(registry: &mut RegistryServiceClient<Channel>, parent: &str, child: &str) {
    registry
        .create_relationship(rwire::CreateRelationshipRequest {
            relationship: Some(rwire::Relationship {
                kind: rwire::RelationshipKind::Owns as i32,
                parent: format!("organizations/{parent}"),
                child: format!("organizations/{child}"),
                stake_basis_points: Some(5000),
                sources: vec![ARTICLE.to_owned()],
                ..Default::default()
            }),
            relationship_id: String::new(),
            request_id: new_id(),
        })
        .await
        .unwrap();
}

/// holding ─┬─ group (1 000, includes jv and plant) ─┬─ jv (400)
///          │                                         └─ plant (50)
///          └─ other (70)
async fn build_hierarchy(stack: &mut Stack) {
    use rwire::OrganizationKind as K;
    for (id, kind) in [
        ("test-holding", K::Group),
        ("test-group", K::Group),
        ("test-jv", K::JointVenture),
        ("test-plant", K::Plant),
        ("test-other", K::Automaker),
    ] {
        create_org(&mut stack.registry, id, kind).await;
    }
    link(&mut stack.registry, "test-holding", "test-group").await;
    link(&mut stack.registry, "test-holding", "test-other").await;
    link(&mut stack.registry, "test-group", "test-jv").await;
    link(&mut stack.registry, "test-group", "test-plant").await;
    link(&mut stack.registry, "test-other", "test-jv").await;
    let rows = [
        ("test-group", 1000),
        ("test-jv", 400),
        ("test-plant", 50),
        ("test-other", 70),
    ]
    .map(|(org, units)| {
        format!("{org},wholesale,total,CN,all,all,2023-01..2023-12,{units},,,article-nissan-china-exports-2023,final,2024-01-15,")
    });
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    import(&mut stack.stats, &new_id(), vec![figures(&lines)])
        .await
        .unwrap();
}

fn rollup_request(root: &str) -> wire::ComputeRollupRequest {
    wire::ComputeRollupRequest {
        series: Some(series(
            &format!("organizations/{root}"),
            twire::MeasureBasis::Wholesale,
            twire::Powertrain::All,
        )),
        period: Some(months((2023, 1), (2023, 12))),
        ..Default::default()
    }
}

async fn create_target(stack: &mut Stack) -> String {
    let metric = twire::SeriesKey {
        organization: "organizations/kia-yancheng-plant".to_owned(),
        basis: twire::MeasureBasis::Production as i32,
        flow: twire::Flow::Export as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::All as i32,
        powertrain: twire::Powertrain::All as i32,
        destination: String::new(),
    };
    stack
        .registry
        .create_target(rwire::CreateTargetRequest {
            target: Some(rwire::Target {
                organization: "organizations/kia-yancheng-plant".to_owned(),
                description: "Export over 200,000 units in 2026 (test)".to_owned(),
                metric: Some(metric),
                period: Some(months((2026, 1), (2026, 12))),
                threshold_units: 200_000,
                comparator: rwire::Comparator::GreaterThan as i32,
                status: rwire::TargetStatus::Open as i32,
                sources: vec![ARTICLE.to_owned()],
                ..Default::default()
            }),
            target_id: String::new(),
            request_id: new_id(),
        })
        .await
        .unwrap()
        .into_inner()
        .name
}

fn change_request() -> wire::ComputeChangeRequest {
    wire::ComputeChangeRequest {
        series: Some(nissan_china()),
        period: Some(months((2023, 1), (2023, 11))),
        comparison: wire::Comparison::YearOverYear as i32,
        ..Default::default()
    }
}

// ------------------------------------------------------------------------------------------
// Tests.

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
    let fields: Vec<String> = err
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(
        fields,
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
    let subjects: Vec<String> = err
        .get_details_precondition_failure()
        .unwrap()
        .violations
        .into_iter()
        .map(|v| v.subject)
        .collect();
    assert_eq!(
        subjects,
        [
            "organizations/no-such-maker",
            "organizations/another-unknown",
            "sources/no-such-source"
        ]
    );
    assert!(list_all(&mut stack.stats).await.is_empty());
}

async fn revisions_are_kept_and_as_of_reads_the_past(db: &str) {
    let mut stack = spawn_stack(db).await;
    let line = |units: u32, stage: &str, as_of: &str| {
        format!(
            ",retail,domestic,CN,passenger,nev,2023-10,{units},,,article-nissan-china-exports-2023,{stage},{as_of},"
        )
    };
    let estimate = line(750_000, "estimate", "2023-10-31");
    let first = import(&mut stack.stats, &new_id(), vec![figures(&[&estimate])])
        .await
        .unwrap();
    assert_eq!(first.revision_count, 0);
    let (preliminary, final_) = (
        line(765_000, "preliminary", "2023-11-02"),
        line(767_000, "final", "2023-11-09"),
    );
    let second = import(
        &mut stack.stats,
        &new_id(),
        vec![figures(&[&preliminary, &final_])],
    )
    .await
    .unwrap();
    assert_eq!((second.imported_count, second.revision_count), (2, 2));

    let key = twire::SeriesKey {
        organization: String::new(),
        basis: twire::MeasureBasis::Retail as i32,
        flow: twire::Flow::Domestic as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::Passenger as i32,
        powertrain: twire::Powertrain::Nev as i32,
        destination: String::new(),
    };
    let total = |as_of: Option<autointel_proto::google::r#type::Date>| wire::ComputeTotalRequest {
        series: Some(key.clone()),
        period: Some(months((2023, 10), (2023, 10))),
        as_of_date: as_of,
    };
    let units = |r: wire::ComputeTotalResponse| r.total.unwrap().units;
    let latest = stack
        .stats
        .compute_total(total(None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(units(latest), Some(767_000));
    let then = stack
        .stats
        .compute_total(total(Some(date(2023, 11, 5))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(units(then), Some(765_000));
    let before = stack
        .stats
        .compute_total(total(Some(date(2023, 10, 1))))
        .await
        .unwrap()
        .into_inner()
        .total
        .unwrap();
    assert_eq!(before.units, None);
    assert_eq!(
        before.coverage.unwrap().uncovered,
        [months((2023, 10), (2023, 10))]
    );

    let history = stack
        .stats
        .get_revision_history(wire::GetRevisionHistoryRequest {
            series: Some(key.clone()),
            period: Some(months((2023, 10), (2023, 10))),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .revisions;
    let changes: Vec<_> = history
        .iter()
        .map(|r| r.change_from_previous_units)
        .collect();
    assert_eq!(changes, [None, Some(15_000), Some(2_000)]);
    let names: Vec<String> = history
        .iter()
        .map(|r| r.figure.as_ref().unwrap().name.clone())
        .collect();
    let last = history[2].figure.as_ref().unwrap();
    assert_eq!(last.supersedes, names[1]);
    assert_eq!(last.superseded_by, "");
    let oldest = stack
        .stats
        .get_sales_figure(wire::GetSalesFigureRequest {
            name: names[0].clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(oldest.superseded_by, names[1]);
    assert!(oldest.create_time.is_some());

    // Listing: latest only by default; paging through every revision.
    let latest_only = stack
        .stats
        .list_sales_figures(wire::ListSalesFiguresRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(latest_only.sales_figures.len(), 1);
    let mut token = String::new();
    let mut seen = Vec::new();
    loop {
        let page = stack
            .stats
            .list_sales_figures(wire::ListSalesFiguresRequest {
                page_size: 1,
                page_token: token.clone(),
                include_superseded: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.sales_figures.into_iter().map(|f| f.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, names);
    let first_page = stack
        .stats
        .list_sales_figures(wire::ListSalesFiguresRequest {
            page_size: 1,
            include_superseded: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let err = stack
        .stats
        .list_sales_figures(wire::ListSalesFiguresRequest {
            page_size: 1,
            page_token: first_page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
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

async fn rollup_counts_each_figure_once(db: &str) {
    let mut stack = spawn_stack(db).await;
    build_hierarchy(&mut stack).await;
    let answer = stack
        .stats
        .compute_rollup(rollup_request("test-holding"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.total.unwrap().units, Some(1_070));
    let mut counted: Vec<(String, bool)> = answer
        .contributions
        .iter()
        .map(|c| (c.organization.clone(), c.counted))
        .collect();
    counted.sort();
    assert_eq!(
        counted,
        [
            ("organizations/test-group".to_owned(), true),
            ("organizations/test-holding".to_owned(), false),
            ("organizations/test-jv".to_owned(), false),
            ("organizations/test-other".to_owned(), true),
            ("organizations/test-plant".to_owned(), false),
        ]
    );
    let jv = answer
        .contributions
        .iter()
        .find(|c| c.organization == "organizations/test-jv")
        .unwrap();
    assert_eq!(jv.units, Some(400));
    assert!(jv.reason.contains("included in"), "{}", jv.reason);
    assert_eq!(answer.provenance.unwrap().figures.len(), 2);

    let group_only = stack
        .stats
        .compute_rollup(rollup_request("test-group"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(group_only.total.unwrap().units, Some(1_000));
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

/// Two stats replicas on one database: an import through one is visible through the
/// other within the refresh interval (200 ms here) plus one poll.
async fn a_replica_sees_another_replicas_import(db: &str) {
    let mut stack = spawn_stack(db).await;
    let registry = stack.registry_server.as_ref().unwrap().addr;
    let (mut replica, _stop) = spawn_stats(db, registry).await;
    import(&mut stack.stats, &new_id(), vec![seed_figures()])
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let answer = replica
            .compute_change(change_request())
            .await
            .unwrap()
            .into_inner();
        if let Some(change) = answer.change {
            assert_eq!(change.absolute_change, -279_800);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the replica did not converge"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And a replica started afterwards loads everything at start.
    let (mut late, _late_stop) = spawn_stats(db, registry).await;
    assert_eq!(list_all(&mut late).await.len(), 2);
}

// ------------------------------------------------------------------------------------------
// Long revision chains: many revisions of one series and period.

/// `n` revisions of nissan-china's 2023-05 retail figure, a day apart from 2000-01-01 on,
/// units growing by one a revision.
fn chain_figures(n: usize) -> Vec<wire::SalesFigure> {
    let template = figures(&["nissan-china,retail,total,CN,all,all,2023-05,50000,,,article-nissan-china-exports-2023,final,2000-01-01,"])
        .pop()
        .unwrap();
    let mut day = Day {
        year: 2000,
        month: 1,
        day: 1,
    };
    (0..n)
        .map(|i| {
            let mut f = template.clone();
            f.as_of_date = Some(day.date());
            f.quantity = Some(wire::sales_figure::Quantity::Units(50_000 + i as i64));
            day = day.next();
            f
        })
        .collect()
}

/// A calendar day walked one at a time (no date crate among the test's dependencies).
#[derive(Clone, Copy)]
struct Day {
    year: i32,
    month: i32,
    day: i32,
}

impl Day {
    fn date(self) -> autointel_proto::google::r#type::Date {
        date(self.year, self.month, self.day)
    }

    fn next(self) -> Self {
        let leap = self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0);
        let days = match self.month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if self.day < days {
            Self {
                day: self.day + 1,
                ..self
            }
        } else if self.month < 12 {
            Self {
                month: self.month + 1,
                day: 1,
                ..self
            }
        } else {
            Self {
                year: self.year + 1,
                month: 1,
                day: 1,
            }
        }
    }
}

fn chain_key() -> twire::SeriesKey {
    series(
        "organizations/nissan-china",
        twire::MeasureBasis::Retail,
        twire::Powertrain::All,
    )
}

/// Imports `figures` in batches of 10 000 figures (one import).
async fn import_in_batches(
    client: &mut StatsServiceClient<Channel>,
    figures: Vec<wire::SalesFigure>,
) -> Result<wire::ImportSalesFiguresResponse, Status> {
    let batches = figures.chunks(10_000).map(<[_]>::to_vec).collect();
    import(client, &new_id(), batches).await
}

/// The field names of an INVALID_ARGUMENT status.
fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// `GetRevisionHistory` pages a long chain: 100 revisions by default, a token to the next
/// page (the first revision of a page changes from the last of the page before), the whole
/// chain in order across pages; bad page sizes and altered or foreign tokens are refused
/// naming the field.
async fn revision_history_comes_in_pages(db: &str) {
    use autointel_stats::engine::ListKey;
    use autointel_stats::service::{decode_token, encode_token};

    let mut stack = spawn_stack(db).await;
    let imported = import_in_batches(&mut stack.stats, chain_figures(250))
        .await
        .unwrap();
    assert_eq!(
        (imported.imported_count, imported.revision_count),
        (250, 249)
    );
    let request = |page_size: i32, page_token: &str| wire::GetRevisionHistoryRequest {
        series: Some(chain_key()),
        period: Some(months((2023, 5), (2023, 5))),
        page_size,
        page_token: page_token.to_owned(),
    };

    // Neither field: the first 100, oldest first, and a token.
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = stack
            .stats
            .get_revision_history(request(0, &token))
            .await
            .unwrap()
            .into_inner();
        token = page.next_page_token.clone();
        pages.push(page.revisions);
        if token.is_empty() {
            break;
        }
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let walked: Vec<wire::Revision> = pages.into_iter().flatten().collect();
    for (i, revision) in walked.iter().enumerate() {
        let figure = revision.figure.as_ref().unwrap();
        assert_eq!(
            figure.quantity,
            Some(wire::sales_figure::Quantity::Units(50_000 + i as i64))
        );
        let expected_change = (i > 0).then_some(1);
        assert_eq!(revision.change_from_previous_units, expected_change, "{i}");
        let previous = i
            .checked_sub(1)
            .map(|p| walked[p].figure.as_ref().unwrap().name.clone());
        assert_eq!(figure.supersedes, previous.unwrap_or_default(), "{i}");
        let next = walked
            .get(i + 1)
            .map(|n| n.figure.as_ref().unwrap().name.clone());
        assert_eq!(figure.superseded_by, next.unwrap_or_default(), "{i}");
    }

    // One page of everything, the same revisions.
    let all = stack
        .stats
        .get_revision_history(request(1000, ""))
        .await
        .unwrap()
        .into_inner();
    assert!(all.next_page_token.is_empty());
    assert_eq!(all.revisions, walked);
    // Page sizes beyond the largest are taken as the largest.
    let big = stack
        .stats
        .get_revision_history(request(i32::MAX, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(big.revisions.len(), 250);

    // A page size may change between pages.
    let first = stack
        .stats
        .get_revision_history(request(7, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.revisions[..], walked[..7]);
    let second = stack
        .stats
        .get_revision_history(request(3, &first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.revisions[..], walked[7..10]);

    let refused = |status: Status| violated_fields(&status);
    let err = stack
        .stats
        .get_revision_history(request(-1, ""))
        .await
        .unwrap_err();
    assert_eq!(refused(err), ["page_size"]);
    for bad in ["not a token", "djEKZm9vCmJhcg"] {
        let err = stack
            .stats
            .get_revision_history(request(0, bad))
            .await
            .unwrap_err();
        assert_eq!(refused(err), ["page_token"], "{bad}");
    }
    // An edited cursor (another as-of date, another figure number) is refused, not misread.
    let (fingerprint, key) = decode_token(&first.next_page_token).unwrap();
    let text = key.encode();
    let parts: Vec<String> = text.split('|').map(str::to_owned).collect();
    let edits = [
        (9, "20991231".to_owned()),
        (10, "1".to_owned()),
        (6, "0".to_owned()),
    ];
    for (field, value) in edits {
        let mut edited = parts.clone();
        edited[field] = value;
        let edited = ListKey::decode(&edited.join("|")).unwrap();
        let token = encode_token(&fingerprint, &edited);
        let err = stack
            .stats
            .get_revision_history(request(0, &token))
            .await
            .unwrap_err();
        assert_eq!(refused(err), ["page_token"], "edited part {field}");
    }
    // Every one-character edit of a token is refused (none is misread as another cursor);
    // tokens do not depend on the database, so once is enough.
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let token = &first.next_page_token;
    let mut accepted = Vec::new();
    let every_edit = db == sqlite_url();
    for (i, original) in token.char_indices().filter(|_| every_edit) {
        for c in ALPHABET.chars().filter(|&c| c != original) {
            let mut edited = token.clone();
            edited.replace_range(i..=i, &c.to_string());
            match stack.stats.get_revision_history(request(1, &edited)).await {
                Ok(_) => accepted.push(edited),
                Err(status) => assert_eq!(refused(status), ["page_token"]),
            }
        }
    }
    assert_eq!(
        accepted,
        Vec::<String>::new(),
        "edited page tokens accepted"
    );
    // A token of another period, or of ListSalesFigures, is not one of this chain's.
    let mut other_period = request(0, &first.next_page_token);
    other_period.period = Some(months((2023, 6), (2023, 6)));
    let err = stack
        .stats
        .get_revision_history(other_period)
        .await
        .unwrap_err();
    assert_eq!(refused(err), ["page_token"]);
    let listed = stack
        .stats
        .list_sales_figures(wire::ListSalesFiguresRequest {
            page_size: 1,
            include_superseded: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let err = stack
        .stats
        .get_revision_history(request(0, &listed.next_page_token))
        .await
        .unwrap_err();
    assert_eq!(refused(err), ["page_token"]);
}

/// Timings of a long chain through the real service (in process, SQLite in memory): an
/// import of 64k and of 100k revisions of one series and period, and `GetRevisionHistory`
/// over 64k revisions. Not a pass/fail test: run it in release and read the figures,
/// `cargo test --release -p autointel-stats --test api -- --ignored --nocapture
/// long_chain_timings`. `AUTOINTEL_CHAIN_SIZES` overrides the sizes (e.g. `1000,8000`);
/// `AUTOINTEL_CHAIN_NEWEST_FIRST=1` imports the revisions newest first (each one goes
/// before all the others in the chain).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand in release"]
async fn long_chain_timings() {
    let sizes: Vec<usize> = std::env::var("AUTOINTEL_CHAIN_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![64_000, 100_000]);
    for n in sizes {
        let (_, registry_db) = temp_db();
        let registry = start_registry(SocketAddr::from(([127, 0, 0, 1], 0)), &registry_db).await;
        let mut settings = Settings::default();
        settings.auth.disabled = true;
        settings.server.listen_address = SocketAddr::from(([127, 0, 0, 1], 0));
        settings.database.url = sqlite_url();
        settings.registry.endpoint = format!("http://{}", registry.addr);
        settings.server.request_timeout_seconds = 3600;
        let app = Application::build(settings).await.unwrap();
        let addr = app.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.serve_until(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let mut client = StatsServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap()
            .max_decoding_message_size(256 * 1024 * 1024);

        let started = Instant::now();
        let imported = tokio::time::timeout(
            Duration::from_secs(300),
            import_in_batches(&mut client, {
                let mut figures = chain_figures(n);
                if std::env::var_os("AUTOINTEL_CHAIN_NEWEST_FIRST").is_some() {
                    figures.reverse();
                }
                figures
            }),
        )
        .await;
        match imported {
            Ok(r) => {
                let r = r.unwrap();
                println!(
                    "import of {n} revisions of one slot: {:.2} s ({} imported, {} revisions)",
                    started.elapsed().as_secs_f64(),
                    r.imported_count,
                    r.revision_count
                );
            }
            Err(_) => {
                println!("import of {n} revisions of one slot: did not finish within 300 s");
                let _ = stop.send(());
                server.abort();
                registry.stop().await;
                continue;
            }
        }

        let request = |page_size: i32, page_token: String| wire::GetRevisionHistoryRequest {
            series: Some(chain_key()),
            period: Some(months((2023, 5), (2023, 5))),
            page_size,
            page_token,
        };
        let started = Instant::now();
        let first = client.get_revision_history(request(0, String::new())).await;
        let outcome = match &first {
            Ok(r) => format!("{} revisions", r.get_ref().revisions.len()),
            Err(status) => format!("{:?}: {}", status.code(), status.message()),
        };
        println!(
            "GetRevisionHistory over {n} revisions, one call without paging fields: {:.4} s \
             ({outcome})",
            started.elapsed().as_secs_f64(),
        );
        let (mut token, mut pages, mut slowest, mut seen) = (String::new(), 0, 0.0f64, 0);
        let walk = Instant::now();
        loop {
            let started = Instant::now();
            let page = client
                .get_revision_history(request(1000, token))
                .await
                .unwrap()
                .into_inner();
            slowest = slowest.max(started.elapsed().as_secs_f64());
            pages += 1;
            seen += page.revisions.len();
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        println!(
            "GetRevisionHistory over {n} revisions, every page of 1000: {:.3} s for {pages} \
             pages ({seen} revisions), slowest page {slowest:.4} s",
            walk.elapsed().as_secs_f64(),
        );
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        registry.stop().await;
    }
}

// ------------------------------------------------------------------------------------------
// Operations: auth, stats -> registry with its own token over mutual TLS, the registry
// dependency's health, metrics.

mod operations {
    use std::net::SocketAddr;
    use std::time::Duration;

    use autointel_proto::stats::stats_service_client::StatsServiceClient;
    use autointel_proto::stats::{self as wire};
    use autointel_server::settings::Secret;
    use autointel_stats::{Application, REGISTRY_DEPENDENCY, Settings};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::sync::oneshot;
    use tonic::metadata::MetadataValue;
    use tonic::service::Interceptor;
    use tonic::service::interceptor::InterceptedService;
    use tonic::transport::{Channel, Endpoint};
    use tonic::{Code, Request, Status};
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    struct Running {
        addr: SocketAddr,
        metrics: Option<SocketAddr>,
        _stop: oneshot::Sender<()>,
    }

    async fn start_registry(settings: autointel_registry::Settings) -> Running {
        let app = autointel_registry::Application::build(settings)
            .await
            .expect("registry builds");
        let (addr, metrics) = (app.local_addr(), app.metrics_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.serve_until(async {
            let _ = stopped.await;
        }));
        Running {
            addr,
            metrics,
            _stop: stop,
        }
    }

    fn registry_settings() -> autointel_registry::Settings {
        let mut settings = autointel_registry::Settings::default();
        settings.auth.disabled = true;
        settings.server.listen_address = "127.0.0.1:0".parse().unwrap();
        settings.database.url = "sqlite::memory:".to_owned();
        settings.seed.load = true;
        settings
    }

    fn stats_settings(registry: &str) -> Settings {
        let mut settings = Settings::default();
        settings.auth.disabled = true;
        settings.server.listen_address = "127.0.0.1:0".parse().unwrap();
        settings.database.url = "sqlite::memory:".to_owned();
        settings.registry.endpoint = registry.to_owned();
        settings.registry.refresh_interval_ms = 50;
        settings.engine.refresh_interval_ms = 200;
        settings
    }

    async fn start_stats(settings: Settings) -> Running {
        let app = Application::build(settings).await.expect("stats builds");
        let (addr, metrics) = (app.local_addr(), app.metrics_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.serve_until(async {
            let _ = stopped.await;
        }));
        Running {
            addr,
            metrics,
            _stop: stop,
        }
    }

    #[derive(Clone)]
    struct Bearer(Option<&'static str>);

    impl Interceptor for Bearer {
        fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
            if let Some(token) = self.0 {
                let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
                request.metadata_mut().insert("authorization", value);
            }
            Ok(request)
        }
    }

    type Client = StatsServiceClient<InterceptedService<Channel, Bearer>>;

    async fn client(addr: SocketAddr, token: Option<&'static str>) -> (Client, Channel) {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        (
            StatsServiceClient::with_interceptor(channel.clone(), Bearer(token)),
            channel,
        )
    }

    async fn import(client: &mut Client, figures: Vec<wire::SalesFigure>) -> Result<i64, Status> {
        let request = wire::ImportSalesFiguresRequest {
            request_id: super::new_id(),
            figures,
        };
        client
            .import_sales_figures(tokio_stream::iter([request]))
            .await
            .map(|r| r.into_inner().imported_count)
    }

    async fn health_of(channel: Channel, service: &str) -> ServingStatus {
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("health answers without a token")
            .into_inner();
        ServingStatus::try_from(response.status).unwrap()
    }

    async fn wait_for_health(channel: &Channel, service: &str, wanted: ServingStatus) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while health_of(channel.clone(), service).await != wanted {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{service:?} never became {wanted:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stats_reader_cannot_import_no_token_is_unauthenticated_and_health_needs_none() {
        let registry = start_registry(registry_settings()).await;
        let mut settings = stats_settings(&format!("http://{}", registry.addr));
        settings.auth.disabled = false;
        settings.auth.tokens = Some(Secret("reader:stats-reader,writer:stats-writer".to_owned()));
        let stats = start_stats(settings).await;

        let (mut anonymous, channel) = client(stats.addr, None).await;
        let status = anonymous
            .list_sales_figures(wire::ListSalesFiguresRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert_eq!(
            import(&mut anonymous, super::seed_figures())
                .await
                .unwrap_err()
                .code(),
            Code::Unauthenticated
        );

        let (mut reader, _) = client(stats.addr, Some("stats-reader")).await;
        reader
            .list_sales_figures(wire::ListSalesFiguresRequest::default())
            .await
            .expect("a reader may query");
        let denied = import(&mut reader, super::seed_figures())
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

        let (mut writer, _) = client(stats.addr, Some("stats-writer")).await;
        assert!(
            import(&mut writer, super::seed_figures())
                .await
                .expect("a writer imports")
                > 0
        );

        assert_eq!(health_of(channel.clone(), "").await, ServingStatus::Serving);
        assert_eq!(
            health_of(channel, autointel_stats::SERVICE_NAME).await,
            ServingStatus::Serving
        );
    }

    use autointel_testkit::pki::Pki;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stats_calls_registry_with_its_own_token_over_mutual_tls() {
        let pki = Pki::generate();
        let mut registry_settings = registry_settings();
        registry_settings.auth.disabled = false;
        registry_settings.auth.tokens = Some(Secret("reader:stats-to-registry".to_owned()));
        registry_settings.tls.cert_file = Some(pki.path("server.pem"));
        registry_settings.tls.key_file = Some(pki.path("server.key"));
        registry_settings.tls.client_ca_file = Some(pki.path("ca.pem"));
        let registry = start_registry(registry_settings).await;

        let token_file = pki.path("registry-token");
        std::fs::write(&token_file, "stats-to-registry\n").unwrap();
        let mut settings = stats_settings(&format!("https://localhost:{}", registry.addr.port()));
        settings.registry.token_file = Some(token_file);
        settings.registry.tls.ca_file = Some(pki.path("ca.pem"));
        settings.registry.tls.cert_file = Some(pki.path("client.pem"));
        settings.registry.tls.key_file = Some(pki.path("client.key"));
        let stats = start_stats(settings).await;

        let (mut writer, channel) = client(stats.addr, None).await;
        wait_for_health(&channel, REGISTRY_DEPENDENCY, ServingStatus::Serving).await;
        // Every organisation and source of the import is checked with the registry.
        assert!(
            import(&mut writer, super::seed_figures())
                .await
                .expect("import checks the registry")
                > 0
        );

        // Without the token registry refuses stats; the import cannot be checked.
        let mut tokenless = stats_settings(&format!("https://localhost:{}", registry.addr.port()));
        tokenless.registry.tls.ca_file = Some(pki.path("ca.pem"));
        tokenless.registry.tls.cert_file = Some(pki.path("client.pem"));
        tokenless.registry.tls.key_file = Some(pki.path("client.key"));
        let tokenless = start_stats(tokenless).await;
        let (mut tokenless, _) = client(tokenless.addr, None).await;
        assert!(import(&mut tokenless, super::seed_figures()).await.is_err());
    }

    /// stats' token towards registry (and its TLS files) are read again when they change:
    /// a rotation needs no restart of stats.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rotated_registry_token_is_picked_up_without_a_restart() {
        let mut registry_settings = registry_settings();
        registry_settings.auth.disabled = false;
        registry_settings.auth.tokens = Some(Secret("reader:new-token".to_owned()));
        let registry = start_registry(registry_settings).await;

        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("registry-token");
        std::fs::write(&token_file, "old-token\n").unwrap();
        let mut settings = stats_settings(&format!("http://{}", registry.addr));
        settings.registry.token_file = Some(token_file.clone());
        settings.auth.reload_interval_seconds = 1;
        let stats = start_stats(settings).await;
        let (mut writer, _) = client(stats.addr, None).await;
        assert!(
            import(&mut writer, super::seed_figures()).await.is_err(),
            "the registry refuses the old token"
        );

        std::fs::write(&token_file, "new-token\n").unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            match import(&mut writer, super::seed_figures()).await {
                Ok(n) => {
                    assert!(n > 0);
                    break;
                }
                Err(e) => assert!(
                    tokio::time::Instant::now() < deadline,
                    "the rotated token was not picked up: {e:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn registry_dependency_health_follows_registry_while_stats_stays_serving() {
        let registry = start_registry(registry_settings()).await;
        let stats = start_stats(stats_settings(&format!("http://{}", registry.addr))).await;
        let (_, channel) = client(stats.addr, None).await;
        wait_for_health(&channel, REGISTRY_DEPENDENCY, ServingStatus::Serving).await;

        drop(registry);
        wait_for_health(&channel, REGISTRY_DEPENDENCY, ServingStatus::NotServing).await;
        assert_eq!(health_of(channel.clone(), "").await, ServingStatus::Serving);
        assert_eq!(
            health_of(channel, autointel_stats::SERVICE_NAME).await,
            ServingStatus::Serving
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dns_balancing_spreads_registry_calls_over_every_address_and_follows_changes() {
        use std::sync::{Arc, Mutex};

        use autointel_stats::metrics::StatsMetrics;
        use autointel_stats::registry_client::{
            Balancing, RegistryClient, RegistryConnection, RegistryToken, Resolve,
        };

        let mut settings = registry_settings();
        settings.server.metrics_address = Some("127.0.0.1:0".parse().unwrap());
        let first = start_registry(settings.clone()).await;
        let second = start_registry(settings).await;
        let addresses = Arc::new(Mutex::new(vec![first.addr, second.addr]));
        let resolved_names = Arc::new(Mutex::new(Vec::new()));
        let resolve: Resolve = {
            let (addresses, resolved_names) = (addresses.clone(), resolved_names.clone());
            Arc::new(move |host: String, port: u16| {
                resolved_names.lock().unwrap().push((host, port));
                let list = addresses.lock().unwrap().clone();
                Box::pin(async move { Ok(list) })
            })
        };
        let client = RegistryClient::new(
            RegistryConnection {
                // a name no DNS knows: only the resolver can find the replicas
                endpoint: "http://registry.invalid:50051".to_owned(),
                timeout: Duration::from_secs(2),
                organization_ttl: Duration::from_millis(1),
                tls: None,
                token: RegistryToken::new(None).unwrap(),
                balancing: Balancing::Dns {
                    refresh: Duration::from_millis(50),
                    resolve,
                },
            },
            StatsMetrics::default(),
        )
        .unwrap();
        let source =
            autointel_domain::SourceId::parse("article-nissan-china-exports-2023").unwrap();
        let get_source = [r#"method="GetSource""#, r#"code="OK""#];
        let served = |text: &str| sample(text, "grpc_requests_total", &get_source);

        for _ in 0..40 {
            assert!(client.source(&source).await.unwrap().is_some());
        }
        let (on_first, on_second) = (
            served(&scrape(first.metrics.unwrap()).await),
            served(&scrape(second.metrics.unwrap()).await),
        );
        assert_eq!(on_first + on_second, 40.0);
        assert!(
            on_first > 0.0 && on_second > 0.0,
            "calls spread over both replicas: {on_first} and {on_second}"
        );
        assert_eq!(
            resolved_names.lock().unwrap()[0],
            ("registry.invalid".to_owned(), 50051)
        );

        // The second replica leaves the name (scaled down): later calls go to the first
        // only, and stopping the second then fails none.
        *addresses.lock().unwrap() = vec![first.addr];
        tokio::time::sleep(Duration::from_millis(300)).await;
        for _ in 0..20 {
            assert!(client.source(&source).await.unwrap().is_some());
        }
        assert_eq!(
            served(&scrape(first.metrics.unwrap()).await),
            on_first + 20.0,
            "every later call goes to the replica still resolved"
        );
        assert_eq!(
            served(&scrape(second.metrics.unwrap()).await),
            on_second,
            "nothing reached the removed replica"
        );
        drop(second);
        for _ in 0..5 {
            assert!(client.source(&source).await.unwrap().is_some());
        }

        // A failed resolution keeps the connections it has.
        addresses.lock().unwrap().clear();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(client.source(&source).await.unwrap().is_some());
    }

    async fn scrape(addr: SocketAddr) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        text
    }

    fn sample(text: &str, metric: &str, fragments: &[&str]) -> f64 {
        text.lines()
            .filter(|line| line.starts_with(metric))
            .find(|line| fragments.iter().all(|f| line.contains(f)))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metrics_count_requests_imports_engine_size_and_registry_calls() {
        let registry = start_registry(registry_settings()).await;
        assert!(
            registry.metrics.is_none(),
            "metrics are off unless configured"
        );
        let mut settings = stats_settings(&format!("http://{}", registry.addr));
        settings.server.metrics_address = Some("127.0.0.1:0".parse().unwrap());
        let stats = start_stats(settings).await;
        let metrics = stats.metrics.expect("metrics are served");
        let (mut client, _) = client(stats.addr, None).await;

        let before = scrape(metrics).await;
        assert_eq!(
            sample(&before, "stats_engine_figures", &[]),
            0.0,
            "{before}"
        );
        let imported = import(&mut client, super::seed_figures()).await.unwrap();
        let after = scrape(metrics).await;

        let import_ok = [r#"method="ImportSalesFigures""#, r#"code="OK""#];
        assert_eq!(
            sample(&after, "grpc_requests_total", &import_ok),
            1.0,
            "{after}"
        );
        assert_eq!(
            sample(&after, "stats_import_figures_total", &[]),
            imported as f64,
            "{after}"
        );
        // the organisations an import cites are checked in one batched call
        assert!(
            sample(
                &after,
                "stats_registry_calls_total",
                &[r#"method="BatchGetOrganizations""#, r#"outcome="ok""#]
            ) >= 1.0,
            "{after}"
        );

        // 2,500 unknown organisations: three registry calls, every one named (up to the
        // status's limit), nothing written
        let ghosts: Vec<String> = (0..2_500)
            .map(|i| {
                format!(
                    "ghost-{i},wholesale,total,CN,all,all,2023-01,1,,,article-nissan-china-exports-2023,final,2023-12-17,"
                )
            })
            .collect();
        let ghosts: Vec<&str> = ghosts.iter().map(String::as_str).collect();
        let refused = import(&mut client, super::figures(&ghosts))
            .await
            .expect_err("unknown organisations");
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        let text = scrape(metrics).await;
        let batches = sample(
            &text,
            "stats_registry_calls_total",
            &[r#"method="BatchGetOrganizations""#],
        );
        assert!(batches <= 4.0, "{batches} batched calls:\n{text}");
        assert_eq!(
            sample(
                &text,
                "stats_registry_calls_total",
                &[r#"method="GetOrganization""#]
            ),
            0.0,
            "no call per organisation: {text}"
        );
        // The engine gauge follows within a refresh interval.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let text = scrape(metrics).await;
            if sample(&text, "stats_engine_figures", &[]) >= imported as f64 {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
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
