//! Engine snapshots kept in PostgreSQL (see `crate::snapshots` for where they live and
//! why), and the two facts every snapshot is checked against: the highest stored sequence
//! number and the figure stored under a sequence number.

use std::io::Read;

use sqlx::Row;

use super::Store;
use crate::error::StatsError;

/// Largest chunk a snapshot is stored in (a bytea value tops out at 1 GB).
pub const SNAPSHOT_CHUNK_BYTES: usize = 8 << 20;

/// A snapshot's header row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSnapshot {
    /// Its row id.
    pub id: i64,
    /// Store sequence number it holds every figure up to.
    pub last_seq: i64,
    /// The id of the figure stored under `last_seq`.
    pub anchor: Option<String>,
    /// Figures held.
    pub figures: i64,
    /// Size in bytes.
    pub bytes: i64,
    /// Chunks it is stored in.
    pub chunks: i32,
    /// When it was written, µs since the Unix epoch.
    pub written_at_micros: i64,
}

impl Store {
    /// The highest sequence number stored (0 when there is no figure).
    pub async fn last_seq(&self) -> Result<i64, StatsError> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS last FROM sales_figures")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("last")?)
    }

    /// The id of the figure stored under `seq`.
    pub async fn figure_id_at(&self, seq: i64) -> Result<Option<String>, StatsError> {
        let row = sqlx::query("SELECT id FROM sales_figures WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// The newest snapshot of `format` stored in the database.
    pub async fn latest_snapshot(&self, format: u32) -> Result<Option<StoredSnapshot>, StatsError> {
        let row = sqlx::query(
            "SELECT id, last_seq, anchor, figures, bytes, chunks, written_at \
             FROM engine_snapshots WHERE format = $1 ORDER BY last_seq DESC, id DESC LIMIT 1",
        )
        .bind(i64::from(format))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(StoredSnapshot {
            id: row.try_get("id")?,
            last_seq: row.try_get("last_seq")?,
            anchor: row.try_get("anchor")?,
            figures: row.try_get("figures")?,
            bytes: row.try_get("bytes")?,
            chunks: row.try_get("chunks")?,
            written_at_micros: row.try_get("written_at")?,
        }))
    }

    /// Chunk `n` of a stored snapshot (empty when it is missing).
    pub async fn snapshot_chunk(&self, id: i64, n: i32) -> Result<Vec<u8>, StatsError> {
        let row = sqlx::query(
            "SELECT data FROM engine_snapshot_chunks WHERE snapshot_id = $1 AND chunk = $2",
        )
        .bind(id)
        .bind(n)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|r| r.try_get("data"))
            .transpose()?
            .unwrap_or_default())
    }

    /// Stores the snapshot that `file` holds (`header` describes it), all of it or nothing
    /// in one transaction, and deletes every older snapshot. Returns `false` (writing
    /// nothing) while another replica is writing one.
    pub async fn put_snapshot(
        &self,
        header: &StoredSnapshot,
        format: u32,
        mut file: impl Read,
    ) -> Result<bool, StatsError> {
        let mut tx = self.pool.begin().await?;
        // One writer at a time per schema (deployments may share a database).
        let locked: bool = sqlx::query(
            "SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.engine_snapshots')) \
             AS locked",
        )
        .fetch_one(&mut *tx)
        .await?
        .try_get("locked")?;
        if !locked {
            return Ok(false);
        }
        let id: i64 = sqlx::query(
            "INSERT INTO engine_snapshots \
             (format, last_seq, anchor, figures, bytes, chunks, written_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(i64::from(format))
        .bind(header.last_seq)
        .bind(header.anchor.clone())
        .bind(header.figures)
        .bind(header.bytes)
        .bind(header.chunks)
        .bind(header.written_at_micros)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        let mut buf = vec![0u8; SNAPSHOT_CHUNK_BYTES];
        for n in 0..header.chunks {
            let len = read_full(&mut file, &mut buf)
                .map_err(|e| StatsError::Internal(format!("reading the snapshot file: {e}")))?;
            sqlx::query(
                "INSERT INTO engine_snapshot_chunks (snapshot_id, chunk, data) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(n)
            .bind(buf[..len].to_vec())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM engine_snapshots WHERE id <> $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes every stored snapshot (a forced rebuild).
    pub async fn delete_snapshots(&self) -> Result<(), StatsError> {
        sqlx::query("DELETE FROM engine_snapshots")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut at = 0;
    while at < buf.len() {
        match r.read(&mut buf[at..])? {
            0 => break,
            n => at += n,
        }
    }
    Ok(at)
}
