//! Which revision of a chain an answer reads: a [`Reading`] in the engine's codes, with the
//! configured source preference.

use autointel_domain::{Reading, SourceId};

use super::Engine;
use super::layout::{Entry, NONE, Row, as_of_code};

/// A [`Reading`] in the engine's codes: the as-of day code, the interned source when one is
/// named, and each interned source's rank in the preference (lower first) when none is.
#[derive(Clone, Debug, Default)]
pub(super) struct Pick {
    as_of: Option<u32>,
    /// Only this interned source ([`NONE`] when the engine holds no figure of it).
    source: Option<u32>,
    /// Rank of each interned source by code; empty when no preference applies.
    ranks: Vec<u16>,
}

/// The rank of a source the preference does not list: after every listed one.
const UNLISTED: u16 = u16::MAX;

impl Pick {
    /// Figures known on `as_of` (an as-of code) of `source` (an interned code), or of any
    /// source latest first.
    pub(super) fn of_source(as_of: Option<u32>, source: Option<u32>) -> Self {
        Self {
            as_of,
            source,
            ranks: Vec::new(),
        }
    }

    /// True when `row` is known on the reading's date and of its source.
    #[inline]
    pub(super) fn known(&self, row: &Row) -> bool {
        self.as_of.is_none_or(|d| row.as_of() <= d) && self.source.is_none_or(|s| row.source == s)
    }

    /// True when the source preference decides between sources.
    #[inline]
    pub(super) fn ranked(&self) -> bool {
        !self.ranks.is_empty()
    }

    /// A row's rank by the preference.
    #[inline]
    pub(super) fn rank(&self, row: &Row) -> u16 {
        self.ranks
            .get(row.source as usize)
            .copied()
            .unwrap_or(UNLISTED)
    }
}

impl Engine {
    /// Sets the order in which sources answer a series and period that several publish
    /// (first listed first; unlisted sources after, latest revision first).
    pub fn set_source_preference(&mut self, preference: Vec<SourceId>) {
        self.source_preference = preference;
    }

    /// A reading in the engine's codes.
    pub(super) fn pick(&self, reading: &Reading) -> Pick {
        let as_of = reading.as_of.map(as_of_code);
        if let Some(source) = &reading.source {
            return Pick {
                as_of,
                source: Some(self.sources.get(source).unwrap_or(NONE)),
                ranks: Vec::new(),
            };
        }
        let mut ranks = Vec::new();
        if !self.source_preference.is_empty() {
            ranks = vec![UNLISTED; self.sources.values().len()];
            for (rank, source) in self.source_preference.iter().enumerate() {
                if let (Some(code), Ok(rank)) = (self.sources.get(source), u16::try_from(rank))
                    && let Some(slot) = ranks.get_mut(code as usize)
                {
                    *slot = (*slot).min(rank);
                }
            }
        }
        Pick {
            as_of,
            source: None,
            ranks,
        }
    }

    /// The figure a reading answers with among one chain (entries in revision order): the
    /// latest known of the named source, else of the most preferred source that has one.
    pub(super) fn latest_known(&self, chain: &[Entry], pick: &Pick) -> Option<u32> {
        let mut best: Option<(u16, u32)> = None;
        for e in chain.iter().rev() {
            let row = &self.rows[e.row as usize];
            if !pick.known(row) {
                continue;
            }
            if !pick.ranked() {
                return Some(e.row);
            }
            let rank = pick.rank(row);
            if best.is_none_or(|(b, _)| rank < b) {
                best = Some((rank, e.row));
                if rank == 0 {
                    break;
                }
            }
        }
        best.map(|(_, r)| r)
    }

    /// True when `candidate` answers before `current` (a row of the same chain earlier in
    /// revision order, or [`NONE`]) under the reading.
    #[inline]
    pub(super) fn answers_before(&self, pick: &Pick, candidate: u32, current: u32) -> bool {
        current == NONE
            || !pick.ranked()
            || pick.rank(&self.rows[candidate as usize]) <= pick.rank(&self.rows[current as usize])
    }
}
