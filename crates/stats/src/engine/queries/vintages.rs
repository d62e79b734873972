//! Vintages: the release log (what each source published on each as-of date) and the diff
//! of two vintages (every series, period and source whose latest known figure changed
//! between two as-of dates).
//!
//! Both walk the revision chains of the series they cover: a release's revision count and
//! a diff's "latest known" are per source, as chains are.

use autointel_domain::{Date, ReleaseFilter, SourceId, VintageDiffQuery};

use crate::engine::layout::{
    Entry, FastMap, Row, as_of_code, as_of_to_day_code, date_from_code, month_code,
};
use crate::engine::{Engine, FigureRef, ListKey};

/// What one source published on one as-of date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    /// The source.
    pub source: SourceId,
    /// The source's date.
    pub as_of: Date,
    /// Figures citing the source with that date.
    pub figure_count: u64,
    /// Of those, the figures revising an earlier figure of their source, series and period.
    pub revision_count: u64,
    /// Distinct series touched.
    pub series_count: u64,
    /// Import time of the first of its figures imported (microseconds since the epoch).
    pub first_import_micros: i64,
    /// Import time of the last.
    pub last_import_micros: i64,
}

/// How a latest known figure changed between two vintages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VintageChangeKind {
    /// Nothing of its source was known for its series and period before.
    Added,
    /// A later revision of its source changed the units.
    Revised,
    /// A later revision of its source has the same units.
    Superseded,
}

/// One series, period and source whose latest known figure changed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VintageChange {
    /// What happened.
    pub kind: VintageChangeKind,
    /// The latest known figure on the later date.
    pub figure: FigureRef,
    /// The latest known figure of the same source on the earlier date.
    pub previous: Option<FigureRef>,
    /// The units of `figure`.
    pub units: u64,
    /// The units of `previous`.
    pub previous_units: Option<u64>,
}

/// Listing order of a change up to its number: the series' rank, period, stage, as-of code.
type DiffOrder = (u32, u16, u16, u8, u32);

/// Release accumulators by (interned source, as-of code).
#[derive(Default)]
struct Tally {
    index: FastMap<(u32, u32), usize>,
    releases: Vec<((u32, u32), Release)>,
}

impl Engine {
    /// Every release `filter` selects, newest as-of date first, then by source id.
    pub fn releases(&self, filter: &ReleaseFilter) -> Vec<Release> {
        let source = match &filter.source {
            Some(s) => match self.sources.get(s) {
                Some(code) => Some(code),
                None => return Vec::new(),
            },
            None => None,
        };
        let from = filter.from.map(as_of_code);
        let to = filter.to.map(as_of_code);
        let mut tally = Tally::default();
        let mut touched: Vec<usize> = Vec::new();
        let mut in_chain: Vec<u32> = Vec::new();
        for entries in &self.entries {
            touched.clear();
            for chain in entries.chunk_by(|a, b| a.period() == b.period()) {
                in_chain.clear();
                for e in chain {
                    let row = &self.rows[e.row as usize];
                    let revises = in_chain.contains(&row.source);
                    if !revises {
                        in_chain.push(row.source);
                    }
                    let as_of = row.as_of();
                    if source.is_some_and(|s| s != row.source)
                        || from.is_some_and(|d| as_of < d)
                        || to.is_some_and(|d| as_of > d)
                    {
                        continue;
                    }
                    let Some(at) = self.tally(&mut tally, row.source, as_of) else {
                        continue;
                    };
                    let import = self.create_time_micros(FigureRef(e.row));
                    let release = &mut tally.releases[at].1;
                    release.figure_count += 1;
                    release.revision_count += u64::from(revises);
                    release.first_import_micros = release.first_import_micros.min(import);
                    release.last_import_micros = release.last_import_micros.max(import);
                    if !touched.contains(&at) {
                        touched.push(at);
                    }
                }
            }
            for &at in &touched {
                tally.releases[at].1.series_count += 1;
            }
        }
        let mut out: Vec<Release> = tally.releases.into_iter().map(|(_, r)| r).collect();
        out.sort_by(|a, b| b.as_of.cmp(&a.as_of).then_with(|| a.source.cmp(&b.source)));
        out
    }

    /// The accumulator of release (source, as-of code), added when new.
    fn tally(&self, tally: &mut Tally, source: u32, as_of: u32) -> Option<usize> {
        if let Some(&at) = tally.index.get(&(source, as_of)) {
            return Some(at);
        }
        let release = Release {
            source: self.sources.value(source)?.clone(),
            as_of: date_from_code(as_of_to_day_code(as_of))?,
            figure_count: 0,
            revision_count: 0,
            series_count: 0,
            first_import_micros: i64::MAX,
            last_import_micros: i64::MIN,
        };
        let at = tally.releases.len();
        tally.releases.push(((source, as_of), release));
        tally.index.insert((source, as_of), at);
        Some(at)
    }

    /// The changes of a vintage diff after the figure whose [`ListKey`] is `after`, in
    /// listing order (of the later figure), at most `size`, and whether more follow; a
    /// change's key is [`Engine::list_key`] of its figure.
    ///
    /// Reads only the rows dated between the two vintages (the blocks of rows the as-of zone
    /// map allows, in row order), grouped by series with the series in listing order; then
    /// each series' entries back from the latest, testing each against the series' few
    /// dated rows, until every dated row's chain is found (a release touches recent
    /// periods; an old period it restates is still reached). Changes come out in listing
    /// order, so only the few of one rank are sorted.
    pub fn vintage_diff(
        &self,
        q: &VintageDiffQuery,
        after: Option<&ListKey>,
        size: usize,
    ) -> (Vec<VintageChange>, bool) {
        let source = match &q.source {
            Some(s) => match self.sources.get(s) {
                Some(code) => Some(code),
                None => return (Vec::new(), false),
            },
            None => None,
        };
        let Some(keys) = self.list_keys(&q.filter) else {
            return (Vec::new(), false);
        };
        let (from, to) = (as_of_code(q.from), as_of_code(q.to));
        let dated = |row: &Row| {
            row.as_of() > from && row.as_of() <= to && source.is_none_or(|c| c == row.source)
        };
        // The rows dated between the vintages (index and a copy, so the walk below reads
        // no row twice), in row order.
        let mut dated_rows: Vec<(u32, Row)> = Vec::new();
        for block in self.as_of_zones.blocks(from, to, self.rows.len()) {
            for (r, row) in self.rows[block.clone()].iter().enumerate() {
                if dated(row)
                    && self
                        .series_keys
                        .get(row.series as usize)
                        .is_some_and(|k| keys.matches(k))
                    && let Ok(r) = u32::try_from(block.start + r)
                {
                    dated_rows.push((r, *row));
                }
            }
        }
        let ranks = self.series_ranks();
        let rank_of = |series: u32| ranks.get(series as usize).copied().unwrap_or(u32::MAX);
        // The rows in listing order of their series (a counting sort by rank, stable, so
        // each series' rows stay in row order; the series sharing a rank, which differ
        // only in destination or nature, then put apart), so changes come out in listing
        // order with only each rank's few left to sort.
        let mut by_rank = counting_sort(
            dated_rows,
            |(_, row)| rank_of(row.series) as usize,
            ranks.len(),
        );
        for rank in by_rank.chunk_by_mut(|a, b| rank_of(a.1.series) == rank_of(b.1.series)) {
            if rank.iter().any(|(_, r)| r.series != rank[0].1.series) {
                rank.sort_by_key(|(_, r)| r.series);
            }
        }
        let groups: Vec<&[(u32, Row)]> =
            by_rank.chunk_by(|a, b| a.1.series == b.1.series).collect();
        let overlapping = q
            .filter
            .overlapping
            .map(|range| (month_code(range.start()), month_code(range.end())));
        let mut out: Vec<(DiffOrder, VintageChange)> = Vec::with_capacity(by_rank.len());
        let mut rank_start = 0;
        for batch in groups.chunks(TOUCH_BATCH) {
            // The batch's entry lists read first, a few cache lines back from each end, in
            // one tight loop whose reads are all in flight at once: the walks below then
            // find their entries cached instead of waiting on each list in turn.
            let lists: Vec<&[Entry]> = batch
                .iter()
                .map(|g| {
                    let list = self.entries[g[0].1.series as usize].as_slice();
                    std::hint::black_box(touch(list));
                    list
                })
                .collect();
            for (group, list) in batch.iter().zip(lists) {
                let rank = rank_of(group[0].1.series);
                if out.get(rank_start).is_some_and(|(o, _)| o.0 != rank) {
                    self.sort_rank(&mut out[rank_start..]);
                    rank_start = out.len();
                }
                self.series_changes(group, list, (from, to), overlapping, rank, &mut out);
            }
        }
        self.sort_rank(&mut out[rank_start..]);
        let skip = after.map_or(0, |a| {
            out.partition_point(|(_, c)| self.list_key(c.figure).is_some_and(|k| &k <= a))
        });
        let more = out.len() - skip > size;
        let page = out
            .into_iter()
            .skip(skip)
            .take(size)
            .map(|(_, c)| c)
            .collect();
        (page, more)
    }

    /// The changes of one series (its dated rows `group`, its entries `list`) appended to
    /// `out`: back from the latest entry to each dated row, then its chain's changes per
    /// source that dated it.
    fn series_changes(
        &self,
        group: &[(u32, Row)],
        list: &[Entry],
        (from, to): (u32, u32),
        overlapping: Option<(u16, u16)>,
        rank: u32,
        out: &mut Vec<(DiffOrder, VintageChange)>,
    ) {
        // A row's values: the copy when it is one of the group's, else the row.
        let row_of = |r: u32| match group.binary_search_by_key(&r, |&(g, _)| g) {
            Ok(at) => group[at].1,
            Err(_) => self.rows[r as usize],
        };
        // Which of the group's rows entry `e` is, if any (groups are small).
        let member = |e: &Entry| {
            if group.len() <= 8 {
                group.iter().position(|&(g, _)| g == e.row)
            } else {
                group.binary_search_by_key(&e.row, |&(g, _)| g).ok()
            }
        };
        let mut sources: Vec<u32> = Vec::new();
        let mut found = 0;
        let mut pos = list.len();
        while pos > 0 && found < group.len() {
            pos -= 1;
            if member(&list[pos]).is_none() {
                continue;
            }
            let period = list[pos].period();
            let start = list[..pos]
                .iter()
                .rposition(|e| e.period() != period)
                .map_or(0, |p| p + 1);
            let end = list[pos..]
                .iter()
                .position(|e| e.period() != period)
                .map_or(list.len(), |p| pos + p);
            let chain = &list[start..end];
            pos = start;
            sources.clear();
            for e in chain {
                if let Some(at) = member(e) {
                    found += 1;
                    let source = group[at].1.source;
                    if !sources.contains(&source) {
                        sources.push(source);
                    }
                }
            }
            if overlapping.is_some_and(|(a, b)| period.0 > b || period.1 < a) {
                continue;
            }
            for &code in &sources {
                if let Some((change, now)) = change_in(chain, code, (from, to), row_of) {
                    let order = (rank, period.0, period.1, now.stage(), now.as_of());
                    out.push((order, change));
                }
            }
        }
    }

    /// The changes of one rank (series of one list prefix) sorted by their order, ties
    /// (other sources, destinations or natures, period, stage and date) by number, as
    /// list keys are.
    fn sort_rank(&self, changes: &mut [(DiffOrder, VintageChange)]) {
        if changes.len() > 1 {
            changes.sort_unstable_by(|(a, ca), (b, cb)| {
                a.cmp(b).then_with(|| {
                    self.numbers
                        .get(ca.figure.0 as usize)
                        .cmp(&self.numbers.get(cb.figure.0 as usize))
                })
            });
        }
    }
}

/// Series whose entry lists are read ahead together (see [`Engine::vintage_diff`]).
const TOUCH_BATCH: usize = 32;

/// Entries a list is read ahead from its end: a release touches the latest periods.
const TOUCH_DEPTH: usize = 16;

/// Reads one entry in each cache line of the last [`TOUCH_DEPTH`] entries of `list`
/// (their rows xored, so the reads are not optimised away).
fn touch(list: &[Entry]) -> u32 {
    let tail = &list[list.len().saturating_sub(TOUCH_DEPTH)..];
    tail.iter().step_by(8).fold(0, |acc, e| acc ^ e.row)
}

/// How the latest known figure of `source` in `chain` changed between as-of codes
/// `(from, to)`, if it did, with the values of the later figure; `row_of` gives a row's
/// values.
fn change_in(
    chain: &[Entry],
    source: u32,
    (from, to): (u32, u32),
    row_of: impl Fn(u32) -> Row,
) -> Option<(VintageChange, Row)> {
    let latest = |day: u32| {
        chain.iter().rev().find_map(|e| {
            let row = row_of(e.row);
            (row.source == source && row.as_of() <= day).then_some((e.row, row))
        })
    };
    let (now, now_row) = latest(to)?;
    let previous = latest(from);
    let kind = match previous {
        Some((p, _)) if p == now => return None,
        Some((_, p)) if p.units() == now_row.units() => VintageChangeKind::Superseded,
        Some(_) => VintageChangeKind::Revised,
        None => VintageChangeKind::Added,
    };
    Some((
        VintageChange {
            kind,
            figure: FigureRef(now),
            previous: previous.map(|(p, _)| FigureRef(p)),
            units: now_row.units(),
            previous_units: previous.map(|(_, p)| p.units()),
        },
        now_row,
    ))
}

/// `items` sorted by `key` (below `keys`), stable: a counting sort.
fn counting_sort<T: Copy>(items: Vec<T>, key: impl Fn(&T) -> usize, keys: usize) -> Vec<T> {
    let Some(&fill) = items.first() else {
        return items;
    };
    let mut starts = vec![0usize; keys + 1];
    for item in &items {
        if let Some(n) = starts.get_mut(key(item) + 1) {
            *n += 1;
        }
    }
    for k in 1..starts.len() {
        starts[k] += starts[k - 1];
    }
    let mut out = vec![fill; items.len()];
    for item in items {
        if let Some(next) = starts.get_mut(key(&item))
            && let Some(slot) = out.get_mut(*next)
        {
            *slot = item;
            *next += 1;
        }
    }
    out
}
