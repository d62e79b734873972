//! The packed layout of the engine's figures: 16-byte rows, 8-byte series entries, 16-byte
//! series keys, interned values, run-length encoded figure numbers behind an
//! open-addressing id index, and the codes (months, days, stages, dimensions) they hold.
//!
//! Private to the engine (see its module docs for the memory budget), except the hasher and
//! the day and figure-id codes it re-exports.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use autointel_domain::{Date, MonthRange, ReleaseStage, SalesFigureId, YearMonth};

pub(super) const NONE: u32 = u32::MAX;
pub(super) const UNITS_LIMIT: u64 = 1 << 40;
const AS_OF_BITS: u32 = 19;
const AS_OF_MASK: u32 = (1 << AS_OF_BITS) - 1;
const STAGE_SHIFT: u32 = AS_OF_BITS;
const UNITS_HI_SHIFT: u32 = 22;

/// Longest series whose figures are found by scanning its entries; longer series keep a
/// row → period index (see [`Engine::long_series`](super::Engine::long_series)). Small
/// under test, so that the indexed path is the one most test data takes.
pub(super) const LONG_SERIES: usize = if cfg!(test) { 6 } else { 1024 };

/// A period as one `u32`: start month code (high half) and end month code (low half).
pub(super) fn period_code((start, end): (u16, u16)) -> u32 {
    (u32::from(start) << 16) | u32::from(end)
}

pub(super) fn period_from_code(code: u32) -> (u16, u16) {
    ((code >> 16) as u16, (code & 0xffff) as u16)
}

/// One figure, compactly (see the module docs).
#[derive(Copy, Clone, Debug)]
pub(super) struct Row {
    /// Low 32 bits of the units.
    units_lo: u32,
    /// As-of day code (bits 0..19), stage (19..22), high 8 bits of the units (22..30).
    packed: u32,
    pub(super) series: u32,
    pub(super) source: u32,
}

impl Row {
    /// Packs a figure's values: units below [`UNITS_LIMIT`], an [`as_of_code`], a
    /// [`stage_code`], its series and its interned source.
    pub(super) fn pack(units: u64, as_of: u32, stage: u8, series: u32, source: u32) -> Self {
        let units_hi = u32::try_from(units >> 32).unwrap_or(0);
        Self {
            units_lo: (units & 0xffff_ffff) as u32,
            packed: as_of | (u32::from(stage) << STAGE_SHIFT) | (units_hi << UNITS_HI_SHIFT),
            series,
            source,
        }
    }

    pub(super) fn units(&self) -> u64 {
        u64::from(self.units_lo) | (u64::from(self.packed >> UNITS_HI_SHIFT) << 32)
    }

    /// As-of day as an ordered code (see [`as_of_code`]).
    pub(super) fn as_of(&self) -> u32 {
        self.packed & AS_OF_MASK
    }

    pub(super) fn stage(&self) -> u8 {
        // Three bits, so the conversion cannot fail.
        u8::try_from((self.packed >> STAGE_SHIFT) & 7).unwrap_or(0)
    }

    /// (stage, as-of): the first two keys of revision order.
    pub(super) fn order(&self) -> (u8, u32) {
        (self.stage(), self.as_of())
    }

    /// The row as four words (units' low half, packed, series, source), as snapshots
    /// store it.
    pub(super) fn words(&self) -> [u32; 4] {
        [self.units_lo, self.packed, self.series, self.source]
    }

    /// The inverse of [`Row::words`].
    pub(super) fn from_words([units_lo, packed, series, source]: [u32; 4]) -> Self {
        Self {
            units_lo,
            packed,
            series,
            source,
        }
    }
}

/// One figure of a series: its period and row.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) start: u16,
    pub(super) end: u16,
    pub(super) row: u32,
}

impl Entry {
    pub(super) fn period(&self) -> (u16, u16) {
        (self.start, self.end)
    }
}

/// The nature code of an actual (`FigureNature::Actual`'s place in `FigureNature::ALL`):
/// every query but a listing reads only series of this nature.
pub(super) const ACTUAL: u8 = 0;

/// A series key with interned organisation, market and destination, and the figures'
/// nature: actuals and forecasts of one series key are series of their own in the engine,
/// so a forecast can never enter an actual's chain or an answer about actuals.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct CompactKey {
    /// Interned organisation, [`NONE`] for the whole market.
    pub(super) organization: u32,
    pub(super) market: u32,
    /// Interned (as a market) export destination, [`NONE`] for none.
    pub(super) destination: u32,
    pub(super) basis: u8,
    pub(super) flow: u8,
    pub(super) scope: u8,
    pub(super) powertrain: u8,
    /// [`ACTUAL`] or the forecast code.
    pub(super) nature: u8,
}

impl CompactKey {
    pub(super) fn dims(&self) -> Dims {
        Dims {
            market: self.market,
            destination: self.destination,
            basis: self.basis,
            flow: self.flow,
            scope: self.scope,
            powertrain: self.powertrain,
            nature: self.nature,
        }
    }
}

/// Every dimension of a series key but the organisation (with the nature).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Dims {
    pub(super) market: u32,
    pub(super) destination: u32,
    pub(super) basis: u8,
    pub(super) flow: u8,
    pub(super) scope: u8,
    pub(super) powertrain: u8,
    pub(super) nature: u8,
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

/// A map keyed by small integers the engine assigns (rows, interned ids, [`FigureRef`](super::FigureRef)s).
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
pub(super) type FastSet<K> = std::collections::HashSet<K, BuildHasherDefault<FastHasher>>;

#[derive(Clone, Debug)]
pub(super) struct Interner<T> {
    index: HashMap<T, u32>,
    values: Vec<T>,
}

impl<T: Hash + Eq + Clone> Interner<T> {
    pub(super) fn new() -> Self {
        Self {
            index: HashMap::new(),
            values: Vec::new(),
        }
    }

    pub(super) fn intern(&mut self, value: &T) -> u32 {
        if let Some(&i) = self.index.get(value) {
            return i;
        }
        let i = u32::try_from(self.values.len()).unwrap_or(NONE);
        self.index.insert(value.clone(), i);
        self.values.push(value.clone());
        i
    }

    pub(super) fn get(&self, value: &T) -> Option<u32> {
        self.index.get(value).copied()
    }

    pub(super) fn value(&self, i: u32) -> Option<&T> {
        self.values.get(i as usize)
    }

    /// Every value, in interned order (value `i` has code `i`).
    pub(super) fn values(&self) -> &[T] {
        &self.values
    }

    /// An interner holding `values` with codes in their order; `None` when a value repeats.
    pub(super) fn from_values(values: Vec<T>) -> Option<Self> {
        let mut index = HashMap::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            if index.insert(v.clone(), u32::try_from(i).ok()?).is_some() {
                return None;
            }
        }
        Some(Self { index, values })
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

/// Figure number → row, without a per-figure table. Rows are kept in store order and the
/// service numbers figures with UUIDv7 (time-ordered), so almost every row's number is
/// larger than every number before it: those rows (*ascending*) lie in a few row ranges
/// whose numbers ascend from one range to the next, and are found by binary search there.
/// The few others (figures numbered on a clock out of step: an import committed after a
/// later-numbered one, typically from another replica) sit in a sorted side map. Costs 8
/// bytes a range and about 40 an out-of-order figure, instead of 5 a figure for a hash
/// table; [`IdIndex::rebuild`] derives it from the numbers (snapshots do not store it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct IdIndex {
    /// Row ranges `[start, end)` of ascending rows, in row order.
    pub(super) ranges: Vec<(u32, u32)>,
    /// The largest number of an ascending row.
    max: Option<u128>,
    /// Out-of-order numbers → row.
    pub(super) others: BTreeMap<u128, u32>,
}

impl IdIndex {
    /// The index of rows `0..` numbered `numbers`, in one pass.
    pub(super) fn rebuild(numbers: &Numbers) -> Self {
        let mut index = Self::default();
        for (row, number) in numbers.iter().enumerate() {
            index.push(u32::try_from(row).unwrap_or(NONE), number);
        }
        index
    }

    pub(super) fn find(&self, number: u128, numbers: &Numbers) -> Option<u32> {
        if self.max.is_some_and(|max| number <= max) {
            let range = self
                .ranges
                .partition_point(|&(start, _)| numbers.get(start as usize) <= number);
            if let Some(&(start, end)) = range.checked_sub(1).and_then(|r| self.ranges.get(r)) {
                let (mut lo, mut hi) = (start, end);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    match numbers.get(mid as usize).cmp(&number) {
                        std::cmp::Ordering::Less => lo = mid + 1,
                        std::cmp::Ordering::Greater => hi = mid,
                        std::cmp::Ordering::Equal => return Some(mid),
                    }
                }
            }
        }
        self.others.get(&number).copied()
    }

    /// Inserts a row (the next one) whose number is not present yet.
    pub(super) fn insert(&mut self, row: u32, numbers: &Numbers) {
        self.push(row, numbers.get(row as usize));
    }

    fn push(&mut self, row: u32, number: u128) {
        if self.max.is_some_and(|max| number <= max) {
            self.others.insert(number, row);
            return;
        }
        self.max = Some(number);
        match self.ranges.last_mut() {
            Some((_, end)) if *end == row => *end = row + 1,
            _ => self.ranges.push((row, row + 1)),
        }
    }

    /// Figures indexed.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ranges
            .iter()
            .map(|&(start, end)| (end - start) as usize)
            .sum::<usize>()
            + self.others.len()
    }

    pub(super) fn shrink_to_fit(&mut self) {
        self.ranges.shrink_to_fit();
    }
}

/// Figure numbers (the 128 bits of each figure's UUIDv7 id) by row: the low 64 bits of each,
/// and the high 64 bits (creation millisecond, version, the top of the monotonic counter)
/// run-length encoded, since the figures of one import are numbered within a few
/// milliseconds and rows are kept in import order. 8 bytes a figure instead of 16, plus 12
/// a run.
#[derive(Clone, Debug, Default)]
pub(super) struct Numbers {
    low: Vec<u64>,
    /// First row of each run of equal high halves, ascending; the first is row 0.
    pub(super) run_starts: Vec<u32>,
    run_highs: Vec<u64>,
}

impl Numbers {
    pub(super) fn push(&mut self, number: u128) {
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
    pub(super) fn get(&self, row: usize) -> u128 {
        (u128::from(self.high(row)) << 64) | u128::from(self.low[row])
    }

    /// The number of `row`, if there is one.
    pub(super) fn try_get(&self, row: usize) -> Option<u128> {
        (row < self.low.len()).then(|| self.get(row))
    }

    /// Every number, in row order.
    pub(super) fn iter(&self) -> impl Iterator<Item = u128> + '_ {
        let mut run = 0usize;
        self.low.iter().enumerate().map(move |(row, &low)| {
            while self
                .run_starts
                .get(run + 1)
                .is_some_and(|&next| next as usize <= row)
            {
                run += 1;
            }
            let high = self.run_highs.get(run).copied().unwrap_or(0);
            (u128::from(high) << 64) | u128::from(low)
        })
    }

    /// The parts a snapshot stores: low halves, run starts, run high halves.
    pub(super) fn parts(&self) -> (&[u64], &[u32], &[u64]) {
        (&self.low, &self.run_starts, &self.run_highs)
    }

    /// The inverse of [`Numbers::parts`]; `None` unless the runs are ascending, start at
    /// row 0, lie inside the rows and have one high half each.
    pub(super) fn from_parts(
        low: Vec<u64>,
        run_starts: Vec<u32>,
        run_highs: Vec<u64>,
    ) -> Option<Self> {
        let consistent = run_starts.len() == run_highs.len()
            && run_starts.first().is_none_or(|&s| s == 0)
            && (low.is_empty() == run_starts.is_empty())
            && run_starts.windows(2).all(|w| w[0] < w[1])
            && run_starts.last().is_none_or(|&s| (s as usize) < low.len());
        consistent.then_some(Self {
            low,
            run_starts,
            run_highs,
        })
    }

    pub(super) fn shrink_to_fit(&mut self) {
        self.low.shrink_to_fit();
        self.run_starts.shrink_to_fit();
        self.run_highs.shrink_to_fit();
    }
}

/// Month index since January [`autointel_domain::MIN_YEAR`], fits `u16` for the year range.
pub(super) fn month_code(m: YearMonth) -> u16 {
    u16::try_from(m.index() - YearMonth::MIN.index()).unwrap_or(u16::MAX)
}

fn month_from_code(code: u16) -> YearMonth {
    YearMonth::from_index(YearMonth::MIN.index() + i32::from(code)).unwrap_or(YearMonth::MIN)
}

pub(super) fn range_from_codes(start: u16, end: u16) -> MonthRange {
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
pub(super) fn as_of_code(d: Date) -> u32 {
    let years = u32::try_from(d.year() - autointel_domain::MIN_YEAR).unwrap_or(0);
    years * 372 + (u32::from(d.month()) - 1) * 31 + u32::from(d.day()) - 1
}

/// The `yyyymmdd` code of an [`as_of_code`].
pub(super) fn as_of_to_day_code(code: u32) -> u32 {
    let year = code / 372 + u32::try_from(autointel_domain::MIN_YEAR).unwrap_or(0);
    let month = code % 372 / 31 + 1;
    let day = code % 31 + 1;
    year * 10_000 + month * 100 + day
}

pub(super) fn stage_code(stage: ReleaseStage) -> u8 {
    // Declaration order is revision order.
    ReleaseStage::ALL
        .iter()
        .position(|s| *s == stage)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(0)
}

pub(super) fn enum_code<T: PartialEq + Copy>(all: &[T], value: T) -> u8 {
    all.iter()
        .position(|v| *v == value)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(0)
}

pub(super) fn enum_value<T: Copy>(all: &[T], code: u8) -> Option<T> {
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
