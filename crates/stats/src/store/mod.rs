//! The durable record: figures, cited sources and import requests, in SQLite or PostgreSQL
//! through one `sqlx::AnyPool` and portable `$n` SQL.
//!
//! Every figure gets a sequence number from a counter row updated inside its import's
//! transaction, so the row lock orders commits: on PostgreSQL a replica that has applied
//! every row up to `seq` can never later see a smaller one commit.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use autointel_db::Writability;
use autointel_domain::{
    Date, FigureNature, Flow, Market, MeasureBasis, MonthRange, OrganizationId, Powertrain,
    Provenance, ReleaseStage, SalesFigure, SalesFigureId, SeriesKey, Source, SourceId, SourceKind,
    Units, VehicleScope, YearMonth,
};
use sqlx::any::AnyRow;
use sqlx::migrate::Migration;
use sqlx::postgres::PgPool;
use sqlx::{AnyPool, Row};

use crate::engine::{date_from_code, day_code};

mod snapshots;
mod staging;

use crate::error::StatsError;
pub use snapshots::{SNAPSHOT_CHUNK_BYTES, StoredSnapshot};
pub use staging::{ImportFigures, StagedFigure, StagedNumbers};

pub use autointel_db::Backend;

/// A write that changes nothing, run to find out whether the store takes writes again.
pub const WRITE_PROBE: &str = "UPDATE seq_counter SET value = value WHERE id = 1";

/// A figure as stored, with its sequence number and import time.
#[derive(Clone, Debug)]
pub struct StoredFigure {
    /// Commit-ordered sequence number.
    pub seq: i64,
    /// The figure, `supersedes` as set at import.
    pub figure: SalesFigure,
    /// Import time, microseconds since the Unix epoch.
    pub create_time_micros: i64,
}

/// A recorded import request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRecord {
    /// Digest of the request's content.
    pub digest: String,
    /// Figures written.
    pub imported_count: i64,
    /// Of those, revisions.
    pub revision_count: i64,
}

/// What writing an import did.
#[derive(Clone, Debug)]
pub enum ImportOutcome {
    /// Written, with consecutive sequence numbers: the first and the last.
    Written {
        /// Sequence number of the import's first figure.
        first_seq: i64,
        /// Sequence number of its last figure.
        last_seq: i64,
    },
    /// Another attempt with this request id committed first.
    AlreadyImported(ImportRecord),
}

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// On PostgreSQL, a typed pool for bulk writes with `COPY` (the Any driver cannot reach
    /// it); connects on first use.
    pg: Option<PgPool>,
    /// Whether imports can be written (a full disk turns it off until one commits again).
    writability: Writability,
}

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
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
    let (init, drop_series_index) = match backend {
        Backend::Sqlite => (
            include_str!("../../migrations/sqlite/0001_init.sql"),
            include_str!("../../migrations/sqlite/0002_drop_series_index.sql"),
        ),
        Backend::Postgres => (
            include_str!("../../migrations/postgres/0001_init.sql"),
            include_str!("../../migrations/postgres/0002_drop_series_index.sql"),
        ),
    };
    let mut migrations = vec![
        migration(1, "init", init, Compatibility::Breaking),
        migration(
            2,
            "drop series index",
            drop_series_index,
            Compatibility::Breaking,
        ),
    ];
    if backend == Backend::Postgres {
        migrations.push(migration(
            3,
            "drop figure id unique index",
            include_str!("../../migrations/postgres/0003_drop_figure_id_unique.sql"),
            Compatibility::Breaking,
        ));
    }
    // Expand: the release before it (schema 2 on SQLite, 3 on PostgreSQL) still starts
    // against it; the defaults make every row it writes an actual without a destination.
    let (nature_and_destination, since) = match backend {
        Backend::Sqlite => (
            include_str!("../../migrations/sqlite/0004_figure_nature_and_destination.sql"),
            2,
        ),
        Backend::Postgres => (
            include_str!("../../migrations/postgres/0004_figure_nature_and_destination.sql"),
            3,
        ),
    };
    migrations.push(migration(
        4,
        "figure nature and export destination",
        nature_and_destination,
        Compatibility::Expand { since },
    ));
    if backend == Backend::Postgres {
        // Expand: new tables only (SQLite keeps its snapshot in a file beside the database).
        migrations.push(migration(
            5,
            "engine snapshots",
            include_str!("../../migrations/postgres/0005_engine_snapshots.sql"),
            Compatibility::Expand { since: 3 },
        ));
    }
    // Expand: a new table only.
    let (staging, since) = match backend {
        Backend::Sqlite => (
            include_str!("../../migrations/sqlite/0006_import_staging.sql"),
            2,
        ),
        Backend::Postgres => (
            include_str!("../../migrations/postgres/0006_import_staging.sql"),
            3,
        ),
    };
    migrations.push(migration(
        6,
        "import staging",
        staging,
        Compatibility::Expand { since },
    ));
    migrations
}

/// Splits `database.max_connections` into the general pool and, on PostgreSQL, the pool
/// for `COPY` imports (a quarter of the budget, 1 or 2 connections).
fn pool_sizes(backend: Backend, in_memory: bool, max_connections: u32) -> (u32, Option<u32>) {
    let max = max_connections.max(1);
    match backend {
        // every connection to an in-memory database is a database of its own
        Backend::Sqlite if in_memory => (1, None),
        Backend::Sqlite => (max.min(4), None),
        Backend::Postgres => {
            let copy = (max / 4).clamp(1, 2);
            ((max - copy).max(1), Some(copy))
        }
    }
}

const FIGURE_COLUMNS: &str = "seq, id, organization, basis, flow, market, scope, powertrain, \
     period_start, period_end, units, comparable_prior_units, source, stage, as_of, supersedes, \
     note, create_time, nature, destination";

impl Store {
    /// Connects with at most `max_connections` connections in all (SQLite in WAL mode with
    /// `synchronous=FULL` and a busy timeout, at most 4 connections to a file since writers
    /// serialise; an in-memory SQLite database on a single kept-alive connection). On
    /// PostgreSQL a quarter of the budget (1 or 2 connections) is set aside for bulk `COPY`
    /// imports and the rest serves everything else; a budget of 1 still gets one of each.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StatsError> {
        let backend = Backend::of_url(url).map_err(|e| StatsError::Internal(e.to_string()))?;
        let in_memory = autointel_db::is_in_memory(url);
        let (general, copy) = pool_sizes(backend, in_memory, max_connections);
        let pool = autointel_db::connect(url, general).await?;
        let pg = match copy {
            Some(copy) => Some(autointel_db::pg_pool_options(copy).connect_lazy(url)?),
            None => None,
        };
        Ok(Self {
            pool,
            backend,
            pg,
            writability: Writability::new(),
        })
    }

    /// Whether the store takes writes, as the latest import (or write probe) found.
    pub fn writability(&self) -> &Writability {
        &self.writability
    }

    /// The general pool (for the write probe).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The most connections each pool holds: the general pool, and the PostgreSQL `COPY` pool.
    pub fn pool_sizes(&self) -> (u32, Option<u32>) {
        (
            self.pool.options().get_max_connections(),
            self.pg
                .as_ref()
                .map(|pg| pg.options().get_max_connections()),
        )
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations of the backend.
    pub async fn migrate(&self) -> Result<(), StatsError> {
        autointel_db::migrate(&self.pool, migrations(self.backend)).await?;
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(pg) = &self.pg {
            pg.close().await;
        }
    }

    /// Figures with a sequence number above `after`, in sequence order, at most `limit`.
    pub async fn figures_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredFigure>, StatsError> {
        let sql = format!(
            "SELECT {FIGURE_COLUMNS} FROM sales_figures WHERE seq > $1 ORDER BY seq LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(figure_from_row).collect()
    }

    /// Every recorded source.
    pub async fn sources(&self) -> Result<Vec<Source>, StatsError> {
        let rows = sqlx::query("SELECT id, kind, publisher, title, uri, published FROM sources")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(source_from_row).collect()
    }

    /// Replaces the recorded copy of a source (the registry changed it).
    pub async fn update_source(&self, s: &Source) -> Result<(), StatsError> {
        sqlx::query(UPDATE_SOURCE)
            .bind(s.id.as_str().to_owned())
            .bind(s.kind.as_str().to_owned())
            .bind(s.publisher.clone())
            .bind(s.title.clone())
            .bind(s.uri.clone())
            .bind(s.published_date.map(|d| i64::from(day_code(d))))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One recorded source.
    pub async fn source(&self, id: &SourceId) -> Result<Option<Source>, StatsError> {
        let row = sqlx::query(
            "SELECT id, kind, publisher, title, uri, published FROM sources WHERE id = $1",
        )
        .bind(id.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(source_from_row).transpose()
    }

    /// The import recorded under a request id.
    pub async fn import_record(
        &self,
        request_id: &str,
    ) -> Result<Option<ImportRecord>, StatsError> {
        let row = sqlx::query(
            "SELECT digest, imported_count, revision_count FROM import_requests \
             WHERE request_id = $1",
        )
        .bind(request_id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| record_from_row(&r)).transpose()
    }

    /// Writes one import in one transaction: the sources it cites (if new), its figures
    /// (held, or read back from their stage a page at a time, each given its id and the
    /// figure it supersedes) with consecutive sequence numbers, and its request record.
    ///
    /// Figures go in bulk: PostgreSQL binary `COPY … FROM STDIN`, SQLite multi-row
    /// `INSERT`s of [`INSERT_BATCH`] rows.
    pub async fn write_import(
        &self,
        request_id: &str,
        digest: &str,
        figures: ImportFigures<'_>,
        sources: &[Source],
        revision_count: i64,
    ) -> Result<ImportOutcome, StatsError> {
        let result = self
            .write_import_once(request_id, digest, figures, sources, revision_count)
            .await;
        self.track(result)
    }

    /// Records what a write says about whether the store takes writes (a full disk turns
    /// it off until a write commits again).
    fn track<T>(&self, result: Result<T, StatsError>) -> Result<T, StatsError> {
        match &result {
            Ok(_) => self.writability.committed(),
            Err(StatsError::Database(e)) => self.writability.failed(e),
            Err(_) => {}
        }
        result
    }

    async fn write_import_once(
        &self,
        request_id: &str,
        digest: &str,
        figures: ImportFigures<'_>,
        sources: &[Source],
        revision_count: i64,
    ) -> Result<ImportOutcome, StatsError> {
        if let Some(pg) = &self.pg {
            return self
                .write_import_pg(pg, request_id, digest, figures, sources, revision_count)
                .await;
        }
        let count = i64::try_from(figures.len())
            .map_err(|_| StatsError::Internal("too many figures".to_owned()))?;
        let create_time = now_micros();
        let mut tx = self.pool.begin().await?;
        // Taking the counter row first serialises imports (and orders their commits).
        let last: i64 = sqlx::query(NEXT_SEQ)
            .bind(count)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let existing = sqlx::query(SELECT_REQUEST)
            .bind(request_id.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = existing {
            let record = record_from_row(&row)?;
            tx.rollback().await?;
            return Ok(ImportOutcome::AlreadyImported(record));
        }
        for s in sources {
            sqlx::query(INSERT_SOURCE)
                .bind(s.id.as_str().to_owned())
                .bind(s.kind.as_str().to_owned())
                .bind(s.publisher.clone())
                .bind(s.title.clone())
                .bind(s.uri.clone())
                .bind(s.published_date.map(|d| i64::from(day_code(d))))
                .execute(&mut *tx)
                .await?;
        }
        let first = last - count + 1;
        let mut ordinal = 0i64;
        let mut pages = figures.pages();
        // Staged figures are read in the transaction: an in-memory database has one
        // connection.
        while let Some(page) = pages.next(&mut *tx).await? {
            for chunk in page.chunks(INSERT_BATCH) {
                let sql = multi_row_insert(chunk.len());
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for f in chunk {
                    query = bind_figure_body(
                        query.bind(first + ordinal).bind(f.id.as_str().to_owned()),
                        f,
                    )
                    .bind(
                        f.provenance
                            .supersedes
                            .as_ref()
                            .map(|s| s.as_str().to_owned()),
                    )
                    .bind(f.note.clone())
                    .bind(create_time)
                    .bind(f.nature.as_str())
                    .bind(
                        f.key
                            .destination
                            .as_ref()
                            .map(|d| d.as_str().to_owned())
                            .unwrap_or_default(),
                    );
                    ordinal += 1;
                }
                query.execute(&mut *tx).await?;
            }
        }
        if ordinal != count {
            return Err(corrupt("import stage", "figures are missing"));
        }
        sqlx::query(INSERT_REQUEST)
            .bind(request_id.to_owned())
            .bind(digest.to_owned())
            .bind(count)
            .bind(revision_count)
            .bind(create_time)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ImportOutcome::Written {
            first_seq: first,
            last_seq: last,
        })
    }
}

/// Rows per multi-row `INSERT` on SQLite (20 parameters each, under SQLite's 32,766).
const INSERT_BATCH: usize = 500;

const NEXT_SEQ: &str = "UPDATE seq_counter SET value = value + $1 WHERE id = 1 RETURNING value";
const SELECT_REQUEST: &str =
    "SELECT digest, imported_count, revision_count FROM import_requests WHERE request_id = $1";
const INSERT_SOURCE: &str = "INSERT INTO sources (id, kind, publisher, title, uri, published) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING";
const UPDATE_SOURCE: &str = "UPDATE sources SET kind = $2, publisher = $3, title = $4, \
     uri = $5, published = $6 WHERE id = $1";
const INSERT_REQUEST: &str = "INSERT INTO import_requests \
     (request_id, digest, imported_count, revision_count, create_time) \
     VALUES ($1, $2, $3, $4, $5)";

/// `INSERT INTO sales_figures (…) VALUES (?, …), …` for `rows` rows (SQLite only).
///
/// Positional `?` rather than `$n`: SQLite looks every named parameter up in a linear list
/// while preparing, which is quadratic in the parameter count (seconds for 9,000).
fn multi_row_insert(rows: usize) -> String {
    let row = format!("({})", vec!["?"; 20].join(", "));
    format!(
        "INSERT INTO sales_figures ({FIGURE_COLUMNS}) VALUES {}",
        vec![row.as_str(); rows].join(", ")
    )
}

/// The signature, flags and header extension length that open binary `COPY` data.
const COPY_BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Appends a binary `COPY` `bigint` field.
fn copy_bigint(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(&8i32.to_be_bytes());
    out.extend_from_slice(&value.to_be_bytes());
}

/// Appends a binary `COPY` `text` field.
fn copy_text(out: &mut Vec<u8>, value: &str) -> Result<(), StatsError> {
    let len = i32::try_from(value.len())
        .map_err(|_| StatsError::Internal("a text value is too long for COPY".to_owned()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value.as_bytes());
    Ok(())
}

/// Appends a binary `COPY` `NULL`.
fn copy_null(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i32).to_be_bytes());
}

/// A query of the Any driver.
type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds the columns `sales_figures` and `import_staging` share, in their order: from
/// `organization` to `as_of` (series key, period, units, like-for-like units, source,
/// stage, as-of date).
fn bind_figure_body<'q>(query: AnyQuery<'q>, f: &SalesFigure) -> AnyQuery<'q> {
    query
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
}

/// [`bind_figure_body`] for binary `COPY`: the same columns, appended to `out`.
fn copy_figure_body(out: &mut Vec<u8>, f: &SalesFigure) -> Result<(), StatsError> {
    copy_text(out, f.key.organization.as_ref().map_or("", |o| o.as_str()))?;
    copy_text(out, f.key.basis.as_str())?;
    copy_text(out, f.key.flow.as_str())?;
    copy_text(out, f.key.market.as_str())?;
    copy_text(out, f.key.scope.as_str())?;
    copy_text(out, f.key.powertrain.as_str())?;
    copy_bigint(out, i64::from(f.period.start().index()));
    copy_bigint(out, i64::from(f.period.end().index()));
    copy_bigint(out, f.units.to_i64());
    match f.comparable_prior {
        Some(prior) => copy_bigint(out, prior.to_i64()),
        None => copy_null(out),
    }
    copy_text(out, f.provenance.source.as_str())?;
    copy_text(out, f.provenance.stage.as_str())?;
    copy_bigint(out, i64::from(day_code(f.provenance.as_of)));
    Ok(())
}

/// Appends one `sales_figures` row (the [`FIGURE_COLUMNS`]) in binary `COPY` format.
fn copy_figure_row(
    out: &mut Vec<u8>,
    seq: i64,
    f: &SalesFigure,
    create_time: i64,
) -> Result<(), StatsError> {
    const FIELDS: i16 = 20;
    out.extend_from_slice(&FIELDS.to_be_bytes());
    copy_bigint(out, seq);
    copy_text(out, f.id.as_str())?;
    copy_figure_body(out, f)?;
    match &f.provenance.supersedes {
        Some(s) => copy_text(out, s.as_str())?,
        None => copy_null(out),
    }
    match &f.note {
        Some(note) => copy_text(out, note)?,
        None => copy_null(out),
    }
    copy_bigint(out, create_time);
    copy_text(out, f.nature.as_str())?;
    copy_text(out, f.key.destination.as_ref().map_or("", |d| d.as_str()))?;
    Ok(())
}

impl Store {
    /// [`Store::write_import`] on PostgreSQL: the same statements, figures by binary `COPY`.
    async fn write_import_pg(
        &self,
        pg: &PgPool,
        request_id: &str,
        digest: &str,
        figures: ImportFigures<'_>,
        sources: &[Source],
        revision_count: i64,
    ) -> Result<ImportOutcome, StatsError> {
        let count = i64::try_from(figures.len())
            .map_err(|_| StatsError::Internal("too many figures".to_owned()))?;
        let create_time = now_micros();
        let mut tx = pg.begin().await?;
        let last: i64 = sqlx::query(NEXT_SEQ)
            .bind(count)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let existing = sqlx::query(SELECT_REQUEST)
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = existing {
            let record = ImportRecord {
                digest: row.try_get("digest")?,
                imported_count: row.try_get("imported_count")?,
                revision_count: row.try_get("revision_count")?,
            };
            tx.rollback().await?;
            return Ok(ImportOutcome::AlreadyImported(record));
        }
        for s in sources {
            sqlx::query(INSERT_SOURCE)
                .bind(s.id.as_str())
                .bind(s.kind.as_str())
                .bind(&s.publisher)
                .bind(&s.title)
                .bind(s.uri.as_deref())
                .bind(s.published_date.map(|d| i64::from(day_code(d))))
                .execute(&mut *tx)
                .await?;
        }
        let first = last - count + 1;
        {
            let mut copy = tx
                .copy_in_raw(&format!(
                    "COPY sales_figures ({FIGURE_COLUMNS}) FROM STDIN WITH (FORMAT binary)"
                ))
                .await?;
            let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
            buf.extend_from_slice(COPY_BINARY_HEADER);
            let mut ordinal = 0i64;
            let mut pages = figures.pages();
            // Staged figures are read on the general pool: they are committed, and this
            // connection is busy with the COPY.
            while let Some(page) = pages.next(&self.pool).await? {
                for f in &page {
                    copy_figure_row(&mut buf, first + ordinal, f, create_time)?;
                    if buf.len() >= 1 << 20 {
                        copy.send(std::mem::take(&mut buf)).await?;
                        buf.reserve(1 << 20);
                    }
                    ordinal += 1;
                }
            }
            if ordinal != count {
                return Err(corrupt("import stage", "figures are missing"));
            }
            // The trailer: a field count of -1.
            buf.extend_from_slice(&(-1i16).to_be_bytes());
            copy.send(buf).await?;
            copy.finish().await?;
        }
        sqlx::query(INSERT_REQUEST)
            .bind(request_id)
            .bind(digest)
            .bind(count)
            .bind(revision_count)
            .bind(create_time)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ImportOutcome::Written {
            first_seq: first,
            last_seq: last,
        })
    }
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StatsError {
    StatsError::Internal(format!("stored {what} is invalid: {detail}"))
}

fn parse<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, StatsError>
where
    T::Err: std::fmt::Display,
{
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e| corrupt(column, e))
}

fn month(index: i64) -> Result<YearMonth, StatsError> {
    i32::try_from(index)
        .ok()
        .and_then(YearMonth::from_index)
        .ok_or_else(|| corrupt("month", index))
}

fn day(code: i64) -> Result<Date, StatsError> {
    u32::try_from(code)
        .ok()
        .and_then(date_from_code)
        .ok_or_else(|| corrupt("date", code))
}

fn figure_from_row(row: &AnyRow) -> Result<StoredFigure, StatsError> {
    let organization: String = row.try_get("organization")?;
    let organization = if organization.is_empty() {
        None
    } else {
        Some(OrganizationId::parse(&organization).map_err(|e| corrupt("organization", e))?)
    };
    let supersedes: Option<String> = row.try_get("supersedes")?;
    let comparable: Option<i64> = row.try_get("comparable_prior_units")?;
    let destination: String = row.try_get("destination")?;
    let destination = if destination.is_empty() {
        None
    } else {
        Some(Market::parse(&destination).map_err(|e| corrupt("destination", e))?)
    };
    let figure = SalesFigure {
        id: SalesFigureId::parse(&row.try_get::<String, _>("id")?).map_err(|e| corrupt("id", e))?,
        key: SeriesKey {
            organization,
            basis: parse::<MeasureBasis>(row, "basis")?,
            flow: parse::<Flow>(row, "flow")?,
            market: parse::<Market>(row, "market")?,
            scope: parse::<VehicleScope>(row, "scope")?,
            powertrain: parse::<Powertrain>(row, "powertrain")?,
            destination,
        },
        period: MonthRange::new(
            month(row.try_get("period_start")?)?,
            month(row.try_get("period_end")?)?,
        )
        .map_err(|e| corrupt("period", e))?,
        units: Units::new(row.try_get("units")?).map_err(|e| corrupt("units", e))?,
        nature: parse::<FigureNature>(row, "nature")?,
        comparable_prior: comparable
            .map(Units::new)
            .transpose()
            .map_err(|e| corrupt("comparable_prior_units", e))?,
        provenance: Provenance {
            source: SourceId::parse(&row.try_get::<String, _>("source")?)
                .map_err(|e| corrupt("source", e))?,
            stage: parse::<ReleaseStage>(row, "stage")?,
            as_of: day(row.try_get("as_of")?)?,
            supersedes: supersedes
                .map(|s| SalesFigureId::parse(&s))
                .transpose()
                .map_err(|e| corrupt("supersedes", e))?,
        },
        note: row.try_get("note")?,
    };
    Ok(StoredFigure {
        seq: row.try_get("seq")?,
        figure,
        create_time_micros: row.try_get("create_time")?,
    })
}

fn source_from_row(row: &AnyRow) -> Result<Source, StatsError> {
    let published: Option<i64> = row.try_get("published")?;
    Ok(Source {
        id: SourceId::parse(&row.try_get::<String, _>("id")?).map_err(|e| corrupt("source", e))?,
        kind: parse::<SourceKind>(row, "kind")?,
        publisher: row.try_get("publisher")?,
        title: row.try_get("title")?,
        uri: row.try_get("uri")?,
        published_date: published.map(day).transpose()?,
    })
}

fn record_from_row(row: &AnyRow) -> Result<ImportRecord, StatsError> {
    Ok(ImportRecord {
        digest: row.try_get("digest")?,
        imported_count: row.try_get("imported_count")?,
        revision_count: row.try_get("revision_count")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_budget_is_split_without_exceeding_it() {
        assert_eq!(pool_sizes(Backend::Sqlite, true, 8), (1, None));
        assert_eq!(pool_sizes(Backend::Sqlite, false, 2), (2, None));
        assert_eq!(pool_sizes(Backend::Sqlite, false, 20), (4, None));
        assert_eq!(pool_sizes(Backend::Postgres, false, 8), (6, Some(2)));
        assert_eq!(pool_sizes(Backend::Postgres, false, 20), (18, Some(2)));
        assert_eq!(pool_sizes(Backend::Postgres, false, 4), (3, Some(1)));
        assert_eq!(pool_sizes(Backend::Postgres, false, 2), (1, Some(1)));
        // a budget of 1 cannot be split: one connection for each pool
        assert_eq!(pool_sizes(Backend::Postgres, false, 1), (1, Some(1)));
        for max in 2..64 {
            let (general, copy) = pool_sizes(Backend::Postgres, false, max);
            assert_eq!(general + copy.unwrap_or(0), max, "budget {max}");
        }
    }

    /// The release before migration 4 (which knows migrations up to 2 on SQLite) starts
    /// against it, and the rows it writes, naming only its own columns, read back as actuals
    /// without a destination.
    #[tokio::test]
    async fn the_previous_release_runs_against_the_nature_and_destination_migration()
    -> Result<(), StatsError> {
        let store = Store::connect("sqlite::memory:", 1).await?;
        store.migrate().await?;
        let previous: Vec<Migration> = migrations(Backend::Sqlite)
            .into_iter()
            .filter(|m| m.version < 4)
            .collect();
        assert!(migrations(Backend::Sqlite).iter().any(|m| {
            m.version == 4
                && m.description
                    .contains("[expand; works with binaries of schema 2]")
        }));
        autointel_db::migrate(store.pool(), previous).await?;
        // The previous release's INSERT: its 18 columns, no nature, no destination.
        let old_columns = FIGURE_COLUMNS
            .strip_suffix(", nature, destination")
            .ok_or_else(|| StatsError::Internal("column list changed".to_owned()))?;
        let month = YearMonth::new(2024, 1)
            .map_err(|e| StatsError::Internal(e.to_string()))?
            .index();
        let as_of = "2024-02-10"
            .parse::<Date>()
            .map_err(|e| StatsError::Internal(e.to_string()))?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO sales_figures ({old_columns}) VALUES \
             (1, 'f0190f0a0b0c7d0e8f0a0b0c0d0e0f10', '', 'retail', 'export', 'CN', 'passenger', \
             'all', $1, $1, 5, NULL, 'cpca', 'final', $2, NULL, NULL, 0)"
        )))
        .bind(i64::from(month))
        .bind(i64::from(day_code(as_of)))
        .execute(store.pool())
        .await?;
        let stored = store.figures_after(0, 10).await?;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].figure.nature, FigureNature::Actual);
        assert_eq!(stored[0].figure.key.destination, None);
        Ok(())
    }

    #[tokio::test]
    async fn a_sqlite_file_pool_honours_max_connections() -> Result<(), StatsError> {
        let dir =
            std::env::temp_dir().join(format!("autointel-stats-pool-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).map_err(|e| StatsError::Internal(e.to_string()))?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("stats.db").display());
        let store = Store::connect(&url, 2).await?;
        assert_eq!(store.pool_sizes(), (2, None));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
