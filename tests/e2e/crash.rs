//! Crash safety: imports and record creations run against the real servers, several
//! writes in flight at once, and the servers are killed with SIGKILL at random moments (a
//! seeded splitmix64 decides when and which: registry, stats or both), started again on the
//! same database, and every request that was not acknowledged is retried with the same
//! `request_id`. Any failure before the kill fails the test. Then:
//!
//! - before a retry, an unacknowledged import is visible entirely or not at all, and an
//!   unacknowledged organisation at most once;
//! - the retry succeeds and reports what the first attempt wrote (`imported_count`);
//! - every acknowledged write is present exactly once, with the content it was sent with,
//!   and nothing else is: every figure of every import (market `CRASH-<k>`, period, units,
//!   note, source, stage, as-of date), every organisation `crash-org-<n>` (kind, names,
//!   aliases, country), across all cycles, checked after a last SIGKILL of both servers so
//!   that the answer comes from what is on disk, not from a surviving process's memory.
//!
//! The I/O fault mode (a disk that fills up under the servers) is `disk_full.rs`.
//!
//! `AUTOINTEL_CRASH_CYCLES` (default 5) sets the number of kills, `AUTOINTEL_CRASH_SEED`
//! the seed. A summary line goes to stderr (run with `--nocapture` to see it).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use autointel_proto::google::r#type::Date;
use autointel_proto::registry as rwire;
use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_proto::stats as swire;
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_proto::types as twire;
use tokio::sync::Mutex;
use tonic::Code;
use tonic::transport::Channel;

use crate::harness::{Backend, Options, Stack, Stop, all_figures, on_each_backend};

on_each_backend!(acknowledged_writes_survive_sigkill_exactly_once);

/// What stats logs when it starts writing an engine snapshot, when it is done, when another
/// replica is writing, and when a start reads one.
const SNAPSHOT_STARTED: &str = "writing an engine snapshot";
const SNAPSHOT_WRITTEN: &str = "engine snapshot written";
const SNAPSHOT_SKIPPED: &str = "another replica is writing an engine snapshot";
const SNAPSHOT_READ: &str = "engine read from its snapshot";

/// Waits (at most 3 s) until stats logs that it started writing a new snapshot.
async fn wait_for_snapshot_write(stack: &Stack) {
    let before = stack
        .stats
        .process
        .stdout()
        .matches(SNAPSHOT_STARTED)
        .count();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        if stack
            .stats
            .process
            .stdout()
            .matches(SNAPSHOT_STARTED)
            .count()
            > before
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The seed figures imported by [`Stack::start`].
const SEED_FIGURES: usize = 2;
/// Figures per import message.
const BATCH: usize = 25;
/// Most figures in one import.
const MAX_FIGURES: u64 = 120;
/// Writers of each kind (organisations, imports) in flight at once.
const WRITERS_PER_KIND: usize = 3;
/// Longest any single call may take before it counts as unacknowledged.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// splitmix64: small, seeded, good enough to pick moments and sizes.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        })
        .unwrap_or(default)
}

/// One write whose acknowledgement the test tracks.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// `CreateOrganization` of `crash-org-<n>`.
    Org { n: u64, request_id: String },
    /// `ImportSalesFigures` of `figures` figures in market `CRASH-<k>`.
    Import {
        k: u64,
        figures: usize,
        request_id: String,
    },
}

fn org_id(n: u64) -> String {
    format!("crash-org-{n}")
}

fn market(k: u64) -> String {
    format!("CRASH-{k}")
}

/// The organisation `crash-org-<n>` as the test creates it.
fn organization(n: u64) -> rwire::Organization {
    rwire::Organization {
        kind: rwire::OrganizationKind::Automaker as i32,
        english_name: format!("Crash Test {n}"),
        chinese_name: format!("崩溃测试{n}"),
        aliases: vec![format!("CT{n}")],
        country_code: "CN".to_owned(),
        ..Default::default()
    }
}

/// Figure `i` of import `k` as the test sends it.
fn figure(k: u64, i: usize) -> swire::SalesFigure {
    let i32_index = i32::try_from(i).expect("small index");
    let month = twire::YearMonth {
        year: 2001 + i32_index / 12,
        month: i32_index % 12 + 1,
    };
    swire::SalesFigure {
        series: Some(twire::SeriesKey {
            organization: "organizations/nissan-china".to_owned(),
            basis: twire::MeasureBasis::Wholesale as i32,
            flow: twire::Flow::Total as i32,
            market: market(k),
            scope: twire::VehicleScope::All as i32,
            powertrain: twire::Powertrain::All as i32,
            destination: String::new(),
        }),
        period: Some(twire::MonthRange {
            start: Some(month),
            end: Some(month),
        }),
        quantity: Some(swire::sales_figure::Quantity::Units(
            i64::try_from(k * 1000).expect("small") + i64::from(i32_index) + 1,
        )),
        source: crate::flows::SOURCE.to_owned(),
        stage: swire::ReleaseStage::Final as i32,
        as_of_date: Some(Date {
            year: 2024,
            month: 1,
            day: 15,
        }),
        note: format!("crash import {k} figure {i}"),
        ..Default::default()
    }
}

/// Sends `op` once; `Ok` when acknowledged.
pub(crate) async fn send(
    op: &Op,
    registry: &mut RegistryServiceClient<Channel>,
    stats: &mut StatsServiceClient<Channel>,
) -> Result<(), tonic::Status> {
    let call = async {
        match op {
            Op::Org { n, request_id } => {
                let org = registry
                    .create_organization(rwire::CreateOrganizationRequest {
                        organization: Some(organization(*n)),
                        organization_id: org_id(*n),
                        request_id: request_id.clone(),
                    })
                    .await?
                    .into_inner();
                assert_eq!(org.name, format!("organizations/{}", org_id(*n)));
                Ok(())
            }
            Op::Import {
                k,
                figures,
                request_id,
            } => {
                let all: Vec<_> = (0..*figures).map(|i| figure(*k, i)).collect();
                let requests: Vec<_> = all
                    .chunks(BATCH)
                    .map(|chunk| swire::ImportSalesFiguresRequest {
                        request_id: request_id.clone(),
                        figures: chunk.to_vec(),
                    })
                    .collect();
                let response = stats
                    .import_sales_figures(tokio_stream::iter(requests))
                    .await?
                    .into_inner();
                assert_eq!(
                    response.imported_count,
                    i64::try_from(*figures).expect("small"),
                    "import {k} (a retry reports what the first attempt wrote)"
                );
                Ok(())
            }
        }
    };
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => Err(tonic::Status::deadline_exceeded("test-side timeout")),
    }
}

/// Codes a killed server (or a dependency it lost) may produce; anything else is a bug.
fn is_crash_symptom(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::Unknown
            | Code::Cancelled
            | Code::Internal
            | Code::DeadlineExceeded
    )
}

/// What a cycle's writers did.
#[derive(Debug, Default)]
struct Ledger {
    acknowledged: Vec<Op>,
    pending: Vec<Op>,
}

/// Runs `ops` from `next` one after another until `stop` or the first failure. A failure
/// before `killed` is set (no server has been signalled yet) is a bug, whatever its code.
async fn writer(
    next: impl Fn() -> Op + Send,
    stop: Arc<AtomicBool>,
    killed: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
    mut registry: RegistryServiceClient<Channel>,
    mut stats: StatsServiceClient<Channel>,
) {
    while !stop.load(Ordering::SeqCst) {
        let op = next();
        let before_kill = !killed.load(Ordering::SeqCst);
        match send(&op, &mut registry, &mut stats).await {
            Ok(()) => ledger.lock().await.acknowledged.push(op),
            Err(status) => {
                assert!(
                    !before_kill || killed.load(Ordering::SeqCst),
                    "{op:?} failed before any server was killed: {status:?}"
                );
                assert!(
                    is_crash_symptom(status.code()),
                    "{op:?} failed with a status a crash does not explain: {status:?}"
                );
                ledger.lock().await.pending.push(op);
                return;
            }
        }
    }
}

/// Figures stored in market `CRASH-<k>`, superseded ones included.
async fn figures_in(stats: &mut StatsServiceClient<Channel>, k: u64) -> Vec<swire::SalesFigure> {
    stats
        .list_sales_figures(swire::ListSalesFiguresRequest {
            page_size: 1000,
            market: market(k),
            include_superseded: true,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("ListSalesFigures CRASH-{k}: {e:?}"))
        .into_inner()
        .sales_figures
}

/// Whether `crash-org-<n>` exists.
async fn org_exists(registry: &mut RegistryServiceClient<Channel>, n: u64) -> bool {
    match registry
        .get_organization(rwire::GetOrganizationRequest {
            name: format!("organizations/{}", org_id(n)),
        })
        .await
    {
        Ok(_) => true,
        Err(status) if status.code() == Code::NotFound => false,
        Err(status) => panic!("GetOrganization {}: {status:?}", org_id(n)),
    }
}

/// Retries `op` (same request id) until acknowledged, allowing a few seconds for stats to
/// reconnect to a restarted registry.
async fn retry_until_acknowledged(
    op: &Op,
    registry: &mut RegistryServiceClient<Channel>,
    stats: &mut StatsServiceClient<Channel>,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match send(op, registry, stats).await {
            Ok(()) => return,
            Err(status) if is_crash_symptom(status.code()) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => panic!("retry of {op:?} failed: {status:?}"),
        }
    }
}

/// Every organisation, page by page.
pub(crate) async fn organizations(
    registry: &mut RegistryServiceClient<Channel>,
) -> Vec<rwire::Organization> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = registry
            .list_organizations(rwire::ListOrganizationsRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .expect("ListOrganizations")
            .into_inner();
        all.extend(page.organizations);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// Every organisation's resource name.
pub(crate) async fn all_organizations(
    registry: &mut RegistryServiceClient<Channel>,
) -> Vec<String> {
    organizations(registry)
        .await
        .into_iter()
        .map(|o| o.name)
        .collect()
}

/// Asserts a stored crash organisation has exactly the fields it was created with.
fn assert_organization_content(n: u64, stored: &rwire::Organization) {
    let sent = organization(n);
    assert_eq!(
        (
            stored.kind,
            &stored.english_name,
            &stored.chinese_name,
            &stored.aliases,
            &stored.country_code
        ),
        (
            sent.kind,
            &sent.english_name,
            &sent.chinese_name,
            &sent.aliases,
            &sent.country_code
        ),
        "{} stored with other content",
        stored.name
    );
}

/// Asserts a stored crash figure has exactly the content it was imported with; returns
/// its index `i` within import `k`.
fn assert_figure_content(k: u64, stored: &swire::SalesFigure) -> usize {
    let start = stored
        .period
        .as_ref()
        .and_then(|p| p.start)
        .expect("period");
    let i = usize::try_from((start.year - 2001) * 12 + start.month - 1).expect("crash period");
    let sent = figure(k, i);
    assert_eq!(
        (
            &stored.series,
            &stored.period,
            &stored.quantity,
            &stored.source,
            stored.stage,
            &stored.as_of_date,
            &stored.note
        ),
        (
            &sent.series,
            &sent.period,
            &sent.quantity,
            &sent.source,
            sent.stage,
            &sent.as_of_date,
            &sent.note
        ),
        "figure {} of import {k} stored with other content",
        stored.name
    );
    i
}

/// Checks the whole database against everything acknowledged; returns the writes checked.
pub(crate) async fn verify_everything(
    stack: &Stack,
    acknowledged_orgs: &BTreeSet<u64>,
    acknowledged_imports: &BTreeMap<u64, usize>,
    seed_organizations: usize,
) -> usize {
    let mut registry = stack.registry_client().await;
    let mut stats = stack.stats_client().await;

    let stored = organizations(&mut registry).await;
    let names: Vec<&String> = stored.iter().map(|o| &o.name).collect();
    let unique: BTreeSet<&String> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "an organisation listed twice");
    let mut crash = BTreeSet::new();
    for org in &stored {
        if let Some(n) = org.name.strip_prefix("organizations/crash-org-") {
            let n: u64 = n.parse().expect("crash organisation number");
            assert_organization_content(n, org);
            crash.insert(n.to_string());
        }
    }
    let expected: BTreeSet<String> = acknowledged_orgs.iter().map(u64::to_string).collect();
    assert_eq!(crash, expected, "crash organisations stored = acknowledged");
    assert_eq!(names.len(), seed_organizations + acknowledged_orgs.len());

    let figures = all_figures(&mut stats).await;
    let mut by_market: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut seen = 0usize;
    for f in &figures {
        let series = f.series.as_ref().expect("series");
        if !series.market.starts_with("CRASH-") {
            continue;
        }
        seen += 1;
        let k: u64 = series.market["CRASH-".len()..]
            .parse()
            .expect("crash market number");
        let i = assert_figure_content(k, f);
        assert!(
            by_market
                .entry(series.market.clone())
                .or_default()
                .insert(i),
            "figure {} of {} stored twice",
            f.name,
            series.market
        );
        assert!(
            f.superseded_by.is_empty(),
            "nothing revises a crash figure: {f:?}"
        );
    }
    let stored: BTreeMap<String, usize> = by_market
        .iter()
        .map(|(m, periods)| (m.clone(), periods.len()))
        .collect();
    let wanted: BTreeMap<String, usize> = acknowledged_imports
        .iter()
        .map(|(k, n)| (market(*k), *n))
        .collect();
    assert_eq!(stored, wanted, "imports stored = acknowledged, each whole");
    assert_eq!(figures.len(), SEED_FIGURES + seen, "no stray figures");
    acknowledged_orgs.len() + seen
}

async fn acknowledged_writes_survive_sigkill_exactly_once(backend: Backend) {
    let cycles = env_number("AUTOINTEL_CRASH_CYCLES", 5);
    let seed = env_number("AUTOINTEL_CRASH_SEED", 0x00C0_FFEE);
    let mut rng = SplitMix64::new(seed);
    // Engine snapshots as often as they can be: a restart of stats reads one, and every
    // other cycle stats dies right after one starts being written.
    let options = Options::default()
        .stats_env("AUTOINTEL_ENGINE__SNAPSHOT_INTERVAL_SECONDS", "1")
        .stats_env("AUTOINTEL_ENGINE__SNAPSHOT_MIN_NEW_FIGURES", "1");
    let mut stack = Stack::start_with(&backend, true, options).await;
    let (mut snapshot_kills, mut snapshot_starts) = (0usize, 0usize);
    let seed_organizations = all_organizations(&mut stack.registry_client().await)
        .await
        .len();

    let mut next_org = 0u64;
    let mut next_import = 0u64;
    let mut acknowledged_orgs = BTreeSet::new();
    let mut acknowledged_imports: BTreeMap<u64, usize> = BTreeMap::new();
    let mut pending: Vec<Op> = Vec::new();
    let (mut retried, mut partial_checks, mut per_cycle_checks) = (0usize, 0usize, 0usize);
    let mut kills = [0usize; 3];
    let started = Instant::now();

    for cycle in 0..cycles {
        // 1. Unacknowledged writes of the last cycle: all or nothing, then retried.
        let mut registry = stack.registry_client().await;
        let mut stats = stack.stats_client().await;
        for op in std::mem::take(&mut pending) {
            match &op {
                Op::Org { n, .. } => {
                    let _ = org_exists(&mut registry, *n).await;
                }
                Op::Import { k, figures, .. } => {
                    let visible = figures_in(&mut stats, *k).await.len();
                    assert!(
                        visible == 0 || visible == *figures,
                        "cycle {cycle}: unacknowledged import {k} is partly visible: \
                         {visible} of {figures} figures"
                    );
                }
            }
            partial_checks += 1;
            retry_until_acknowledged(&op, &mut registry, &mut stats).await;
            retried += 1;
            match op {
                Op::Org { n, .. } => {
                    assert!(org_exists(&mut registry, n).await);
                    assert!(acknowledged_orgs.insert(n));
                }
                Op::Import { k, figures, .. } => {
                    assert_eq!(figures_in(&mut stats, k).await.len(), figures);
                    assert!(acknowledged_imports.insert(k, figures).is_none());
                }
            }
        }

        // 2. Writers run, several writes in flight; the chosen server(s) die at a random
        //    moment.
        let stop = Arc::new(AtomicBool::new(false));
        let killed = Arc::new(AtomicBool::new(false));
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let org_counter = Arc::new(AtomicU64::new(next_org));
        let import_counter = Arc::new(AtomicU64::new(next_import));
        let sizes = Arc::new(std::sync::Mutex::new(SplitMix64::new(rng.next_u64())));
        let mut writers = Vec::new();
        for _ in 0..WRITERS_PER_KIND {
            let counter = org_counter.clone();
            writers.push(tokio::spawn(writer(
                move || Op::Org {
                    n: counter.fetch_add(1, Ordering::SeqCst) + 1,
                    request_id: uuid::Uuid::new_v4().to_string(),
                },
                stop.clone(),
                killed.clone(),
                ledger.clone(),
                registry.clone(),
                stats.clone(),
            )));
            let counter = import_counter.clone();
            let sizes = sizes.clone();
            writers.push(tokio::spawn(writer(
                move || Op::Import {
                    k: counter.fetch_add(1, Ordering::SeqCst) + 1,
                    figures: usize::try_from(1 + sizes.lock().expect("sizes").below(MAX_FIGURES))
                        .expect("small"),
                    request_id: uuid::Uuid::new_v4().to_string(),
                },
                stop.clone(),
                killed.clone(),
                ledger.clone(),
                registry.clone(),
                stats.clone(),
            )));
        }
        tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
        let victim = rng.below(3);
        if victim != 0 && cycle % 2 == 1 {
            wait_for_snapshot_write(&stack).await;
        }
        kills[usize::try_from(victim).expect("small")] += 1;
        killed.store(true, Ordering::SeqCst);
        if victim != 1 {
            stack.registry.process.signal("KILL");
        }
        if victim != 0 {
            stack.stats.process.signal("KILL");
        }
        stop.store(true, Ordering::SeqCst);
        for task in writers {
            tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("writers stop after the kill")
                .expect("writer did not panic");
        }
        if victim != 1 {
            let _ = stack.registry.process.wait_timeout(Duration::from_secs(10));
            stack.restart_registry_in_place().await;
        }
        if victim != 0 {
            let _ = stack.stats.process.wait_timeout(Duration::from_secs(10));
            let log = stack.stats.process.stdout();
            if log.matches(SNAPSHOT_STARTED).count()
                > log.matches(SNAPSHOT_WRITTEN).count() + log.matches(SNAPSHOT_SKIPPED).count()
            {
                snapshot_kills += 1;
            }
            stack.restart_stats_in_place().await;
            if stack.stats.process.stdout().contains(SNAPSHOT_READ) {
                snapshot_starts += 1;
            }
        }

        // 3. What was acknowledged is there, after the restart, exactly once.
        let ledger = std::mem::take(&mut *ledger.lock().await);
        let mut registry = stack.registry_client().await;
        let mut stats = stack.stats_client().await;
        for op in &ledger.acknowledged {
            match op {
                Op::Org { n, .. } => {
                    assert!(
                        org_exists(&mut registry, *n).await,
                        "cycle {cycle}: acknowledged {} lost",
                        org_id(*n)
                    );
                    assert!(acknowledged_orgs.insert(*n));
                    next_org = next_org.max(*n);
                }
                Op::Import { k, figures, .. } => {
                    let stored = figures_in(&mut stats, *k).await.len();
                    assert_eq!(
                        stored, *figures,
                        "cycle {cycle}: acknowledged import {k} has {stored} of {figures} figures"
                    );
                    assert!(acknowledged_imports.insert(*k, *figures).is_none());
                    next_import = next_import.max(*k);
                }
            }
            per_cycle_checks += 1;
        }
        for op in &ledger.pending {
            match op {
                Op::Org { n, .. } => next_org = next_org.max(*n),
                Op::Import { k, .. } => next_import = next_import.max(*k),
            }
        }
        pending = ledger.pending;
    }

    // Last cycle's unacknowledged writes, then the whole database as both servers read
    // it from disk after one more SIGKILL.
    let mut registry = stack.registry_client().await;
    let mut stats = stack.stats_client().await;
    for op in std::mem::take(&mut pending) {
        if let Op::Import { k, figures, .. } = &op {
            let visible = figures_in(&mut stats, *k).await.len();
            assert!(
                visible == 0 || visible == *figures,
                "import {k} partly visible"
            );
        }
        partial_checks += 1;
        retry_until_acknowledged(&op, &mut registry, &mut stats).await;
        retried += 1;
        match op {
            Op::Org { n, .. } => assert!(acknowledged_orgs.insert(n)),
            Op::Import { k, figures, .. } => {
                assert!(acknowledged_imports.insert(k, figures).is_none());
            }
        }
    }
    stack.restart(Stop::Kill).await;
    let writes = verify_everything(
        &stack,
        &acknowledged_orgs,
        &acknowledged_imports,
        seed_organizations,
    )
    .await;
    assert!(
        kills[1] + kills[2] == 0 || snapshot_starts > 0,
        "stats was killed {} times and never started from an engine snapshot",
        kills[1] + kills[2]
    );
    let backend_name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
    };
    let _ = writeln!(
        std::io::stderr(),
        "crash[{backend_name}]: seed {seed:#x}, {cycles} SIGKILL cycles survived \
         (registry {}, stats {}, both {}) in {:.0?}; {} organisations and {} imports \
         acknowledged ({} retried after a kill, {} checked for partial visibility); \
         {writes} writes checked exactly once at the end, {per_cycle_checks} acknowledged \
         writes re-read right after their crash; stats killed {snapshot_kills} times while \
         writing an engine snapshot and started {snapshot_starts} times from one",
        kills[0],
        kills[1],
        kills[2],
        started.elapsed(),
        acknowledged_orgs.len(),
        acknowledged_imports.len(),
        retried,
        partial_checks,
    );
}
