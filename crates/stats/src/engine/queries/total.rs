//! The total of one series over a range.

use autointel_domain::{Date, MonthRange, SeriesKey};

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
    /// Total of `key` over `period` as known on `as_of` (latest when `None`).
    pub fn total(&self, key: &SeriesKey, period: MonthRange, as_of: Option<Date>) -> TotalAnswer {
        let (total, rows) = self.total_in(self.series_of(key), period, Self::as_of_key(as_of));
        TotalAnswer {
            total,
            figures: rows.into_iter().map(FigureRef).collect(),
        }
    }
}
