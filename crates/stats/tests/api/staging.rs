//! Imports staged in the store: figures are read back by revision chain then by position,
//! linked across steps exactly as if the import were held whole, and never outlive their
//! import, whether it is written or refused.

use std::time::{Duration, Instant};

use autointel_proto::convert::stats::sales_figure_from_wire;
use autointel_stats::engine::figure_id;
use autointel_stats::store::{Store, now_micros};

use crate::fixtures::{chain_figures, figures, import, list_all, new_id, seed_figures};
use crate::harness::{database, spawn_stack};

mod an_import_is_staged_linked_across_steps_and_its_stage_deleted {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("stats.db").display()
        );
        super::an_import_is_staged_linked_across_steps_and_its_stage_deleted(&url).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(backend) = autointel_testkit::Backend::postgres() {
            let db = super::database(backend).await;
            super::an_import_is_staged_linked_across_steps_and_its_stage_deleted(&db).await;
        }
    }
}

/// Waits until no figure is staged (a stage is deleted as its import ends).
async fn stage_emptied(store: &Store) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let staged = store.staged_count().await.unwrap();
        if staged == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{staged} figures still staged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_import_is_staged_linked_across_steps_and_its_stage_deleted(db: &str) {
    let mut stack = spawn_stack(db).await;
    let store = Store::connect(db, 1).await.unwrap();

    // One chain of 300 revisions (as-of dates ascending), sent newest first across several
    // messages and interleaved with the seed's figures: far more than one staging, linking
    // or writing step of a debug build (64), so the chain is read across steps.
    let mut chain = chain_figures(300);
    chain.reverse();
    let seed = seed_figures();
    let mut batches: Vec<Vec<_>> = chain.chunks(70).map(<[_]>::to_vec).collect();
    batches[1].extend(seed.iter().cloned());
    let answer = import(&mut stack.stats, &new_id(), batches).await.unwrap();
    assert_eq!(answer.imported_count, 302);
    assert_eq!(
        answer.revision_count, 299,
        "every revision but the chain's first"
    );
    stage_emptied(&store).await;

    // Newest first means each figure was the latest known when it came: every later one
    // supersedes the latest before it *at import*, and the chain as listed runs by as-of.
    let listed = list_all(&mut stack.stats).await;
    assert_eq!(listed.len(), 302);
    let mut revisions: Vec<_> = listed
        .iter()
        .filter(|f| f.period == chain[0].period && f.source == chain[0].source)
        .filter(|f| {
            f.series.as_ref().unwrap().organization
                == chain[0].series.as_ref().unwrap().organization
        })
        .collect();
    assert_eq!(revisions.len(), 300);
    revisions.sort_by_key(|f| f.as_of_date.map(|d| (d.year, d.month, d.day)));
    for pair in revisions.windows(2) {
        assert_eq!(
            pair[1].supersedes, pair[0].name,
            "chain linked in as-of order"
        );
        assert_eq!(pair[0].superseded_by, pair[1].name);
    }
    // Ids follow import order: the first sent (the newest) has the smallest id.
    let newest = revisions.last().unwrap();
    assert!(revisions.iter().all(|f| f.name >= newest.name));

    // A refused import (an unknown organisation, found after its figures were staged)
    // writes nothing and leaves nothing staged.
    let mut unknown = chain_figures(200);
    for f in &mut unknown[150..] {
        f.series.as_mut().unwrap().organization = "organizations/no-such-maker".to_owned();
    }
    let err = import(&mut stack.stats, &new_id(), vec![unknown])
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    stage_emptied(&store).await;
    assert_eq!(list_all(&mut stack.stats).await.len(), 302);

    // A figure after the others in a new import revises the newest of them.
    let later = figures(&[
        "nissan-china,retail,total,CN,all,all,2023-05,1,,,article-nissan-china-exports-2023,final,2030-01-01,",
    ]);
    let answer = import(&mut stack.stats, &new_id(), vec![later])
        .await
        .unwrap();
    assert_eq!(answer.revision_count, 1);
    stage_emptied(&store).await;

    // Stale stages (an import a crash cut short) are deleted by age, and only they.
    let abandoned: Vec<_> = chain_figures(3)
        .iter()
        .map(|w| sales_figure_from_wire(figure_id(0).unwrap(), w).unwrap())
        .collect();
    store.stage("abandoned", 0, &abandoned).await.unwrap();
    assert_eq!(
        store
            .drop_stale_stages(now_micros() - 60_000_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.staged_count().await.unwrap(), 3);
    assert_eq!(store.drop_stale_stages(now_micros() + 1).await.unwrap(), 3);
    assert_eq!(list_all(&mut stack.stats).await.len(), 303, "never figures");
}
