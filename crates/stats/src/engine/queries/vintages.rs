//! Vintages: the release log (what each source published on each as-of date) and the diff
//! of two vintages (every series, period and source whose latest known figure changed
//! between two as-of dates).
//!
//! Both walk the revision chains of the series they cover: a release's revision count and
//! a diff's "latest known" are per source, as chains are.

use autointel_domain::{Date, ListFilter, ReleaseFilter, SourceId, VintageDiffQuery};

use crate::engine::layout::{
    Entry, FastMap, as_of_code, as_of_to_day_code, date_from_code, month_code,
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
}

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

    /// The changes of a vintage diff whose [`ListKey`] (of the later figure) is after
    /// `after`, in key order, at most `size`, and whether more follow. Reads only the
    /// chains holding a figure of the source dated between the two vintages.
    pub fn vintage_diff(
        &self,
        q: &VintageDiffQuery,
        after: Option<&ListKey>,
        size: usize,
    ) -> (Vec<(ListKey, VintageChange)>, bool) {
        let source = match &q.source {
            Some(s) => match self.sources.get(s) {
                Some(code) => Some(code),
                None => return (Vec::new(), false),
            },
            None => None,
        };
        let window = (as_of_code(q.from), as_of_code(q.to));
        let series = self.list_order(&q.filter);
        let start = after.map_or(0, |a| series.partition_point(|(p, _)| p < &a.prefix()));
        let mut out: Vec<(ListKey, VintageChange)> = Vec::new();
        for group in series[start..].chunk_by(|a, b| a.0 == b.0) {
            let mut items = Vec::new();
            for &(_, s) in group {
                self.diff_series(&q.filter, s, source, window, &mut items);
            }
            items.sort_by(|a, b| a.0.cmp(&b.0));
            out.extend(
                items
                    .into_iter()
                    .filter(|(k, _)| after.is_none_or(|a| k > a)),
            );
            if out.len() > size {
                break;
            }
        }
        let more = out.len() > size;
        out.truncate(size);
        (out, more)
    }

    /// The changes of series `s` between as-of codes `(from, to)`, unsorted.
    fn diff_series(
        &self,
        filter: &ListFilter,
        s: usize,
        source: Option<u32>,
        (from, to): (u32, u32),
        out: &mut Vec<(ListKey, VintageChange)>,
    ) {
        let (Some(k), Some(entries)) = (self.series_keys.get(s), self.entries.get(s)) else {
            return;
        };
        let texts = self.key_texts(k).unwrap_or_default();
        let dated_between = |e: &Entry| {
            let row = &self.rows[e.row as usize];
            row.as_of() > from && row.as_of() <= to && source.is_none_or(|c| c == row.source)
        };
        let mut sources: Vec<u32> = Vec::new();
        for chain in entries.chunk_by(|a, b| a.period() == b.period()) {
            let Some(&first) = chain.first() else {
                continue;
            };
            if let Some(range) = filter.overlapping
                && (first.start > month_code(range.end()) || first.end < month_code(range.start()))
            {
                continue;
            }
            sources.clear();
            for e in chain.iter().filter(|e| dated_between(e)) {
                let code = self.rows[e.row as usize].source;
                if !sources.contains(&code) {
                    sources.push(code);
                }
            }
            for &code in &sources {
                let latest = |day: u32| {
                    chain.iter().rev().find(|e| {
                        let row = &self.rows[e.row as usize];
                        row.source == code && row.as_of() <= day
                    })
                };
                let (Some(now), previous) = (latest(to), latest(from)) else {
                    continue;
                };
                let kind = match previous {
                    Some(p) if p.row == now.row => continue,
                    Some(p)
                        if self.rows[p.row as usize].units()
                            == self.rows[now.row as usize].units() =>
                    {
                        VintageChangeKind::Superseded
                    }
                    Some(_) => VintageChangeKind::Revised,
                    None => VintageChangeKind::Added,
                };
                out.push((
                    self.list_key_in(&texts, k, *now),
                    VintageChange {
                        kind,
                        figure: FigureRef(now.row),
                        previous: previous.map(|p| FigureRef(p.row)),
                    },
                ));
            }
        }
    }
}
