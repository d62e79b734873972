//! Where engine snapshots live, when they are written and how a start uses one.
//!
//! - **Embedded SQLite**: a file beside the database (`<database file>.engine-snapshot`),
//!   written to a temporary file, synced and renamed over the previous one, so a crash
//!   while writing leaves the previous snapshot.
//! - **PostgreSQL**: in the database itself (`engine_snapshots`, chunks of 8 MiB in
//!   `engine_snapshot_chunks`): a new pod has no disk history, and every replica already
//!   reaches the database, so one replica writes (an advisory lock picks it) and every
//!   replica that starts reads. Written in one transaction, older ones deleted in it.
//! - `engine.snapshot_path` puts it in a file for either store (a shared volume).
//!
//! A start reads the newest snapshot, checks it against the store (its sequence number
//! must not be past the store's, and the store must hold its anchor figure under that
//! number: a restored or replaced database is not the one it was written from), then
//! catches up from the store by sequence number. A snapshot that is missing, ahead of the
//! store, foreign, truncated, corrupted or of another format is counted by reason and the
//! start replays every figure instead: answers are the same either way.
//!
//! Writing holds the import lock (imports on this replica wait; the refresh runs in the
//! same task) and only the engine's read lock, so queries never wait for it.

use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::{Engine, SNAPSHOT_FORMAT, SnapshotError, SnapshotHeader};
use crate::error::StatsError;
use crate::service::State;
use crate::settings::Settings;
use crate::store::{Backend, SNAPSHOT_CHUNK_BYTES, StoredSnapshot, now_micros};

/// Where snapshots are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A file (written through `<file>.tmp`).
    File(PathBuf),
    /// The PostgreSQL database, staged through a file in this directory.
    Database {
        /// Where the snapshot is written before it is copied into the database.
        scratch: PathBuf,
    },
}

/// The snapshot policy of one stats server.
#[derive(Clone, Debug)]
pub struct Snapshots {
    /// `None` when snapshots are off (an in-memory database, or `engine.snapshots = false`).
    place: Option<Place>,
    interval: Duration,
    min_new_figures: i64,
    rebuild: bool,
}

/// What the last snapshot written or read covered.
#[derive(Clone, Copy, Debug)]
pub struct Written {
    last_seq: i64,
    at: Instant,
}

impl Written {
    /// After a failed write: the previous coverage, timed now, so the next attempt waits
    /// for the interval.
    pub fn failed(previous: Option<Written>) -> Self {
        Self {
            last_seq: previous.map_or(0, |w| w.last_seq),
            at: Instant::now(),
        }
    }
}

impl Snapshots {
    /// The policy the settings give for the store at `database.url`.
    pub fn new(settings: &Settings, backend: Backend) -> Self {
        let engine = &settings.engine;
        let url = &settings.common.database.url;
        let place = if !engine.snapshots {
            None
        } else if let Some(path) = &engine.snapshot_path {
            Some(Place::File(path.clone()))
        } else {
            match backend {
                Backend::Postgres => Some(Place::Database {
                    scratch: engine
                        .snapshot_scratch_directory
                        .clone()
                        .unwrap_or_else(std::env::temp_dir),
                }),
                Backend::Sqlite if autointel_db::is_in_memory(url) => None,
                Backend::Sqlite => {
                    sqlx::sqlite::SqliteConnectOptions::from_str(url)
                        .ok()
                        .map(|o| {
                            let mut file = o.get_filename().as_os_str().to_owned();
                            file.push(".engine-snapshot");
                            Place::File(PathBuf::from(file))
                        })
                }
            }
        };
        Self {
            place,
            interval: Duration::from_secs(engine.snapshot_interval_seconds),
            min_new_figures: i64::try_from(engine.snapshot_min_new_figures).unwrap_or(i64::MAX),
            rebuild: engine.rebuild_snapshot,
        }
    }

    /// Where snapshots are kept, if anywhere.
    pub fn place(&self) -> Option<&Place> {
        self.place.as_ref()
    }

    /// The engine of the newest usable snapshot, or `None` (the reason logged and counted)
    /// when the start must replay every figure.
    pub async fn load(&self, state: &Arc<State>) -> Option<(Engine, Written)> {
        let place = self.place.as_ref()?;
        let fallback = |reason: &'static str, detail: String| {
            tracing::warn!(
                reason,
                detail,
                "engine snapshot not used; loading every figure"
            );
            state.metrics.snapshot_fallback(reason);
            None
        };
        if self.rebuild {
            return fallback("rebuild", "engine.rebuild_snapshot is set".to_owned());
        }
        let started = Instant::now();
        let read = match place {
            Place::File(path) => read_file(path.clone()).await,
            Place::Database { .. } => read_database(state).await,
        };
        let (engine, header) = match read {
            Ok(Some(read)) => read,
            Ok(None) => return fallback("missing", "no snapshot".to_owned()),
            Err(e) => return fallback(error_reason(&e), e.to_string()),
        };
        if let Err((reason, detail)) = check(state, &header).await {
            return fallback(reason, detail);
        }
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            figures = header.figures,
            last_seq = header.last_seq,
            seconds,
            "engine read from its snapshot; catching up from the store"
        );
        state.metrics.snapshot_load_seconds.set(seconds);
        state
            .metrics
            .snapshot_timestamp
            .set(header.written_at_micros as f64 / 1e6);
        Some((
            engine,
            Written {
                last_seq: header.last_seq,
                at: Instant::now(),
            },
        ))
    }

    /// Writes a snapshot when the engine has applied at least `engine.snapshot_min_new_figures`
    /// sequence numbers past `last` and `engine.snapshot_interval_seconds` have passed
    /// since it (at once when there is none); returns what it covers.
    pub async fn maybe_write(
        &self,
        state: &Arc<State>,
        last: Option<Written>,
    ) -> Result<Option<Written>, StatsError> {
        let Some(place) = &self.place else {
            return Ok(None);
        };
        if last.is_some_and(|w| w.at.elapsed() < self.interval) {
            return Ok(None);
        }
        let applied = state.read()?.last_seq();
        let since = last.map_or(0, |w| w.last_seq);
        if last.is_some() && applied - since < self.min_new_figures {
            return Ok(None);
        }
        if last.is_none() && applied == 0 {
            return Ok(None);
        }
        self.write(state, place, last).await.map(Some)
    }

    /// Writes a snapshot of the engine as it is now (`previous` is what the last one covered).
    pub async fn write(
        &self,
        state: &Arc<State>,
        place: &Place,
        previous: Option<Written>,
    ) -> Result<Written, StatsError> {
        let started = Instant::now();
        tracing::info!("writing an engine snapshot");
        let staging = match place {
            Place::File(path) => with_suffix(path, ".tmp"),
            Place::Database { scratch } => {
                scratch.join(format!("stats-engine-snapshot-{}.tmp", std::process::id()))
            }
        };
        let (header, bytes) = {
            // Imports wait (queries do not): every figure this replica committed is then
            // at or below the sequence number the snapshot records.
            let _imports = state.import_lock.lock().await;
            state.refresh().await?;
            let last_seq = state.read()?.last_seq();
            let anchor = state.store.figure_id_at(last_seq).await?;
            let writing = state.clone();
            let path = staging.clone();
            tokio::task::spawn_blocking(move || write_file(&writing, &path, anchor.as_deref()))
                .await
                .map_err(|e| StatsError::Internal(format!("snapshot writer: {e}")))??
        };
        match place {
            Place::File(path) => {
                std::fs::rename(&staging, path).map_err(io_error("renaming the snapshot"))?;
                sync_directory(path);
            }
            Place::Database { .. } => {
                let stored = StoredSnapshot {
                    id: 0,
                    last_seq: header.last_seq,
                    anchor: header.anchor.clone(),
                    figures: i64::try_from(header.figures).unwrap_or(i64::MAX),
                    bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
                    chunks: i32::try_from(bytes.div_ceil(SNAPSHOT_CHUNK_BYTES as u64))
                        .unwrap_or(i32::MAX),
                    written_at_micros: header.written_at_micros,
                };
                let file =
                    std::fs::File::open(&staging).map_err(io_error("reading the snapshot"))?;
                let put = state
                    .store
                    .put_snapshot(&stored, SNAPSHOT_FORMAT, BufReader::new(file))
                    .await;
                let _ = std::fs::remove_file(&staging);
                if !put? {
                    tracing::info!(
                        "another replica is writing an engine snapshot; trying again after the interval"
                    );
                    return Ok(Written::failed(previous));
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let metrics = &state.metrics;
        metrics.snapshot_write_seconds.set(seconds);
        metrics
            .snapshot_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        metrics
            .snapshot_timestamp
            .set(header.written_at_micros as f64 / 1e6);
        tracing::info!(
            figures = header.figures,
            last_seq = header.last_seq,
            bytes,
            seconds,
            "engine snapshot written"
        );
        Ok(Written {
            last_seq: header.last_seq,
            at: Instant::now(),
        })
    }
}

/// Refuses a snapshot the store was not at when it was written.
async fn check(state: &State, header: &SnapshotHeader) -> Result<(), (&'static str, String)> {
    let unavailable = |e: StatsError| ("store_unavailable", e.to_string());
    let stored = state.store.last_seq().await.map_err(unavailable)?;
    if header.last_seq > stored {
        return Err((
            "ahead_of_store",
            format!(
                "snapshot holds sequence numbers up to {}, the store only up to {stored}",
                header.last_seq
            ),
        ));
    }
    if header.last_seq > 0 {
        let anchor = state
            .store
            .figure_id_at(header.last_seq)
            .await
            .map_err(unavailable)?;
        if anchor != header.anchor {
            return Err((
                "foreign",
                format!(
                    "the store holds {anchor:?} under sequence number {}, the snapshot {:?}",
                    header.last_seq, header.anchor
                ),
            ));
        }
    }
    Ok(())
}

fn error_reason(e: &SnapshotError) -> &'static str {
    match e {
        SnapshotError::Io(_) => "unreadable",
        SnapshotError::Truncated => "truncated",
        SnapshotError::NotASnapshot | SnapshotError::Checksum | SnapshotError::Inconsistent(_) => {
            "corrupted"
        }
        SnapshotError::Format(_) | SnapshotError::Codes => "other_format",
    }
}

/// Reads the snapshot file, if there is one.
async fn read_file(path: PathBuf) -> Result<Option<(Engine, SnapshotHeader)>, SnapshotError> {
    tokio::task::spawn_blocking(move || {
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let size = file.metadata()?.len();
        Engine::read_snapshot(BufReader::with_capacity(1 << 20, file), size).map(Some)
    })
    .await
    .map_err(|e| SnapshotError::Io(std::io::Error::other(e)))?
}

/// Reads the newest snapshot stored in the database, if there is one: its chunks are
/// fetched one at a time while a blocking task decodes them (at most two in memory).
async fn read_database(
    state: &Arc<State>,
) -> Result<Option<(Engine, SnapshotHeader)>, SnapshotError> {
    let other = |e: StatsError| SnapshotError::Io(std::io::Error::other(e.to_string()));
    let Some(stored) = state
        .store
        .latest_snapshot(SNAPSHOT_FORMAT)
        .await
        .map_err(other)?
    else {
        return Ok(None);
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let size = u64::try_from(stored.bytes).unwrap_or(0);
    let decoder = tokio::task::spawn_blocking(move || {
        Engine::read_snapshot(
            ChunkReader {
                rx,
                chunk: Vec::new(),
                at: 0,
            },
            size,
        )
    });
    let mut fetch_error = None;
    for n in 0..stored.chunks {
        match state.store.snapshot_chunk(stored.id, n).await {
            Ok(chunk) if !chunk.is_empty() => {
                if tx.send(chunk).await.is_err() {
                    break; // the decoder stopped: its error says why
                }
            }
            Ok(_) => break,
            Err(e) => {
                fetch_error = Some(e);
                break;
            }
        }
    }
    drop(tx);
    let decoded = decoder
        .await
        .map_err(|e| SnapshotError::Io(std::io::Error::other(e)))?;
    if let Some(e) = fetch_error {
        return Err(other(e));
    }
    decoded.map(Some)
}

/// Reads the chunks a channel delivers as one stream; the end of the channel is the end.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.blocking_recv() {
                Some(next) => {
                    self.chunk = next;
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Writes the engine to `path` under its read lock, synced; returns its header and size.
fn write_file(
    state: &State,
    path: &Path,
    anchor: Option<&str>,
) -> Result<(SnapshotHeader, u64), StatsError> {
    let file = std::fs::File::create(path).map_err(io_error("creating the snapshot"))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let written = state
        .read()?
        .write_snapshot(&mut out, anchor, now_micros())
        .map_err(|e| StatsError::Internal(format!("writing the snapshot: {e}")))?;
    let file = out
        .into_inner()
        .map_err(|e| StatsError::Internal(format!("writing the snapshot: {e}")))?;
    file.sync_all().map_err(io_error("syncing the snapshot"))?;
    Ok(written)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Syncs the directory holding `path` so a rename survives a power loss (best effort).
fn sync_directory(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

fn io_error(what: &'static str) -> impl Fn(std::io::Error) -> StatsError {
    move |e| StatsError::Internal(format!("{what}: {e}"))
}
