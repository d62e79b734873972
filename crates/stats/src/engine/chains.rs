//! Revision chains: every revision of one series and period, contiguous in its series'
//! entries in revision order (the latest last); a figure's place and neighbours, pages of a
//! chain, and where a new figure goes, including an import's own earlier figures.
//!
//! A figure revises only figures of its own source (and nature: actuals and forecasts are
//! series of their own): its neighbours, its predecessor at import, `supersedes` and
//! `superseded_by` are the nearest entries of the same source in the run of its period.
//! Which figure answers for a series and period is unchanged: the last of the run, the
//! latest by (stage, as-of) across sources.

use std::collections::{BTreeMap, HashMap};

use autointel_domain::{
    Date, FigureNature, MonthRange, ReleaseStage, SalesFigure, SalesFigureId, SeriesKey, SourceId,
};

use super::layout::{
    Entry, as_of_code, as_of_to_day_code, date_from_code, enum_value, month_code, period_from_code,
    stage_code,
};
use super::series::nature_code;
use super::{Engine, FigureRef};

impl Engine {
    /// The entries of a figure's series and the position of its own entry: a scan of a
    /// short series, else its period from the series' index and a binary search in its
    /// chain (by revision order; in an irregular series, by stage and as-of, then a scan of
    /// the revisions that share both).
    pub(super) fn entry_of(&self, f: FigureRef) -> Option<(&[Entry], usize)> {
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

    /// The revision before and after a figure in its (series, period) chain.
    pub fn neighbours(&self, f: FigureRef) -> (Option<FigureRef>, Option<FigureRef>) {
        match self.entry_of(f) {
            Some((list, pos)) => self.neighbours_in(list, pos, None),
            None => (None, None),
        }
    }

    /// A figure's neighbours among the figures stored up to sequence number `mark`: the
    /// revisions of its source it followed and was followed by when the engine held
    /// exactly those figures.
    pub fn neighbours_at_mark(
        &self,
        f: FigureRef,
        mark: i64,
    ) -> (Option<FigureRef>, Option<FigureRef>) {
        match self.entry_of(f) {
            Some((list, pos)) => self.neighbours_in(list, pos, Some(mark)),
            None => (None, None),
        }
    }

    /// The figure that revised this one, if any.
    pub fn superseded_by(&self, f: FigureRef) -> Option<FigureRef> {
        self.neighbours(f).1
    }

    /// The revision chain of one series and period (entries in revision order).
    pub(super) fn chain(&self, series: u32, start: u16, end: u16) -> &[Entry] {
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

    /// The run of one period in the series of `key` and `nature`, empty when none.
    fn chain_of_nature(
        &self,
        key: &SeriesKey,
        nature: FigureNature,
        period: MonthRange,
    ) -> &[Entry] {
        match self.series_of_nature(key, nature_code(nature)) {
            Some(series) => {
                self.chain(series, month_code(period.start()), month_code(period.end()))
            }
            None => &[],
        }
    }

    /// Where a new figure would go in its chain: the revision of its own source and nature
    /// it would directly follow.
    pub fn predecessor_of(&self, figure: &SalesFigure) -> Option<FigureRef> {
        let source = self.sources.get(&figure.provenance.source)?;
        let chain = self.chain_of_nature(&figure.key, figure.nature, figure.period);
        let order = (
            stage_code(figure.provenance.stage),
            as_of_code(figure.provenance.as_of),
        );
        // A new figure follows every revision not later than it (ties: the newcomer wins);
        // chains are sorted by (stage, as-of), so those revisions are a prefix.
        let before = chain.partition_point(|e| self.rows[e.row as usize].order() <= order);
        chain[..before]
            .iter()
            .rev()
            .find(|e| self.rows[e.row as usize].source == source)
            .map(|e| FigureRef(e.row))
    }

    /// True when the engine holds a figure of this series, nature, source and period.
    fn has_revision_from(
        &self,
        key: &SeriesKey,
        nature: FigureNature,
        source: &SourceId,
        period: MonthRange,
    ) -> bool {
        self.sources.get(source).is_some_and(|source| {
            self.chain_of_nature(key, nature, period)
                .iter()
                .any(|e| self.rows[e.row as usize].source == source)
        })
    }

    /// Links every figure of an import (ids assigned, in import order) to the revision it
    /// follows ([`Engine::link_chain`] per revision chain); returns how many revise an
    /// earlier figure.
    pub fn link_revisions(&self, figures: &mut [SalesFigure]) -> usize {
        type Chain = (SeriesKey, FigureNature, SourceId, MonthRange);
        let mut chains: HashMap<Chain, Vec<usize>> = HashMap::new();
        for (i, f) in figures.iter().enumerate() {
            chains
                .entry((
                    f.key.clone(),
                    f.nature,
                    f.provenance.source.clone(),
                    f.period,
                ))
                .or_default()
                .push(i);
        }
        let mut revision_count = 0;
        for members in chains.into_values() {
            let chain: Vec<&SalesFigure> = members.iter().map(|&i| &figures[i]).collect();
            let (links, revisions) = self.link_chain(&chain);
            revision_count += revisions;
            let predecessors: Vec<Option<SalesFigureId>> = links
                .into_iter()
                .map(|link| match link {
                    Link::Earlier(j) => Some(chain[j].id.clone()),
                    Link::Stored(e) => self.figure_id(e),
                    Link::None => None,
                })
                .collect();
            for (&i, predecessor) in members.iter().zip(predecessors) {
                figures[i].provenance.supersedes = predecessor;
            }
        }
        revision_count
    }

    /// Links the figures of an import that share one revision chain (series, nature,
    /// source and period), in import order, each to the revision it follows: the latest in
    /// the engine and among the chain's earlier figures that is not later than it (ties:
    /// the later one wins, the import's over the engine's); returns the links and how many
    /// revise an earlier figure.
    ///
    /// Linear in the chain and logarithmic in the engine's: the chain's figures so far are
    /// kept by revision order (one entry per stage and as-of date, the latest figure with
    /// it), so each figure's predecessor is one ordered lookup.
    pub fn link_chain(&self, chain: &[&SalesFigure]) -> (Vec<Link>, usize) {
        type Order = (ReleaseStage, Date);
        let mut revision_count = 0;
        let mut earlier: BTreeMap<Order, usize> = BTreeMap::new();
        let mut links = Vec::with_capacity(chain.len());
        let Some(first) = chain.first() else {
            return (links, 0);
        };
        let stored_before = self.has_revision_from(
            &first.key,
            first.nature,
            &first.provenance.source,
            first.period,
        );
        for (i, f) in chain.iter().enumerate() {
            let order = (f.provenance.stage, f.provenance.as_of);
            let from_chain = earlier.range(..=order).next_back().map(|(_, &j)| j);
            let from_engine = self.predecessor_of(f);
            let link = match (from_chain, from_engine) {
                (Some(j), Some(e)) => {
                    let chain_order = Some((chain[j].provenance.stage, chain[j].provenance.as_of));
                    if chain_order >= self.revision_order(e) {
                        Link::Earlier(j)
                    } else {
                        Link::Stored(e)
                    }
                }
                (Some(j), None) => Link::Earlier(j),
                (None, Some(e)) => Link::Stored(e),
                (None, None) => Link::None,
            };
            if !earlier.is_empty() || stored_before {
                revision_count += 1;
            }
            earlier.insert(order, i);
            links.push(link);
        }
        (links, revision_count)
    }
}

/// The revision a figure of an import follows (see [`Engine::link_chain`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// None: the first of its chain.
    None,
    /// An earlier figure of the same import and chain, by its position in the chain.
    Earlier(usize),
    /// A figure the engine holds.
    Stored(FigureRef),
}

impl Engine {
    /// The revisions of the same source before and after entry `pos` of a series'
    /// entries `list`, among the figures stored up to `mark` (`None`: every figure).
    pub(super) fn neighbours_in(
        &self,
        list: &[Entry],
        pos: usize,
        mark: Option<i64>,
    ) -> (Option<FigureRef>, Option<FigureRef>) {
        let Some(&here) = list.get(pos) else {
            return (None, None);
        };
        let period = here.period();
        let source = self.rows[here.row as usize].source;
        let same = |e: &&Entry| e.period() == period;
        let kin =
            |e: &&Entry| self.rows[e.row as usize].source == source && self.visible_at(e.row, mark);
        let previous = list[..pos]
            .iter()
            .rev()
            .take_while(same)
            .find(kin)
            .map(|e| FigureRef(e.row));
        let next = list[pos + 1..]
            .iter()
            .take_while(same)
            .find(kin)
            .map(|e| FigureRef(e.row));
        (previous, next)
    }
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
