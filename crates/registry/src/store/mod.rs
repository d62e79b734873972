//! Storage: sqlx over `AnyPool`, SQLite by default, PostgreSQL by URL.
//!
//! The store takes and returns domain types (plus [`Stored`] metadata); the gRPC layer
//! converts. Every write runs in one transaction; every query is parameterised (`$n`
//! placeholders, which both SQLite and PostgreSQL accept). See [`record`] for the layout.
//!
//! `connect` opens the pool and migrates; `write` creates and updates, `delete` deletes
//! (with `idempotency` and the event `changes` log); `read` gets, lists and looks up; `names`
//! keeps organisation match keys; `filter` turns typed list filters into conditions; `sql`
//! builds the queries; `clock` reads the time.

mod changes;
mod clock;
mod connect;
mod delete;
pub mod filter;
mod idempotency;
mod names;
mod read;
pub mod record;
mod sql;
mod successors;
mod write;

use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::{Mutex, watch};

pub use autointel_db::Backend;
use autointel_db::Writability;

use crate::error::RegistryError;
pub use changes::EventChange;
pub(crate) use clock::today;
pub use connect::WRITE_PROBE;
pub use filter::{
    EventFilter, Filter, OrganizationFilter, PartnershipFilter, PersonFilter, RelationshipFilter,
    SourceFilter, TargetFilter,
};
pub use idempotency::Idempotency;
pub use names::MatchKeyReport;
pub use read::{MAX_PAGE_BYTES, Page, PageRequest};
pub use record::{Meta, Record, Stored, parse_etag, to_wire_with_meta};
pub use sql::{Bind, Sql};
pub use successors::MAX_SUCCESSORS;

type Result<T, E = RegistryError> = std::result::Result<T, E>;

struct Inner {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer; serialising writes here avoids busy errors between
    /// deferred transactions of this process.
    write_lock: Option<Mutex<()>>,
    /// Latest change seq committed by this process; wakes `WatchEvents` streams.
    changes: watch::Sender<i64>,
    /// Whether writes succeed (a full disk turns it off until a write commits again).
    writability: Writability,
}

/// The registry's database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}
