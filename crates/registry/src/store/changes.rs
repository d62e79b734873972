//! The event change log: appended inside write transactions, read by `WatchEvents`.

use autointel_domain::{Event, EventStatus};
use autointel_proto::convert::WireEnum;
use prost::Message;
use sqlx::{AnyConnection, Row};
use tokio::sync::watch;

use super::{Result, Store, Stored, to_wire_with_meta};
use crate::error::RegistryError;

/// One entry of the event change log.
#[derive(Clone, Debug)]
pub struct EventChange {
    /// Position in the log (commit order).
    pub seq: i64,
    /// 1 created, 2 updated, 3 deleted (wire `EventChangeType`).
    pub change_type: i32,
    /// The event as of this change, with metadata.
    pub event: autointel_proto::registry::Event,
}

/// Appends an event change to the log; the counter row lock orders concurrent writers.
pub(super) async fn record_change(
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
pub(super) const CREATED: i32 = 1;
pub(super) const UPDATED: i32 = 2;
pub(super) const DELETED: i32 = 3;

/// The status an event had before it was superseded: that of its latest logged version
/// not yet superseded; `None` when the log holds none.
pub(super) async fn status_before_superseded(
    conn: &mut AnyConnection,
    event_id: &str,
) -> Result<Option<EventStatus>> {
    let rows = sqlx::query("SELECT body FROM event_changes WHERE event_id = $1 ORDER BY seq DESC")
        .bind(event_id.to_owned())
        .fetch_all(conn)
        .await?;
    for row in rows {
        let body: Vec<u8> = row.try_get("body")?;
        let event = autointel_proto::registry::Event::decode(body.as_slice())
            .map_err(|e| RegistryError::Corrupt(format!("event_changes: {e}")))?;
        if event.superseded_by.is_empty()
            && let Ok(status) = EventStatus::from_wire(event.status)
            && status != EventStatus::Superseded
        {
            return Ok(Some(status));
        }
    }
    Ok(None)
}

impl Store {
    pub(super) fn notify(&self, seq: Option<i64>) {
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

    /// Subscribes to change notifications of this process.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.inner.changes.subscribe()
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
