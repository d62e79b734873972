//! Connecting: the pool, migrations, the backend and writability.

use std::sync::Arc;

use autointel_db::Writability;
use sqlx::migrate::Migration;
use sqlx::{AnyPool, Row};
use tokio::sync::{Mutex, watch};

use super::{Backend, Inner, Result, Store};
use crate::error::RegistryError;

/// A write that changes nothing, run to find out whether the store takes writes again.
pub const WRITE_PROBE: &str = "UPDATE change_counter SET value = value WHERE id = 1";

/// The migrations of `backend`, in order. New ones follow the expand/contract policy of
/// [`autointel_db::migrations`]: mark an expand migration `Compatibility::Expand` so that
/// the previous release still starts against it (a rollback), and remove things only in a
/// later release.
fn migrations(backend: Backend) -> Vec<Migration> {
    use autointel_db::{Compatibility, migration};
    let (registry, by_predecessor, by_market) = match backend {
        Backend::Sqlite => (
            include_str!("../../migrations/sqlite/0001_registry.sql"),
            include_str!("../../migrations/sqlite/0002_partnerships_by_predecessor.sql"),
            include_str!("../../migrations/sqlite/0003_events_by_market.sql"),
        ),
        Backend::Postgres => (
            include_str!("../../migrations/postgres/0001_registry.sql"),
            include_str!("../../migrations/postgres/0002_partnerships_by_predecessor.sql"),
            include_str!("../../migrations/postgres/0003_events_by_market.sql"),
        ),
    };
    vec![
        migration(1, "registry", registry, Compatibility::Breaking),
        // an index only: the release before it starts against it
        migration(
            2,
            "partnerships by predecessor",
            by_predecessor,
            Compatibility::Expand { since: 1 },
        ),
        // a defaulted column and its index: releases since the first start against it
        migration(
            3,
            "events by market",
            by_market,
            Compatibility::Expand { since: 1 },
        ),
    ]
}

impl Store {
    /// Connects to `database_url` and applies migrations.
    pub async fn connect(database_url: &str) -> Result<Self> {
        Self::connect_with(database_url, 8).await
    }

    /// Like [`Store::connect`] with at most `max_connections` pooled connections (a
    /// SQLite file uses at most 4, since writers serialise; in-memory SQLite exactly 1).
    pub async fn connect_with(database_url: &str, max_connections: u32) -> Result<Self> {
        let backend = Backend::of_url(database_url)
            .map_err(|e| RegistryError::Database(sqlx::Error::Configuration(Box::new(e))))?;
        let pool = autointel_db::connect(database_url, max_connections).await?;
        autointel_db::migrate(&pool, migrations(backend)).await?;
        let current = sqlx::query("SELECT value FROM change_counter WHERE id = 1")
            .fetch_one(&pool)
            .await?
            .try_get::<i64, _>("value")?;
        let (changes, _) = watch::channel(current);
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                backend,
                write_lock: (backend == Backend::Sqlite).then(|| Mutex::new(())),
                changes,
                writability: Writability::new(),
            }),
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }

    /// The pool (for the write probe).
    pub fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// Whether the store takes writes, as the latest write (or write probe) found.
    pub fn writability(&self) -> &Writability {
        &self.inner.writability
    }
}
