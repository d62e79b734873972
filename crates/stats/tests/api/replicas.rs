//! Replicas: two stats servers on one database.

use std::time::{Duration, Instant};

use autointel_proto::stats as wire;

use crate::fixtures::{
    ARTICLE, change_request, figures, import, list_all, new_id, seed_figures, violated_fields,
};
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

on_a_shared_database!(release_watches_resume_without_gaps_or_repeats);

/// The next figure of a release watch (within 10 s).
async fn next(
    stream: &mut tonic::Streaming<wire::WatchReleasesResponse>,
) -> wire::WatchReleasesResponse {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a watched figure within 10 s")
        .unwrap()
        .expect("the stream is open")
}

/// A watch on one replica streams another replica's imports in commit order; resumed from
/// a cursor on a replica started later, it streams exactly what followed that cursor: no
/// gap, no repeat. Filters apply; a cursor past the end is OUT_OF_RANGE.
async fn release_watches_resume_without_gaps_or_repeats(db: &str) {
    const JV: &str = "nissan-dongfeng-jv-structure";
    let row = |month: &str, units: u32, source: &str, stage: &str, as_of: &str| {
        format!(
            "nissan-china,wholesale,domestic,CN,passenger,all,{month},{units},,,{source},{stage},{as_of},"
        )
    };
    let article = ARTICLE.trim_start_matches("sources/");
    let mut stack = spawn_stack(db).await;
    let registry = stack.registry_server.as_ref().unwrap().addr;
    let (mut watcher, watcher_stop) = spawn_stats(db, registry).await;
    let mut stream = watcher
        .watch_releases(wire::WatchReleasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let first = [
        row("2024-01", 100, article, "preliminary", "2024-02-01"),
        row("2024-01", 120, JV, "final", "2024-02-10"),
        row("2024-02", 90, article, "preliminary", "2024-03-01"),
    ];
    let lines: Vec<&str> = first.iter().map(String::as_str).collect();
    import(&mut stack.stats, &new_id(), vec![figures(&lines)])
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(next(&mut stream).await);
    }
    let units = |r: &wire::WatchReleasesResponse| match r.figure.as_ref().unwrap().quantity {
        Some(wire::sales_figure::Quantity::Units(u)) => u,
        _ => -1,
    };
    assert_eq!(seen.iter().map(units).collect::<Vec<_>>(), [100, 120, 90]);
    assert!(seen.iter().all(|r| r.delta_units.is_none()));
    drop(stream);
    let _ = watcher_stop.send(());

    // More releases land while nobody watches; a replica started afterwards resumes.
    let second = [
        row("2024-01", 105, article, "final", "2024-03-01"),
        row("2024-03", 80, JV, "final", "2024-04-10"),
    ];
    let lines: Vec<&str> = second.iter().map(String::as_str).collect();
    import(&mut stack.stats, &new_id(), vec![figures(&lines)])
        .await
        .unwrap();
    let (mut later, _later_stop) = spawn_stats(db, registry).await;
    let mut resumed = later
        .watch_releases(wire::WatchReleasesRequest {
            cursor: seen[1].cursor.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut after = Vec::new();
    for _ in 0..3 {
        after.push(next(&mut resumed).await);
    }
    assert_eq!(after.iter().map(units).collect::<Vec<_>>(), [90, 105, 80]);
    assert_eq!(after[0].cursor, seen[2].cursor);
    // the article's final revises its preliminary January: +5
    assert_eq!(after[1].delta_units, Some(5));
    assert_eq!(
        after[1].figure.as_ref().unwrap().supersedes,
        seen[0].figure.as_ref().unwrap().name
    );

    // Only the JV's figures, from the first cursor on.
    let mut jv = later
        .watch_releases(wire::WatchReleasesRequest {
            cursor: seen[0].cursor.clone(),
            source: format!("sources/{JV}"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(units(&next(&mut jv).await), 120);
    assert_eq!(units(&next(&mut jv).await), 80);

    let past_end = later
        .watch_releases(wire::WatchReleasesRequest {
            cursor: autointel_server::fanout::encode_cursor(1_000_000),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(past_end.code(), tonic::Code::OutOfRange);
    let malformed = later
        .watch_releases(wire::WatchReleasesRequest {
            cursor: "not-a-cursor".to_owned(),
            source: "jv".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&malformed), ["cursor", "source"]);
}
