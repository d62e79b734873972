//! Reads: get, exists, keyset-paged lists, look-ups and graph neighbours.

use autointel_domain::{Organization, Partnership, Relationship};
use prost::Message;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::filter::Filter;
use super::sql::{Bind, Sql};
use super::{Record, Result, Store, Stored};
use crate::error::RegistryError;

/// Most bytes of stored records one list page carries (besides its size in items), so a
/// page of large records stays far below the message limit and unread pages stay small.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

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

/// A stored record from its row (`revision`, `create_time`, `update_time`, `body`).
pub(super) fn decode<T: Record>(row: &AnyRow) -> Result<Stored<T>> {
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

/// True when `table` has a row with that id.
pub(super) async fn exists_in(conn: &mut AnyConnection, table: &str, id: &str) -> Result<bool> {
    let mut sql = Sql::new(&format!("SELECT id FROM {table} WHERE id = "));
    sql.push("?", [Bind::Text(id.to_owned())]);
    Ok(sql.query().fetch_optional(conn).await?.is_some())
}

/// A record by id, inside a transaction or on a connection.
pub(super) async fn get_in<T: Record>(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<Stored<T>>> {
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

impl Store {
    /// Gets a record by id.
    pub async fn get<T: Record>(&self, id: &str) -> Result<Option<Stored<T>>> {
        let mut conn = self.inner.pool.acquire().await?;
        get_in::<T>(&mut conn, id).await
    }

    /// The records with these ids that exist (each once, in no particular order); ids are
    /// looked up in chunks of a few hundred per query.
    pub async fn get_many<T: Record>(&self, ids: &[String]) -> Result<Vec<Stored<T>>> {
        const CHUNK: usize = 500;
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut sql = Sql::new(&format!(
                "SELECT revision, create_time, update_time, body FROM {} WHERE id IN (",
                T::TABLE
            ));
            for (i, id) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "?" } else { ", ?" }, [Bind::Text(id.clone())]);
            }
            sql.push(")", []);
            for row in sql.query().fetch_all(&self.inner.pool).await? {
                found.push(decode(&row)?);
            }
        }
        Ok(found)
    }

    /// True when a record with that id exists.
    pub async fn exists<T: Record>(&self, id: &str) -> Result<bool> {
        let mut conn = self.inner.pool.acquire().await?;
        exists_in(&mut conn, T::TABLE, id).await
    }

    /// Lists the records `filter` selects, ordered on the timeline (`sort_rank`, when the
    /// filter says so) then by id, keyset-paged.
    pub async fn list<F: Filter>(&self, filter: &F, page: &PageRequest) -> Result<Page<F::Record>> {
        let ranked = F::TIMELINE_ORDER;
        let rank = if ranked { "sort_rank" } else { "0" };
        let mut sql = Sql::new(&format!(
            "SELECT id, {rank} AS rank_key, revision, create_time, update_time, body FROM {} WHERE 1 = 1",
            F::Record::TABLE
        ));
        filter.push_conditions(&mut sql);
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
            items.push(decode::<F::Record>(row)?);
            let rank: i64 = if ranked { row.try_get("rank_key")? } else { 0 };
            last_key = Some((rank, row.try_get::<String, _>("id")?));
        }
        Ok(Page {
            items,
            next: if more { last_key } else { None },
        })
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

    /// Relationships with `id` as child (`up`) or parent (not `up`), ordered by id.
    pub async fn relationships_of(&self, id: &str, up: bool) -> Result<Vec<Relationship>> {
        let sql = if up {
            "SELECT revision, create_time, update_time, body FROM relationships WHERE child_id = $1 ORDER BY id"
        } else {
            "SELECT revision, create_time, update_time, body FROM relationships WHERE parent_id = $1 ORDER BY id"
        };
        self.values_of(sql, id).await
    }

    /// Partnerships with `id` as a party, ordered by id.
    pub async fn partnerships_of(&self, id: &str) -> Result<Vec<Partnership>> {
        self.values_of(
            "SELECT revision, create_time, update_time, body FROM partnerships \
             WHERE id IN (SELECT partnership_id FROM partnership_parties WHERE organization_id = $1) \
             ORDER BY id",
            id,
        )
        .await
    }

    /// The records a query over one id (`$1`) selects, in its order, without metadata.
    async fn values_of<T: Record>(&self, sql: &'static str, id: &str) -> Result<Vec<T>> {
        let rows = sqlx::query(sql)
            .bind(id.to_owned())
            .fetch_all(&self.inner.pool)
            .await?;
        rows.iter()
            .map(|r| decode::<T>(r).map(|s| s.value))
            .collect()
    }
}
