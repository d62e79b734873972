//! The pool on a filesystem that fills up: every acknowledged write is committed, nothing
//! that failed is half there, and writes resume once space returns.

use autointel_testkit::disk::SmallDisk;
use sqlx::AnyPool;

use super::*;

async fn write_row(pool: &AnyPool, id: i64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO t (id, payload) VALUES ($1, $2)")
        .bind(id)
        .bind(vec![7u8; 48 * 1024])
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

async fn ids(pool: &AnyPool) -> Vec<i64> {
    sqlx::query_scalar::<_, i64>("SELECT id FROM t ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("read back")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_loses_no_acknowledged_write_and_recovers() {
    let Some(disk) = SmallDisk::mount("3m") else {
        return;
    };
    let url = format!("sqlite://{}/db.sqlite?mode=rwc", disk.path().display());
    let pool = connect(&url, 4).await.expect("connect");
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        .execute(&pool)
        .await
        .expect("create table");

    let mut acknowledged = Vec::new();
    let mut failed = Vec::new();
    let writability = Writability::new();
    let filler = disk.fill();
    for id in 0..30 {
        let result = write_row(&pool, id).await;
        writability.observe(&result);
        match result {
            Ok(()) => acknowledged.push(id),
            Err(e) => {
                assert_eq!(Failure::of(&e), Failure::StorageFull, "{e}");
                failed.push(id);
            }
        }
    }
    assert!(
        failed.len() >= 20,
        "the full disk refused writes: {failed:?}"
    );
    assert!(
        !writability.is_writable(),
        "a storage-full write marks the store unwritable"
    );

    std::fs::remove_file(&filler).expect("free the space");
    for id in 100..110 {
        let result = write_row(&pool, id).await;
        writability.observe(&result);
        result.unwrap_or_else(|e| panic!("write {id} after space returned: {e}"));
        acknowledged.push(id);
    }
    assert!(writability.is_writable());

    // A second, independent pool sees what is committed on disk, nothing else.
    let other = connect(&url, 1).await.expect("second pool");
    assert_eq!(ids(&other).await, acknowledged);
    sqlx::query("BEGIN IMMEDIATE; COMMIT")
        .execute(&other)
        .await
        .expect("no connection holds the write lock");
    other.close().await;
    pool.close().await;
    let reopened = connect(&url, 1).await.expect("reopen");
    assert_eq!(ids(&reopened).await, acknowledged);
    reopened.close().await;
}

#[test]
fn storage_failures_are_classified_by_one_rule() {
    assert_eq!(
        Failure::of(&sqlx::Error::PoolTimedOut),
        Failure::Unavailable
    );
    assert_eq!(
        Failure::of(&sqlx::Error::Io(std::io::Error::from_raw_os_error(28))),
        Failure::StorageFull
    );
    assert_eq!(Failure::of(&sqlx::Error::RowNotFound), Failure::Internal);
    assert_eq!(Failure::of_sqlstate("53100"), Failure::StorageFull);
    assert_eq!(Failure::of_sqlstate("08006"), Failure::Unavailable);
    assert_eq!(Failure::of_sqlstate("23505"), Failure::Internal);
    assert_eq!(
        Failure::of_sqlite_code(Some("13".into())),
        Failure::StorageFull
    );
    // SQLITE_IOERR_WRITE (778) is an I/O error, not a full disk.
    assert_eq!(
        Failure::of_sqlite_code(Some("778".into())),
        Failure::Unavailable
    );
    assert_eq!(
        Failure::of_sqlite_code(Some("2067".into())),
        Failure::Internal
    );
}
