//! The in-memory query engine: every stored figure, indexed by series and period, and every
//! query as a pure function over domain types.
//!
//! No I/O, no tonic, no sqlx: the service loads the engine from the database, applies each
//! import and each replica refresh to it, and answers every query from it.
//!
//! # Memory layout (about 47 bytes per figure at 10 million figures)
//!
//! - Organisations, markets and sources are interned to `u32`.
//! - A figure is a 16-byte [`Row`]: units (40 bits), as-of day (19 bits), stage (3 bits),
//!   series and source. Its id (`u128`, 16 bytes) lives in a parallel vector and is found
//!   through an open-addressing table of `u32` row indexes (4 bytes a slot, at most 3/4
//!   full). Import times are run-length encoded (one entry per import); notes, like-for-like
//!   bases and import-time predecessors are sparse maps (most figures have none).
//! - A series key is a 20-byte [`CompactKey`] (with its destination and nature); `series` maps it to a series index. Each
//!   series holds its figures as 8-byte [`Entry`]s (period start and end as `u16` month
//!   indexes, row) sorted by (start, end, revision order), so one period's revision chain is
//!   a contiguous run whose last entry is the latest revision, and a query touches only the
//!   entries inside its range, in one contiguous slice.
//! - Series are also indexed by organisation and by their other dimensions, so a ranking
//!   or a breakdown visits only the series that can match, and series with a destination
//!   by their origin (the key without the destination), so a destination breakdown visits
//!   only the origin's destinations.
//! - Finding a figure's own entry (its period and neighbours) scans its series while the
//!   series holds at most `LONG_SERIES` entries; a longer series keeps a row → period
//!   index (8 bytes a figure of such series only), and the figure is then found by binary
//!   search in its chain, so a chain of any length costs a logarithmic lookup.
//!
//! Every answer names the figures it used ([`FigureRef`]s, each once); the service turns
//! them into wire figures with [`Engine::figure`].
//!
//! # Modules
//!
//! `layout` holds the packed rows, entries, keys, interners and the id index; `load` adds
//! figures; `series` interns and filters series keys; `chains` walks revision chains and
//! links an import's figures into them; `queries` answers, one module per question.

mod chains;
mod layout;
mod load;
mod pick;
#[cfg(test)]
mod proptests;
mod queries;
#[cfg(test)]
mod rollup_tests;
mod series;
mod snapshot;
#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod tests;
mod view;
mod zones;

use std::collections::HashMap;

use autointel_domain::{
    Market, OrganizationId, Provenance, SalesFigure, SalesFigureId, SeriesKey, Source, SourceId,
    Units,
};

pub use autointel_domain::{
    BreakdownFilter, Granularity, ListFilter, ProgressStatus, grain_periods,
};
pub use chains::{Link, RevisionPage};
pub use layout::{FastHasher, FastMap, date_from_code, day_code, figure_id, figure_number};
pub use queries::*;
pub use snapshot::{SNAPSHOT_FORMAT, SnapshotError, SnapshotHeader};
pub use view::{FigureName, FigureView, Listed};

use layout::{CompactKey, Dims, Entry, FastSet, IdIndex, Interner, Numbers, Row};
// In scope for the tests' `use super::*`.
#[cfg(test)]
use layout::{as_of_code, stage_code};

/// An error applying a figure to the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The figure id is not one the service assigns (`f` and 32 hex digits).
    #[error("figure id {0:?} is not a service-assigned id")]
    ForeignId(String),
    /// A figure with this id is already loaded.
    #[error("figure {0} is already loaded")]
    Duplicate(String),
    /// A value outside what the engine stores (units above 2^40, too many rows).
    #[error("figure {0} cannot be stored: {1}")]
    Unrepresentable(String, &'static str),
}

/// A handle on one stored figure; stable for the life of the engine.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FigureRef(u32);

/// The in-memory store of every figure and the sources they cite.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    organizations: Interner<OrganizationId>,
    markets: Interner<Market>,
    sources: Interner<SourceId>,
    source_details: HashMap<u32, Source>,
    rows: Vec<Row>,
    /// The as-of dates of blocks of rows (derived from `rows`).
    as_of_zones: zones::AsOfZones,
    numbers: Numbers,
    ids: IdIndex,
    /// (first row, import time): one run per import.
    create_runs: Vec<(u32, i64)>,
    /// (first row, store sequence number of that row): the rows of a run have consecutive
    /// sequence numbers; a run starting at 0 is of rows loaded without one (every row of it
    /// counts as 0). One run per import or refresh batch, usually fewer.
    seq_runs: Vec<(u32, i64)>,
    /// The highest store sequence number of any row.
    max_row_seq: i64,
    notes: FastMap<u32, Box<str>>,
    comparable_priors: FastMap<u32, u64>,
    /// Row → the row it superseded when it was imported, kept only where revision order
    /// needs it: both of one series with the same stage and as-of date.
    supersedes: FastMap<u32, u32>,
    series: FastMap<CompactKey, u32>,
    series_keys: Vec<CompactKey>,
    /// Each series' rank in listing order, computed on first use after a new series.
    series_ranks: std::sync::OnceLock<std::sync::Arc<Vec<u32>>>,
    entries: Vec<Vec<Entry>>,
    by_organization: FastMap<u32, Vec<u32>>,
    by_dims: FastMap<Dims, Vec<u32>>,
    /// Series with a destination, by their origin: their key without the destination.
    by_origin: FastMap<CompactKey, Vec<u32>>,
    /// Series with more than [`LONG_SERIES`](layout::LONG_SERIES) entries → (row, period code) of each of their
    /// figures, ascending by row (rows are only ever appended).
    long_series: FastMap<u32, Vec<(u32, u32)>>,
    /// Series holding a revision link that goes against id order: a figure that names as
    /// superseded a figure of the same series, stage and as-of date with a larger id
    /// (possible only when ids were minted on clocks out of step). In every other series
    /// revision order is (stage, as-of, id), a total order, which lets lookups and batch
    /// inserts use it directly.
    irregular: FastSet<u32>,
    last_seq: i64,
    /// Which source answers a series and period that several publish (see
    /// [`Engine::set_source_preference`]); not part of a snapshot.
    source_preference: Vec<SourceId>,
}

impl Engine {
    /// An empty engine.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of figures loaded.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no figure is loaded.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Releases spare capacity after a bulk load (answers are unchanged).
    pub fn compact(&mut self) {
        self.rows.shrink_to_fit();
        self.as_of_zones.shrink_to_fit();
        self.numbers.shrink_to_fit();
        self.create_runs.shrink_to_fit();
        self.seq_runs.shrink_to_fit();
        self.ids.shrink_to_fit();
        for list in &mut self.entries {
            list.shrink_to_fit();
        }
        for list in self.by_organization.values_mut() {
            list.shrink_to_fit();
        }
        for list in self.by_dims.values_mut() {
            list.shrink_to_fit();
        }
        for list in self.by_origin.values_mut() {
            list.shrink_to_fit();
        }
        for index in self.long_series.values_mut() {
            index.shrink_to_fit();
        }
    }

    /// The highest database sequence number applied (0 when none).
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    /// Records that every database row up to `seq` has been applied.
    pub fn set_last_seq(&mut self, seq: i64) {
        self.last_seq = self.last_seq.max(seq);
    }

    /// The store sequence number of a figure (0 when it was loaded without one).
    pub fn seq_of(&self, f: FigureRef) -> i64 {
        self.row_seq(f.0)
    }

    /// The store sequence number of row `r`, from its run.
    fn row_seq(&self, r: u32) -> i64 {
        let at = self.seq_runs.partition_point(|&(first, _)| first <= r);
        match at.checked_sub(1).and_then(|i| self.seq_runs.get(i)) {
            Some(&(_, 0)) | None => 0,
            Some(&(first, seq)) => seq + i64::from(r - first),
        }
    }

    /// True when row `r` was stored at or before sequence number `mark` (always when
    /// `mark` is `None`).
    fn visible_at(&self, r: u32, mark: Option<i64>) -> bool {
        match mark {
            None => true,
            Some(m) if m >= self.max_row_seq => true,
            Some(m) => self.row_seq(r) <= m,
        }
    }

    /// True when some figure was stored after sequence number `mark`.
    pub fn holds_later_than(&self, mark: i64) -> bool {
        self.max_row_seq > mark
    }

    /// Records row `r`'s store sequence number (0 for none), extending the last run when
    /// it continues it.
    fn record_seq(&mut self, r: u32, seq: i64) {
        let continues = self.seq_runs.last().is_some_and(|&(first, s)| {
            if s == 0 {
                seq == 0
            } else {
                seq == s + i64::from(r - first)
            }
        });
        if !continues {
            self.seq_runs.push((r, seq));
        }
        self.max_row_seq = self.max_row_seq.max(seq);
    }

    fn row_of(&self, number: u128) -> Option<u32> {
        self.ids.find(number, &self.numbers)
    }

    /// True when a figure with this id is loaded.
    pub fn contains(&self, id: &SalesFigureId) -> bool {
        figure_number(id).is_some_and(|n| self.row_of(n).is_some())
    }

    /// Records a source's details (the registry snapshot) so answers can cite it.
    pub fn put_source(&mut self, source: Source) {
        let i = self.sources.intern(&source.id);
        self.source_details.insert(i, source);
    }

    /// The snapshot of a source, if recorded.
    pub fn source(&self, id: &SourceId) -> Option<&Source> {
        self.sources
            .get(id)
            .and_then(|i| self.source_details.get(&i))
    }

    /// Looks a figure up by id (superseded ones included).
    pub fn find(&self, id: &SalesFigureId) -> Option<FigureRef> {
        figure_number(id)
            .and_then(|n| self.row_of(n))
            .map(FigureRef)
    }

    /// The id of a figure.
    pub fn figure_id(&self, f: FigureRef) -> Option<SalesFigureId> {
        self.numbers.try_get(f.0 as usize).and_then(figure_id)
    }

    /// The import time of a figure, in microseconds since the Unix epoch.
    pub fn create_time_micros(&self, f: FigureRef) -> i64 {
        let at = self.create_runs.partition_point(|&(first, _)| first <= f.0);
        at.checked_sub(1)
            .and_then(|i| self.create_runs.get(i))
            .map_or(0, |&(_, t)| t)
    }

    /// The units of a figure.
    pub fn units(&self, f: FigureRef) -> Option<u64> {
        self.rows.get(f.0 as usize).map(Row::units)
    }

    /// A figure as a domain value; `supersedes` is its predecessor in its revision chain.
    pub fn figure(&self, f: FigureRef) -> Option<SalesFigure> {
        let v = self.view(f, None)?;
        Some(SalesFigure {
            id: figure_id(v.name.0)?,
            key: SeriesKey {
                organization: v.organization.cloned(),
                basis: v.basis,
                flow: v.flow,
                market: v.market.clone(),
                scope: v.scope,
                powertrain: v.powertrain,
                destination: v.destination.cloned(),
            },
            period: v.period,
            units: Units::from_u64(v.units).ok()?,
            nature: v.nature,
            comparable_prior: v.comparable_prior.and_then(|p| Units::from_u64(p).ok()),
            provenance: Provenance {
                source: v.source.clone(),
                stage: v.stage,
                as_of: v.as_of,
                supersedes: v.supersedes.and_then(|p| figure_id(p.0)),
            },
            note: v.note.map(str::to_owned),
        })
    }

    /// The sources cited by a set of figures, each once, in first-cited order; sources
    /// without a recorded snapshot are named only.
    pub fn sources_of(&self, figures: &[FigureRef]) -> Vec<SourceCitation> {
        let mut seen = FastSet::default();
        let mut out = Vec::new();
        for f in figures {
            let Some(row) = self.rows.get(f.0 as usize) else {
                continue;
            };
            if !seen.insert(row.source) {
                continue;
            }
            if let Some(id) = self.sources.value(row.source) {
                out.push(SourceCitation {
                    id: id.clone(),
                    details: self.source_details.get(&row.source).cloned(),
                });
            }
        }
        out
    }
}

/// A source cited by an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceCitation {
    /// The source id.
    pub id: SourceId,
    /// Its registry snapshot, when recorded.
    pub details: Option<Source>,
}
