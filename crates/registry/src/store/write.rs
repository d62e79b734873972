//! Writes: create and update, one transaction each, with reference checks, child rows,
//! etags, idempotency and the event change log (deletes: `delete`).

use autointel_domain::{Event, EventStatus, Target};
use prost::Message;
use sqlx::AnyConnection;

use super::changes::{CREATED, UPDATED, record_change};
use super::clock::now_micros;
use super::idempotency::{Idempotency, remember, replay};
use super::read::{exists_in, get_in};
use super::sql::{Bind, Sql, is_unique_violation};
use super::{Record, Result, Store, Stored, parse_etag};
use crate::error::{Precondition, RegistryError};

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
        if !exists_in(conn, table, id).await? {
            missing.push(Precondition {
                kind: "REFERENCED_RESOURCE_NOT_FOUND".to_owned(),
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
    if exists_in(conn, T::TABLE, value.id()).await? {
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
pub(super) async fn overwrite_in<T: Record>(
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

/// Inserts an event and logs it; an event that supersedes another marks that one
/// superseded (refused if it already is) and logs that change too.
async fn insert_event(
    conn: &mut AnyConnection,
    mut event: Event,
    now: i64,
) -> Result<(Stored<Event>, Option<i64>)> {
    event.superseded_by = None;
    event.targets.clear();
    let old = match &event.supersedes {
        Some(old_id) => {
            let old = get_in::<Event>(conn, old_id.as_str()).await?;
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
    let stored = insert_in(conn, event, now).await?;
    let mut last = record_change(conn, &stored, CREATED).await?;
    if let Some(old) = old {
        let mut value = old.value.clone();
        value.status = EventStatus::Superseded;
        value.superseded_by = Some(stored.value.id.clone());
        let updated = overwrite_in(conn, &old, value, now).await?;
        last = record_change(conn, &updated, UPDATED).await?;
    }
    Ok((stored, Some(last)))
}

/// Inserts a target; one that names an event is appended to that event's targets (a
/// logged change of the event).
async fn insert_target(
    conn: &mut AnyConnection,
    target: Target,
    now: i64,
) -> Result<(Stored<Target>, Option<i64>)> {
    let stored = insert_in(conn, target, now).await?;
    let mut last = None;
    if let Some(event_id) = &stored.value.event
        && let Some(event) = get_in::<Event>(conn, event_id.as_str()).await?
    {
        let mut value = event.value.clone();
        value.targets.push(stored.value.id.clone());
        let updated = overwrite_in(conn, &event, value, now).await?;
        last = Some(record_change(conn, &updated, UPDATED).await?);
    }
    Ok((stored, last))
}

pub(super) fn check_etag(resource: String, stored_revision: i64, etag: Option<&str>) -> Result<()> {
    match etag {
        None => Ok(()),
        Some(etag) if parse_etag(etag) == Some(stored_revision) => Ok(()),
        Some(_) => Err(RegistryError::Aborted { resource }),
    }
}

impl Store {
    pub(super) async fn lock(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.inner.write_lock {
            Some(m) => Some(m.lock().await),
            None => None,
        }
    }

    /// Runs a write and records its outcome in the store's writability: a commit makes it
    /// writable, a failure for want of storage makes it unwritable (health, metrics).
    pub(super) async fn observed<T>(&self, write: impl Future<Output = Result<T>>) -> Result<T> {
        let result = write.await;
        match &result {
            Ok(_) => self.inner.writability.committed(),
            Err(RegistryError::Database(e)) => self.inner.writability.failed(e),
            Err(_) => {}
        }
        result
    }

    /// Creates a record (not events or targets, which have side effects: see
    /// [`Store::create_event`], [`Store::create_target`]).
    pub async fn create<T: Record>(
        &self,
        value: T,
        idem: Option<&Idempotency>,
    ) -> Result<Stored<T>> {
        self.create_with(value, idem, async |conn, value, now| {
            Ok((insert_in(conn, value, now).await?, None))
        })
        .await
    }

    /// Creates an event; if it supersedes another, marks that one superseded in the same
    /// transaction. Both changes go to the change log.
    pub async fn create_event(
        &self,
        event: Event,
        idem: Option<&Idempotency>,
    ) -> Result<Stored<Event>> {
        self.create_with(event, idem, insert_event).await
    }

    /// Creates a target; if it names an event, appends it to that event's targets.
    pub async fn create_target(
        &self,
        target: Target,
        idem: Option<&Idempotency>,
    ) -> Result<Stored<Target>> {
        self.create_with(target, idem, insert_target).await
    }

    /// One create transaction: a retry under the same request id answers what the first
    /// call wrote; otherwise `insert` writes the record (and what it changes besides,
    /// returning the last change-log seq it appended), the request id is remembered, and
    /// watchers are woken after the commit.
    async fn create_with<T: Record>(
        &self,
        value: T,
        idem: Option<&Idempotency>,
        insert: impl AsyncFnOnce(&mut AnyConnection, T, i64) -> Result<(Stored<T>, Option<i64>)>,
    ) -> Result<Stored<T>> {
        let once = async {
            let _guard = self.lock().await;
            let mut tx = self.inner.pool.begin().await?;
            if let Some(stored) = replay::<T>(&mut tx, idem).await? {
                return Ok(stored);
            }
            let (stored, last) = insert(&mut tx, value, now_micros()).await?;
            remember(&mut tx, idem, &stored).await?;
            tx.commit().await?;
            self.notify(last);
            Ok(stored)
        };
        let result = self.observed(once).await;
        self.settle_race(result, idem).await
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
}
