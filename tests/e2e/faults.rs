//! Dependency faults: stats under traffic while its registry is killed (then restarted on
//! the same port) and while the registry is frozen with SIGSTOP (answers nothing, beyond
//! the deadline). Queries that need the registry fail fast with UNAVAILABLE, every call
//! returns within the bound the configuration promises, queries that need only the engine
//! keep answering, stats' own health stays SERVING, and recovery needs nothing but the
//! registry coming back. SQLite only: the fault is in the network, not the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use autointel_proto::google::r#type::Date;
use autointel_proto::stats as swire;
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_proto::types as twire;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::harness::{Backend, Options, Stack, channel};

/// `registry.timeout_ms` of the stats server under test.
const REGISTRY_TIMEOUT_MS: u64 = 500;

/// The longest a registry-dependent call may take: three attempts each bounded by the
/// deadline plus the 50 + 100 ms backoff (registry_client.rs), plus 500 ms of slack for a
/// loaded test machine.
fn bound() -> Duration {
    Duration::from_millis(3 * REGISTRY_TIMEOUT_MS + 150 + 500)
}

/// How long recovery may take once the registry is back.
const RECOVERY: Duration = Duration::from_secs(15);

fn options() -> Options {
    Options::default()
        .stats_env(
            "AUTOINTEL_REGISTRY__TIMEOUT_MS",
            &REGISTRY_TIMEOUT_MS.to_string(),
        )
        .stats_env("AUTOINTEL_REGISTRY__REFRESH_INTERVAL_MS", "200")
        // Organisation existence is cached; keep it short so imports ask the registry.
        .stats_env("AUTOINTEL_REGISTRY__CACHE_TTL_MS", "1")
}

/// The seed series of Nissan China, company-reported.
pub fn nissan_china() -> twire::SeriesKey {
    twire::SeriesKey {
        organization: "organizations/nissan-china".to_owned(),
        basis: twire::MeasureBasis::CompanyReported as i32,
        flow: twire::Flow::Total as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::All as i32,
        powertrain: twire::Powertrain::All as i32,
        destination: String::new(),
    }
}

/// 2023-01..2023-11, the seed figure's period.
pub fn seed_period() -> twire::MonthRange {
    twire::MonthRange {
        start: Some(twire::YearMonth {
            year: 2023,
            month: 1,
        }),
        end: Some(twire::YearMonth {
            year: 2023,
            month: 11,
        }),
    }
}

/// A query answered by the engine alone.
async fn total(stats: &mut StatsServiceClient<Channel>) -> Result<(), tonic::Status> {
    let answer = stats
        .compute_total(swire::ComputeTotalRequest {
            source: String::new(),
            series: Some(nissan_china()),
            period: Some(seed_period()),
            as_of_date: None,
        })
        .await?
        .into_inner();
    assert_eq!(
        answer.total.and_then(|t| t.units),
        Some(694_900),
        "the seed total"
    );
    Ok(())
}

/// A query that needs the registry (the hierarchy).
async fn rollup(stats: &mut StatsServiceClient<Channel>) -> Result<(), tonic::Status> {
    stats
        .compute_rollup(swire::ComputeRollupRequest {
            source: String::new(),
            series: Some(nissan_china()),
            period: Some(seed_period()),
            hierarchy_date: Some(Date {
                year: 2023,
                month: 12,
                day: 31,
            }),
            as_of_date: None,
            mode: swire::RollupMode::Gross as i32,
        })
        .await
        .map(|_| ())
}

/// An import that needs the registry (organisation and source checks).
async fn import(stats: &mut StatsServiceClient<Channel>) -> Result<(), tonic::Status> {
    let month = twire::YearMonth {
        year: 2019,
        month: 1,
    };
    let figure = swire::SalesFigure {
        series: Some(twire::SeriesKey {
            market: "FAULTS".to_owned(),
            ..nissan_china()
        }),
        period: Some(twire::MonthRange {
            start: Some(month),
            end: Some(month),
        }),
        quantity: Some(swire::sales_figure::Quantity::Units(1)),
        source: crate::flows::SOURCE.to_owned(),
        stage: swire::ReleaseStage::Final as i32,
        as_of_date: Some(Date {
            year: 2019,
            month: 2,
            day: 1,
        }),
        ..Default::default()
    };
    stats
        .import_sales_figures(tokio_stream::iter([swire::ImportSalesFiguresRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            figures: vec![figure],
        }]))
        .await
        .map(|_| ())
}

/// Calls `f` and returns its result and how long it took.
async fn timed<F, Fut>(f: F) -> (Result<(), tonic::Status>, Duration)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), tonic::Status>>,
{
    let started = Instant::now();
    let result = f().await;
    (result, started.elapsed())
}

/// Engine-only traffic in the background: every call must succeed, quickly.
struct Traffic {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(usize, Duration)>,
}

impl Traffic {
    fn start(stats: StatsServiceClient<Channel>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut stats = stats;
            let (mut calls, mut slowest) = (0usize, Duration::ZERO);
            while !flag.load(Ordering::SeqCst) {
                let (result, elapsed) = timed(|| total(&mut stats)).await;
                if let Err(status) = result {
                    panic!("an engine-only query failed during the fault: {status:?}");
                }
                calls += 1;
                slowest = slowest.max(elapsed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (calls, slowest)
        });
        Self { stop, task }
    }

    async fn finish(self) -> (usize, Duration) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("traffic task")
    }
}

/// During the fault: each registry-dependent call fails with UNAVAILABLE within the bound;
/// returns how many did and the slowest.
async fn assert_fails_fast(
    stats: &mut StatsServiceClient<Channel>,
    fault: &str,
) -> (usize, Duration) {
    let (mut calls, mut slowest) = (0, Duration::ZERO);
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        for (what, (result, elapsed)) in [
            ("ComputeRollup", timed(|| rollup(stats)).await),
            ("ImportSalesFigures", timed(|| import(stats)).await),
        ] {
            let status = result.expect_err(&format!("{what} cannot succeed while {fault}"));
            assert_eq!(
                status.code(),
                Code::Unavailable,
                "{what} while {fault}: {status:?}"
            );
            assert!(
                elapsed < bound(),
                "{what} while {fault} took {elapsed:?}, more than {:?}",
                bound()
            );
            calls += 1;
            slowest = slowest.max(elapsed);
        }
    }
    (calls, slowest)
}

/// After the fault: the registry-dependent queries answer again, with stats untouched.
async fn assert_recovers(stats: &mut StatsServiceClient<Channel>, fault: &str) -> Duration {
    let started = Instant::now();
    loop {
        let rollup = rollup(stats).await;
        let import = import(stats).await;
        if rollup.is_ok() && import.is_ok() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < RECOVERY,
            "no recovery within {RECOVERY:?} after {fault}: {rollup:?} {import:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stats_health(stack: &Stack, service: &str) -> ServingStatus {
    let answer = HealthClient::new(channel(&stack.stats.url()).await.expect("stats"))
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .expect("health")
        .into_inner();
    ServingStatus::try_from(answer.status).expect("known status")
}

/// Waits until stats reports registry's dependency status as `wanted`.
async fn wait_for_dependency(stack: &Stack, wanted: ServingStatus) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats_health(stack, "autointel.registry.v1.RegistryService").await != wanted {
        assert!(
            Instant::now() < deadline,
            "stats never reported registry {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn report(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "faults: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_killed_under_traffic_fails_fast_and_recovers() {
    let mut stack = Stack::start_with(&Backend::Sqlite, true, options()).await;
    let mut stats = stack.stats_client().await;
    total(&mut stats).await.expect("total before the fault");
    rollup(&mut stats).await.expect("rollup before the fault");
    import(&mut stats).await.expect("import before the fault");

    let traffic = Traffic::start(stack.stats_client().await);
    stack.registry.process.signal("KILL");
    let _ = stack.registry.process.wait_timeout(Duration::from_secs(10));
    let (failed, slowest_failure) = assert_fails_fast(&mut stats, "registry is dead").await;
    wait_for_dependency(&stack, ServingStatus::NotServing).await;
    assert_eq!(stats_health(&stack, "").await, ServingStatus::Serving);

    stack.restart_registry_in_place().await;
    let recovery = assert_recovers(&mut stats, "registry restart").await;
    wait_for_dependency(&stack, ServingStatus::Serving).await;
    let (calls, slowest) = traffic.finish().await;
    assert!(calls > 10, "the engine-only traffic ran ({calls} calls)");
    assert!(
        stack.stats.process.try_wait().is_none(),
        "stats kept running"
    );
    report(&format!(
        "registry killed: {failed} registry-dependent calls failed with UNAVAILABLE \
         (slowest {slowest_failure:?}, bound {:?}), \
         {calls} engine-only calls all OK (slowest {slowest:?}), recovered {recovery:?} after restart",
        bound()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_frozen_beyond_the_deadline_fails_fast_and_recovers() {
    let stack = Stack::start_with(&Backend::Sqlite, true, options()).await;
    let mut stats = stack.stats_client().await;
    rollup(&mut stats).await.expect("rollup before the fault");
    import(&mut stats).await.expect("import before the fault");

    let traffic = Traffic::start(stack.stats_client().await);
    // SIGSTOP: connections stay open and accepted, nothing answers: a slow registry.
    stack.registry.process.signal("STOP");
    let (failed, slowest_failure) = assert_fails_fast(&mut stats, "registry is frozen").await;
    assert_eq!(stats_health(&stack, "").await, ServingStatus::Serving);
    stack.registry.process.signal("CONT");

    let recovery = assert_recovers(&mut stats, "SIGCONT").await;
    let (calls, slowest) = traffic.finish().await;
    assert!(calls > 10, "the engine-only traffic ran ({calls} calls)");
    report(&format!(
        "registry frozen: {failed} registry-dependent calls failed with UNAVAILABLE \
         (slowest {slowest_failure:?}, bound {:?}), \
         {calls} engine-only calls all OK (slowest {slowest:?}), recovered {recovery:?} after SIGCONT",
        bound()
    ));
}
