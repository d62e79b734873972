//! The figures of an import too large to hold, staged in the store while its client is
//! still sending them, so that an import of any size costs the service a slice of figures at
//! a time: staged rows are never figures; the import reads them back sorted by revision chain
//! to link its revisions, then by position to write them to `sales_figures` in one
//! transaction, then deletes them.

use autointel_domain::{SalesFigure, SalesFigureId};

use super::{
    COPY_BINARY_HEADER, Store, StoredFigure, bind_figure_body, copy_bigint, copy_figure_body,
    copy_null, copy_text, figure_from_row, now_micros,
};
use crate::engine::figure_id;
use crate::error::StatsError;

/// Rows per multi-row `INSERT` into the staging table on SQLite (19 parameters each).
const STAGE_BATCH: usize = 500;

/// The staged columns, read back in the shape of a stored figure: the position as its
/// sequence number, a placeholder id, no `supersedes` (the import sets both).
const STAGED_COLUMNS: &str = "ordinal AS seq, \
     'f00000000000000000000000000000000' AS id, organization, basis, flow, market, scope, \
     powertrain, period_start, period_end, units, comparable_prior_units, source, stage, \
     as_of, CAST(NULL AS TEXT) AS supersedes, note, staged_at AS create_time, nature, \
     destination";

/// One staged figure: its position in the import and the figure, with a placeholder id and
/// without `supersedes`.
#[derive(Clone, Debug)]
pub struct StagedFigure {
    /// Position in the import, from 0.
    pub ordinal: i64,
    /// The figure.
    pub figure: SalesFigure,
}

/// The order that puts every figure of one revision chain (series key, nature, source and
/// period: a figure revises only figures of its own source) together, in import order.
const CHAIN_ORDER: &str = "organization, market, destination, basis, flow, scope, \
     powertrain, nature, source, period_start, period_end, ordinal";

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
        if let Some(pg) = &self.pg {
            return stage_pg(pg, stage_id, first_ordinal, figures, staged_at).await;
        }
        let row = format!("({})", vec!["?"; 19].join(", "));
        for (c, chunk) in figures.chunks(STAGE_BATCH).enumerate() {
            let sql = format!(
                "INSERT INTO import_staging (stage_id, ordinal, organization, basis, flow, \
                 market, scope, powertrain, period_start, period_end, units, \
                 comparable_prior_units, source, stage, as_of, note, nature, destination, \
                 staged_at) VALUES {}",
                vec![row.as_str(); chunk.len()].join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            let first = first_ordinal + i64::try_from(c * STAGE_BATCH).unwrap_or(i64::MAX);
            for (ordinal, f) in (first..).zip(chunk) {
                query = bind_figure_body(query.bind(stage_id.to_owned()).bind(ordinal), f)
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

    /// Every staged figure of an import, sorted so that each revision chain's figures come
    /// together in import order (one sort by the database, read as a stream).
    pub fn staged_by_chain<'a>(
        &'a self,
        stage_id: &'a str,
    ) -> impl futures_util::Stream<Item = Result<StagedFigure, StatsError>> + 'a {
        use futures_util::StreamExt;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAGED_COLUMNS} FROM import_staging WHERE stage_id = $1 \
             ORDER BY {CHAIN_ORDER}"
        )))
        .bind(stage_id.to_owned())
        .fetch(&self.pool)
        .map(|row| {
            let StoredFigure { seq, figure, .. } = figure_from_row(&row?)?;
            Ok(StagedFigure {
                ordinal: seq,
                figure,
            })
        })
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

/// [`Store::stage`] on PostgreSQL: one binary `COPY`.
async fn stage_pg(
    pg: &sqlx::PgPool,
    stage_id: &str,
    first_ordinal: i64,
    figures: &[SalesFigure],
    staged_at: i64,
) -> Result<(), StatsError> {
    const FIELDS: i16 = 19;
    let mut conn = pg.acquire().await?;
    let mut copy = conn
        .copy_in_raw(
            "COPY import_staging (stage_id, ordinal, organization, basis, flow, market, scope, \
             powertrain, period_start, period_end, units, comparable_prior_units, source, stage, \
             as_of, note, nature, destination, staged_at) FROM STDIN WITH (FORMAT binary)",
        )
        .await?;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    buf.extend_from_slice(COPY_BINARY_HEADER);
    for (ordinal, f) in (first_ordinal..).zip(figures) {
        buf.extend_from_slice(&FIELDS.to_be_bytes());
        copy_text(&mut buf, stage_id)?;
        copy_bigint(&mut buf, ordinal);
        copy_figure_body(&mut buf, f)?;
        match &f.note {
            Some(note) => copy_text(&mut buf, note)?,
            None => copy_null(&mut buf),
        }
        copy_text(&mut buf, f.nature.as_str())?;
        copy_text(
            &mut buf,
            f.key.destination.as_ref().map_or("", |d| d.as_str()),
        )?;
        copy_bigint(&mut buf, staged_at);
        if buf.len() >= 1 << 20 {
            copy.send(std::mem::take(&mut buf)).await?;
            buf.reserve(1 << 20);
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    copy.send(buf).await?;
    copy.finish().await?;
    Ok(())
}

/// An import's figures ready to write: held (ids and links set), or staged.
#[derive(Debug)]
pub enum ImportFigures<'a> {
    /// In memory.
    Held(Vec<SalesFigure>),
    /// In the store, with their numbers.
    Staged(&'a StagedNumbers),
}

impl ImportFigures<'_> {
    /// How many.
    pub fn len(&self) -> usize {
        match self {
            Self::Held(figures) => figures.len(),
            Self::Staged(numbers) => numbers.len(),
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> ImportFigures<'a> {
    /// The figures a page at a time, in import order.
    pub(super) fn pages(self) -> Pages<'a> {
        match self {
            Self::Held(figures) => Pages {
                held: figures.into_iter(),
                staged: None,
            },
            Self::Staged(numbers) => Pages {
                held: Vec::new().into_iter(),
                staged: Some((numbers, 0)),
            },
        }
    }
}

/// Figures read back per step while an import is written (small in debug builds, so that
/// the tests' imports take several steps).
const PAGE: i64 = if cfg!(debug_assertions) { 64 } else { 10_000 };

/// An import's figures, a page at a time (see [`ImportFigures::pages`]).
pub(super) struct Pages<'a> {
    held: std::vec::IntoIter<SalesFigure>,
    /// The staged figures and the position of the next page.
    staged: Option<(&'a StagedNumbers, i64)>,
}

impl Pages<'_> {
    /// The next page, `None` after the last; staged figures are read with `executor`.
    pub(super) async fn next<'e>(
        &mut self,
        executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    ) -> Result<Option<Vec<SalesFigure>>, StatsError> {
        let Some((numbers, next)) = &mut self.staged else {
            let page: Vec<SalesFigure> = self
                .held
                .by_ref()
                .take(usize::try_from(PAGE).unwrap_or(usize::MAX))
                .collect();
            return Ok((!page.is_empty()).then_some(page));
        };
        if *next >= i64::try_from(numbers.len()).unwrap_or(i64::MAX) {
            return Ok(None);
        }
        let page = Store::staged_page(executor, &numbers.stage_id, *next, PAGE, numbers).await?;
        // A page short of figures (a stage deleted under the import) is found by the
        // writer's count.
        *next += PAGE;
        Ok((!page.is_empty()).then_some(page))
    }
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
