//! What the stats service is asked: one value per question, and the closed vocabularies
//! questions use (grain, dimension, comparison, progress status).
//!
//! The service converts each request into its query once, at its edge (collecting every
//! violation); from there on only these values travel. Paging (sizes, tokens) is the
//! service's own and not part of a query.

use crate::date::Date;
use crate::enums::{Flow, MeasureBasis, Powertrain, RelationshipKind, VehicleScope, domain_enum};
use crate::ids::{OrganizationId, SourceId, TargetId};
use crate::period::{MonthRange, YearMonth};
use crate::series::{Market, SeriesKey};
use crate::validation::ValueError;

domain_enum!(
    /// Period grain of a series or share.
    Granularity {
        /// Calendar months.
        Month => "month",
        /// Calendar quarters.
        Quarter => "quarter",
        /// Calendar years.
        Year => "year",
    }
);

domain_enum!(
    /// A dimension of a series key, as a breakdown groups by it.
    Dimension {
        /// The organisation.
        Organization => "organization",
        /// The measure basis.
        Basis => "basis",
        /// The flow.
        Flow => "flow",
        /// The market.
        Market => "market",
        /// The vehicle scope.
        Scope => "scope",
        /// The powertrain.
        Powertrain => "powertrain",
    }
);

domain_enum!(
    /// What a change compares its period with.
    Comparison {
        /// The same months a year earlier.
        YearOverYear => "year_over_year",
        /// The range of equal length just before the period.
        PrecedingPeriod => "preceding_period",
        /// A prior period the query names.
        Custom => "custom",
    }
);

impl Comparison {
    /// The prior period this comparison implies for `period`: the same months a year
    /// earlier, or the range of equal length ending the month before it starts. `None` for
    /// [`Comparison::Custom`] (the query names its prior period) and when the prior period
    /// would fall outside the supported years.
    pub fn implied_prior(self, period: MonthRange) -> Option<MonthRange> {
        match self {
            Self::YearOverYear => period.same_range_previous_year(),
            Self::PrecedingPeriod => period.preceding(),
            Self::Custom => None,
        }
    }
}

domain_enum!(
    /// Where a target stands.
    ProgressStatus {
        /// The comparator holds (for the full period, or already for a lower bound).
        Met => "met",
        /// Partial figures, pro rata, meet it.
        OnTrack => "on_track",
        /// Partial figures, pro rata, fall short, or the full period does not meet it.
        Behind => "behind",
        /// No figures tile any stretch from the period's start.
        NotYetMeasurable => "not_yet_measurable",
    }
);

/// The periods of a grain that meet `period`, clipped to it, in order.
pub fn grain_periods(period: MonthRange, grain: Granularity) -> Vec<MonthRange> {
    let mut out = Vec::new();
    let mut cursor = Some(period.start());
    while let Some(start) = cursor {
        if start > period.end() {
            break;
        }
        let natural_end = match grain {
            Granularity::Month => start,
            Granularity::Quarter => {
                let last = start.quarter() * 3;
                YearMonth::new(start.year(), last).unwrap_or(start)
            }
            Granularity::Year => YearMonth::new(start.year(), 12).unwrap_or(start),
        };
        let end = natural_end.min(period.end());
        out.push(MonthRange::new(start, end).unwrap_or(MonthRange::month(start)));
        cursor = end.succ();
    }
    out
}

/// Which figures an answer reads: those known on `as_of`, and of one source when the
/// request names it.
///
/// Several sources may publish the same series and period; each keeps its own revision
/// chain. Without a named source, each period is answered by the configured source
/// preference (the first listed source that has a figure known on `as_of`), and among
/// sources the preference does not list (or without one) by the latest (stage, as-of)
/// revision. An answer cites the figures, hence the sources, it used.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Reading {
    /// Answer as known on this date (latest when `None`).
    pub as_of: Option<Date>,
    /// Only this source's figures (the preference when `None`).
    pub source: Option<SourceId>,
}

impl Reading {
    /// Every source, as known on `as_of`.
    pub fn as_of(as_of: Option<Date>) -> Self {
        Self {
            as_of,
            source: None,
        }
    }
}

impl From<Option<Date>> for Reading {
    fn from(as_of: Option<Date>) -> Self {
        Self::as_of(as_of)
    }
}

impl From<&Reading> for Reading {
    fn from(reading: &Reading) -> Self {
        reading.clone()
    }
}

/// The total of one series over a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotalQuery {
    /// The series.
    pub series: SeriesKey,
    /// The months totalled.
    pub period: MonthRange,
    /// What the answer reads: as known on a date, of one source.
    pub reading: Reading,
}

/// One series' total over a range against its total over a prior range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeQuery {
    /// The series.
    pub series: SeriesKey,
    /// The current months.
    pub period: MonthRange,
    /// The months compared with: named, or implied by the [`Comparison`].
    pub prior_period: MonthRange,
    /// What the answer reads: as known on a date, of one source.
    pub reading: Reading,
    /// Decimals of percentages in the answer.
    pub percent_decimals: u32,
}

/// One series' totals per period of a grain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesQuery {
    /// The series.
    pub series: SeriesKey,
    /// The months covered.
    pub period: MonthRange,
    /// The grain of the points.
    pub granularity: Granularity,
    /// Each point totals its year from January up to its end.
    pub cumulative_within_year: bool,
    /// Also the organisation's events in the period (the series names an organisation).
    pub include_events: bool,
    /// What the answer reads: as known on a date, of one source.
    pub reading: Reading,
}

/// The top organisations of a series over a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankingQuery {
    /// The series' dimensions; its organisation is none (a ranking is over organisations).
    pub series: SeriesKey,
    /// The months ranked.
    pub period: MonthRange,
    /// How many organisations (1 to 1,000).
    pub limit: usize,
    /// What the answer reads: as known on a date, of one source.
    pub reading: Reading,
    /// Decimals of percentages in the answer.
    pub percent_decimals: u32,
    /// Rank groups by their rollup in this mode instead of organisations by their own
    /// figures.
    pub group_mode: Option<RollupMode>,
}

/// One series over another, per period of a grain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareQuery {
    /// The part.
    pub numerator: SeriesKey,
    /// The whole.
    pub denominator: SeriesKey,
    /// The months covered.
    pub period: MonthRange,
    /// The grain of the points.
    pub granularity: Granularity,
    /// What the answer reads: as known on a date, of one source.
    pub reading: Reading,
    /// Decimals of percentages in the answer.
    pub percent_decimals: u32,
}

/// Which series a breakdown covers: `None` marks a grouped dimension (any value).
///
/// For the organisation, `None` means every organisation-level series (whole-market series
/// are not an organisation and are left out); `Some(None)` fixes the whole market.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BreakdownFilter {
    /// The organisation, or grouped.
    pub organization: Option<Option<OrganizationId>>,
    /// The basis, or grouped.
    pub basis: Option<MeasureBasis>,
    /// The flow, or grouped.
    pub flow: Option<Flow>,
    /// The market, or grouped.
    pub market: Option<Market>,
    /// The scope, or grouped.
    pub scope: Option<VehicleScope>,
    /// The powertrain, or grouped.
    pub powertrain: Option<Powertrain>,
}

/// Totals of every series a filter matches, one per group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakdownQuery {
    /// The series covered.
    pub filter: BreakdownFilter,
    /// The months totalled.
    pub period: MonthRange,
    /// What the answer reads: as known on a date, of one source.
    pub reading: Reading,
}

/// An origin's exports broken down by destination: the destination series of one
/// destination-less export series (a market, an organisation or a plant), ranked by units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationsQuery {
    /// The origin: an export series without a destination (flow `export`).
    pub origin: SeriesKey,
    /// The months totalled.
    pub period: MonthRange,
    /// How many destinations to return, highest first (`None`: every destination).
    pub limit: Option<usize>,
    /// Also each destination's units per month of the period (a destination × month matrix).
    pub include_months: bool,
    /// What the answer reads: as known on a date, of one source.
    pub reading: Reading,
    /// Decimals of percentages in the answer.
    pub percent_decimals: u32,
}

domain_enum!(
    /// How a rollup counts the organisations below its root (see `RollupMode` in the
    /// stats proto for the rules).
    RollupMode {
        /// Every descendant at 100%.
        Gross => "gross",
        /// 100% of what the root controls (a stake above 50%, or a subsidiary, brand or
        /// plant link, along a chain of such links).
        Consolidated => "consolidated",
        /// Every descendant weighted by the root's effective stake.
        EquityShare => "equity_share",
    }
);

/// One link of an ownership hierarchy on a date, as a rollup reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HierarchyLink {
    /// The owning, operating or branding organisation.
    pub parent: OrganizationId,
    /// The owned, operated or branded organisation.
    pub child: OrganizationId,
    /// The kind of link.
    pub kind: RelationshipKind,
    /// The stake in basis points (1 to 10 000), when the link carries one.
    pub stake_basis_points: Option<u16>,
    /// The parent controls the child whatever the stake.
    pub controls: bool,
}

/// A series rolled up an organisation hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupQuery {
    /// The series; its organisation is the root of the rollup.
    pub series: SeriesKey,
    /// The months totalled.
    pub period: MonthRange,
    /// The date whose hierarchy is used (the period's last day when `None`).
    pub hierarchy_date: Option<Date>,
    /// What the answer reads: as known on a date, of one source.
    pub reading: Reading,
    /// How descendants count.
    pub mode: RollupMode,
}

impl RollupQuery {
    /// The organisation at the top of the rollup.
    pub fn root(&self) -> Option<&OrganizationId> {
        self.series.organization.as_ref()
    }

    /// The date whose hierarchy is rolled up: `hierarchy_date`, else the period's last day.
    pub fn hierarchy_on(&self) -> Date {
        self.hierarchy_date
            .unwrap_or_else(|| Date::last_of(self.period.end()))
    }
}

/// Where a target stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetProgressQuery {
    /// The target.
    pub target: TargetId,
    /// What the answer reads: as known on a date, of one source.
    pub reading: Reading,
    /// Decimals of percentages in the answer.
    pub percent_decimals: u32,
}

/// How far each forecast of one series for exactly one period missed the actual.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForecastAccuracyQuery {
    /// The series.
    pub series: SeriesKey,
    /// The months forecast and measured; only forecasts of exactly these months count.
    pub period: MonthRange,
    /// Only this source's forecasts (every source's when `None`).
    pub source: Option<SourceId>,
    /// Answer as known on this date (latest when `None`).
    pub as_of: Option<Date>,
    /// Decimals of percentages in the answer.
    pub percent_decimals: u32,
}

/// Every basis, flow and source that measures one organisation (or a market) over a range,
/// side by side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeasuresQuery {
    /// The organisation; `None` for the whole market.
    pub organization: Option<OrganizationId>,
    /// The market.
    pub market: Market,
    /// The vehicle scope.
    pub scope: VehicleScope,
    /// The powertrain.
    pub powertrain: Powertrain,
    /// The months totalled.
    pub period: MonthRange,
    /// Answer as known on this date (latest when `None`).
    pub as_of: Option<Date>,
    /// A divergence is flagged when its ratio differs from 1 by more than this many basis
    /// points.
    pub threshold_basis_points: u32,
    /// Decimals of percentages in the answer.
    pub percent_decimals: u32,
}

/// Which vintages a diff compares, and which figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VintageDiffQuery {
    /// Which series and periods (its `as_of` and `include_superseded` are not read).
    pub filter: ListFilter,
    /// Only this source's figures.
    pub source: Option<SourceId>,
    /// The earlier vintage.
    pub from: Date,
    /// The later vintage (after `from`).
    pub to: Date,
}

/// Which figures a watch of releases streams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseWatch {
    /// Which series (its scope, powertrain, overlap, `as_of` and `include_superseded` are
    /// not read).
    pub filter: ListFilter,
    /// Only this source's figures.
    pub source: Option<SourceId>,
}

/// Which releases to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReleaseFilter {
    /// Only this source's.
    pub source: Option<SourceId>,
    /// Only releases dated on or after this date.
    pub from: Option<Date>,
    /// Only releases dated on or before this date.
    pub to: Option<Date>,
}

/// Filters of a figure listing.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListFilter {
    /// Only this organisation.
    pub organization: Option<OrganizationId>,
    /// Only this basis.
    pub basis: Option<MeasureBasis>,
    /// Only this flow.
    pub flow: Option<Flow>,
    /// Only this market.
    pub market: Option<Market>,
    /// Only this scope.
    pub scope: Option<VehicleScope>,
    /// Only this powertrain.
    pub powertrain: Option<Powertrain>,
    /// Only periods overlapping these months.
    pub overlapping: Option<MonthRange>,
    /// Only figures known on this date (and of those, the latest unless superseded ones are
    /// asked for).
    pub as_of: Option<Date>,
    /// Also superseded revisions.
    pub include_superseded: bool,
}

/// Every revision of one series and period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionHistoryQuery {
    /// The series.
    pub series: SeriesKey,
    /// The period.
    pub period: MonthRange,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str) -> MonthRange {
        s.parse().unwrap()
    }

    #[test]
    fn query_vocabularies_have_distinct_round_tripping_tokens() {
        fn round_trip<T>(all: &[T])
        where
            T: Copy + std::fmt::Display + std::str::FromStr + PartialEq + std::fmt::Debug,
        {
            let tokens: std::collections::HashSet<String> =
                all.iter().map(ToString::to_string).collect();
            assert_eq!(tokens.len(), all.len());
            for v in all {
                assert_eq!(v.to_string().parse::<T>().ok(), Some(*v));
            }
        }
        round_trip(Granularity::ALL);
        round_trip(Dimension::ALL);
        round_trip(Comparison::ALL);
        round_trip(ProgressStatus::ALL);
    }

    #[test]
    fn comparisons_imply_a_year_earlier_or_the_preceding_range() {
        let q2 = range("2024-04..2024-06");
        assert_eq!(
            Comparison::YearOverYear.implied_prior(q2),
            Some(range("2023-04..2023-06"))
        );
        assert_eq!(
            Comparison::PrecedingPeriod.implied_prior(q2),
            Some(range("2024-01..2024-03"))
        );
        assert_eq!(Comparison::Custom.implied_prior(q2), None);
        assert_eq!(
            Comparison::YearOverYear.implied_prior(range("1900-01..1900-03")),
            None
        );
    }

    #[test]
    fn grain_periods_are_clipped_to_the_range() {
        assert_eq!(
            grain_periods(range("2023-11..2024-02"), Granularity::Quarter),
            vec![range("2023-11..2023-12"), range("2024-01..2024-02")]
        );
        assert_eq!(
            grain_periods(range("2023-05..2023-06"), Granularity::Month),
            vec![range("2023-05"), range("2023-06")]
        );
    }

    #[test]
    fn a_rollup_uses_the_hierarchy_of_the_periods_last_day_unless_told() {
        let mut q = RollupQuery {
            series: SeriesKey {
                organization: Some(OrganizationId::parse("nissan-china").unwrap()),
                basis: MeasureBasis::Wholesale,
                flow: Flow::Total,
                market: Market::parse("CN").unwrap(),
                scope: VehicleScope::All,
                powertrain: Powertrain::All,
                destination: None,
            },
            period: range("2024-01..2024-02"),
            hierarchy_date: None,
            reading: Reading::default(),
            mode: RollupMode::Gross,
        };
        assert_eq!(q.hierarchy_on(), "2024-02-29".parse().unwrap());
        q.hierarchy_date = Some("2020-05-01".parse().unwrap());
        assert_eq!(q.hierarchy_on(), "2020-05-01".parse().unwrap());
        assert_eq!(q.root().map(OrganizationId::as_str), Some("nissan-china"));
    }
}
