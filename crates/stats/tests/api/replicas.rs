//! Replicas: two stats servers on one database.

use std::time::{Duration, Instant};

use crate::fixtures::{change_request, import, list_all, new_id, seed_figures};
use crate::harness::{database, spawn_stack, spawn_stats};

mod a_replica_sees_another_replicas_import {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_file() {
        let path = std::env::temp_dir().join(format!(
            "autointel-stats-test-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        super::a_replica_sees_another_replicas_import(&url).await;
        for suffix in ["", "-wal", "-shm", ".engine-snapshot"] {
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
