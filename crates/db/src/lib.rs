//! Database plumbing both services share, so their stores differ only in their SQL.
//!
//! - [`connect`] opens a pool over SQLite or PostgreSQL with the same settings everywhere:
//!   SQLite in WAL mode with `synchronous=FULL` (an acknowledged commit is on disk),
//!   foreign keys on and a busy timeout; and, on every backend, a connection whose
//!   transaction state is unknown (a `COMMIT` or `ROLLBACK` failed) is discarded instead
//!   of being handed out again ([`discard_unless_idle`]).
//! - [`Failure`] is the one classification of database errors that both services map to
//!   gRPC codes: storage full, temporarily unavailable, or internal.
//! - [`Writability`] tracks whether the store can take writes, for health and metrics.
//! - [`migrate`] applies migrations under the expand/contract policy ([`migrations`]), so a
//!   binary starts against a newer schema whose migrations are marked compatible.

mod failure;
pub mod migrations;
mod writability;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnectionMetadata;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection};

pub use failure::Failure;
pub use migrations::{Compatibility, migrate, migration};
pub use writability::{Writability, spawn_write_probe};

/// Which database a URL names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, a file or in memory.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A database URL with a scheme neither backend serves.
#[derive(Debug, thiserror::Error)]
#[error("unsupported database URL scheme in {0:?}; expected sqlite: or postgres:")]
pub struct UnsupportedUrl(pub String);

impl Backend {
    /// The backend of a database URL, by scheme.
    pub fn of_url(url: &str) -> Result<Self, UnsupportedUrl> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(UnsupportedUrl(url.to_owned()))
        }
    }
}

/// True for a SQLite URL that names an in-memory database (each connection its own).
pub fn is_in_memory(url: &str) -> bool {
    url.starts_with("sqlite:") && (url.contains(":memory:") || url.contains("mode=memory"))
}

/// How long a request waits for a pooled connection before failing as unavailable.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most connections a pool over a SQLite file holds: writers serialise anyway.
pub const SQLITE_MAX_CONNECTIONS: u32 = 4;

/// Opens a pool of at most `max_connections` connections (a SQLite file at most
/// [`SQLITE_MAX_CONNECTIONS`], an in-memory SQLite database exactly one, kept alive).
pub async fn connect(url: &str, max_connections: u32) -> Result<AnyPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of_url(url).map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
    let in_memory = is_in_memory(url);
    let mut options = AnyPoolOptions::new()
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .before_acquire(|conn: &mut AnyConnection, meta| discard_unless_idle(&*conn, meta));
    options = match backend {
        Backend::Sqlite if in_memory => options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None),
        Backend::Sqlite => {
            options.max_connections(max_connections.clamp(1, SQLITE_MAX_CONNECTIONS))
        }
        Backend::Postgres => options.max_connections(max_connections.max(1)),
    };
    if backend == Backend::Sqlite {
        options = options.after_connect(move |conn, _meta| {
            Box::pin(async move {
                for pragma in sqlite_pragmas(in_memory) {
                    sqlx::query(*pragma).execute(&mut *conn).await?;
                }
                Ok(())
            })
        });
    }
    options.connect(url).await
}

/// Pool options for a typed PostgreSQL pool (bulk `COPY`), with the same discard rule.
pub fn pg_pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .before_acquire(|conn: &mut PgConnection, meta| discard_unless_idle(&*conn, meta))
}

/// The pragmas every SQLite connection gets.
fn sqlite_pragmas(in_memory: bool) -> &'static [&'static str] {
    const FILE: &[&str] = &[
        // Wait for another writer rather than failing at once.
        "PRAGMA busy_timeout = 5000",
        "PRAGMA journal_mode = WAL",
        // A commit returns only once it is on disk: acknowledged writes survive a crash.
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
    ];
    // An in-memory database has no journal file to switch to WAL.
    const MEMORY: &[&str] = &[
        "PRAGMA busy_timeout = 5000",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
    ];
    if in_memory { MEMORY } else { FILE }
}

/// `before_acquire`: keeps a pooled connection only when it is outside any transaction.
///
/// A transaction whose `COMMIT` fails (SQLite's `SQLITE_FULL` on a full disk) is rolled
/// back when it is dropped; SQLite may already have rolled it back itself, and then that
/// `ROLLBACK` fails too, leaving the driver's transaction depth at 1. Handed out again,
/// such a connection would turn the next `BEGIN` into a `SAVEPOINT` and its `COMMIT` into
/// a `RELEASE`: writes acknowledged but never committed, holding the write lock. The pool
/// has already flushed the pending rollback when the connection was released, so a
/// non-zero depth here means the state is unknown: the pool closes the connection (which
/// rolls back whatever it held) and opens a fresh one.
pub fn discard_unless_idle<C: Connection>(
    conn: &C,
    _meta: PoolConnectionMetadata,
) -> Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + 'static>> {
    let idle = !conn.is_in_transaction();
    if !idle {
        tracing::warn!(
            "discarding a database connection left inside a transaction (a commit or rollback failed)"
        );
    }
    Box::pin(std::future::ready(Ok(idle)))
}

#[cfg(test)]
mod tests;
