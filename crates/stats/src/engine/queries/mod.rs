//! The queries, one module per question: totals with coverage (`coverage`, `total`),
//! changes, series, rankings, shares, breakdowns, destinations, rollups, target progress, forecast
//! accuracy and listing.
//! Each is a pure function of the engine's figures that names the figures it used.

mod accuracy;
mod breakdown;
mod change;
mod coverage;
mod destinations;
mod group_rank;
mod list;
mod measures;
mod progress;
mod rank;
mod rollup;
mod rollup_segments;
mod series;
mod share;
mod total;
mod vintages;

use autointel_domain::Date;

pub use accuracy::{ForecastAccuracyAnswer, ForecastErrorEntry};
pub use breakdown::BreakdownAnswer;
pub use change::ChangeAnswer;
pub use coverage::{Coverage, Runs, Total};
pub use destinations::{DestinationEntry, DestinationsAnswer};
pub use group_rank::GroupHierarchy;
pub use list::ListKey;
pub use measures::{Divergence, Measure, MeasuresAnswer};
pub use progress::TargetProgressAnswer;
pub use rank::{RankingAnswer, RankingEntry};
pub use rollup::{Contribution, RollupAnswer, RollupSegment};
pub use series::SeriesAnswer;
pub use share::{ShareAnswer, SharePoint};
pub use total::TotalAnswer;
pub use vintages::{Release, VintageChange, VintageChangeKind};

use super::layout::{FastSet, as_of_code};
use super::{Engine, FigureRef};

/// The figures an answer used, each once, in first-use order.
#[derive(Clone, Debug, Default)]
struct Used {
    seen: FastSet<u32>,
    figures: Vec<FigureRef>,
}

impl Used {
    fn add(&mut self, rows: &[u32]) {
        for &r in rows {
            if self.seen.insert(r) {
                self.figures.push(FigureRef(r));
            }
        }
    }

    /// [`Used::add`] of figures an answer already lists.
    fn add_figures(&mut self, figures: &[FigureRef]) {
        for &f in figures {
            if self.seen.insert(f.0) {
                self.figures.push(f);
            }
        }
    }
}

impl Engine {
    /// The engine's code of an as-of date.
    fn as_of_key(as_of: Option<Date>) -> Option<u32> {
        as_of.map(as_of_code)
    }
}
