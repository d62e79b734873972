//! One request must not freeze stats. The worst requests for one revision chain run while
//! health is checked on a new connection every 100 ms: an import of 100,000 revisions of one
//! series and period, then `GetRevisionHistory` of that chain from four clients at once.
//! Every health check must answer SERVING within 2 s, the import and the calls must
//! succeed, and the history comes in pages that each cost the page.
//!
//! Before revision linking, chain lookups and inserts were made linear and the import's
//! work moved off the async workers, the import alone took minutes of CPU on one worker
//! (quadratic: 27.9 s for 64k revisions in release) and ran past every bound here; one
//! history call over the chain took seconds on a worker and then failed, its answer too
//! large to send.

use std::time::{Duration, Instant};

use autointel_proto::stats as swire;
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_proto::types as twire;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::harness::{Backend, Options, Stack, channel, on_each_backend};

on_each_backend!(health_answers_while_a_long_revision_chain_is_imported);

/// Revisions in the import.
const REVISIONS: usize = 100_000;
/// The most a health check may take, connecting included.
const HEALTH_BOUND: Duration = Duration::from_secs(2);
/// The most the import, or the history calls, may take (a debug build on a shared machine;
/// each needs seconds).
const WORK_BOUND: Duration = Duration::from_secs(240);

fn series() -> twire::SeriesKey {
    twire::SeriesKey {
        organization: "organizations/nissan-china".to_owned(),
        basis: twire::MeasureBasis::Retail as i32,
        flow: twire::Flow::Total as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::All as i32,
        powertrain: twire::Powertrain::All as i32,
        destination: String::new(),
    }
}

fn may_2023() -> twire::MonthRange {
    let month = twire::YearMonth {
        year: 2023,
        month: 5,
    };
    twire::MonthRange {
        start: Some(month),
        end: Some(month),
    }
}

/// `n` revisions of one figure, a day apart from 2000-01-01 on, units growing by one.
fn chain(n: usize) -> Vec<swire::SalesFigure> {
    autointel_testkit::consecutive_days()
        .take(n)
        .enumerate()
        .map(|(i, as_of)| swire::SalesFigure {
            series: Some(series()),
            period: Some(may_2023()),
            quantity: Some(swire::sales_figure::Quantity::Units(
                50_000 + i64::try_from(i).expect("small"),
            )),
            source: "sources/article-nissan-china-exports-2023".to_owned(),
            stage: swire::ReleaseStage::Final as i32,
            as_of_date: Some(as_of),
            ..Default::default()
        })
        .collect()
}

/// One health check on a new connection: its answer, or what went wrong, and how long it took.
async fn check_health(url: &str) -> (Result<ServingStatus, String>, Duration) {
    let started = Instant::now();
    let answer = tokio::time::timeout(HEALTH_BOUND, async {
        let channel = channel(url).await.map_err(|e| format!("connect: {e}"))?;
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map_err(|status| format!("check: {status}"))?;
        ServingStatus::try_from(response.into_inner().status).map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {HEALTH_BOUND:?}")));
    (answer, started.elapsed())
}

async fn health_answers_while_a_long_revision_chain_is_imported(backend: Backend) {
    // The server's own time limit is raised so that a slow machine fails on health, the
    // point of the test, rather than on the limit.
    let options = Options::default().stats_env("AUTOINTEL_SERVER__REQUEST_TIMEOUT_SECONDS", "600");
    let stack = Stack::start_with(&backend, true, options).await;
    let url = stack.stats.url();
    let import_channel = Endpoint::from_shared(url.clone())
        .expect("url")
        .timeout(WORK_BOUND)
        .connect()
        .await
        .expect("stats");
    let mut importer = StatsServiceClient::new(import_channel.clone());
    let request_id = uuid::Uuid::new_v4().to_string();
    let requests: Vec<swire::ImportSalesFiguresRequest> = chain(REVISIONS)
        .chunks(10_000)
        .map(|figures| swire::ImportSalesFiguresRequest {
            request_id: request_id.clone(),
            figures: figures.to_vec(),
        })
        .collect();
    let started = Instant::now();
    let import = tokio::spawn(async move {
        importer
            .import_sales_figures(tokio_stream::iter(requests))
            .await
            .map(tonic::Response::into_inner)
    });

    let (checks, slowest) = health_while(&url, "the import", started, &import).await;
    let imported = import.await.expect("import task").unwrap_or_else(|status| {
        panic!(
            "the import failed: {status:?}\n{}",
            stack.stats.process.describe()
        )
    });
    let import_took = started.elapsed();
    assert_eq!(imported.imported_count, REVISIONS as i64);
    assert_eq!(imported.revision_count, REVISIONS as i64 - 1);
    assert!(checks > 0, "no health check ran during the import");
    report(&format!(
        "import of {REVISIONS} revisions: {import_took:?}; {checks} health checks, slowest {slowest:?}"
    ));

    // The history of the chain, asked by several clients at once as a client that knows no
    // paging asks it: each answer is a page of 100 revisions, whatever the chain's length,
    // and health keeps answering meanwhile.
    let started = Instant::now();
    let askers: Vec<_> = (0..4)
        .map(|_| {
            let mut client = StatsServiceClient::new(import_channel.clone());
            tokio::spawn(async move {
                let mut pages = Vec::new();
                for _ in 0..3 {
                    let page = client
                        .get_revision_history(history_request(0, String::new()))
                        .await?
                        .into_inner();
                    pages.push((page.revisions.len(), page.next_page_token.is_empty()));
                }
                Ok::<_, tonic::Status>(pages)
            })
        })
        .collect();
    let histories = tokio::spawn(async move {
        let mut all = Vec::new();
        for asker in askers {
            all.push(asker.await.expect("history task"));
        }
        all
    });
    let (checks, slowest) = health_while(&url, "the history calls", started, &histories).await;
    for pages in histories.await.expect("history tasks") {
        let pages = pages.unwrap_or_else(|status| panic!("GetRevisionHistory failed: {status:?}"));
        assert_eq!(pages, [(100, false); 3]);
    }
    report(&format!(
        "12 default GetRevisionHistory calls from 4 clients: {:?}; {checks} health checks, \
         slowest {slowest:?}",
        started.elapsed()
    ));

    let mut client = StatsServiceClient::new(import_channel);
    let request = history_request;
    // Every page of 1000, the chain in order; health keeps answering in between.
    let (mut token, mut seen, mut pages) = (String::new(), 0i64, 0);
    let walk = Instant::now();
    loop {
        let page = client
            .get_revision_history(request(1000, token))
            .await
            .expect("GetRevisionHistory")
            .into_inner();
        for revision in &page.revisions {
            let figure = revision.figure.as_ref().expect("figure");
            assert_eq!(
                figure.quantity,
                Some(swire::sales_figure::Quantity::Units(50_000 + seen))
            );
            seen += 1;
        }
        pages += 1;
        if pages % 10 == 0 {
            let (answer, took) = check_health(&url).await;
            assert_eq!(answer, Ok(ServingStatus::Serving), "after {took:?}");
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, REVISIONS as i64);
    report(&format!(
        "history of {REVISIONS} revisions in {pages} pages: {:?}",
        walk.elapsed()
    ));
}

fn history_request(page_size: i32, page_token: String) -> swire::GetRevisionHistoryRequest {
    swire::GetRevisionHistoryRequest {
        series: Some(series()),
        period: Some(may_2023()),
        page_size,
        page_token,
    }
}

/// Checks health on a new connection every 100 ms until `work` is done, which must be
/// within [`WORK_BOUND`] of `started`; every check must answer SERVING within
/// [`HEALTH_BOUND`]. Returns how many checks ran and the slowest.
async fn health_while<T>(
    url: &str,
    what: &str,
    started: Instant,
    work: &tokio::task::JoinHandle<T>,
) -> (usize, Duration) {
    let (mut checks, mut slowest) = (0, Duration::ZERO);
    while !work.is_finished() {
        assert!(
            started.elapsed() < WORK_BOUND,
            "{what} did not finish within {WORK_BOUND:?}"
        );
        let (answer, took) = check_health(url).await;
        assert_eq!(
            answer,
            Ok(ServingStatus::Serving),
            "health check {checks} during {what}, {:?} into it, after {took:?}",
            started.elapsed()
        );
        checks += 1;
        slowest = slowest.max(took);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (checks, slowest)
}

fn report(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "long_chains: {line}");
}
