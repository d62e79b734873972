//! Whether the store can take writes: turned off by a write that failed for want of
//! storage, back on by the next write that commits, and probed while off so that the
//! service notices on its own when space returns.

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::watch;

use crate::Failure;

/// Shared flag: can the store write? Cheap to clone; every clone sees the same state.
#[derive(Clone, Debug)]
pub struct Writability {
    state: Arc<watch::Sender<bool>>,
}

impl Default for Writability {
    fn default() -> Self {
        Self::new()
    }
}

impl Writability {
    /// Starts writable.
    pub fn new() -> Self {
        Self {
            state: Arc::new(watch::Sender::new(true)),
        }
    }

    /// True while writes are expected to succeed.
    pub fn is_writable(&self) -> bool {
        *self.state.borrow()
    }

    /// Subscribes to changes (health and metrics follow them).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.state.subscribe()
    }

    /// Records a write that committed.
    pub fn committed(&self) {
        self.set(true);
    }

    /// Records a write that failed with `err`: the store counts as not writable when the
    /// failure blocks writes (storage full).
    pub fn failed(&self, err: &sqlx::Error) {
        if Failure::of(err).blocks_writes() {
            self.set(false);
        }
    }

    /// Records the outcome of a write.
    pub fn observe<T>(&self, result: &Result<T, sqlx::Error>) {
        match result {
            Ok(_) => self.committed(),
            Err(e) => self.failed(e),
        }
    }

    fn set(&self, writable: bool) {
        let changed = self.state.send_if_modified(|current| {
            let changed = *current != writable;
            *current = writable;
            changed
        });
        if changed {
            if writable {
                tracing::info!("the store accepts writes again");
            } else {
                tracing::error!(
                    "the store cannot write (no space left); writes are refused until space returns"
                );
            }
        }
    }
}

/// While the store is not writable, runs `probe_sql` (a write that changes nothing, such
/// as setting a counter row to itself) in a transaction every `interval`, and marks the
/// store writable once one commits. Ends when `writability` has no other holder.
pub fn spawn_write_probe(
    pool: AnyPool,
    probe_sql: &'static str,
    writability: Writability,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    let mut changes = writability.subscribe();
    tokio::spawn(async move {
        loop {
            if *changes.borrow_and_update() {
                if changes.changed().await.is_err() {
                    return;
                }
                continue;
            }
            tokio::time::sleep(interval).await;
            let result = probe(&pool, probe_sql).await;
            if let Err(e) = &result {
                tracing::debug!(error = %e, "store write probe failed");
            }
            if result.is_ok() {
                writability.committed();
            }
            if Arc::strong_count(&writability.state) == 1 {
                return;
            }
        }
    })
}

async fn probe(pool: &AnyPool, sql: &'static str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(sql).execute(&mut *tx).await?;
    tx.commit().await
}
