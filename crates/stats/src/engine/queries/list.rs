//! Listing figures in a stable order (series, period, revision), the keys of a keyset page.

use autointel_domain::ListFilter;

use crate::engine::layout::{CompactKey, Entry, NONE, as_of_to_day_code, month_code};
use crate::engine::series::KeyFilter;
use crate::engine::{Engine, FigureRef, Listed};

/// The series part of a [`ListKey`]: series that differ only in destination or nature share
/// it and are listed as one.
type ListPrefix = (String, u8, u8, String, u8, u8);

/// The rest of a [`ListKey`] after its series part: period (start, end), stage, as-of day,
/// number.
type RevisionOrder = (u16, u16, u8, u32, u128);

/// Sort key of a listed figure: series (as `SeriesKey` orders), period, then revision. Its
/// text form is the cursor of a keyset page token.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListKey {
    organization: String,
    basis: u8,
    flow: u8,
    market: String,
    scope: u8,
    powertrain: u8,
    start: u16,
    end: u16,
    stage: u8,
    as_of: u32,
    number: u128,
}

impl ListKey {
    /// The key as text (for a page token).
    pub fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{:x}",
            self.organization,
            self.basis,
            self.flow,
            self.market,
            self.scope,
            self.powertrain,
            self.start,
            self.end,
            self.stage,
            self.as_of,
            self.number
        )
    }

    /// Parses [`ListKey::encode`]'s text.
    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split('|');
        let mut next = || parts.next();
        let key = Self {
            organization: next()?.to_owned(),
            basis: next()?.parse().ok()?,
            flow: next()?.parse().ok()?,
            market: next()?.to_owned(),
            scope: next()?.parse().ok()?,
            powertrain: next()?.parse().ok()?,
            start: next()?.parse().ok()?,
            end: next()?.parse().ok()?,
            stage: next()?.parse().ok()?,
            as_of: next()?.parse().ok()?,
            number: u128::from_str_radix(next()?, 16).ok()?,
        };
        next().is_none().then_some(key)
    }
}

impl ListKey {
    /// The series part of the key.
    pub(super) fn prefix(&self) -> ListPrefix {
        (
            self.organization.clone(),
            self.basis,
            self.flow,
            self.market.clone(),
            self.scope,
            self.powertrain,
        )
    }
}

impl Engine {
    /// The organisation and market of a series key as list keys spell them (the whole
    /// market's organisation is empty).
    pub(super) fn key_texts(&self, k: &CompactKey) -> Option<(String, String)> {
        let organization = if k.organization == NONE {
            String::new()
        } else {
            self.organizations
                .value(k.organization)?
                .as_str()
                .to_owned()
        };
        let market = self.markets.value(k.market)?.as_str().to_owned();
        Some((organization, market))
    }

    /// The [`ListKey`] of the figure of entry `e` of series key `k`, spelt `texts`.
    pub(super) fn list_key_in(
        &self,
        (organization, market): &(String, String),
        k: &CompactKey,
        e: Entry,
    ) -> ListKey {
        let row = &self.rows[e.row as usize];
        ListKey {
            organization: organization.clone(),
            basis: k.basis,
            flow: k.flow,
            market: market.clone(),
            scope: k.scope,
            powertrain: k.powertrain,
            start: e.start,
            end: e.end,
            stage: row.stage(),
            as_of: as_of_to_day_code(row.as_of()),
            number: self.numbers.get(e.row as usize),
        }
    }

    /// The [`ListKey`] of a figure, as [`Engine::list`] makes it.
    pub fn list_key(&self, f: FigureRef) -> Option<ListKey> {
        let row = self.rows.get(f.0 as usize)?;
        let k = self.series_keys.get(row.series as usize)?;
        let (list, pos) = self.entry_of(f)?;
        Some(self.list_key_in(&self.key_texts(k)?, k, list[pos]))
    }

    /// The figure a [`ListKey`] names, when every part of the key is that figure's.
    pub fn figure_of_list_key(&self, key: &ListKey) -> Option<FigureRef> {
        let f = FigureRef(self.row_of(key.number)?);
        (self.list_key(f).as_ref() == Some(key)).then_some(f)
    }

    /// Every figure matching `filter`, sorted by [`ListKey`].
    pub fn list(&self, filter: &ListFilter) -> Vec<(ListKey, FigureRef)> {
        self.list_page(filter, None, usize::MAX, None).0
    }

    /// The first `size` figures matching `filter` whose [`ListKey`] is after `after`, sorted,
    /// and whether more follow. Only the series at or after the cursor's series are read,
    /// and reading stops once the page is full: a page costs the matching series' sort and
    /// the figures of the series it spans, not the whole listing.
    ///
    /// With a `mark`, the listing is the one the engine gave when it held exactly the
    /// figures stored up to that sequence number: later figures are left out, and a figure
    /// superseded by a later one is still the latest of its source.
    pub fn list_page(
        &self,
        filter: &ListFilter,
        after: Option<&ListKey>,
        size: usize,
        mark: Option<i64>,
    ) -> (Vec<(ListKey, FigureRef)>, bool) {
        let series = self.list_order(filter);
        let start = after.map_or(0, |a| series.partition_point(|(p, _)| p < &a.prefix()));
        let mut out: Vec<(ListKey, FigureRef)> = Vec::new();
        for group in series[start..].chunk_by(|a, b| a.0 == b.0) {
            let group: Vec<usize> = group.iter().map(|&(_, s)| s).collect();
            out.extend(
                self.list_group(filter, &group, mark)
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

    /// The series `filter` lists, grouped as listed: series that differ only in destination
    /// or nature share a group, and groups come in list order. A stream of the whole listing
    /// reads this once and then [`Self::list_group`] group after group (series are never
    /// renumbered, so the groups stay valid while figures land).
    pub fn list_groups(&self, filter: &ListFilter) -> Vec<Vec<usize>> {
        self.list_order(filter)
            .chunk_by(|a, b| a.0 == b.0)
            .map(|group| group.iter().map(|&(_, s)| s).collect())
            .collect()
    }

    /// The figures of one group of [`Self::list_groups`] that `filter` lists at `mark`,
    /// sorted by [`ListKey`] (a page's keys; a stream uses [`Self::list_group_figures`]).
    fn list_group(
        &self,
        filter: &ListFilter,
        group: &[usize],
        mark: Option<i64>,
    ) -> Vec<(ListKey, FigureRef)> {
        let mut items = Vec::new();
        for &s in group {
            self.list_series(filter, s, mark, &mut items);
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items
    }

    /// The rank of every series in listing order (series of one list prefix share a rank),
    /// computed once and kept until a new series appears.
    pub(super) fn series_ranks(&self) -> std::sync::Arc<Vec<u32>> {
        self.series_ranks
            .get_or_init(|| {
                let mut order: Vec<(ListPrefix, usize)> = self
                    .series_keys
                    .iter()
                    .enumerate()
                    .map(|(s, k)| {
                        let (organization, market) = self.key_texts(k).unwrap_or_default();
                        (
                            (organization, k.basis, k.flow, market, k.scope, k.powertrain),
                            s,
                        )
                    })
                    .collect();
                order.sort_unstable();
                let mut ranks = vec![0; order.len()];
                let mut rank = 0u32;
                for (i, (prefix, s)) in order.iter().enumerate() {
                    if i > 0 && order[i - 1].0 != *prefix {
                        rank += 1;
                    }
                    ranks[*s] = rank;
                }
                std::sync::Arc::new(ranks)
            })
            .clone()
    }

    /// The series keys `filter` lists (every destination and nature); `None` when none can
    /// match.
    pub(super) fn list_keys(&self, filter: &ListFilter) -> Option<KeyFilter> {
        self.key_filter(
            filter.organization.as_ref().map(Some),
            filter.market.as_ref(),
            filter.basis,
            filter.flow,
            filter.scope,
            filter.powertrain,
        )
        .map(|keys| keys.any_destination_and_nature())
    }

    /// The series matching `filter`, each with its list prefix, sorted by it.
    pub(super) fn list_order(&self, filter: &ListFilter) -> Vec<(ListPrefix, usize)> {
        let Some(keys) = self.list_keys(filter) else {
            return Vec::new();
        };
        let mut series: Vec<(ListPrefix, usize)> = self
            .series_keys
            .iter()
            .enumerate()
            .filter(|(_, k)| keys.matches(k))
            .filter_map(|(s, k)| {
                let (organization, market) = self.key_texts(k)?;
                Some((
                    (organization, k.basis, k.flow, market, k.scope, k.powertrain),
                    s,
                ))
            })
            .collect();
        series.sort_unstable();
        series
    }

    /// The figures of series `s` that `filter` lists at `mark`, unsorted.
    fn list_series(
        &self,
        filter: &ListFilter,
        s: usize,
        mark: Option<i64>,
        out: &mut Vec<(ListKey, FigureRef)>,
    ) {
        let Some(k) = self.series_keys.get(s) else {
            return;
        };
        let texts = self.key_texts(k).unwrap_or_default();
        self.each_listed(filter, s, mark, |e, _| {
            out.push((self.list_key_in(&texts, k, e), FigureRef(e.row)));
        });
    }

    /// The figures of one group of [`Self::list_groups`] that `filter` lists at `mark`, in
    /// list order, without their keys: what a stream of the whole listing needs (the group's
    /// series share the key's text parts, so the rest orders them).
    pub fn list_group_figures(
        &self,
        filter: &ListFilter,
        group: &[usize],
        mark: Option<i64>,
    ) -> Vec<Listed> {
        let mut items: Vec<(RevisionOrder, Listed)> = Vec::new();
        for &s in group {
            self.each_listed(filter, s, mark, |e, at| {
                let row = &self.rows[e.row as usize];
                let order = (
                    e.start,
                    e.end,
                    row.stage(),
                    as_of_to_day_code(row.as_of()),
                    self.numbers.get(e.row as usize),
                );
                let at = u32::try_from(at).unwrap_or(u32::MAX);
                items.push((
                    order,
                    Listed {
                        figure: FigureRef(e.row),
                        at,
                    },
                ));
            });
        }
        items.sort_unstable_by_key(|&(order, _)| order);
        items.into_iter().map(|(_, l)| l).collect()
    }

    /// Calls `each` with every entry of series `s` that `filter` lists at `mark`, and its
    /// position in the series' entries.
    fn each_listed(
        &self,
        filter: &ListFilter,
        s: usize,
        mark: Option<i64>,
        mut each: impl FnMut(Entry, usize),
    ) {
        let as_of = Self::as_of_key(filter.as_of);
        let known = |r: u32| {
            as_of.is_none_or(|d| self.rows[r as usize].as_of() <= d) && self.visible_at(r, mark)
        };
        let Some(entries) = self.entries.get(s) else {
            return;
        };
        let mut start = 0;
        for chain in entries.chunk_by(|a, b| a.period() == b.period()) {
            let at = start;
            start += chain.len();
            let Some(&e) = chain.first() else { continue };
            if let Some(range) = filter.overlapping
                && (e.start > month_code(range.end()) || e.end < month_code(range.start()))
            {
                continue;
            }
            if filter.include_superseded {
                for (i, c) in chain.iter().enumerate().filter(|(_, c)| known(c.row)) {
                    each(Entry { row: c.row, ..e }, at + i);
                }
            } else {
                // The latest known revision of each source: a source's figure is
                // superseded only by its own later revisions.
                let mut sources = Vec::new();
                for (i, c) in chain.iter().enumerate().rev() {
                    let row = &self.rows[c.row as usize];
                    if known(c.row) && !sources.contains(&row.source) {
                        sources.push(row.source);
                        each(Entry { row: c.row, ..e }, at + i);
                    }
                }
            }
        }
    }
}
