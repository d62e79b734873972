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
//! - A series key is a 12-byte [`CompactKey`]; `series` maps it to a series index. Each
//!   series holds its figures as 8-byte [`Entry`]s (period start and end as `u16` month
//!   indexes, row) sorted by (start, end, revision order), so one period's revision chain is
//!   a contiguous run whose last entry is the latest revision, and a query touches only the
//!   entries inside its range, in one contiguous slice.
//! - Series are also indexed by organisation and by their other dimensions, so a ranking
//!   or a breakdown visits only the series that can match.
//! - Finding a figure's own entry (its period and neighbours) scans its series while the
//!   series holds at most [`LONG_SERIES`] entries; a longer series keeps a row → period
//!   index (8 bytes a figure of such series only), and the figure is then found by binary
//!   search in its chain, so a chain of any length costs a logarithmic lookup.
//!
//! Every answer names the figures it used ([`FigureRef`]s, each once); the service turns
//! them into wire figures with [`Engine::figure`].

#[cfg(test)]
mod proptests;
mod queries;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

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
    /// A value outside what the engine stores (units above 2^40, too many rows).
    #[error("figure {0} cannot be stored: {1}")]
    Unrepresentable(String, &'static str),
}

/// A handle on one stored figure; stable for the life of the engine.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FigureRef(u32);

const NONE: u32 = u32::MAX;
const UNITS_LIMIT: u64 = 1 << 40;
const AS_OF_BITS: u32 = 19;
const AS_OF_MASK: u32 = (1 << AS_OF_BITS) - 1;
const STAGE_SHIFT: u32 = AS_OF_BITS;
const UNITS_HI_SHIFT: u32 = 22;

/// Longest series whose figures are found by scanning its entries; longer series keep a
/// row → period index (see [`Engine::long_series`]). Small under test, so that the indexed
/// path is the one most test data takes.
const LONG_SERIES: usize = if cfg!(test) { 6 } else { 1024 };

/// A period as one `u32`: start month code (high half) and end month code (low half).
fn period_code((start, end): (u16, u16)) -> u32 {
    (u32::from(start) << 16) | u32::from(end)
}

fn period_from_code(code: u32) -> (u16, u16) {
    ((code >> 16) as u16, (code & 0xffff) as u16)
}

/// One figure, compactly (see the module docs).
#[derive(Copy, Clone, Debug)]
struct Row {
    /// Low 32 bits of the units.
    units_lo: u32,
    /// As-of day code (bits 0..19), stage (19..22), high 8 bits of the units (22..30).
    packed: u32,
    series: u32,
    source: u32,
}

impl Row {
    fn units(&self) -> u64 {
        u64::from(self.units_lo) | (u64::from(self.packed >> UNITS_HI_SHIFT) << 32)
    }

    /// As-of day as an ordered code (see [`as_of_code`]).
    fn as_of(&self) -> u32 {
        self.packed & AS_OF_MASK
    }

    fn stage(&self) -> u8 {
        // Three bits, so the conversion cannot fail.
        u8::try_from((self.packed >> STAGE_SHIFT) & 7).unwrap_or(0)
    }

    /// (stage, as-of): the first two keys of revision order.
    fn order(&self) -> (u8, u32) {
        (self.stage(), self.as_of())
    }
}

/// (start, end, stage, as-of, number): see [`Engine::entry_key`].
type EntryKey = (u16, u16, u8, u32, u128);

/// One figure of a series: its period and row.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Entry {
    start: u16,
    end: u16,
    row: u32,
}

impl Entry {
    fn period(&self) -> (u16, u16) {
        (self.start, self.end)
    }
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

impl CompactKey {
    fn dims(&self) -> Dims {
        Dims {
            market: self.market,
            basis: self.basis,
            flow: self.flow,
            scope: self.scope,
            powertrain: self.powertrain,
        }
    }
}

/// Every dimension of a series key but the organisation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
struct Dims {
    market: u32,
    basis: u8,
    flow: u8,
    scope: u8,
    powertrain: u8,
}

/// A fast hasher for small integer keys (multiplicative, Fx-style); not DoS-resistant,
/// which is fine for keys the engine assigns itself.
#[derive(Default, Clone, Copy, Debug)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// A map keyed by small integers the engine assigns (rows, interned ids, [`FigureRef`]s).
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
type FastSet<K> = std::collections::HashSet<K, BuildHasherDefault<FastHasher>>;

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

/// Figure number → row: open addressing with linear probing over `u32` row indexes (the
/// numbers themselves live in the engine's [`Numbers`]). Any number of slots (a slot is
/// picked by multiplying the hash into the table's size), at most 7/8 full; growing doubles
/// it, and [`IdIndex::compact`] after a bulk load sizes it to 4/5 full (5 bytes a figure
/// instead of up to 8).
#[derive(Clone, Debug, Default)]
struct IdIndex {
    slots: Vec<u32>,
    len: usize,
}

impl IdIndex {
    fn slot_of(number: u128, slots: usize) -> usize {
        // Service ids are UUIDv7: the low 64 bits are random; fold the rest in anyway.
        let folded = (number as u64) ^ ((number >> 64) as u64).rotate_left(29);
        let hash = folded.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        // `hash * slots / 2^64`: uniform over any table size
        ((u128::from(hash) * slots as u128) >> 64) as usize
    }

    fn next(i: usize, slots: usize) -> usize {
        if i + 1 == slots { 0 } else { i + 1 }
    }

    fn find(&self, number: u128, numbers: &Numbers) -> Option<u32> {
        let slots = self.slots.len();
        if slots == 0 {
            return None;
        }
        let mut i = Self::slot_of(number, slots);
        loop {
            let r = self.slots[i];
            if r == NONE {
                return None;
            }
            if numbers.is(r as usize, number) {
                return Some(r);
            }
            i = Self::next(i, slots);
        }
    }

    /// Inserts a row whose number is not present yet.
    fn insert(&mut self, row: u32, numbers: &Numbers) {
        if (self.len + 1) * 8 > self.slots.len() * 7 {
            let capacity = (self.slots.len() * 2).max(1024);
            self.rebuild(capacity, numbers, row);
        }
        let slots = self.slots.len();
        let mut i = Self::slot_of(numbers.get(row as usize), slots);
        while self.slots[i] != NONE {
            i = Self::next(i, slots);
        }
        self.slots[i] = row;
        self.len += 1;
    }

    /// Re-sizes the table to be 4/5 full, for a table that will mostly be read.
    fn compact(&mut self, numbers: &Numbers) {
        let rows = u32::try_from(self.len).unwrap_or(u32::MAX);
        let capacity = (self.len + self.len / 4 + 1).max(1024);
        if capacity < self.slots.len() {
            self.rebuild(capacity, numbers, rows);
        }
    }

    /// Re-creates the table with `capacity` slots holding rows `0..rows`.
    fn rebuild(&mut self, capacity: usize, numbers: &Numbers, rows: u32) {
        self.slots = Vec::new();
        self.slots = vec![NONE; capacity];
        self.len = 0;
        for r in 0..rows {
            let mut i = Self::slot_of(numbers.get(r as usize), capacity);
            while self.slots[i] != NONE {
                i = Self::next(i, capacity);
            }
            self.slots[i] = r;
            self.len += 1;
        }
    }
}

/// Figure numbers (the 128 bits of each figure's UUIDv7 id) by row: the low 64 bits of each,
/// and the high 64 bits (creation millisecond, version, the top of the monotonic counter)
/// run-length encoded, since the figures of one import are numbered within a few
/// milliseconds and rows are kept in import order. 8 bytes a figure instead of 16, plus 12
/// a run.
#[derive(Clone, Debug, Default)]
struct Numbers {
    low: Vec<u64>,
    /// First row of each run of equal high halves, ascending; the first is row 0.
    run_starts: Vec<u32>,
    run_highs: Vec<u64>,
}

impl Numbers {
    fn push(&mut self, number: u128) {
        let high = (number >> 64) as u64;
        if self.run_highs.last() != Some(&high) {
            self.run_starts
                .push(u32::try_from(self.low.len()).unwrap_or(u32::MAX));
            self.run_highs.push(high);
        }
        self.low.push(number as u64);
    }

    fn high(&self, row: usize) -> u64 {
        let run = self
            .run_starts
            .partition_point(|&start| start as usize <= row)
            .saturating_sub(1);
        self.run_highs.get(run).copied().unwrap_or(0)
    }

    /// The number of `row`, which must exist.
    fn get(&self, row: usize) -> u128 {
        (u128::from(self.high(row)) << 64) | u128::from(self.low[row])
    }

    /// The number of `row`, if there is one.
    fn try_get(&self, row: usize) -> Option<u128> {
        (row < self.low.len()).then(|| self.get(row))
    }

    /// True when `row`'s number is `number` (the low half decides most mismatches).
    fn is(&self, row: usize, number: u128) -> bool {
        self.low[row] == number as u64 && self.high(row) == (number >> 64) as u64
    }

    fn shrink_to_fit(&mut self) {
        self.low.shrink_to_fit();
        self.run_starts.shrink_to_fit();
        self.run_highs.shrink_to_fit();
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

/// A date as a 19-bit code ordered like the date: (year − 1900) × 372 + (month − 1) × 31 +
/// day − 1 (at most 409,199 for 2999-12-31).
fn as_of_code(d: Date) -> u32 {
    let years = u32::try_from(d.year() - autointel_domain::MIN_YEAR).unwrap_or(0);
    years * 372 + (u32::from(d.month()) - 1) * 31 + u32::from(d.day()) - 1
}

/// The `yyyymmdd` code of an [`as_of_code`].
fn as_of_to_day_code(code: u32) -> u32 {
    let year = code / 372 + u32::try_from(autointel_domain::MIN_YEAR).unwrap_or(0);
    let month = code % 372 / 31 + 1;
    let day = code % 31 + 1;
    year * 10_000 + month * 100 + day
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
    numbers: Numbers,
    ids: IdIndex,
    /// (first row, import time): one run per import.
    create_runs: Vec<(u32, i64)>,
    notes: FastMap<u32, Box<str>>,
    comparable_priors: FastMap<u32, u64>,
    /// Row → the row it superseded when it was imported.
    supersedes: FastMap<u32, u32>,
    series: FastMap<CompactKey, u32>,
    series_keys: Vec<CompactKey>,
    entries: Vec<Vec<Entry>>,
    by_organization: FastMap<u32, Vec<u32>>,
    by_dims: FastMap<Dims, Vec<u32>>,
    /// Series with more than [`LONG_SERIES`] entries → (row, period code) of each of their
    /// figures, ascending by row (rows are only ever appended).
    long_series: FastMap<u32, Vec<(u32, u32)>>,
    /// Series holding a revision link that goes against id order: a figure that names as
    /// superseded a figure of the same series, stage and as-of date with a larger id
    /// (possible only when ids were minted on clocks out of step). In every other series
    /// revision order is (stage, as-of, id), a total order, which lets lookups and batch
    /// inserts use it directly.
    irregular: FastSet<u32>,
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

    /// Releases spare capacity after a bulk load (answers are unchanged).
    pub fn compact(&mut self) {
        self.rows.shrink_to_fit();
        self.numbers.shrink_to_fit();
        self.create_runs.shrink_to_fit();
        self.ids.compact(&self.numbers);
        for list in &mut self.entries {
            list.shrink_to_fit();
        }
        for list in self.by_organization.values_mut() {
            list.shrink_to_fit();
        }
        for list in self.by_dims.values_mut() {
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

    /// Adds one figure (an import or a refresh) with its import time in microseconds since
    /// the Unix epoch, placing it in its revision chain.
    pub fn insert(
        &mut self,
        figure: &SalesFigure,
        create_time_micros: i64,
    ) -> Result<FigureRef, EngineError> {
        let (series, entry) = self.add_row(figure, create_time_micros)?;
        self.place(series, entry);
        self.index_long_series(series, &[entry]);
        Ok(FigureRef(entry.row))
    }

    /// Adds figures in order, skipping those already loaded (by id), with the same result as
    /// [`Engine::insert`] of each in turn; returns how many were added. Each series touched
    /// takes its new figures in one merge (linear in its new figures and in the entries
    /// after the first place one goes), where inserting them one at a time would shift the
    /// rest of the series once per figure: quadratic for a long chain imported newest
    /// first. On an error the figures before the failing one stay added.
    pub fn insert_all<'a>(
        &mut self,
        figures: impl IntoIterator<Item = (&'a SalesFigure, i64)>,
    ) -> Result<usize, EngineError> {
        let mut added: Vec<(u32, Entry)> = Vec::new();
        let mut failure = None;
        for (figure, create_time_micros) in figures {
            if self.contains(&figure.id) {
                continue;
            }
            match self.add_row(figure, create_time_micros) {
                Ok(placed) => added.push(placed),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let count = added.len();
        // Rows were added in ascending order, so each series' group stays in row order.
        added.sort_by_key(|&(series, _)| series);
        for group in added.chunk_by(|a, b| a.0 == b.0) {
            let series = group[0].0;
            let entries: Vec<Entry> = group.iter().map(|&(_, e)| e).collect();
            if entries.len() == 1 || self.irregular.contains(&series) {
                for &e in &entries {
                    self.place(series, e);
                }
            } else {
                self.merge(series, entries.clone());
            }
            self.index_long_series(series, &entries);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(count),
        }
    }

    /// Stores a figure's row (everything but its place in its series); returns its series
    /// and the entry to place.
    fn add_row(
        &mut self,
        figure: &SalesFigure,
        create_time_micros: i64,
    ) -> Result<(u32, Entry), EngineError> {
        let number = figure_number(&figure.id)
            .ok_or_else(|| EngineError::ForeignId(figure.id.to_string()))?;
        if self.row_of(number).is_some() {
            return Err(EngineError::Duplicate(figure.id.to_string()));
        }
        let units = figure.units.get();
        if units >= UNITS_LIMIT {
            return Err(EngineError::Unrepresentable(
                figure.id.to_string(),
                "units of 2^40 or more",
            ));
        }
        let r = u32::try_from(self.rows.len())
            .ok()
            .filter(|&r| r != NONE)
            .ok_or_else(|| {
                EngineError::Unrepresentable(figure.id.to_string(), "more than 2^32 - 1 figures")
            })?;
        let key = self.intern_key(&figure.key);
        let series = match self.series.get(&key) {
            Some(&s) => s,
            None => {
                let s = u32::try_from(self.series_keys.len()).unwrap_or(NONE);
                self.series.insert(key, s);
                self.series_keys.push(key);
                self.entries.push(Vec::new());
                self.by_organization
                    .entry(key.organization)
                    .or_default()
                    .push(s);
                self.by_dims.entry(key.dims()).or_default().push(s);
                s
            }
        };
        let supersedes = figure
            .provenance
            .supersedes
            .as_ref()
            .and_then(figure_number)
            .and_then(|n| self.row_of(n));
        let stage = u32::from(stage_code(figure.provenance.stage));
        let units_hi = u32::try_from(units >> 32).unwrap_or(0);
        let row = Row {
            units_lo: (units & 0xffff_ffff) as u32,
            packed: as_of_code(figure.provenance.as_of)
                | (stage << STAGE_SHIFT)
                | (units_hi << UNITS_HI_SHIFT),
            series,
            source: self.sources.intern(&figure.provenance.source),
        };
        if let Some(s) = supersedes {
            // A link that revision order ranks against id order (see `irregular`).
            let other = &self.rows[s as usize];
            if other.series == series
                && other.order() == row.order()
                && self.numbers.get(s as usize) > number
            {
                self.irregular.insert(series);
            }
        }
        self.rows.push(row);
        self.numbers.push(number);
        self.ids.insert(r, &self.numbers);
        if self
            .create_runs
            .last()
            .is_none_or(|&(_, t)| t != create_time_micros)
        {
            self.create_runs.push((r, create_time_micros));
        }
        if let Some(note) = &figure.note {
            self.notes.insert(r, note.clone().into_boxed_str());
        }
        if let Some(prior) = figure.comparable_prior {
            self.comparable_priors.insert(r, prior.get());
        }
        if let Some(s) = supersedes {
            self.supersedes.insert(r, s);
        }
        let (start, end) = (
            month_code(figure.period.start()),
            month_code(figure.period.end()),
        );
        Ok((series, Entry { start, end, row: r }))
    }

    /// Places one entry in its series: after every entry of its chain that revision order
    /// ranks before it.
    fn place(&mut self, series: u32, entry: Entry) {
        let (start, end) = entry.period();
        let r = entry.row;
        let list = &self.entries[series as usize];
        let lo = list.partition_point(|e| e.period() < (start, end));
        let same = list[lo..].partition_point(|e| e.period() == (start, end));
        let pos = lo
            + list[lo..lo + same].partition_point(|e| {
                revision_cmp(&self.rows, &self.numbers, &self.supersedes, e.row, r)
                    == Ordering::Less
            });
        let list = &mut self.entries[series as usize];
        if list.len() == list.capacity() {
            // Grow by an eighth, not double: a series' entries are 8 bytes a figure and
            // doubling would leave up to half of them as slack.
            list.reserve_exact((list.len() / 8).max(4));
        }
        list.insert(pos, entry);
    }

    /// (period, stage, as-of, number): revision order within a series that is not
    /// [`Engine::irregular`], a total order.
    fn entry_key(&self, e: &Entry) -> EntryKey {
        let row = &self.rows[e.row as usize];
        (
            e.start,
            e.end,
            row.stage(),
            row.as_of(),
            self.numbers.get(e.row as usize),
        )
    }

    /// Places several entries of a series that is not irregular in one backward merge.
    /// There revision order is [`Engine::entry_key`] order, a total order that every insert
    /// has kept the series sorted by, so placing the entries one by one would give exactly
    /// this sorted merge.
    fn merge(&mut self, series: u32, mut new: Vec<Entry>) {
        new.sort_by_cached_key(|e| self.entry_key(e));
        let Some(first_new) = new.first().map(|e| self.entry_key(e)) else {
            return;
        };
        let old_len = self.entries[series as usize].len();
        let from = self.entries[series as usize].partition_point(|e| self.entry_key(e) < first_new);
        // The entries from `from` on, merged with the new ones from the back.
        let tail: Vec<(Entry, EntryKey)> = self.entries[series as usize][from..]
            .iter()
            .map(|e| (*e, self.entry_key(e)))
            .collect();
        let new_keys: Vec<EntryKey> = new.iter().map(|e| self.entry_key(e)).collect();
        let list = &mut self.entries[series as usize];
        let wanted = old_len + new.len();
        if list.capacity() < wanted {
            list.reserve_exact((wanted - list.len()).max(list.len() / 8).max(4));
        }
        list.truncate(from);
        let (mut i, mut j) = (0, 0);
        while i < tail.len() || j < new.len() {
            let take_old = match (tail.get(i), new_keys.get(j)) {
                (Some((_, old_key)), Some(new_key)) => old_key < new_key,
                (Some(_), None) => true,
                _ => false,
            };
            if take_old {
                list.push(tail[i].0);
                i += 1;
            } else {
                list.push(new[j]);
                j += 1;
            }
        }
    }

    /// Keeps the row → period index of a series longer than [`LONG_SERIES`]: `added` are its
    /// newest entries, in row order, already placed.
    fn index_long_series(&mut self, series: u32, added: &[Entry]) {
        if let Some(index) = self.long_series.get_mut(&series) {
            index.extend(added.iter().map(|e| (e.row, period_code(e.period()))));
            return;
        }
        let list = &self.entries[series as usize];
        if list.len() > LONG_SERIES {
            let mut index: Vec<(u32, u32)> = list
                .iter()
                .map(|e| (e.row, period_code(e.period())))
                .collect();
            index.sort_unstable_by_key(|&(row, _)| row);
            self.long_series.insert(series, index);
        }
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

    /// The entries of a figure's series and the position of its own entry: a scan of a
    /// short series, else its period from the series' index and a binary search in its
    /// chain (by revision order; in an irregular series, by stage and as-of, then a scan of
    /// the revisions that share both).
    fn entry_of(&self, f: FigureRef) -> Option<(&[Entry], usize)> {
        let row = self.rows.get(f.0 as usize)?;
        let list = self.entries.get(row.series as usize)?;
        let Some(index) = self.long_series.get(&row.series) else {
            let pos = list.iter().position(|e| e.row == f.0)?;
            return Some((list, pos));
        };
        let at = index.binary_search_by_key(&f.0, |&(r, _)| r).ok()?;
        let period = period_from_code(index[at].1);
        let lo = list.partition_point(|e| e.period() < period);
        let chain = &list[lo..lo + list[lo..].partition_point(|e| e.period() == period)];
        let order = row.order();
        let pos = if self.irregular.contains(&row.series) {
            // Chains are sorted by (stage, as-of) in every series.
            let from = chain.partition_point(|e| self.rows[e.row as usize].order() < order);
            let same =
                chain[from..].partition_point(|e| self.rows[e.row as usize].order() == order);
            from + chain[from..from + same].iter().position(|e| e.row == f.0)?
        } else {
            let key = (order, self.numbers.get(f.0 as usize));
            let pos = chain.partition_point(|e| {
                (
                    self.rows[e.row as usize].order(),
                    self.numbers.get(e.row as usize),
                ) < key
            });
            (chain.get(pos)?.row == f.0).then_some(pos)?
        };
        Some((list, lo + pos))
    }

    /// (stage, as-of date) of a figure: the first two keys of revision order.
    pub fn revision_order(&self, f: FigureRef) -> Option<(ReleaseStage, Date)> {
        let row = self.rows.get(f.0 as usize)?;
        Some((
            enum_value(ReleaseStage::ALL, row.stage())?,
            date_from_code(as_of_to_day_code(row.as_of()))?,
        ))
    }

    /// The units of a figure.
    pub fn units(&self, f: FigureRef) -> Option<u64> {
        self.rows.get(f.0 as usize).map(Row::units)
    }

    /// A figure as a domain value; `supersedes` is its predecessor in its revision chain.
    pub fn figure(&self, f: FigureRef) -> Option<SalesFigure> {
        let row = self.rows.get(f.0 as usize)?;
        let key = self.key_of(self.series_keys.get(row.series as usize)?)?;
        let (list, pos) = self.entry_of(f)?;
        let entry = list[pos];
        let (previous, _) = neighbours_at(list, pos);
        Some(SalesFigure {
            id: self.figure_id(f)?,
            key,
            period: range_from_codes(entry.start, entry.end),
            units: Units::from_u64(row.units()).ok()?,
            comparable_prior: self
                .comparable_priors
                .get(&f.0)
                .and_then(|&p| Units::from_u64(p).ok()),
            provenance: Provenance {
                source: self.sources.value(row.source)?.clone(),
                stage: enum_value(ReleaseStage::ALL, row.stage())?,
                as_of: date_from_code(as_of_to_day_code(row.as_of()))?,
                supersedes: previous.and_then(|p| self.figure_id(p)),
            },
            note: self.notes.get(&f.0).map(|n| n.to_string()),
        })
    }

    /// The revision before and after a figure in its (series, period) chain.
    pub fn neighbours(&self, f: FigureRef) -> (Option<FigureRef>, Option<FigureRef>) {
        match self.entry_of(f) {
            Some((list, pos)) => neighbours_at(list, pos),
            None => (None, None),
        }
    }

    /// The figure that revised this one, if any.
    pub fn superseded_by(&self, f: FigureRef) -> Option<FigureRef> {
        self.neighbours(f).1
    }

    /// The revision chain of one series and period (entries in revision order).
    fn chain(&self, series: u32, start: u16, end: u16) -> &[Entry] {
        let list = &self.entries[series as usize];
        let lo = list.partition_point(|e| e.period() < (start, end));
        let same = list[lo..].partition_point(|e| e.period() == (start, end));
        &list[lo..lo + same]
    }

    /// Every revision of one series and period, oldest first.
    pub fn revisions(&self, key: &SeriesKey, period: MonthRange) -> Vec<FigureRef> {
        let Some(series) = self.series_of(key) else {
            return Vec::new();
        };
        self.chain(series, month_code(period.start()), month_code(period.end()))
            .iter()
            .map(|e| FigureRef(e.row))
            .collect()
    }

    /// The revision chain of a series key and period, empty when nothing is stored for it.
    fn chain_of(&self, key: &SeriesKey, period: MonthRange) -> (Option<u32>, &[Entry]) {
        match self.series_of(key) {
            Some(series) => (
                Some(series),
                self.chain(series, month_code(period.start()), month_code(period.end())),
            ),
            None => (None, &[]),
        }
    }

    /// How many revisions one series and period has.
    pub fn revision_count(&self, key: &SeriesKey, period: MonthRange) -> usize {
        self.chain_of(key, period).1.len()
    }

    /// One page of the revisions of one series and period, oldest first: up to `limit`
    /// revisions after `after` (from the oldest when `None`). `None` when `after` is not a
    /// revision of that series and period. Costs a logarithmic lookup and the page.
    pub fn revision_page(
        &self,
        key: &SeriesKey,
        period: MonthRange,
        after: Option<FigureRef>,
        limit: usize,
    ) -> Option<RevisionPage> {
        let (series, chain) = self.chain_of(key, period);
        let from = match after {
            None => 0,
            Some(f) => {
                let row = self.rows.get(f.0 as usize)?;
                if Some(row.series) != series {
                    return None;
                }
                let (list, pos) = self.entry_of(f)?;
                let (start, end) = (month_code(period.start()), month_code(period.end()));
                if list[pos].period() != (start, end) {
                    return None;
                }
                // The chain is the run of this period in `list`.
                let lo = list.partition_point(|e| e.period() < (start, end));
                pos - lo + 1
            }
        };
        let to = from.saturating_add(limit).min(chain.len());
        Some(RevisionPage {
            previous: from
                .checked_sub(1)
                .and_then(|p| chain.get(p))
                .map(|e| FigureRef(e.row)),
            revisions: chain
                .get(from..to)
                .unwrap_or_default()
                .iter()
                .map(|e| FigureRef(e.row))
                .collect(),
            more: to < chain.len(),
        })
    }

    /// The latest revision of one series and period, regardless of `as_of` (the figure a new
    /// import of that series and period supersedes).
    pub fn latest_revision(&self, key: &SeriesKey, period: MonthRange) -> Option<FigureRef> {
        self.chain_of(key, period)
            .1
            .last()
            .map(|e| FigureRef(e.row))
    }

    /// Where a new figure would go in its chain: the revision it would directly follow.
    pub fn predecessor_of(&self, figure: &SalesFigure) -> Option<FigureRef> {
        let (_, chain) = self.chain_of(&figure.key, figure.period);
        let order = (
            stage_code(figure.provenance.stage),
            as_of_code(figure.provenance.as_of),
        );
        // A new figure follows every revision not later than it (ties: the newcomer wins);
        // chains are sorted by (stage, as-of), so those revisions are a prefix.
        let before = chain.partition_point(|e| self.rows[e.row as usize].order() <= order);
        before
            .checked_sub(1)
            .and_then(|i| chain.get(i))
            .map(|e| FigureRef(e.row))
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

    /// The figure known on `as_of` (latest when `None`) among one chain.
    fn latest_known(&self, chain: &[Entry], as_of: Option<u32>) -> Option<u32> {
        match as_of {
            None => chain.last().map(|e| e.row),
            Some(d) => chain
                .iter()
                .rev()
                .find(|e| self.rows[e.row as usize].as_of() <= d)
                .map(|e| e.row),
        }
    }
}

/// The revisions before and after position `pos` of a series' entries, within its chain.
fn neighbours_at(list: &[Entry], pos: usize) -> (Option<FigureRef>, Option<FigureRef>) {
    let Some(period) = list.get(pos).map(Entry::period) else {
        return (None, None);
    };
    let previous = pos
        .checked_sub(1)
        .and_then(|p| list.get(p))
        .filter(|e| e.period() == period)
        .map(|e| FigureRef(e.row));
    let next = list
        .get(pos + 1)
        .filter(|e| e.period() == period)
        .map(|e| FigureRef(e.row));
    (previous, next)
}

/// One page of a revision chain (see [`Engine::revision_page`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionPage {
    /// The revision just before the page, if any.
    pub previous: Option<FigureRef>,
    /// The page, oldest first.
    pub revisions: Vec<FigureRef>,
    /// True when later revisions follow the page.
    pub more: bool,
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
fn revision_cmp(
    rows: &[Row],
    numbers: &Numbers,
    supersedes: &FastMap<u32, u32>,
    a: u32,
    b: u32,
) -> Ordering {
    let (ra, rb) = (&rows[a as usize], &rows[b as usize]);
    ra.order().cmp(&rb.order()).then_with(|| {
        if supersedes.get(&a) == Some(&b) {
            Ordering::Greater
        } else if supersedes.get(&b) == Some(&a) {
            Ordering::Less
        } else {
            numbers.get(a as usize).cmp(&numbers.get(b as usize))
        }
    })
}
