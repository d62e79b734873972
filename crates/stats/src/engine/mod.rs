//! The in-memory query engine: every stored figure, indexed by series and period, and every
//! query as a pure function over domain types.
//!
//! No I/O, no tonic, no sqlx: the service loads the engine from the database, applies each
//! import and each replica refresh to it, and answers every query from it.
//!
//! # Memory layout
//!
//! - Organisations, markets and sources are interned to `u32`.
//! - A figure is a compact [`Row`] (40 bytes: units, like-for-like base, series, source,
//!   as-of day, period start/end as `u16` month indexes, stage, import-time predecessor);
//!   its id (`u128`) and import time (`i64`) live in parallel vectors, notes in a sparse map.
//! - A series key is a 12-byte [`CompactKey`]; `series` maps it to a series index and each
//!   series holds its periods sorted by (start, end), each period its revision chain (row
//!   indexes in revision order). A query touches only the periods inside its range.
//!
//! Every answer names the figures it used ([`FigureRef`]s, each once); the service turns
//! them into wire figures with [`Engine::figure`].

mod queries;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::Hash;

use autointel_domain::{
    Date, Flow, Market, MeasureBasis, MonthRange, OrganizationId, Powertrain, Provenance,
    ReleaseStage, SalesFigure, SalesFigureId, SeriesKey, Source, SourceId, Units, VehicleScope,
    YearMonth,
};

pub use queries::*;

/// An error applying a figure to the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The figure id is not one the service assigns (`f` and 32 hex digits).
    #[error("figure id {0:?} is not a service-assigned id")]
    ForeignId(String),
    /// A figure with this id is already loaded.
    #[error("figure {0} is already loaded")]
    Duplicate(String),
}

/// A handle on one stored figure; stable for the life of the engine.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FigureRef(u32);

const NONE: u32 = u32::MAX;
const NO_PRIOR: u64 = u64::MAX;

/// One figure, compactly (see the module docs).
#[derive(Copy, Clone, Debug)]
#[repr(C)]
struct Row {
    units: u64,
    /// Like-for-like base, [`NO_PRIOR`] when none.
    comparable_prior: u64,
    series: u32,
    source: u32,
    /// As-of day as `yyyymmdd`.
    as_of: u32,
    /// Row this figure superseded when it was imported, [`NONE`] when none.
    supersedes: u32,
    start: u16,
    end: u16,
    stage: u8,
}

/// A series key with interned organisation and market.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
struct CompactKey {
    /// Interned organisation, [`NONE`] for the whole market.
    organization: u32,
    market: u32,
    basis: u8,
    flow: u8,
    scope: u8,
    powertrain: u8,
}

/// The revisions of one (series, period), in revision order (last = latest).
#[derive(Clone, Debug)]
struct PeriodEntry {
    start: u16,
    end: u16,
    revisions: Vec<u32>,
}

#[derive(Clone, Debug)]
struct Interner<T> {
    index: HashMap<T, u32>,
    values: Vec<T>,
}

impl<T: Hash + Eq + Clone> Interner<T> {
    fn new() -> Self {
        Self {
            index: HashMap::new(),
            values: Vec::new(),
        }
    }

    fn intern(&mut self, value: &T) -> u32 {
        if let Some(&i) = self.index.get(value) {
            return i;
        }
        let i = u32::try_from(self.values.len()).unwrap_or(NONE);
        self.index.insert(value.clone(), i);
        self.values.push(value.clone());
        i
    }

    fn get(&self, value: &T) -> Option<u32> {
        self.index.get(value).copied()
    }

    fn value(&self, i: u32) -> Option<&T> {
        self.values.get(i as usize)
    }
}

impl<T> Default for Interner<T>
where
    T: Hash + Eq + Clone,
{
    fn default() -> Self {
        Self::new()
    }
}

/// Month index since January [`autointel_domain::MIN_YEAR`], fits `u16` for the year range.
fn month_code(m: YearMonth) -> u16 {
    u16::try_from(m.index() - YearMonth::MIN.index()).unwrap_or(u16::MAX)
}

fn month_from_code(code: u16) -> YearMonth {
    YearMonth::from_index(YearMonth::MIN.index() + i32::from(code)).unwrap_or(YearMonth::MIN)
}

fn range_from_codes(start: u16, end: u16) -> MonthRange {
    MonthRange::new(month_from_code(start), month_from_code(end))
        .unwrap_or_else(|_| MonthRange::month(month_from_code(start)))
}

/// A date as `yyyymmdd`, ordered like the date.
pub fn day_code(d: Date) -> u32 {
    u32::try_from(d.year()).unwrap_or(0) * 10_000 + u32::from(d.month()) * 100 + u32::from(d.day())
}

/// The date of a `yyyymmdd` code; `None` when it is not a valid date.
pub fn date_from_code(code: u32) -> Option<Date> {
    let year = i32::try_from(code / 10_000).ok()?;
    let month = u8::try_from(code / 100 % 100).ok()?;
    let day = u8::try_from(code % 100).ok()?;
    Date::new(year, month, day).ok()
}

fn stage_code(stage: ReleaseStage) -> u8 {
    // Declaration order is revision order.
    ReleaseStage::ALL
        .iter()
        .position(|s| *s == stage)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(0)
}

fn enum_code<T: PartialEq + Copy>(all: &[T], value: T) -> u8 {
    all.iter()
        .position(|v| *v == value)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(0)
}

fn enum_value<T: Copy>(all: &[T], code: u8) -> Option<T> {
    all.get(usize::from(code)).copied()
}

/// Parses a service-assigned figure id (`f` followed by 32 lowercase hex digits).
pub fn figure_number(id: &SalesFigureId) -> Option<u128> {
    let hex = id.as_str().strip_prefix('f')?;
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

/// The figure id for a number (the inverse of [`figure_number`]); `f` and hex digits always
/// satisfy the resource-id rule, so this is `None` only if that rule changes.
pub fn figure_id(number: u128) -> Option<SalesFigureId> {
    SalesFigureId::parse(&format!("f{number:032x}")).ok()
}

/// The in-memory store of every figure and the sources they cite.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    organizations: Interner<OrganizationId>,
    markets: Interner<Market>,
    sources: Interner<SourceId>,
    source_details: HashMap<u32, Source>,
    rows: Vec<Row>,
    numbers: Vec<u128>,
    create_times: Vec<i64>,
    notes: HashMap<u32, Box<str>>,
    by_number: HashMap<u128, u32>,
    series: HashMap<CompactKey, u32>,
    series_keys: Vec<CompactKey>,
    periods: Vec<Vec<PeriodEntry>>,
    last_seq: i64,
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

    /// The highest database sequence number applied (0 when none).
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    /// Records that every database row up to `seq` has been applied.
    pub fn set_last_seq(&mut self, seq: i64) {
        self.last_seq = self.last_seq.max(seq);
    }

    /// True when a figure with this id is loaded.
    pub fn contains(&self, id: &SalesFigureId) -> bool {
        figure_number(id).is_some_and(|n| self.by_number.contains_key(&n))
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

    /// Adds one figure (an import or a refresh) with its import time in microseconds since
    /// the Unix epoch, placing it in its revision chain.
    pub fn insert(
        &mut self,
        figure: &SalesFigure,
        create_time_micros: i64,
    ) -> Result<FigureRef, EngineError> {
        let number = figure_number(&figure.id)
            .ok_or_else(|| EngineError::ForeignId(figure.id.to_string()))?;
        if self.by_number.contains_key(&number) {
            return Err(EngineError::Duplicate(figure.id.to_string()));
        }
        let key = self.intern_key(&figure.key);
        let series = match self.series.get(&key) {
            Some(&s) => s,
            None => {
                let s = u32::try_from(self.series_keys.len()).unwrap_or(NONE);
                self.series.insert(key, s);
                self.series_keys.push(key);
                self.periods.push(Vec::new());
                s
            }
        };
        let supersedes = figure
            .provenance
            .supersedes
            .as_ref()
            .and_then(figure_number)
            .and_then(|n| self.by_number.get(&n).copied())
            .unwrap_or(NONE);
        let row = Row {
            units: figure.units.get(),
            comparable_prior: figure.comparable_prior.map_or(NO_PRIOR, Units::get),
            series,
            source: self.sources.intern(&figure.provenance.source),
            as_of: day_code(figure.provenance.as_of),
            supersedes,
            start: month_code(figure.period.start()),
            end: month_code(figure.period.end()),
            stage: stage_code(figure.provenance.stage),
        };
        let r = u32::try_from(self.rows.len()).unwrap_or(NONE);
        self.rows.push(row);
        self.numbers.push(number);
        self.create_times.push(create_time_micros);
        if let Some(note) = &figure.note {
            self.notes.insert(r, note.clone().into_boxed_str());
        }
        self.by_number.insert(number, r);

        let entries = &mut self.periods[series as usize];
        let at = entries.partition_point(|e| (e.start, e.end) < (row.start, row.end));
        if entries
            .get(at)
            .is_none_or(|e| (e.start, e.end) != (row.start, row.end))
        {
            entries.insert(
                at,
                PeriodEntry {
                    start: row.start,
                    end: row.end,
                    revisions: Vec::new(),
                },
            );
        }
        let rows = &self.rows;
        let revisions = &mut entries[at].revisions;
        let pos = revisions.partition_point(|&other| {
            revision_cmp(rows, &self.numbers, other, r) == Ordering::Less
        });
        revisions.insert(pos, r);
        Ok(FigureRef(r))
    }

    fn intern_key(&mut self, key: &SeriesKey) -> CompactKey {
        CompactKey {
            organization: key
                .organization
                .as_ref()
                .map_or(NONE, |o| self.organizations.intern(o)),
            market: self.markets.intern(&key.market),
            basis: enum_code(MeasureBasis::ALL, key.basis),
            flow: enum_code(Flow::ALL, key.flow),
            scope: enum_code(VehicleScope::ALL, key.scope),
            powertrain: enum_code(Powertrain::ALL, key.powertrain),
        }
    }

    /// The compact key of a series, without interning; `None` when nothing was stored for
    /// its organisation or market.
    fn lookup_key(&self, key: &SeriesKey) -> Option<CompactKey> {
        Some(CompactKey {
            organization: match &key.organization {
                Some(o) => self.organizations.get(o)?,
                None => NONE,
            },
            market: self.markets.get(&key.market)?,
            basis: enum_code(MeasureBasis::ALL, key.basis),
            flow: enum_code(Flow::ALL, key.flow),
            scope: enum_code(VehicleScope::ALL, key.scope),
            powertrain: enum_code(Powertrain::ALL, key.powertrain),
        })
    }

    fn series_of(&self, key: &SeriesKey) -> Option<u32> {
        self.lookup_key(key)
            .and_then(|k| self.series.get(&k).copied())
    }

    fn key_of(&self, k: &CompactKey) -> Option<SeriesKey> {
        Some(SeriesKey {
            organization: if k.organization == NONE {
                None
            } else {
                Some(self.organizations.value(k.organization)?.clone())
            },
            basis: enum_value(MeasureBasis::ALL, k.basis)?,
            flow: enum_value(Flow::ALL, k.flow)?,
            market: self.markets.value(k.market)?.clone(),
            scope: enum_value(VehicleScope::ALL, k.scope)?,
            powertrain: enum_value(Powertrain::ALL, k.powertrain)?,
        })
    }

    /// Looks a figure up by id (superseded ones included).
    pub fn find(&self, id: &SalesFigureId) -> Option<FigureRef> {
        figure_number(id)
            .and_then(|n| self.by_number.get(&n))
            .map(|&r| FigureRef(r))
    }

    /// The id of a figure.
    pub fn figure_id(&self, f: FigureRef) -> Option<SalesFigureId> {
        self.numbers.get(f.0 as usize).and_then(|&n| figure_id(n))
    }

    /// The import time of a figure, in microseconds since the Unix epoch.
    pub fn create_time_micros(&self, f: FigureRef) -> i64 {
        self.create_times.get(f.0 as usize).copied().unwrap_or(0)
    }

    /// A figure as a domain value; `supersedes` is its predecessor in its revision chain.
    pub fn figure(&self, f: FigureRef) -> Option<SalesFigure> {
        let row = self.rows.get(f.0 as usize)?;
        let key = self.key_of(self.series_keys.get(row.series as usize)?)?;
        let (previous, _) = self.neighbours(f);
        Some(SalesFigure {
            id: self.figure_id(f)?,
            key,
            period: range_from_codes(row.start, row.end),
            units: Units::from_u64(row.units).ok()?,
            comparable_prior: if row.comparable_prior == NO_PRIOR {
                None
            } else {
                Units::from_u64(row.comparable_prior).ok()
            },
            provenance: Provenance {
                source: self.sources.value(row.source)?.clone(),
                stage: enum_value(ReleaseStage::ALL, row.stage)?,
                as_of: date_from_code(row.as_of)?,
                supersedes: previous.and_then(|p| self.figure_id(p)),
            },
            note: self.notes.get(&f.0).map(|n| n.to_string()),
        })
    }

    /// The revision before and after a figure in its (series, period) chain.
    pub fn neighbours(&self, f: FigureRef) -> (Option<FigureRef>, Option<FigureRef>) {
        let Some(chain) = self.chain_of(f) else {
            return (None, None);
        };
        let Some(pos) = chain.iter().position(|&r| r == f.0) else {
            return (None, None);
        };
        let previous = pos
            .checked_sub(1)
            .and_then(|p| chain.get(p))
            .map(|&r| FigureRef(r));
        let next = chain.get(pos + 1).map(|&r| FigureRef(r));
        (previous, next)
    }

    /// The figure that revised this one, if any.
    pub fn superseded_by(&self, f: FigureRef) -> Option<FigureRef> {
        self.neighbours(f).1
    }

    fn chain_of(&self, f: FigureRef) -> Option<&[u32]> {
        let row = self.rows.get(f.0 as usize)?;
        let entries = self.periods.get(row.series as usize)?;
        let at = entries
            .binary_search_by(|e| (e.start, e.end).cmp(&(row.start, row.end)))
            .ok()?;
        Some(&entries[at].revisions)
    }

    /// Every revision of one series and period, oldest first.
    pub fn revisions(&self, key: &SeriesKey, period: MonthRange) -> Vec<FigureRef> {
        let Some(series) = self.series_of(key) else {
            return Vec::new();
        };
        let (start, end) = (month_code(period.start()), month_code(period.end()));
        let entries = &self.periods[series as usize];
        match entries.binary_search_by(|e| (e.start, e.end).cmp(&(start, end))) {
            Ok(at) => entries[at]
                .revisions
                .iter()
                .map(|&r| FigureRef(r))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The latest revision of one series and period, regardless of `as_of` (the figure a new
    /// import of that series and period supersedes).
    pub fn latest_revision(&self, key: &SeriesKey, period: MonthRange) -> Option<FigureRef> {
        self.revisions(key, period).last().copied()
    }

    /// Where a new figure would go in its chain: the revision it would directly follow.
    pub fn predecessor_of(&self, figure: &SalesFigure) -> Option<FigureRef> {
        let chain = self.revisions(&figure.key, figure.period);
        let stage = stage_code(figure.provenance.stage);
        let as_of = day_code(figure.provenance.as_of);
        // A new figure follows every revision not later than it (ties: the newcomer wins).
        chain
            .iter()
            .rev()
            .find(|f| {
                let row = &self.rows[f.0 as usize];
                (row.stage, row.as_of) <= (stage, as_of)
            })
            .copied()
    }

    /// The sources cited by a set of figures, each once, in first-cited order; sources
    /// without a recorded snapshot are named only.
    pub fn sources_of(&self, figures: &[FigureRef]) -> Vec<SourceCitation> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for f in figures {
            let Some(row) = self.rows.get(f.0 as usize) else {
                continue;
            };
            if seen.contains(&row.source) {
                continue;
            }
            seen.push(row.source);
            if let Some(id) = self.sources.value(row.source) {
                out.push(SourceCitation {
                    id: id.clone(),
                    details: self.source_details.get(&row.source).cloned(),
                });
            }
        }
        out
    }

    /// The figure known on `as_of` (latest when `None`) among one chain.
    fn latest_known(&self, revisions: &[u32], as_of: Option<u32>) -> Option<u32> {
        revisions
            .iter()
            .rev()
            .find(|&&r| as_of.is_none_or(|d| self.rows[r as usize].as_of <= d))
            .copied()
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

/// Revision order of two rows: stage, then as-of date; on a tie the row that names the
/// other as superseded comes later, else the larger id (as `SalesFigure::latest_known`).
fn revision_cmp(rows: &[Row], numbers: &[u128], a: u32, b: u32) -> Ordering {
    let (ra, rb) = (&rows[a as usize], &rows[b as usize]);
    (ra.stage, ra.as_of)
        .cmp(&(rb.stage, rb.as_of))
        .then_with(|| {
            if ra.supersedes == b {
                Ordering::Greater
            } else if rb.supersedes == a {
                Ordering::Less
            } else {
                numbers[a as usize].cmp(&numbers[b as usize])
            }
        })
}
