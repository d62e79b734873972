//! Totals of every series a filter matches, one row per series.

use autointel_domain::{BreakdownFilter, MonthRange, Reading, SeriesKey};

use super::Total;
use crate::engine::layout::NONE;
use crate::engine::{Engine, FigureRef};

/// Totals per group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakdownAnswer {
    /// One row per series with figures in the period, ordered by series key.
    pub rows: Vec<(SeriesKey, Total)>,
    /// Figures used.
    pub figures: Vec<FigureRef>,
}

impl Engine {
    /// Totals of every series matching `filter` that has figures in `period`.
    pub fn breakdown(
        &self,
        filter: &BreakdownFilter,
        period: MonthRange,
        reading: impl Into<Reading>,
    ) -> BreakdownAnswer {
        let pick = &self.pick(&reading.into());
        let Some(keys) = self.key_filter(
            filter.organization.as_ref().map(Option::as_ref),
            filter.market.as_ref(),
            filter.basis,
            filter.flow,
            filter.scope,
            filter.powertrain,
        ) else {
            return BreakdownAnswer {
                rows: Vec::new(),
                figures: Vec::new(),
            };
        };
        // Only the series that can match: the organisation's, or those of the fixed dimensions,
        // or (with grouped dimensions and organisation) every series.
        let scan: Vec<u32>;
        let candidates: &[u32] = match (keys.organization, keys.dims()) {
            (Some(o), _) => self.by_organization.get(&o).map_or(&[], Vec::as_slice),
            (None, Some(dims)) => self.by_dims.get(&dims).map_or(&[], Vec::as_slice),
            (None, None) => {
                scan = (0..u32::try_from(self.series_keys.len()).unwrap_or(NONE)).collect();
                &scan
            }
        };
        let mut groups = Vec::new();
        for &s in candidates {
            let k = &self.series_keys[s as usize];
            // A grouped organisation means every organisation, not the whole market.
            let ok = keys.matches(k) && (keys.organization.is_some() || k.organization != NONE);
            if ok
                && self.has_figures_in(s, period, pick)
                && let Some(key) = self.key_of(k)
            {
                groups.push((key, s));
            }
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        // Every series is listed once and a figure belongs to one series: no duplicates.
        let mut figures = Vec::new();
        let rows = groups
            .into_iter()
            .map(|(key, s)| {
                let (total, rows) = self.total_in(Some(s), period, pick);
                figures.extend(rows.into_iter().map(FigureRef));
                (key, total)
            })
            .collect();
        BreakdownAnswer { rows, figures }
    }
}
