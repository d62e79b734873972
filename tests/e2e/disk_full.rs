//! A full disk under both servers (SQLite on a small tmpfs the test mounts): writes are
//! refused with `RESOURCE_EXHAUSTED` (reason `STORAGE_FULL`, never SQLite's text), the
//! store's health (`autointel.store.Writable`) turns NOT_SERVING while the servers keep
//! serving reads, writes resume by themselves once space is freed, every refused write
//! retried with its `request_id` lands once, and after SIGKILL and a restart every
//! acknowledged write is on disk, whole, and nothing else is.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use autointel_testkit::disk::SmallDisk;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::crash::{Op, all_organizations, send, verify_everything};
use crate::harness::{Backend, Options, Stack, Stop, channel};

/// The store's health service name.
const STORE_HEALTH: &str = "autointel.store.Writable";
/// How long writes may take to resume once space is back.
const RECOVERY: Duration = Duration::from_secs(30);

async fn health(url: &str, service: &str) -> ServingStatus {
    let mut client = HealthClient::new(channel(url).await.expect("channel"));
    let status = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .expect("health check")
        .into_inner()
        .status;
    ServingStatus::try_from(status).expect("known status")
}

fn org(n: u64) -> Op {
    Op::Org {
        n,
        request_id: uuid::Uuid::new_v4().to_string(),
    }
}

fn import(k: u64) -> Op {
    Op::Import {
        k,
        figures: 200,
        request_id: uuid::Uuid::new_v4().to_string(),
    }
}

/// Asserts a refusal is the documented storage-full status.
fn assert_storage_full(op: &Op, status: &tonic::Status) {
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "{op:?} on a full disk: {status:?}"
    );
    let info = status.get_error_details().error_info().cloned();
    assert_eq!(
        info.map(|i| i.reason).as_deref(),
        Some("STORAGE_FULL"),
        "{status:?}"
    );
    assert!(
        status.get_error_details().retry_info().is_some(),
        "RetryInfo tells clients when to come back: {status:?}"
    );
    assert!(
        !status.message().contains("code:") && !status.message().contains("database or disk"),
        "no driver text to clients: {}",
        status.message()
    );
}

/// What the servers acknowledged.
#[derive(Debug, Default)]
struct Acknowledged {
    orgs: BTreeSet<u64>,
    imports: BTreeMap<u64, usize>,
}

impl Acknowledged {
    fn add(&mut self, op: &Op) {
        match op {
            Op::Org { n, .. } => assert!(self.orgs.insert(*n)),
            Op::Import { k, figures, .. } => {
                assert!(self.imports.insert(*k, *figures).is_none());
            }
        }
    }
}

async fn wait_for_health(url: &str, service: &str, wanted: ServingStatus) {
    let deadline = Instant::now() + RECOVERY;
    loop {
        let got = health(url, service).await;
        if got == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} {service}: {got:?}, wanted {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_no_acknowledged_write_and_writes_resume() {
    let Some(disk) = SmallDisk::mount("24m") else {
        return;
    };
    let mut stack = Stack::start_with(
        &Backend::Sqlite,
        true,
        Options::default().sqlite_dir(disk.path()),
    )
    .await;
    let seed_organizations = all_organizations(&mut stack.registry_client().await)
        .await
        .len();
    let mut registry = stack.registry_client().await;
    let mut stats = stack.stats_client().await;
    let mut acknowledged = Acknowledged::default();
    let (mut next_org, mut next_import) = (0u64, 0u64);
    let mut next_op = |i: u64| {
        if i.is_multiple_of(2) {
            next_org += 1;
            org(next_org)
        } else {
            next_import += 1;
            import(next_import)
        }
    };

    // Writes before the disk fills.
    for i in 0..6 {
        let op = next_op(i);
        send(&op, &mut registry, &mut stats)
            .await
            .unwrap_or_else(|s| panic!("{op:?} before the disk filled: {s:?}"));
        acknowledged.add(&op);
    }

    // The disk fills: writes are refused, clearly; reads go on.
    let filler = disk.fill();
    let mut refused = Vec::new();
    let (mut refused_orgs, mut refused_imports) = (0, 0);
    for i in 6..60 {
        let op = next_op(i);
        match send(&op, &mut registry, &mut stats).await {
            Ok(()) => acknowledged.add(&op),
            Err(status) => {
                assert_storage_full(&op, &status);
                match op {
                    Op::Org { .. } => refused_orgs += 1,
                    Op::Import { .. } => refused_imports += 1,
                }
                refused.push(op);
            }
        }
        if refused_orgs >= 4 && refused_imports >= 4 {
            break;
        }
    }
    assert!(
        refused_orgs >= 4 && refused_imports >= 4,
        "the full disk refused {refused_orgs} creates and {refused_imports} imports"
    );
    for url in [stack.registry.url(), stack.stats.url()] {
        assert_eq!(
            health(&url, STORE_HEALTH).await,
            ServingStatus::NotServing,
            "{url}: the store's health says it cannot write"
        );
        assert_eq!(
            health(&url, "").await,
            ServingStatus::Serving,
            "{url}: the server itself stays up (no restart loop)"
        );
    }
    assert!(
        all_organizations(&mut registry).await.len()
            >= seed_organizations + acknowledged.orgs.len(),
        "reads are served while the disk is full"
    );

    // Space returns: writes resume by themselves; each refused write, retried with its
    // request id, lands once.
    std::fs::remove_file(&filler).expect("free the space");
    for url in [stack.registry.url(), stack.stats.url()] {
        wait_for_health(&url, STORE_HEALTH, ServingStatus::Serving).await;
    }
    for op in &refused {
        let deadline = Instant::now() + RECOVERY;
        loop {
            match send(op, &mut registry, &mut stats).await {
                Ok(()) => break,
                Err(status) => assert!(
                    Instant::now() < deadline,
                    "{op:?} still refused after space returned: {status:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        acknowledged.add(op);
    }
    for i in 60..66 {
        let op = next_op(i);
        send(&op, &mut registry, &mut stats)
            .await
            .unwrap_or_else(|s| panic!("{op:?} after space returned: {s:?}"));
        acknowledged.add(&op);
    }

    // Nothing lives only in a server's memory or an open transaction.
    stack.restart(Stop::Kill).await;
    let checked = verify_everything(
        &stack,
        &acknowledged.orgs,
        &acknowledged.imports,
        seed_organizations,
    )
    .await;
    eprintln!(
        "disk full: {} refused ({refused_orgs} creates, {refused_imports} imports) then \
         retried; {checked} acknowledged writes checked after SIGKILL",
        refused.len()
    );
    drop(stack);
}
