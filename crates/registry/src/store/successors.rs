//! Successors of partnerships: those whose `predecessor` names them, for a page at once.

use std::collections::HashMap;

use sqlx::Row;

use super::sql::{Bind, Sql};
use super::{Result, Store};

/// Most successors listed for one partnership (the first by id), so that a list page stays
/// bounded however many partnerships name one predecessor.
pub const MAX_SUCCESSORS: usize = 16;

impl Store {
    /// The ids of the successors of each of `ids` (those with a successor only), each list
    /// in id order and at most [`MAX_SUCCESSORS`] long: one query for any number of ids
    /// (`partnerships_by_predecessor` serves it).
    pub async fn successors_of(&self, ids: &[&str]) -> Result<HashMap<String, Vec<String>>> {
        let mut found: HashMap<String, Vec<String>> = HashMap::new();
        if ids.is_empty() {
            return Ok(found);
        }
        let mut sql = Sql::new(
            "SELECT predecessor_id, id FROM (\
             SELECT predecessor_id, id, \
             ROW_NUMBER() OVER (PARTITION BY predecessor_id ORDER BY id) AS n \
             FROM partnerships WHERE predecessor_id IN (",
        );
        for (i, id) in ids.iter().enumerate() {
            sql.push(
                if i == 0 { "?" } else { ", ?" },
                [Bind::Text((*id).to_owned())],
            );
        }
        let cap = i64::try_from(MAX_SUCCESSORS).unwrap_or(i64::MAX);
        sql.push(
            ")) ranked WHERE n <= ? ORDER BY predecessor_id, id",
            [Bind::I64(cap)],
        );
        for row in sql.query().fetch_all(&self.inner.pool).await? {
            found
                .entry(row.try_get(0)?)
                .or_default()
                .push(row.try_get(1)?);
        }
        Ok(found)
    }
}
