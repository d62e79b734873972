//! An import's figures staged in the store while its client is still sending them, so that
//! an import of any size costs the service a slice of figures at a time: staged rows are
//! never figures; the import reads them back by revision chain to link its revisions, then
//! by position to write them to `sales_figures` in one transaction, then deletes them.

use autointel_domain::{SalesFigure, SalesFigureId, Units};

use super::{Store, StoredFigure, figure_from_row, now_micros};
use crate::engine::{day_code, figure_id};
use crate::error::StatsError;

/// Rows per multi-row `INSERT` into the staging table (19 parameters each).
const STAGE_BATCH: usize = 500;

/// The staged columns, read back in the shape of a stored figure: the position as its
/// sequence number, a placeholder id, no `supersedes` (the import sets both).
const STAGED_COLUMNS: &str = "ordinal AS seq, chain, \
     'f00000000000000000000000000000000' AS id, organization, basis, flow, market, scope, \
     powertrain, period_start, period_end, units, comparable_prior_units, source, stage, \
     as_of, CAST(NULL AS TEXT) AS supersedes, note, staged_at AS create_time, nature, \
     destination";

/// One staged figure: its position in the import, its revision chain (see [`chain_key`])
/// and the figure, with a placeholder id and without `supersedes`.
#[derive(Clone, Debug)]
pub struct StagedFigure {
    /// Position in the import, from 0.
    pub ordinal: i64,
    /// Its revision chain's key.
    pub chain: String,
    /// The figure.
    pub figure: SalesFigure,
}

/// The revision chain a figure belongs to, as text that sorts every figure of one chain
/// together: its series key, nature, source and period (a figure revises only figures of
/// the same source). Ids, markets and codes never hold the separator.
pub fn chain_key(f: &SalesFigure) -> String {
    let k = &f.key;
    [
        k.organization.as_ref().map_or("", |o| o.as_str()),
        k.market.as_str(),
        k.destination.as_ref().map_or("", |d| d.as_str()),
        k.basis.as_str(),
        k.flow.as_str(),
        k.scope.as_str(),
        k.powertrain.as_str(),
        f.nature.as_str(),
        f.provenance.source.as_str(),
        &f.period.start().index().to_string(),
        &f.period.end().index().to_string(),
    ]
    .join("\u{1f}")
}

impl Store {
    /// Stages figures `first_ordinal..` of an import (each step in its own short
    /// transaction); a write, so a full disk refuses it and is recorded as for any write.
    pub async fn stage(
        &self,
        stage_id: &str,
        first_ordinal: i64,
        figures: &[SalesFigure],
    ) -> Result<(), StatsError> {
        let result = self.stage_once(stage_id, first_ordinal, figures).await;
        self.track(result)
    }

    async fn stage_once(
        &self,
        stage_id: &str,
        first_ordinal: i64,
        figures: &[SalesFigure],
    ) -> Result<(), StatsError> {
        let staged_at = now_micros();
        let row = format!("({})", vec!["?"; 20].join(", "));
        for (c, chunk) in figures.chunks(STAGE_BATCH).enumerate() {
            let sql = format!(
                "INSERT INTO import_staging (stage_id, ordinal, chain, organization, basis, \
                 flow, market, scope, powertrain, period_start, period_end, units, \
                 comparable_prior_units, source, stage, as_of, note, nature, destination, \
                 staged_at) VALUES {}",
                vec![row.as_str(); chunk.len()].join(", ")
            );
            let sql = match self.backend {
                // The Any driver passes `?` through; PostgreSQL wants `$n`.
                super::Backend::Postgres => numbered(&sql),
                super::Backend::Sqlite => sql,
            };
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            let first = first_ordinal + i64::try_from(c * STAGE_BATCH).unwrap_or(i64::MAX);
            for (ordinal, f) in (first..).zip(chunk) {
                query = query
                    .bind(stage_id.to_owned())
                    .bind(ordinal)
                    .bind(chain_key(f))
                    .bind(
                        f.key
                            .organization
                            .as_ref()
                            .map(|o| o.as_str().to_owned())
                            .unwrap_or_default(),
                    )
                    .bind(f.key.basis.as_str())
                    .bind(f.key.flow.as_str())
                    .bind(f.key.market.as_str().to_owned())
                    .bind(f.key.scope.as_str())
                    .bind(f.key.powertrain.as_str())
                    .bind(i64::from(f.period.start().index()))
                    .bind(i64::from(f.period.end().index()))
                    .bind(f.units.to_i64())
                    .bind(f.comparable_prior.map(Units::to_i64))
                    .bind(f.provenance.source.as_str().to_owned())
                    .bind(f.provenance.stage.as_str())
                    .bind(i64::from(day_code(f.provenance.as_of)))
                    .bind(f.note.clone())
                    .bind(f.nature.as_str())
                    .bind(
                        f.key
                            .destination
                            .as_ref()
                            .map(|d| d.as_str().to_owned())
                            .unwrap_or_default(),
                    )
                    .bind(staged_at);
            }
            query.execute(&self.pool).await?;
        }
        Ok(())
    }

    /// At most `limit` staged figures of an import in chain order (see [`chain_key`]),
    /// then by position, after `(chain, ordinal)`.
    pub async fn staged_by_chain(
        &self,
        stage_id: &str,
        after: Option<(&str, i64)>,
        limit: i64,
    ) -> Result<Vec<StagedFigure>, StatsError> {
        let (chain, ordinal) = after.unwrap_or(("", -1));
        let sql = format!(
            "SELECT {STAGED_COLUMNS} FROM import_staging WHERE stage_id = $1 \
             AND (chain, ordinal) > ($2, $3) \
             ORDER BY chain, ordinal LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(stage_id.to_owned())
            .bind(chain.to_owned())
            .bind(ordinal)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let StoredFigure { seq, figure, .. } = figure_from_row(row)?;
                Ok(StagedFigure {
                    ordinal: seq,
                    chain: sqlx::Row::try_get(row, "chain")?,
                    figure,
                })
            })
            .collect()
    }

    /// Staged figures `from..from + limit` of an import, by position, each with its id and
    /// the figure it supersedes given by `numbers` (see [`StagedNumbers`]).
    pub(super) async fn staged_page<'e>(
        executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
        stage_id: &str,
        from: i64,
        limit: i64,
        numbers: &StagedNumbers,
    ) -> Result<Vec<SalesFigure>, StatsError> {
        let sql = format!(
            "SELECT {STAGED_COLUMNS} FROM import_staging WHERE stage_id = $1 \
             AND ordinal >= $2 AND ordinal < $3 ORDER BY ordinal"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(stage_id.to_owned())
            .bind(from)
            .bind(from.saturating_add(limit))
            .fetch_all(executor)
            .await?;
        rows.iter()
            .map(|row| {
                let StoredFigure {
                    seq: ordinal,
                    mut figure,
                    ..
                } = figure_from_row(row)?;
                let (id, supersedes) = numbers.of(ordinal)?;
                figure.id = id;
                figure.provenance.supersedes = supersedes;
                Ok(figure)
            })
            .collect()
    }

    /// Deletes an import's staged figures; returns how many there were.
    pub async fn drop_stage(&self, stage_id: &str) -> Result<u64, StatsError> {
        let done = sqlx::query("DELETE FROM import_staging WHERE stage_id = $1")
            .bind(stage_id.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Figures staged and not yet deleted, of every import.
    pub async fn staged_count(&self) -> Result<i64, StatsError> {
        let row = sqlx::query("SELECT COUNT(*) AS staged FROM import_staging")
            .fetch_one(&self.pool)
            .await?;
        Ok(sqlx::Row::try_get(&row, "staged")?)
    }

    /// Deletes figures staged before `before_micros` (imports that never finished: a
    /// crash or a lost connection); returns how many there were.
    pub async fn drop_stale_stages(&self, before_micros: i64) -> Result<u64, StatsError> {
        let done = sqlx::query("DELETE FROM import_staging WHERE staged_at < $1")
            .bind(before_micros)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

/// `?` placeholders as `$1, $2, …` (the text has no other `?`).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + sql.len() / 2);
    let mut n = 0u32;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// A staged import ready to write: its stage, how many figures, and for each position the
/// figure's number (its id) and the number of the figure it supersedes (0 for none).
#[derive(Clone, Debug)]
pub struct StagedNumbers {
    /// The stage holding the figures.
    pub stage_id: String,
    /// Figure numbers by position.
    pub ids: Vec<u128>,
    /// Superseded figures' numbers by position, 0 for none.
    pub supersedes: Vec<u128>,
}

impl StagedNumbers {
    /// Figures staged.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn of(&self, ordinal: i64) -> Result<(SalesFigureId, Option<SalesFigureId>), StatsError> {
        let at = usize::try_from(ordinal).map_err(|_| super::corrupt("ordinal", ordinal))?;
        let id = self
            .ids
            .get(at)
            .and_then(|&n| figure_id(n))
            .ok_or_else(|| super::corrupt("ordinal", ordinal))?;
        let supersedes = match self.supersedes.get(at).copied().unwrap_or(0) {
            0 => None,
            n => Some(figure_id(n).ok_or_else(|| super::corrupt("supersedes", n))?),
        };
        Ok((id, supersedes))
    }
}
