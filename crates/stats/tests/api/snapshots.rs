//! Engine snapshots: a start from a snapshot plus the figures after it answers exactly as a
//! start that replays every figure, and every defect a snapshot can have (corrupted,
//! truncated, ahead of a restored store, written from another database) falls back to the
//! full replay, counted by reason.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_proto::stats::{self as wire};
use autointel_stats::engine::{Engine, SNAPSHOT_FORMAT};
use autointel_stats::snapshots::{Place, Snapshots};
use autointel_stats::store::{Backend, Store};
use tokio::sync::oneshot;
use tonic::transport::Channel;

use crate::fixtures::{
    chain_figures, chain_key, change_request, figures, import, list_all, months, new_id,
    seed_figures,
};
use crate::harness::{database, sample, scrape, spawn_stack, spawn_stats_with, stats_settings};

mod a_start_from_a_snapshot_answers_as_a_full_replay {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("stats.db").display()
        );
        super::a_start_from_a_snapshot_answers_as_a_full_replay(&url).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(backend) = autointel_testkit::Backend::postgres() {
            let db = super::database(backend).await;
            super::a_start_from_a_snapshot_answers_as_a_full_replay(&db).await;
        }
    }
}

/// Snapshots on, one at once when the engine has new figures and then not again for an
/// hour (so what comes after the first stays out of it), metrics served.
fn snapshot_settings(settings: &mut autointel_stats::Settings) {
    settings.engine.snapshot_interval_seconds = 3600;
    settings.engine.snapshot_min_new_figures = 1;
    settings.common.server.metrics_address = Some("127.0.0.1:0".parse().unwrap());
}

/// The sequence number the stored snapshot covers, if there is a readable one.
async fn snapshot_seq(db: &str, place: &Place) -> Option<i64> {
    let bytes = match place {
        Place::File(path) => std::fs::read(path).ok()?,
        Place::Database { .. } => {
            let store = Store::connect(db, 1).await.unwrap();
            let latest = store.latest_snapshot(SNAPSHOT_FORMAT).await.unwrap();
            let mut bytes = Vec::new();
            if let Some(latest) = &latest {
                for n in 0..latest.chunks {
                    bytes.extend(store.snapshot_chunk(latest.id, n).await.unwrap());
                }
            }
            store.close().await;
            bytes
        }
    };
    let (_, header) = Engine::read_snapshot(&bytes[..], bytes.len() as u64).ok()?;
    Some(header.last_seq)
}

/// Waits until the stored snapshot covers the store's last sequence number.
async fn wait_for_snapshot(db: &str, place: &Place) {
    let store = Store::connect(db, 1).await.unwrap();
    let last = store.last_seq().await.unwrap();
    store.close().await;
    let started = Instant::now();
    while snapshot_seq(db, place).await != Some(last) {
        // Generous: the write is synced and, on PostgreSQL, uploaded in chunks; a loaded
        // CI machine has taken over 20 s for it.
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no snapshot up to sequence number {last} was written"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs one statement on the stats database.
async fn execute(db: &str, sql: &'static str) {
    let pool = autointel_db::connect(db, 1).await.unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

/// What a user would compare: every figure (superseded ones included, with their links), a
/// change, and a total and a monthly series over a long revision chain, now and as of a
/// past date.
async fn answers(client: &mut StatsServiceClient<Channel>) -> String {
    let mut figures = list_all(client).await;
    figures.sort_by(|a, b| a.name.cmp(&b.name));
    let change = client.compute_change(change_request()).await.unwrap();
    let total = |as_of| wire::ComputeTotalRequest {
        source: String::new(),
        series: Some(chain_key()),
        period: Some(months((2023, 5), (2023, 5))),
        as_of_date: as_of,
    };
    let now = client.compute_total(total(None)).await.unwrap();
    let past = client
        .compute_total(total(Some(crate::fixtures::date(2000, 1, 10))))
        .await
        .unwrap();
    format!(
        "{figures:?}\n{:?}\n{:?}\n{:?}",
        change.into_inner(),
        now.into_inner(),
        past.into_inner()
    )
}

/// A server that reads the snapshot and one that replays every figure, started now on
/// `db`; asserts they answer the same and returns the snapshot reader's metrics and what
/// stops it (it writes a new snapshot after a fallback).
async fn restart_and_compare(
    db: &str,
    registry: SocketAddr,
    expected_figures: usize,
) -> (String, oneshot::Sender<()>) {
    let (mut from_snapshot, stop, metrics) =
        spawn_stats_with(db, registry, snapshot_settings).await;
    let (mut replayed, _stop_replayed, _) = spawn_stats_with(db, registry, |s| {
        s.engine.snapshots = false;
    })
    .await;
    let got = answers(&mut from_snapshot).await;
    assert_eq!(got, answers(&mut replayed).await);
    assert_eq!(list_all(&mut from_snapshot).await.len(), expected_figures);
    (scrape(metrics.unwrap()).await, stop)
}

fn fallbacks(metrics: &str, reason: &str) -> f64 {
    sample(
        metrics,
        "stats_engine_snapshot_fallbacks_total",
        &[&format!("reason=\"{reason}\"")],
    )
}

async fn a_start_from_a_snapshot_answers_as_a_full_replay(db: &str) {
    let stack = spawn_stack(db).await;
    let registry = stack.registry_server.as_ref().unwrap().addr;
    let backend = Backend::of_url(db).unwrap();
    let place = Snapshots::new(&stats_settings(db, registry), backend)
        .place()
        .cloned()
        .unwrap();
    let (mut writer, _writer_stop, _) = spawn_stats_with(db, registry, snapshot_settings).await;
    // A long revision chain (with as-of history) and the seed, then a snapshot.
    import(
        &mut writer,
        &new_id(),
        vec![chain_figures(40), seed_figures()],
    )
    .await
    .unwrap();
    wait_for_snapshot(db, &place).await;
    // Imported after the snapshot: a restart catches up on them from the store.
    let later = figures(&[
        "nissan-china,retail,total,CN,all,all,2023-05,61000,,,article-nissan-china-exports-2023,final,2001-01-01,",
        "nissan-china,retail,total,CN,all,all,2023-06,52000,,,article-nissan-china-exports-2023,final,2001-01-01,",
    ]);
    import(&mut writer, &new_id(), vec![later]).await.unwrap();
    let all = 40 + 2 + 2;

    let (metrics, _running) = restart_and_compare(db, registry, all).await;
    assert_eq!(fallbacks(&metrics, "missing"), 0.0, "{metrics}");
    assert_eq!(fallbacks(&metrics, "corrupted"), 0.0, "{metrics}");
    assert!(sample(&metrics, "stats_engine_snapshot_load_seconds", &[]) > 0.0);

    // A flipped byte: refused, every figure replayed, and a new snapshot written.
    match &place {
        Place::File(path) => {
            let mut bytes = std::fs::read(path).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x10;
            std::fs::write(path, bytes).unwrap();
        }
        Place::Database { .. } => {
            execute(
                db,
                "UPDATE engine_snapshot_chunks SET data = set_byte(data, 200, 255 - get_byte(data, 200))",
            )
            .await;
        }
    }
    let (metrics, _running) = restart_and_compare(db, registry, all).await;
    assert_eq!(fallbacks(&metrics, "corrupted"), 1.0, "{metrics}");
    wait_for_snapshot(db, &place).await;

    // Truncated.
    match &place {
        Place::File(path) => {
            let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            let len = file.metadata().unwrap().len();
            file.set_len(len - 7).unwrap();
        }
        Place::Database { .. } => {
            execute(
                db,
                "UPDATE engine_snapshot_chunks SET data = substring(data from 1 for length(data) - 7)",
            )
            .await;
        }
    }
    let (metrics, _running) = restart_and_compare(db, registry, all).await;
    assert_eq!(fallbacks(&metrics, "truncated"), 1.0, "{metrics}");
    wait_for_snapshot(db, &place).await;

    // The store restored to before the last import: the snapshot is ahead of it.
    execute(
        db,
        "DELETE FROM sales_figures WHERE seq > (SELECT MAX(seq) - 2 FROM sales_figures)",
    )
    .await;
    let (metrics, _running) = restart_and_compare(db, registry, all - 2).await;
    assert_eq!(fallbacks(&metrics, "ahead_of_store"), 1.0, "{metrics}");
    wait_for_snapshot(db, &place).await;

    // Another database under the same sequence numbers: its anchor figure differs.
    execute(
        db,
        "UPDATE sales_figures SET id = 'f00000000000000000000000000000abc' \
         WHERE seq = (SELECT MAX(seq) FROM sales_figures)",
    )
    .await;
    let (metrics, _running) = restart_and_compare(db, registry, all - 2).await;
    assert_eq!(fallbacks(&metrics, "foreign"), 1.0, "{metrics}");
    wait_for_snapshot(db, &place).await;

    // A forced rebuild ignores a good snapshot.
    let (mut rebuilt, _stop, metrics) = spawn_stats_with(db, registry, |s| {
        snapshot_settings(s);
        s.engine.rebuild_snapshot = true;
    })
    .await;
    assert_eq!(list_all(&mut rebuilt).await.len(), all - 2);
    let metrics = scrape(metrics.unwrap()).await;
    assert_eq!(fallbacks(&metrics, "rebuild"), 1.0, "{metrics}");
}
