//! Replicas: two stats servers on one database.

use std::time::{Duration, Instant};

use crate::fixtures::{change_request, import, list_all, new_id, seed_figures};
use crate::harness::{database, spawn_stack, spawn_stats};

/// A test module `$name` running `$name(url)` on one SQLite file (which replicas share like
/// a database server) and, when configured, on PostgreSQL.
macro_rules! on_a_shared_database {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_file() {
                let path = std::env::temp_dir().join(format!(
                    "autointel-stats-test-{}.db",
                    uuid::Uuid::new_v4().simple()
                ));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                super::$name(&url).await;
                for suffix in ["", "-wal", "-shm", ".engine-snapshot"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backend) = autointel_testkit::Backend::postgres() {
                    let db = super::database(backend).await;
                    super::$name(&db).await;
                }
            }
        }
    };
}

on_a_shared_database!(a_replica_sees_another_replicas_import);

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

on_a_shared_database!(a_replica_lists_its_own_import_at_once);

/// A replica that has not yet read another replica's import (its refresh is a minute away)
/// lists its own import as soon as it is acknowledged, the other's too (read your writes:
/// a listing reads up to the engine's applied mark, which the import moves on).
async fn a_replica_lists_its_own_import_at_once(db: &str) {
    let stack = spawn_stack(db).await;
    let registry = stack.registry_server.as_ref().unwrap().addr;
    let (mut first, _first_stop, _) = crate::harness::spawn_stats_with(db, registry, |s| {
        s.engine.refresh_interval_ms = 60_000;
    })
    .await;
    let (mut second, _second_stop, _) = crate::harness::spawn_stats_with(db, registry, |s| {
        s.engine.refresh_interval_ms = 60_000;
    })
    .await;
    // let both finish loading the (empty) store before either imports
    tokio::time::sleep(Duration::from_millis(500)).await;
    import(&mut first, &new_id(), vec![seed_figures()])
        .await
        .unwrap();
    let mut own = seed_figures();
    for f in &mut own {
        if let Some(series) = f.series.as_mut() {
            series.market = "MY".to_owned();
        }
    }
    import(&mut second, &new_id(), vec![own]).await.unwrap();
    assert_eq!(
        list_all(&mut second).await.len(),
        4,
        "the second replica lists its own import and the first's at once"
    );
}
