//! Storage: sqlx over `AnyPool`, SQLite by default, PostgreSQL by URL.
//!
//! The store takes and returns domain types (plus [`Stored`] metadata); the gRPC layer
//! converts. Every write runs in one transaction; every query is parameterised (`$n`
//! placeholders, which both SQLite and PostgreSQL accept). See [`record`] for the layout.

pub mod record;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use autointel_domain::{Event, EventStatus, Organization, Partnership, Relationship, Target};
use prost::Message;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::migrate::Migration;
use sqlx::{AnyPool, AssertSqlSafe, Row};
use tokio::sync::{Mutex, watch};

pub use autointel_db::Backend;
use autointel_db::Writability;

use crate::error::{Precondition, RegistryError};
pub use record::{Meta, Record, Stored, parse_etag, to_wire_with_meta};

type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// A value bound to a query parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bind {
    /// A BIGINT.
    I64(i64),
    /// A nullable BIGINT.
    OptI64(Option<i64>),
    /// A TEXT.
    Text(String),
    /// A BLOB / BYTEA.
    Bytes(Vec<u8>),
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

fn bind_all(mut q: AnyQuery<'_>, binds: Vec<Bind>) -> AnyQuery<'_> {
    for b in binds {
        q = match b {
            Bind::I64(v) => q.bind(v),
            Bind::OptI64(v) => q.bind(v),
            Bind::Text(v) => q.bind(v),
            Bind::Bytes(v) => q.bind(v),
        };
    }
    q
}

/// Builds SQL from fixed fragments whose `?` markers become numbered placeholders.
#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    /// Starts with a fixed fragment.
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            binds: Vec::new(),
        }
    }

    /// Appends a fragment; each `?` takes the next value of `binds`.
    pub fn push(&mut self, fragment: &str, binds: impl IntoIterator<Item = Bind>) -> &mut Self {
        let mut binds = binds.into_iter();
        for ch in fragment.chars() {
            if ch == '?' {
                self.binds.push(binds.next().unwrap_or(Bind::OptI64(None)));
                self.text.push_str(&format!("${}", self.binds.len()));
            } else {
                self.text.push(ch);
            }
        }
        self
    }

    fn query(self) -> AnyQuery<'static> {
        // The text is assembled from fixed fragments only; values travel as parameters.
        bind_all(sqlx::query(AssertSqlSafe(self.text)), self.binds)
    }
}

/// Most bytes of stored records one list page carries (besides its size in items), so a
/// page of large records stays far below the message limit and unread pages stay small.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// A write that changes nothing, run to find out whether the store takes writes again.
pub const WRITE_PROBE: &str = "UPDATE change_counter SET value = value WHERE id = 1";

/// What [`Store::refresh_match_keys`] did and found.
#[derive(Clone, Debug, Default)]
pub struct MatchKeyReport {
    /// Organisations whose match keys were recomputed.
    pub recomputed: usize,
    /// Organisations whose stored names break the write rules (reported, kept).
    pub breaking_rules: Vec<String>,
}

/// A request id and the request it came with (AIP-155).
#[derive(Clone, Debug)]
pub struct Idempotency {
    /// The client's request id (a UUID).
    pub request_id: String,
    /// Full method name, e.g. `CreateOrganization`.
    pub method: &'static str,
    /// The encoded create request.
    pub request: Vec<u8>,
}

/// A page request: how many and after which key.
#[derive(Clone, Debug)]
pub struct PageRequest {
    /// Page size, already validated.
    pub size: usize,
    /// Keyset position: (sort rank, id) of the last row of the previous page.
    pub after: Option<(i64, String)>,
}

/// One page of records.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The records.
    pub items: Vec<Stored<T>>,
    /// Key of the last item when more follow.
    pub next: Option<(i64, String)>,
}

/// One entry of the event change log.
#[derive(Clone, Debug)]
pub struct EventChange {
    /// Position in the log (commit order).
    pub seq: i64,
    /// 1 created, 2 updated (wire `EventChangeType`).
    pub change_type: i32,
    /// The event as of this change, with metadata.
    pub event: autointel_proto::registry::Event,
}

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

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The migrations of `backend`, in order. New ones follow the expand/contract policy of
/// [`autointel_db::migrations`]: mark an expand migration `Compatibility::Expand` so that
/// the previous release still starts against it (a rollback), and remove things only in a
/// later release.
fn migrations(backend: Backend) -> Vec<Migration> {
    use autointel_db::{Compatibility, migration};
    let sql = match backend {
        Backend::Sqlite => include_str!("../../migrations/sqlite/0001_registry.sql"),
        Backend::Postgres => include_str!("../../migrations/postgres/0001_registry.sql"),
    };
    vec![migration(1, "registry", sql, Compatibility::Breaking)]
}

/// True for the errors a create gets when a concurrent create committed the same key first.
fn lost_race(err: &RegistryError) -> bool {
    match err {
        RegistryError::AlreadyExists(_) => true,
        RegistryError::Database(e) => is_unique_violation(e),
        _ => false,
    }
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

fn decode<T: Record>(row: &AnyRow) -> Result<Stored<T>> {
    let body: Vec<u8> = row.try_get("body")?;
    let wire = T::Wire::decode(body.as_slice())
        .map_err(|e| RegistryError::Corrupt(format!("{}: {e}", T::TABLE)))?;
    let value =
        T::from_wire(&wire).map_err(|e| RegistryError::Corrupt(format!("{}: {e}", T::TABLE)))?;
    Ok(Stored {
        value,
        revision: row.try_get("revision")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

fn table_of(collection: &str) -> Option<&'static str> {
    Some(match collection {
        "organizations" => "organizations",
        "people" => "people",
        "sources" => "sources",
        "partnerships" => "partnerships",
        "events" => "events",
        "targets" => "targets",
        "relationships" => "relationships",
        _ => return None,
    })
}

async fn exists(conn: &mut AnyConnection, table: &str, id: &str) -> Result<bool> {
    let mut sql = Sql::new(&format!("SELECT id FROM {table} WHERE id = "));
    sql.push("?", [Bind::Text(id.to_owned())]);
    Ok(sql.query().fetch_optional(conn).await?.is_some())
}

async fn get_in<T: Record>(conn: &mut AnyConnection, id: &str) -> Result<Option<Stored<T>>> {
    let mut sql = Sql::new(&format!(
        "SELECT revision, create_time, update_time, body FROM {} WHERE id = ",
        T::TABLE
    ));
    sql.push("?", [Bind::Text(id.to_owned())]);
    match sql.query().fetch_optional(conn).await? {
        Some(row) => decode(&row).map(Some),
        None => Ok(None),
    }
}

/// Checks that every referenced resource exists; FAILED_PRECONDITION naming each missing one.
async fn check_references<T: Record>(conn: &mut AnyConnection, value: &T) -> Result<()> {
    let mut missing = Vec::new();
    for (path, name) in value.references() {
        let Some((collection, id)) = name.split_once('/') else {
            continue;
        };
        let Some(table) = table_of(collection) else {
            continue;
        };
        if !exists(conn, table, id).await? {
            missing.push(Precondition {
                kind: "REFERENCED_RESOURCE_NOT_FOUND",
                description: format!("{name} does not exist (referenced by {}.{path})", T::FIELD),
                subject: name,
            });
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RegistryError::missing_references(missing))
    }
}

async fn write_children<T: Record>(conn: &mut AnyConnection, value: &T) -> Result<()> {
    let Some(child) = T::CHILD else {
        return Ok(());
    };
    let mut del = Sql::new(&format!(
        "DELETE FROM {} WHERE {} = ",
        child.table, child.parent_column
    ));
    del.push("?", [Bind::Text(value.id().to_owned())]);
    del.query().execute(&mut *conn).await?;
    let mut values = value.child_values();
    values.sort();
    values.dedup();
    for v in values {
        let mut ins = Sql::new(&format!(
            "INSERT INTO {} ({}, {}) VALUES (",
            child.table, child.parent_column, child.value_column
        ));
        ins.push("?, ?)", [Bind::Text(value.id().to_owned()), Bind::Text(v)]);
        ins.query().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_in<T: Record>(conn: &mut AnyConnection, value: T, now: i64) -> Result<Stored<T>> {
    if exists(conn, T::TABLE, value.id()).await? {
        return Err(RegistryError::AlreadyExists(value.resource_name()));
    }
    check_references(conn, &value).await?;
    let columns = T::COLUMNS.join(", ");
    let mut sql = Sql::new(&format!(
        "INSERT INTO {} (id, {columns}, revision, create_time, update_time, body) VALUES (",
        T::TABLE
    ));
    let mut binds = vec![Bind::Text(value.id().to_owned())];
    binds.extend(value.column_values());
    binds.extend([
        Bind::I64(1),
        Bind::I64(now),
        Bind::I64(now),
        Bind::Bytes(value.to_wire().encode_to_vec()),
    ]);
    let marks = vec!["?"; binds.len()].join(", ");
    sql.push(&format!("{marks})"), binds);
    match sql.query().execute(&mut *conn).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(RegistryError::AlreadyExists(value.resource_name()));
        }
        Err(e) => return Err(e.into()),
    }
    write_children(conn, &value).await?;
    Ok(Stored {
        value,
        revision: 1,
        create_time: now,
        update_time: now,
    })
}

/// Writes a new revision of `value` over `old`; ABORTED if someone wrote in between.
async fn overwrite_in<T: Record>(
    conn: &mut AnyConnection,
    old: &Stored<T>,
    value: T,
    now: i64,
) -> Result<Stored<T>> {
    check_references(conn, &value).await?;
    let sets: Vec<String> = T::COLUMNS.iter().map(|c| format!("{c} = ?")).collect();
    let mut sql = Sql::new(&format!("UPDATE {} SET ", T::TABLE));
    let mut binds = value.column_values();
    binds.extend([
        Bind::I64(old.revision + 1),
        Bind::I64(now),
        Bind::Bytes(value.to_wire().encode_to_vec()),
        Bind::Text(value.id().to_owned()),
        Bind::I64(old.revision),
    ]);
    sql.push(
        &format!(
            "{}, revision = ?, update_time = ?, body = ? WHERE id = ? AND revision = ?",
            sets.join(", ")
        ),
        binds,
    );
    let done = sql.query().execute(&mut *conn).await?;
    if done.rows_affected() != 1 {
        return Err(RegistryError::Aborted {
            resource: value.resource_name(),
        });
    }
    write_children(conn, &value).await?;
    Ok(Stored {
        value,
        revision: old.revision + 1,
        create_time: old.create_time,
        update_time: now,
    })
}

async fn replay<T: Record>(
    conn: &mut AnyConnection,
    idem: Option<&Idempotency>,
) -> Result<Option<Stored<T>>> {
    let Some(idem) = idem else { return Ok(None) };
    let row = sqlx::query(
        "SELECT method, request_body, response_body FROM create_requests WHERE request_id = $1",
    )
    .bind(idem.request_id.clone())
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let method: String = row.try_get("method")?;
    let request: Vec<u8> = row.try_get("request_body")?;
    if method != idem.method || request != idem.request {
        return Err(RegistryError::invalid(
            "request_id",
            "was already used for a different request",
        ));
    }
    let response: Vec<u8> = row.try_get("response_body")?;
    let wire = T::Wire::decode(response.as_slice())
        .map_err(|e| RegistryError::Corrupt(format!("create_requests: {e}")))?;
    let value =
        T::from_wire(&wire).map_err(|e| RegistryError::Corrupt(format!("create_requests: {e}")))?;
    let meta = T::get_meta(&wire);
    Ok(Some(Stored {
        value,
        revision: meta.revision,
        create_time: meta.create_time,
        update_time: meta.update_time,
    }))
}

async fn remember<T: Record>(
    conn: &mut AnyConnection,
    idem: Option<&Idempotency>,
    stored: &Stored<T>,
) -> Result<()> {
    let Some(idem) = idem else { return Ok(()) };
    sqlx::query(
        "INSERT INTO create_requests (request_id, method, request_body, resource_name, response_body) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(idem.request_id.clone())
    .bind(idem.method.to_owned())
    .bind(idem.request.clone())
    .bind(stored.value.resource_name())
    .bind(to_wire_with_meta(stored).encode_to_vec())
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends an event change to the log; the counter row lock orders concurrent writers.
async fn record_change(
    conn: &mut AnyConnection,
    stored: &Stored<Event>,
    change_type: i32,
) -> Result<i64> {
    let row =
        sqlx::query("UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value")
            .fetch_one(&mut *conn)
            .await?;
    let seq: i64 = row.try_get("value")?;
    sqlx::query(
        "INSERT INTO event_changes (seq, event_id, change_type, body) VALUES ($1, $2, $3, $4)",
    )
    .bind(seq)
    .bind(stored.value.id.as_str().to_owned())
    .bind(i64::from(change_type))
    .bind(to_wire_with_meta(stored).encode_to_vec())
    .execute(conn)
    .await?;
    Ok(seq)
}

/// Wire `EventChangeType` numbers.
const CREATED: i32 = 1;
const UPDATED: i32 = 2;

fn check_etag(resource: String, stored_revision: i64, etag: Option<&str>) -> Result<()> {
    match etag {
        None => Ok(()),
        Some(etag) if parse_etag(etag) == Some(stored_revision) => Ok(()),
        Some(_) => Err(RegistryError::Aborted { resource }),
    }
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

    async fn lock(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.inner.write_lock {
            Some(m) => Some(m.lock().await),
            None => None,
        }
    }

    /// Runs a write and records its outcome in the store's writability: a commit makes it
    /// writable, a failure for want of storage makes it unwritable (health, metrics).
    async fn observed<T>(&self, write: impl Future<Output = Result<T>>) -> Result<T> {
        let result = write.await;
        match &result {
            Ok(_) => self.inner.writability.committed(),
            Err(RegistryError::Database(e)) => self.inner.writability.failed(e),
            Err(_) => {}
        }
        result
    }

    /// The pool (for the write probe).
    pub fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// Whether the store takes writes, as the latest write (or write probe) found.
    pub fn writability(&self) -> &Writability {
        &self.inner.writability
    }

    fn notify(&self, seq: Option<i64>) {
        if let Some(seq) = seq {
            self.inner.changes.send_if_modified(|current| {
                if seq > *current {
                    *current = seq;
                    true
                } else {
                    false
                }
            });
        }
    }

    /// A create that lost a race with a concurrent create under the same request id (a
    /// unique-key conflict once the winner committed) answers like a retry: the winner's
    /// result, written once.
    async fn settle_race<T: Record>(
        &self,
        result: Result<Stored<T>>,
        idem: Option<&Idempotency>,
    ) -> Result<Stored<T>> {
        match result {
            Err(e) if idem.is_some() && lost_race(&e) => {
                let mut conn = self.inner.pool.acquire().await?;
                match replay::<T>(&mut conn, idem).await? {
                    Some(stored) => Ok(stored),
                    None => Err(e),
                }
            }
            other => other,
        }
    }

    /// Subscribes to change notifications of this process.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.inner.changes.subscribe()
    }

    /// Gets a record by id.
    pub async fn get<T: Record>(&self, id: &str) -> Result<Option<Stored<T>>> {
        let mut conn = self.inner.pool.acquire().await?;
        get_in::<T>(&mut conn, id).await
    }

    /// True when a record with that id exists.
    pub async fn exists<T: Record>(&self, id: &str) -> Result<bool> {
        let mut conn = self.inner.pool.acquire().await?;
        exists(&mut conn, T::TABLE, id).await
    }

    /// Creates a record (not events or targets, which have side effects: see
    /// [`Store::create_event`], [`Store::create_target`]).
    pub async fn create<T: Record>(
        &self,
        value: T,
        idem: Option<&Idempotency>,
    ) -> Result<Stored<T>> {
        let result = self.observed(self.create_once(value, idem)).await;
        self.settle_race(result, idem).await
    }

    async fn create_once<T: Record>(
        &self,
        value: T,
        idem: Option<&Idempotency>,
    ) -> Result<Stored<T>> {
        let _guard = self.lock().await;
        let mut tx = self.inner.pool.begin().await?;
        if let Some(stored) = replay::<T>(&mut tx, idem).await? {
            return Ok(stored);
        }
        let stored = insert_in(&mut tx, value, now_micros()).await?;
        remember(&mut tx, idem, &stored).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Creates an event; if it supersedes another, marks that one superseded in the same
    /// transaction. Both changes go to the change log.
    pub async fn create_event(
        &self,
        event: Event,
        idem: Option<&Idempotency>,
    ) -> Result<Stored<Event>> {
        let result = self.observed(self.create_event_once(event, idem)).await;
        self.settle_race(result, idem).await
    }

    async fn create_event_once(
        &self,
        mut event: Event,
        idem: Option<&Idempotency>,
    ) -> Result<Stored<Event>> {
        let _guard = self.lock().await;
        let mut tx = self.inner.pool.begin().await?;
        if let Some(stored) = replay::<Event>(&mut tx, idem).await? {
            return Ok(stored);
        }
        let now = now_micros();
        event.superseded_by = None;
        event.targets.clear();
        let old = match &event.supersedes {
            Some(old_id) => {
                let old = get_in::<Event>(&mut tx, old_id.as_str()).await?;
                if let Some(old) = &old
                    && let Some(by) = &old.value.superseded_by
                {
                    return Err(RegistryError::precondition(
                        "EVENT_ALREADY_SUPERSEDED",
                        old.value.resource_name(),
                        format!(
                            "{} is already superseded by events/{by}",
                            old.value.resource_name()
                        ),
                    ));
                }
                old
            }
            None => None,
        };
        let stored = insert_in(&mut tx, event, now).await?;
        let mut last = record_change(&mut tx, &stored, CREATED).await?;
        if let Some(old) = old {
            let mut value = old.value.clone();
            value.status = EventStatus::Superseded;
            value.superseded_by = Some(stored.value.id.clone());
            let updated = overwrite_in(&mut tx, &old, value, now).await?;
            last = record_change(&mut tx, &updated, UPDATED).await?;
        }
        remember(&mut tx, idem, &stored).await?;
        tx.commit().await?;
        self.notify(Some(last));
        Ok(stored)
    }

    /// Creates a target; if it names an event, appends it to that event's targets.
    pub async fn create_target(
        &self,
        target: Target,
        idem: Option<&Idempotency>,
    ) -> Result<Stored<Target>> {
        let result = self.observed(self.create_target_once(target, idem)).await;
        self.settle_race(result, idem).await
    }

    async fn create_target_once(
        &self,
        target: Target,
        idem: Option<&Idempotency>,
    ) -> Result<Stored<Target>> {
        let _guard = self.lock().await;
        let mut tx = self.inner.pool.begin().await?;
        if let Some(stored) = replay::<Target>(&mut tx, idem).await? {
            return Ok(stored);
        }
        let now = now_micros();
        let stored = insert_in(&mut tx, target, now).await?;
        let mut last = None;
        if let Some(event_id) = &stored.value.event
            && let Some(event) = get_in::<Event>(&mut tx, event_id.as_str()).await?
        {
            let mut value = event.value.clone();
            value.targets.push(stored.value.id.clone());
            let updated = overwrite_in(&mut tx, &event, value, now).await?;
            last = Some(record_change(&mut tx, &updated, UPDATED).await?);
        }
        remember(&mut tx, idem, &stored).await?;
        tx.commit().await?;
        self.notify(last);
        Ok(stored)
    }

    /// Updates a record: `apply` turns the current value into the new one (it validates);
    /// ABORTED when `etag` is given and does not match.
    pub async fn update<T: Record>(
        &self,
        id: &str,
        etag: Option<&str>,
        apply: impl FnOnce(&T) -> Result<T>,
    ) -> Result<Stored<T>> {
        self.observed(self.update_once(id, etag, apply)).await
    }

    async fn update_once<T: Record>(
        &self,
        id: &str,
        etag: Option<&str>,
        apply: impl FnOnce(&T) -> Result<T>,
    ) -> Result<Stored<T>> {
        let _guard = self.lock().await;
        let mut tx = self.inner.pool.begin().await?;
        let old = get_in::<T>(&mut tx, id)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("{}/{id}", T::COLLECTION)))?;
        check_etag(old.value.resource_name(), old.revision, etag)?;
        let value = apply(&old.value)?;
        let stored = overwrite_in(&mut tx, &old, value, now_micros()).await?;
        let seq = if T::TABLE == "events" {
            // Only events are watched; re-read as the event type for the log.
            match get_in::<Event>(&mut tx, id).await? {
                Some(event) => Some(record_change(&mut tx, &event, UPDATED).await?),
                None => None,
            }
        } else {
            None
        };
        tx.commit().await?;
        self.notify(seq);
        Ok(stored)
    }

    /// Deletes an organisation unless something references it.
    pub async fn delete_organization(&self, id: &str, etag: Option<&str>) -> Result<()> {
        self.observed(self.delete_organization_once(id, etag)).await
    }

    async fn delete_organization_once(&self, id: &str, etag: Option<&str>) -> Result<()> {
        let _guard = self.lock().await;
        let mut tx = self.inner.pool.begin().await?;
        let name = format!("organizations/{id}");
        let old = get_in::<Organization>(&mut tx, id)
            .await?
            .ok_or_else(|| RegistryError::NotFound(name.clone()))?;
        check_etag(name.clone(), old.revision, etag)?;
        let checks: [(&str, &str, String); 7] = [
            (
                "relationships",
                "SELECT id FROM relationships WHERE parent_id = $1",
                id.to_owned(),
            ),
            (
                "relationships",
                "SELECT id FROM relationships WHERE child_id = $1",
                id.to_owned(),
            ),
            (
                "partnerships",
                "SELECT partnership_id AS id FROM partnership_parties WHERE organization_id = $1",
                id.to_owned(),
            ),
            (
                "events",
                "SELECT event_id AS id FROM event_participants WHERE participant = $1",
                name.clone(),
            ),
            (
                "targets",
                "SELECT id FROM targets WHERE organization_id = $1",
                id.to_owned(),
            ),
            (
                "targets",
                "SELECT id FROM targets WHERE metric_organization_id = $1",
                id.to_owned(),
            ),
            (
                "people",
                "SELECT id FROM people WHERE organization_id = $1",
                id.to_owned(),
            ),
        ];
        let mut violations = Vec::new();
        for (collection, sql, value) in checks {
            let rows = sqlx::query(sql).bind(value).fetch_all(&mut *tx).await?;
            for row in rows {
                let other: String = row.try_get("id")?;
                violations.push(Precondition {
                    kind: "RESOURCE_IN_USE",
                    subject: name.clone(),
                    description: format!("{name} is referenced by {collection}/{other}"),
                });
            }
        }
        if !violations.is_empty() {
            return Err(RegistryError::FailedPrecondition {
                message: format!(
                    "{name} is still referenced ({} references); remove them first",
                    violations.len()
                ),
                reason: "RESOURCE_IN_USE",
                violations,
            });
        }
        sqlx::query("DELETE FROM organization_names WHERE organization_id = $1")
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM organizations WHERE id = $1")
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a relationship.
    pub async fn delete_relationship(&self, id: &str, etag: Option<&str>) -> Result<()> {
        self.observed(self.delete_relationship_once(id, etag)).await
    }

    async fn delete_relationship_once(&self, id: &str, etag: Option<&str>) -> Result<()> {
        let _guard = self.lock().await;
        let mut tx = self.inner.pool.begin().await?;
        let old = get_in::<Relationship>(&mut tx, id)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("relationships/{id}")))?;
        check_etag(old.value.resource_name(), old.revision, etag)?;
        sqlx::query("DELETE FROM relationships WHERE id = $1")
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lists records matching `filter` (fragments over the record's table with `?`
    /// markers), ordered by `sort_rank` (when `ranked`) then id, keyset-paged.
    pub async fn list<T: Record>(
        &self,
        filter: Vec<(String, Vec<Bind>)>,
        ranked: bool,
        page: &PageRequest,
    ) -> Result<Page<T>> {
        let rank = if ranked { "sort_rank" } else { "0" };
        let mut sql = Sql::new(&format!(
            "SELECT id, {rank} AS rank_key, revision, create_time, update_time, body FROM {} WHERE 1 = 1",
            T::TABLE
        ));
        for (fragment, binds) in filter {
            sql.push(&format!(" AND ({fragment})"), binds);
        }
        if let Some((last_rank, last_id)) = &page.after {
            if ranked {
                sql.push(
                    " AND (sort_rank > ? OR (sort_rank = ? AND id > ?))",
                    [
                        Bind::I64(*last_rank),
                        Bind::I64(*last_rank),
                        Bind::Text(last_id.clone()),
                    ],
                );
            } else {
                sql.push(" AND id > ?", [Bind::Text(last_id.clone())]);
            }
        }
        let order = if ranked { "sort_rank, id" } else { "id" };
        let limit = i64::try_from(page.size + 1).unwrap_or(i64::MAX);
        sql.push(&format!(" ORDER BY {order} LIMIT ?"), [Bind::I64(limit)]);
        let rows = sql.query().fetch_all(&self.inner.pool).await?;
        let mut more = rows.len() > page.size;
        let mut items = Vec::with_capacity(page.size.min(rows.len()));
        let mut last_key = None;
        let mut bytes = 0usize;
        for row in rows.iter().take(page.size) {
            let body: &[u8] = row.try_get("body")?;
            // a page is bounded by bytes too: the rest follows on the next page
            if !items.is_empty() && bytes + body.len() > MAX_PAGE_BYTES {
                more = true;
                break;
            }
            bytes += body.len();
            items.push(decode::<T>(row)?);
            let rank: i64 = if ranked { row.try_get("rank_key")? } else { 0 };
            last_key = Some((rank, row.try_get::<String, _>("id")?));
        }
        Ok(Page {
            items,
            next: if more { last_key } else { None },
        })
    }

    /// Organisations stored before the alias limit with more aliases than it allows: they
    /// stay readable, and an update must bring them within it. Start-up reports them.
    pub async fn organizations_over_alias_limit(&self) -> Result<Vec<String>> {
        // organization_names holds the English and Chinese names besides the aliases
        let limit = i64::try_from(autointel_domain::MAX_ALIASES + 2).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT organization_id FROM organization_names GROUP BY organization_id \
             HAVING COUNT(*) > $1 ORDER BY organization_id LIMIT 100",
        )
        .bind(limit)
        .fetch_all(&self.inner.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(RegistryError::from))
            .collect()
    }

    /// Organisations with a name or alias whose stored match key is one of `keys` (the
    /// current key of the query, and the key older binaries wrote).
    pub async fn lookup_organizations(&self, keys: &[String]) -> Result<Vec<Stored<Organization>>> {
        let mut sql = Sql::new(
            "SELECT o.revision, o.create_time, o.update_time, o.body FROM organizations o \
             WHERE o.id IN (SELECT organization_id FROM organization_names WHERE name_folded IN (",
        );
        for (i, key) in keys.iter().enumerate() {
            sql.push(if i == 0 { "?" } else { ", ?" }, [Bind::Text(key.clone())]);
        }
        sql.push(")) ORDER BY o.id", []);
        let rows = sql.query().fetch_all(&self.inner.pool).await?;
        rows.iter().map(decode::<Organization>).collect()
    }

    /// Recomputes every organisation's stored match keys with the current
    /// [`autointel_domain::match_key`] where they differ (rows written by an older binary,
    /// or before the key changed), and lists the organisations whose stored names break
    /// the write rules (not NFC, or with invisible or direction-override characters): they
    /// stay readable, as NFC, and are reported, never rewritten behind the client's back.
    /// Idempotent; safe beside older binaries, whose lookups still find both keys.
    pub async fn refresh_match_keys(&self) -> Result<MatchKeyReport> {
        let mut report = MatchKeyReport::default();
        let rows = sqlx::query("SELECT id, body FROM organizations ORDER BY id")
            .fetch_all(&self.inner.pool)
            .await?;
        let mut stored: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for row in sqlx::query("SELECT organization_id, name_folded FROM organization_names")
            .fetch_all(&self.inner.pool)
            .await?
        {
            stored
                .entry(row.try_get(0)?)
                .or_default()
                .push(row.try_get(1)?);
        }
        for row in &rows {
            let id: String = row.try_get(0)?;
            let body: Vec<u8> = row.try_get(1)?;
            let wire = autointel_proto::registry::Organization::decode(body.as_slice())
                .map_err(|e| RegistryError::Corrupt(format!("organizations: {e}")))?;
            let names: Vec<&str> = std::iter::once(wire.english_name.as_str())
                .chain((!wire.chinese_name.is_empty()).then_some(wire.chinese_name.as_str()))
                .chain(wire.aliases.iter().map(String::as_str))
                .collect();
            if names.iter().any(|n| {
                !autointel_domain::text::is_stored_form(n)
                    || autointel_domain::text::check_visible(n).is_err()
            }) {
                report.breaking_rules.push(id.clone());
            }
            let mut wanted: Vec<String> = names
                .iter()
                .map(|n| autointel_domain::match_key(n))
                .collect();
            wanted.sort();
            wanted.dedup();
            let mut have = stored.remove(&id).unwrap_or_default();
            have.sort();
            if have == wanted {
                continue;
            }
            let _guard = self.lock().await;
            let mut tx = self.inner.pool.begin().await?;
            sqlx::query("DELETE FROM organization_names WHERE organization_id = $1")
                .bind(id.clone())
                .execute(&mut *tx)
                .await?;
            for key in wanted {
                sqlx::query(
                    "INSERT INTO organization_names (organization_id, name_folded) VALUES ($1, $2)",
                )
                .bind(id.clone())
                .bind(key)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            report.recomputed += 1;
        }
        Ok(report)
    }

    /// Relationships with `id` as child (`up`) or parent (not `up`), ordered by id.
    pub async fn relationships_of(&self, id: &str, up: bool) -> Result<Vec<Relationship>> {
        let sql = if up {
            "SELECT revision, create_time, update_time, body FROM relationships WHERE child_id = $1 ORDER BY id"
        } else {
            "SELECT revision, create_time, update_time, body FROM relationships WHERE parent_id = $1 ORDER BY id"
        };
        let rows = sqlx::query(sql)
            .bind(id.to_owned())
            .fetch_all(&self.inner.pool)
            .await?;
        rows.iter()
            .map(|r| decode::<Relationship>(r).map(|s| s.value))
            .collect()
    }

    /// Partnerships with `id` as a party, ordered by id.
    pub async fn partnerships_of(&self, id: &str) -> Result<Vec<Partnership>> {
        let rows = sqlx::query(
            "SELECT revision, create_time, update_time, body FROM partnerships \
             WHERE id IN (SELECT partnership_id FROM partnership_parties WHERE organization_id = $1) \
             ORDER BY id",
        )
        .bind(id.to_owned())
        .fetch_all(&self.inner.pool)
        .await?;
        rows.iter()
            .map(|r| decode::<Partnership>(r).map(|s| s.value))
            .collect()
    }

    /// The seq of the latest committed event change.
    pub async fn latest_change(&self) -> Result<i64> {
        let row = sqlx::query("SELECT value FROM change_counter WHERE id = 1")
            .fetch_one(&self.inner.pool)
            .await?;
        Ok(row.try_get("value")?)
    }

    /// Up to `limit` event changes after `seq`, in order.
    pub async fn changes_after(&self, seq: i64, limit: i64) -> Result<Vec<EventChange>> {
        let rows = sqlx::query(
            "SELECT seq, change_type, body FROM event_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(&self.inner.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let body: Vec<u8> = row.try_get("body")?;
                let event = autointel_proto::registry::Event::decode(body.as_slice())
                    .map_err(|e| RegistryError::Corrupt(format!("event_changes: {e}")))?;
                let change_type: i64 = row.try_get("change_type")?;
                Ok(EventChange {
                    seq: row.try_get("seq")?,
                    change_type: i32::try_from(change_type).unwrap_or(0),
                    event,
                })
            })
            .collect()
    }
}
