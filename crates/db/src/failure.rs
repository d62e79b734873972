//! The one rule by which a database error becomes a client-facing failure.

use std::borrow::Cow;

use sqlx::error::DatabaseError;

/// What a database error means to a client, by one documented rule (OPERATIONS.md,
/// "Errors"): the services map these to gRPC codes and never send driver text.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The database has no room to write (SQLite `SQLITE_FULL`, PostgreSQL `53100
    /// disk_full`, `ENOSPC`): `RESOURCE_EXHAUSTED`, reason `STORAGE_FULL`. Nothing of
    /// the write was kept; retrying after an operator frees space succeeds.
    StorageFull,
    /// The database is temporarily unable to answer (connection lost or refused, pool
    /// exhausted, lock or serialisation conflict, shutting down, read-only):
    /// `UNAVAILABLE`, reason `DATABASE_UNAVAILABLE`; safe to retry.
    Unavailable,
    /// Anything else (a constraint the code did not expect, corrupt data, a bug):
    /// `INTERNAL`, logged in full on the server.
    Internal,
}

// SQLite primary result codes (https://sqlite.org/rescode.html).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_NOMEM: i64 = 7;
const SQLITE_READONLY: i64 = 8;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_PROTOCOL: i64 = 15;
/// `SQLITE_IOERR_NOMEM`-style extended codes keep the primary code in the low byte.
const PRIMARY_MASK: i64 = 0xff;
/// errno for "no space left on device".
const ENOSPC: i32 = 28;

impl Failure {
    /// Classifies a database error.
    pub fn of(err: &sqlx::Error) -> Self {
        match err {
            sqlx::Error::Database(db) => {
                if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                    Self::of_sqlite_code(sqlite.code())
                } else if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    Self::of_sqlstate(pg.code())
                } else {
                    Self::Internal
                }
            }
            sqlx::Error::Io(io) if io.raw_os_error() == Some(ENOSPC) => Self::StorageFull,
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable,
            _ => Self::Internal,
        }
    }

    pub(crate) fn of_sqlite_code(code: Option<Cow<'_, str>>) -> Self {
        let Some(code) = code.and_then(|c| c.parse::<i64>().ok()) else {
            return Self::Internal;
        };
        match code & PRIMARY_MASK {
            SQLITE_FULL => Self::StorageFull,
            SQLITE_BUSY | SQLITE_LOCKED | SQLITE_NOMEM | SQLITE_READONLY | SQLITE_IOERR
            | SQLITE_CANTOPEN | SQLITE_PROTOCOL => Self::Unavailable,
            _ => Self::Internal,
        }
    }

    pub(crate) fn of_sqlstate(code: &str) -> Self {
        match code {
            // disk_full
            "53100" => Self::StorageFull,
            // serialization_failure, deadlock_detected, read_only_sql_transaction,
            // admin_shutdown, crash_shutdown, cannot_connect_now, io_error
            "40001" | "40P01" | "25006" | "57P01" | "57P02" | "57P03" | "58030" => {
                Self::Unavailable
            }
            // connection exceptions; insufficient resources (memory, connections)
            _ if code.starts_with("08") || code.starts_with("53") => Self::Unavailable,
            _ => Self::Internal,
        }
    }

    /// Whether the failure means the store cannot take writes now (health and metrics).
    pub fn blocks_writes(self) -> bool {
        self == Self::StorageFull
    }

    /// `ErrorInfo.reason` for this failure, the same in every service.
    pub fn reason(self) -> &'static str {
        match self {
            Self::StorageFull => "STORAGE_FULL",
            Self::Unavailable => "DATABASE_UNAVAILABLE",
            Self::Internal => "INTERNAL",
        }
    }

    /// The message clients see: what happened, never the driver's text.
    pub fn message(self) -> &'static str {
        match self {
            Self::StorageFull => {
                "the database has no space left to write; nothing of this request was kept"
            }
            Self::Unavailable => "the database is unavailable; retry later",
            Self::Internal => "internal error",
        }
    }
}
