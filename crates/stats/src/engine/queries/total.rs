//! The total of one series over a range.

use autointel_domain::{MonthRange, Reading, SeriesKey};

use super::Total;
use crate::engine::{Engine, FigureRef};

/// A total and the figures it used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotalAnswer {
    /// The total.
    pub total: Total,
    /// Figures used (none when incomplete).
    pub figures: Vec<FigureRef>,
}

impl Engine {
    /// Total of `key` over `period` as `reading` reads it.
    pub fn total(
        &self,
        key: &SeriesKey,
        period: MonthRange,
        reading: impl Into<Reading>,
    ) -> TotalAnswer {
        let pick = &self.pick(&reading.into());
        let (total, rows) = self.total_in(self.series_of(key), period, pick);
        TotalAnswer {
            total,
            figures: rows.into_iter().map(FigureRef).collect(),
        }
    }
}
