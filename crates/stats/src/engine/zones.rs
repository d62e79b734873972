//! A zone map of as-of dates: the least and greatest as-of code of every block of rows, so a
//! question about one window of as-of dates (a vintage diff) reads only the blocks that can
//! hold a figure dated in it. Rows arrive in release order, so a window is a few blocks.
//! Derived from the rows (rebuilt by a snapshot read, never stored); 8 bytes a block.

use std::ops::Range;

use super::layout::Row;

/// Rows per block.
const ZONE_ROWS: usize = 4096;

/// (least, greatest) as-of code of each block of [`ZONE_ROWS`] rows, in row order.
#[derive(Clone, Debug, Default)]
pub(super) struct AsOfZones(Vec<(u32, u32)>);

impl AsOfZones {
    /// The zones of `rows`.
    pub(super) fn of_rows(rows: &[Row]) -> Self {
        Self(
            rows.chunks(ZONE_ROWS)
                .map(|block| {
                    block.iter().fold((u32::MAX, 0), |(lo, hi), row| {
                        (lo.min(row.as_of()), hi.max(row.as_of()))
                    })
                })
                .collect(),
        )
    }

    /// Records row `r` (the next row) dated `as_of`.
    pub(super) fn push(&mut self, r: usize, as_of: u32) {
        let block = r / ZONE_ROWS;
        match self.0.get_mut(block) {
            Some((lo, hi)) => {
                *lo = (*lo).min(as_of);
                *hi = (*hi).max(as_of);
            }
            None => self.0.push((as_of, as_of)),
        }
    }

    /// The row ranges (of `len` rows) whose blocks may hold an as-of code in `from+1..=to`.
    pub(super) fn blocks(
        &self,
        from: u32,
        to: u32,
        len: usize,
    ) -> impl Iterator<Item = Range<usize>> {
        self.0
            .iter()
            .enumerate()
            .filter(move |&(_, &(lo, hi))| hi > from && lo <= to)
            .map(move |(b, _)| b * ZONE_ROWS..((b + 1) * ZONE_ROWS).min(len))
    }

    /// Releases spare capacity.
    pub(super) fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}
