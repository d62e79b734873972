//! What the service shares between requests and the refresh task: the engine behind its
//! lock, the store, the registry client, and the cache of cited figures' wire forms.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use autointel_domain::Source;
use autointel_proto::convert::optional_resource_name;
use autointel_proto::stats as wire;

use super::answers;
use crate::engine::{Engine, FastMap, FigureRef};
use crate::error::StatsError;
use crate::registry_client::RegistryClient;
use crate::store::{Store, StoredFigure};

/// Figures applied to the engine under one hold of its write lock while catching up (a
/// few milliseconds of work).
const APPLY_SLICE: usize = 1_000;

/// The pause between two slices (see [`State::refresh`]).
const SLICE_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);

/// What the service shares between requests and the refresh task.
#[derive(Debug)]
pub struct State {
    /// The in-memory engine.
    pub engine: RwLock<Engine>,
    /// The database.
    pub store: Store,
    /// The registry.
    pub registry: RegistryClient,
    /// Serialises imports in this process (revision links are computed from the engine).
    pub import_lock: tokio::sync::Mutex<()>,
    /// The service's own metrics.
    pub metrics: crate::metrics::StatsMetrics,
    /// Wire forms of the figures answers cite.
    pub wire_figures: WireFigures,
    /// Most figures one import may hold (`import.max_figures`).
    pub max_import_figures: usize,
    /// Which source answers a series and period that several publish
    /// (`engine.source_preference`), set on every engine the service loads.
    pub source_preference: Vec<autointel_domain::SourceId>,
    /// The last sequence number this process wrote, sent after each import so release
    /// watches read it at once.
    pub imported: tokio::sync::watch::Sender<i64>,
}

impl State {
    /// Read access to the engine.
    pub fn read(&self) -> Result<RwLockReadGuard<'_, Engine>, StatsError> {
        self.engine
            .read()
            .map_err(|_| StatsError::Internal("engine lock poisoned".to_owned()))
    }

    /// Write access to the engine.
    pub fn write(&self) -> Result<RwLockWriteGuard<'_, Engine>, StatsError> {
        self.engine
            .write()
            .map_err(|_| StatsError::Internal("engine lock poisoned".to_owned()))
    }

    /// Takes the registry's current version of every source the engine holds that the
    /// registry changed since stats copied it (into the store and the engine); returns how
    /// many changed.
    pub async fn refresh_sources(&self) -> Result<usize, StatsError> {
        let current = self.registry.sources().await?;
        let changed: Vec<Source> = {
            let engine = self.read()?;
            current
                .into_iter()
                .filter(|s| engine.source(&s.id).is_some_and(|held| held != s))
                .collect()
        };
        for source in &changed {
            self.store.update_source(source).await?;
        }
        let count = changed.len();
        let mut engine = self.write()?;
        for source in changed {
            engine.put_source(source);
        }
        Ok(count)
    }

    /// Applies every database figure after the engine's last sequence number (and the
    /// sources they cite); returns how many were new. Queries run between its slices.
    pub async fn refresh(&self) -> Result<usize, StatsError> {
        self.apply_stored(SLICE_PAUSE).await
    }

    /// [`State::refresh`] before the service answers anything (start-up): no query waits
    /// for the lock, so the slices follow each other without a pause (a 100M-figure
    /// replay would otherwise spend minutes pausing).
    pub async fn load_stored(&self) -> Result<usize, StatsError> {
        self.apply_stored(std::time::Duration::ZERO).await
    }

    /// Applies the stored figures after the engine's last sequence number in slices,
    /// `pause` between two slices.
    async fn apply_stored(&self, pause: std::time::Duration) -> Result<usize, StatsError> {
        const BATCH: i64 = 10_000;
        let mut applied = 0;
        loop {
            let after = self.read()?.last_seq();
            let batch = self.store.figures_after(after, BATCH).await?;
            if batch.is_empty() {
                return Ok(applied);
            }
            let mut missing_sources = BTreeSet::new();
            {
                let engine = self.read()?;
                for stored in &batch {
                    let source = &stored.figure.provenance.source;
                    if engine.source(source).is_none() {
                        missing_sources.insert(source.clone());
                    }
                }
            }
            let mut sources = Vec::new();
            for id in missing_sources {
                if let Some(source) = self.store.source(&id).await? {
                    sources.push(source);
                }
            }
            let full = batch.len() == usize::try_from(BATCH).unwrap_or(usize::MAX);
            if !sources.is_empty() {
                let mut engine = self.write()?;
                for source in sources {
                    engine.put_source(source);
                }
            }
            // In slices, each under the write lock on its own: a query waits for one slice
            // at most, never for a whole import.
            for slice in batch.chunks(APPLY_SLICE) {
                {
                    let mut engine = self.write()?;
                    applied += apply(&mut engine, slice)?;
                    if let Some(last) = slice.last() {
                        engine.set_last_seq(last.seq);
                    }
                }
                // A pause between slices, so that queries woken by the release take the
                // lock before the next slice does (the lock does not queue them).
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
            if !full {
                return Ok(applied);
            }
        }
    }
}

/// Applies stored figures to the engine: one merge per series for the whole slice (a long
/// chain delivered newest first is not quadratic), figures already loaded skipped; returns
/// how many were new.
fn apply(engine: &mut Engine, stored: &[StoredFigure]) -> Result<usize, StatsError> {
    engine
        .insert_stored(
            stored
                .iter()
                .map(|s| (&s.figure, s.create_time_micros, s.seq)),
        )
        .map_err(|e| StatsError::Internal(e.to_string()))
}

/// Most figures [`WireFigures`] keeps (a few hundred bytes each); it starts over when full.
const WIRE_FIGURES_MAX: usize = 1 << 16;

/// The wire forms of cited figures, built on first use. A figure never changes once
/// imported except for its place in its revision chain (`supersedes`, `superseded_by`),
/// which only an insert can change: each kept form records the engine's size when it was
/// built, and its chain links are looked up again once the engine has grown.
#[derive(Debug, Default)]
pub struct WireFigures {
    map: RwLock<FastMap<FigureRef, Arc<WireFigure>>>,
}

#[derive(Debug)]
struct WireFigure {
    /// [`Engine::len`] when `figure` was built.
    engine_len: usize,
    figure: wire::SalesFigure,
}

impl WireFigures {
    /// The wire form of a figure, as [`answers::figure`] makes it.
    pub(super) fn get(
        &self,
        engine: &Engine,
        f: FigureRef,
    ) -> Result<wire::SalesFigure, StatsError> {
        let engine_len = engine.len();
        let cached = self.map.read().ok().and_then(|map| map.get(&f).cloned());
        let w = match cached {
            Some(kept) if kept.engine_len == engine_len => return Ok(kept.figure.clone()),
            Some(kept) => {
                let mut w = kept.figure.clone();
                let (previous, next) = engine.neighbours(f);
                w.supersedes =
                    optional_resource_name(previous.and_then(|p| engine.figure_id(p)).as_ref());
                w.superseded_by =
                    optional_resource_name(next.and_then(|n| engine.figure_id(n)).as_ref());
                w
            }
            None => answers::figure(engine, f)?,
        };
        if let Ok(mut map) = self.map.write() {
            if map.len() >= WIRE_FIGURES_MAX {
                map.clear();
            }
            let kept = WireFigure {
                engine_len,
                figure: w.clone(),
            };
            map.insert(f, Arc::new(kept));
        }
        Ok(w)
    }
}
