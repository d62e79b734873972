//! Deletes, one transaction each: the etag precondition, the referential rule (a record is
//! deleted only while no other record references it, each referrer named), and what a
//! delete changes besides (an event reinstated, an event's target list, the change log).

use autointel_domain::{
    Event, EventStatus, Organization, Partnership, Person, Relationship, Target,
};
use sqlx::{AnyConnection, Row};

use super::changes::{DELETED, UPDATED, record_change, status_before_superseded};
use super::clock::now_micros;
use super::read::{decode, get_in};
use super::sql::{Bind, Sql};
use super::write::{check_etag, overwrite_in};
use super::{Record, Result, Store, Stored};
use crate::error::{Precondition, RegistryError};

/// FAILED_PRECONDITION `RESOURCE_IN_USE`: `name` is still referenced (`violations` say by
/// whom).
fn in_use(name: &str, violations: Vec<Precondition>) -> RegistryError {
    RegistryError::FailedPrecondition {
        message: format!(
            "{name} is still referenced ({} references); remove them first",
            violations.len()
        ),
        reason: "RESOURCE_IN_USE",
        violations,
    }
}

/// The records of `T` that reference `name`, each with the path of the reference (the
/// records are read whole: references to people, sources, partnerships and events live in
/// the stored record, not in indexed columns).
async fn referrers_of<T: Record>(
    conn: &mut AnyConnection,
    name: &str,
    found: &mut Vec<Precondition>,
) -> Result<()> {
    let sql = Sql::new(&format!(
        "SELECT revision, create_time, update_time, body FROM {} ORDER BY id",
        T::TABLE
    ));
    for row in sql.query().fetch_all(&mut *conn).await? {
        let record = decode::<T>(&row)?.value;
        for (path, referenced) in record.references() {
            if referenced == name && record.resource_name() != name {
                found.push(Precondition {
                    kind: "RESOURCE_IN_USE".to_owned(),
                    subject: name.to_owned(),
                    description: format!(
                        "{name} is referenced by {} ({}.{path})",
                        record.resource_name(),
                        T::FIELD
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Refuses (RESOURCE_IN_USE) when any record references `name`.
async fn refuse_if_referenced(conn: &mut AnyConnection, name: &str) -> Result<()> {
    let mut found = Vec::new();
    referrers_of::<Relationship>(conn, name, &mut found).await?;
    referrers_of::<Person>(conn, name, &mut found).await?;
    referrers_of::<Partnership>(conn, name, &mut found).await?;
    referrers_of::<Event>(conn, name, &mut found).await?;
    referrers_of::<Target>(conn, name, &mut found).await?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(in_use(name, found))
    }
}

/// Removes the row of `T` with that id, and its child rows.
async fn remove<T: Record>(conn: &mut AnyConnection, id: &str) -> Result<()> {
    if let Some(child) = T::CHILD {
        let mut sql = Sql::new(&format!(
            "DELETE FROM {} WHERE {} = ",
            child.table, child.parent_column
        ));
        sql.push("?", [Bind::Text(id.to_owned())]);
        sql.query().execute(&mut *conn).await?;
    }
    let mut sql = Sql::new(&format!("DELETE FROM {} WHERE id = ", T::TABLE));
    sql.push("?", [Bind::Text(id.to_owned())]);
    sql.query().execute(&mut *conn).await?;
    Ok(())
}

/// Deletes the event `deleted`: logs the deletion, and reinstates the event it superseded
/// (its status before it was superseded, `superseded_by` cleared), logging that too.
async fn delete_event_in(conn: &mut AnyConnection, deleted: &Stored<Event>) -> Result<Option<i64>> {
    if let Some(old_id) = &deleted.value.supersedes
        && let Some(old) = get_in::<Event>(conn, old_id.as_str()).await?
        && old.value.superseded_by.as_ref() == Some(&deleted.value.id)
    {
        let mut value = old.value.clone();
        value.superseded_by = None;
        // What it was before; REPORTED (the weakest claim) if the log no longer says.
        value.status = status_before_superseded(conn, old_id.as_str())
            .await?
            .unwrap_or(EventStatus::Reported);
        let reinstated = overwrite_in(conn, &old, value, now_micros()).await?;
        record_change(conn, &reinstated, UPDATED).await?;
    }
    remove::<Event>(conn, deleted.value.id.as_str()).await?;
    Ok(Some(record_change(conn, deleted, DELETED).await?))
}

/// Deletes the target `deleted` and takes it off the list of the event that announced it
/// (a logged change of that event).
async fn delete_target_in(
    conn: &mut AnyConnection,
    deleted: &Stored<Target>,
) -> Result<Option<i64>> {
    let mut last = None;
    if let Some(event_id) = &deleted.value.event
        && let Some(event) = get_in::<Event>(conn, event_id.as_str()).await?
        && event.value.targets.contains(&deleted.value.id)
    {
        let mut value = event.value.clone();
        value.targets.retain(|t| t != &deleted.value.id);
        let updated = overwrite_in(conn, &event, value, now_micros()).await?;
        last = Some(record_change(conn, &updated, UPDATED).await?);
    }
    remove::<Target>(conn, deleted.value.id.as_str()).await?;
    Ok(last)
}

impl Store {
    /// One delete transaction: the record must exist (NOT_FOUND) and match `etag` when one
    /// is given (ABORTED); no other record may reference it (FAILED_PRECONDITION
    /// `RESOURCE_IN_USE`, naming each referrer); `remove` deletes it and what it changes
    /// besides, returning the last change-log seq it appended; watchers are woken after the
    /// commit.
    async fn delete_with<T: Record>(
        &self,
        id: &str,
        etag: Option<&str>,
        remove: impl AsyncFnOnce(&mut AnyConnection, &Stored<T>) -> Result<Option<i64>>,
    ) -> Result<()> {
        let once = async {
            let _guard = self.lock().await;
            let mut tx = self.inner.pool.begin().await?;
            let name = format!("{}/{id}", T::COLLECTION);
            let old = get_in::<T>(&mut tx, id)
                .await?
                .ok_or_else(|| RegistryError::NotFound(name.clone()))?;
            check_etag(name.clone(), old.revision, etag)?;
            refuse_if_referenced(&mut tx, &name).await?;
            let seq = remove(&mut tx, &old).await?;
            tx.commit().await?;
            self.notify(seq);
            Ok(())
        };
        self.observed(once).await
    }

    /// Deletes a record whose deletion changes nothing else (partnerships, people,
    /// sources), unless another record references it.
    pub async fn delete<T: Record>(&self, id: &str, etag: Option<&str>) -> Result<()> {
        self.delete_with::<T>(id, etag, async |conn, old| {
            remove::<T>(conn, old.value.id()).await?;
            Ok(None)
        })
        .await
    }

    /// Deletes an event unless a target names it or another event supersedes it; the event
    /// it superseded, if any, is reinstated. Both changes go to the change log.
    pub async fn delete_event(&self, id: &str, etag: Option<&str>) -> Result<()> {
        self.delete_with::<Event>(id, etag, delete_event_in).await
    }

    /// Deletes a target; the event that announced it no longer lists it.
    pub async fn delete_target(&self, id: &str, etag: Option<&str>) -> Result<()> {
        self.delete_with::<Target>(id, etag, delete_target_in).await
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
                    kind: "RESOURCE_IN_USE".to_owned(),
                    subject: name.clone(),
                    description: format!("{name} is referenced by {collection}/{other}"),
                });
            }
        }
        if !violations.is_empty() {
            return Err(in_use(&name, violations));
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
}
