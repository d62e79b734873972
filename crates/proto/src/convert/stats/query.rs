//! `autointel.stats.v1` query requests → domain queries, and the query vocabularies' wire
//! enums.
//!
//! Each request converts once, with every violation and its path relative to the request.
//! Paging fields (`page_size`, `page_token`) are left to the service, which binds its page
//! tokens to the rest of the request.

use autointel_domain::{
    BreakdownFilter, BreakdownQuery, ChangeQuery, Comparison, DestinationsQuery, Dimension, Flow,
    ForecastAccuracyQuery, Granularity, ListFilter, Market, MeasureBasis, OrganizationId,
    Powertrain, ProgressStatus, RankingQuery, Reading, RevisionHistoryQuery, RollupMode,
    RollupQuery, SeriesQuery, ShareQuery, SourceId, TargetId, TargetProgressQuery, TotalQuery,
    ValidationError, ValueError, VehicleScope, Violations,
};

use crate::convert::types::{
    date_from_wire, month_range_from_wire, percent_decimals_from_wire, series_key_from_wire,
};
use crate::convert::{
    ResourceId, WireEnum, optional_message, optional_value, rejected, required, wire_enum,
};
use crate::stats as wire;
use crate::types as twire;

wire_enum!(Granularity, wire::Granularity, {
    Month => Month, Quarter => Quarter, Year => Year,
});
wire_enum!(Dimension, wire::Dimension, {
    Organization => Organization, Basis => Basis, Flow => Flow, Market => Market,
    Scope => Scope, Powertrain => Powertrain,
});
wire_enum!(RollupMode, wire::RollupMode, {
    Gross => Gross, Consolidated => Consolidated, EquityShare => EquityShare,
});
wire_enum!(Comparison, wire::Comparison, {
    YearOverYear => YearOverYear, PrecedingPeriod => PrecedingPeriod, Custom => Custom,
});
wire_enum!(ProgressStatus, wire::TargetProgressStatus, {
    Met => Met, OnTrack => OnTrack, Behind => Behind, NotYetMeasurable => NotYetMeasurable,
});

/// Reads the optional `percent_decimals` of a query into `v`.
pub(crate) fn decimals(v: &mut Violations, value: Option<i32>) -> Option<u32> {
    v.check("percent_decimals", percent_decimals_from_wire(value))
}

/// Reads the optional `as_of_date` of a query into `v`.
pub(crate) fn as_of(
    v: &mut Violations,
    value: Option<&crate::google::r#type::Date>,
) -> Option<Option<autointel_domain::Date>> {
    optional_message(v, "as_of_date", value, date_from_wire)
}

/// Reads an optional `source` resource name into `v`.
pub(crate) fn source(v: &mut Violations, name: &str) -> Option<Option<SourceId>> {
    v.check("source", SourceId::from_optional_resource_name(name))
}

/// Reads the optional `as_of_date` and `source` of a query into `v`.
fn reading(
    v: &mut Violations,
    as_of_date: Option<&crate::google::r#type::Date>,
    source: &str,
) -> Option<Reading> {
    let as_of = as_of(v, as_of_date);
    let source = self::source(v, source);
    Some(Reading {
        as_of: as_of?,
        source: source?,
    })
}

impl TryFrom<&wire::ComputeTotalRequest> for TotalQuery {
    type Error = ValidationError;

    fn try_from(r: &wire::ComputeTotalRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let reading = reading(&mut v, r.as_of_date.as_ref(), &r.source);
        let (Some(series), Some(period), Some(reading)) = (series, period, reading) else {
            return Err(rejected(v));
        };
        Ok(Self {
            series,
            period,
            reading,
        })
    }
}

impl TryFrom<&wire::ComputeChangeRequest> for ChangeQuery {
    type Error = ValidationError;

    /// The prior period is `prior_period` for `COMPARISON_CUSTOM` (which must not be set
    /// otherwise), else the one the comparison implies.
    fn try_from(r: &wire::ComputeChangeRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let reading = reading(&mut v, r.as_of_date.as_ref(), &r.source);
        let decimals = decimals(&mut v, r.percent_decimals);
        let prior_period = match v.check("comparison", Comparison::from_wire(r.comparison)) {
            Some(Comparison::Custom) => required(
                &mut v,
                "prior_period",
                r.prior_period.as_ref(),
                month_range_from_wire,
            ),
            Some(implied) => {
                if r.prior_period.is_some() {
                    v.push(
                        "prior_period",
                        "must be unset unless comparison is COMPARISON_CUSTOM",
                    );
                }
                period.and_then(|p| {
                    let prior = implied.implied_prior(p);
                    if prior.is_none() {
                        v.push("period", "has no prior period within the supported years");
                    }
                    prior
                })
            }
            None => None,
        };
        let (
            Some(series),
            Some(period),
            Some(reading),
            Some(percent_decimals),
            Some(prior_period),
            true,
        ) = (
            series,
            period,
            reading,
            decimals,
            prior_period,
            v.is_empty(),
        )
        else {
            return Err(rejected(v));
        };
        Ok(Self {
            series,
            period,
            prior_period,
            reading,
            percent_decimals,
        })
    }
}

impl TryFrom<&wire::ComputeSeriesRequest> for SeriesQuery {
    type Error = ValidationError;

    fn try_from(r: &wire::ComputeSeriesRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let granularity = v.check("granularity", Granularity::from_wire(r.granularity));
        let reading = reading(&mut v, r.as_of_date.as_ref(), &r.source);
        if r.include_events && r.series.as_ref().is_some_and(|s| s.organization.is_empty()) {
            v.push(
                "include_events",
                "needs series.organization: the whole market has no events",
            );
        }
        let (Some(series), Some(period), Some(granularity), Some(reading), true) =
            (series, period, granularity, reading, v.is_empty())
        else {
            return Err(rejected(v));
        };
        Ok(Self {
            series,
            period,
            granularity,
            cumulative_within_year: r.cumulative_within_year,
            include_events: r.include_events,
            reading,
        })
    }
}

impl TryFrom<&wire::ComputeRankingRequest> for RankingQuery {
    type Error = ValidationError;

    fn try_from(r: &wire::ComputeRankingRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        if r.series
            .as_ref()
            .is_some_and(|s| !s.organization.is_empty())
        {
            v.push(
                "series.organization",
                "must be empty: a ranking is over organisations",
            );
        }
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let reading = reading(&mut v, r.as_of_date.as_ref(), &r.source);
        let decimals = decimals(&mut v, r.percent_decimals);
        let limit = match r.limit {
            0 => Some(10),
            n @ 1..=1000 => usize::try_from(n).ok(),
            n => {
                v.push("limit", format!("{n} is outside 1..=1000"));
                None
            }
        };
        let group_mode = v.check("group_mode", RollupMode::from_wire_filter(r.group_mode));
        let (
            Some(series),
            Some(period),
            Some(reading),
            Some(percent_decimals),
            Some(limit),
            Some(group_mode),
            true,
        ) = (
            series,
            period,
            reading,
            decimals,
            limit,
            group_mode,
            v.is_empty(),
        )
        else {
            return Err(rejected(v));
        };
        Ok(Self {
            series,
            period,
            limit,
            reading,
            percent_decimals,
            group_mode,
        })
    }
}

impl TryFrom<&wire::ComputeShareRequest> for ShareQuery {
    type Error = ValidationError;

    fn try_from(r: &wire::ComputeShareRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let numerator = required(
            &mut v,
            "numerator",
            r.numerator.as_ref(),
            series_key_from_wire,
        );
        let denominator = required(
            &mut v,
            "denominator",
            r.denominator.as_ref(),
            series_key_from_wire,
        );
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let granularity = v.check("granularity", Granularity::from_wire(r.granularity));
        let reading = reading(&mut v, r.as_of_date.as_ref(), &r.source);
        let decimals = decimals(&mut v, r.percent_decimals);
        let (
            Some(numerator),
            Some(denominator),
            Some(period),
            Some(granularity),
            Some(reading),
            Some(percent_decimals),
        ) = (
            numerator,
            denominator,
            period,
            granularity,
            reading,
            decimals,
        )
        else {
            return Err(rejected(v));
        };
        Ok(Self {
            numerator,
            denominator,
            period,
            granularity,
            reading,
            percent_decimals,
        })
    }
}

impl TryFrom<&wire::ComputeDestinationsRequest> for DestinationsQuery {
    type Error = ValidationError;

    /// The origin must be an export series without a destination.
    fn try_from(r: &wire::ComputeDestinationsRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        if let Some(s) = r.series.as_ref() {
            // Another flow is refused here, its destination then by the series key's own
            // rule; a malformed destination code by the series key's conversion too.
            let other_flow = Flow::from_wire(s.flow).is_ok_and(|f| f != Flow::Export);
            if other_flow {
                v.push(
                    "series.flow",
                    "must be FLOW_EXPORT: only exports have destinations",
                );
            } else if Market::parse(&s.destination).is_ok() {
                v.push(
                    "series.destination",
                    "must be empty: the origin's destinations are the answer",
                );
            }
        }
        let origin = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let limit = match r.limit {
            0 => Some(None),
            n @ 1..=1000 => usize::try_from(n).ok().map(Some),
            n => {
                v.push("limit", format!("{n} is outside 1..=1000"));
                None
            }
        };
        let reading = reading(&mut v, r.as_of_date.as_ref(), &r.source);
        let decimals = decimals(&mut v, r.percent_decimals);
        let (Some(origin), Some(period), Some(limit), Some(reading), Some(percent_decimals), true) =
            (origin, period, limit, reading, decimals, v.is_empty())
        else {
            return Err(rejected(v));
        };
        Ok(Self {
            origin,
            period,
            limit,
            include_months: r.include_months,
            reading,
            percent_decimals,
        })
    }
}

/// A breakdown's series dimension: `None` when grouped by (the field must then be unset),
/// else its value.
fn grouped_or<T>(
    v: &mut Violations,
    field: &str,
    is_grouped: bool,
    is_set: bool,
    parse: impl FnOnce() -> Result<T, ValueError>,
) -> Option<Option<T>> {
    if is_grouped {
        if is_set {
            v.push(field, "must be unset when grouped by");
        }
        Some(None)
    } else {
        v.check(field, parse()).map(Some)
    }
}

/// The `group_by` dimensions, each once and at least one (violations into `v`).
fn group_by(v: &mut Violations, group_by: &[i32]) -> Vec<Dimension> {
    let mut grouped = Vec::new();
    for (i, &d) in group_by.iter().enumerate() {
        let field = format!("group_by[{i}]");
        if let Some(dim) = v.check(field.clone(), Dimension::from_wire(d)) {
            if grouped.contains(&dim) {
                v.push(field, "names a dimension twice");
            } else {
                grouped.push(dim);
            }
        }
    }
    if group_by.is_empty() {
        v.push("group_by", "needs at least one dimension");
    }
    grouped
}

impl TryFrom<&wire::ComputeBreakdownRequest> for BreakdownQuery {
    type Error = ValidationError;

    /// A grouped dimension must be unset in `series`; every other one is required (the
    /// organisation may be empty: the whole market).
    fn try_from(r: &wire::ComputeBreakdownRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let grouped = group_by(&mut v, &r.group_by);
        let default_series = twire::SeriesKey::default();
        let s = match r.series.as_ref() {
            Some(s) => s,
            None => {
                v.push("series", "is required");
                &default_series
            }
        };
        let g = |d: Dimension| grouped.contains(&d);
        let organization = grouped_or(
            &mut v,
            "series.organization",
            g(Dimension::Organization),
            !s.organization.is_empty(),
            || OrganizationId::from_optional_resource_name(&s.organization),
        );
        let basis = grouped_or(
            &mut v,
            "series.basis",
            g(Dimension::Basis),
            s.basis != 0,
            || MeasureBasis::from_wire(s.basis),
        );
        let flow = grouped_or(
            &mut v,
            "series.flow",
            g(Dimension::Flow),
            s.flow != 0,
            || Flow::from_wire(s.flow),
        );
        let market = grouped_or(
            &mut v,
            "series.market",
            g(Dimension::Market),
            !s.market.is_empty(),
            || Market::parse(&s.market),
        );
        let scope = grouped_or(
            &mut v,
            "series.scope",
            g(Dimension::Scope),
            s.scope != 0,
            || VehicleScope::from_wire(s.scope),
        );
        let powertrain = grouped_or(
            &mut v,
            "series.powertrain",
            g(Dimension::Powertrain),
            s.powertrain != 0,
            || Powertrain::from_wire(s.powertrain),
        );
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let reading = reading(&mut v, r.as_of_date.as_ref(), &r.source);
        let (
            Some(organization),
            Some(basis),
            Some(flow),
            Some(market),
            Some(scope),
            Some(powertrain),
            Some(period),
            Some(reading),
            true,
        ) = (
            organization,
            basis,
            flow,
            market,
            scope,
            powertrain,
            period,
            reading,
            v.is_empty(),
        )
        else {
            return Err(rejected(v));
        };
        Ok(Self {
            filter: BreakdownFilter {
                organization,
                basis,
                flow,
                market,
                scope,
                powertrain,
            },
            period,
            reading,
        })
    }
}

impl TryFrom<&wire::ComputeRollupRequest> for RollupQuery {
    type Error = ValidationError;

    /// The series must name its organisation: the root of the rollup.
    fn try_from(r: &wire::ComputeRollupRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        if r.series.as_ref().is_some_and(|s| s.organization.is_empty()) {
            v.push("series.organization", "is required: the root of the rollup");
        }
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let hierarchy_date = optional_message(
            &mut v,
            "hierarchy_date",
            r.hierarchy_date.as_ref(),
            date_from_wire,
        );
        let reading = reading(&mut v, r.as_of_date.as_ref(), &r.source);
        // Unset is gross, as every rollup was before modes existed.
        let mode = v
            .check("mode", RollupMode::from_wire_filter(r.mode))
            .map(|m| m.unwrap_or(RollupMode::Gross));
        let (Some(series), Some(period), Some(hierarchy_date), Some(reading), Some(mode), true) =
            (series, period, hierarchy_date, reading, mode, v.is_empty())
        else {
            return Err(rejected(v));
        };
        Ok(Self {
            series,
            period,
            hierarchy_date,
            reading,
            mode,
        })
    }
}

impl TryFrom<&wire::ComputeTargetProgressRequest> for TargetProgressQuery {
    type Error = ValidationError;

    fn try_from(r: &wire::ComputeTargetProgressRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let target = v.check("target", TargetId::from_resource_name(&r.target));
        let reading = reading(&mut v, r.as_of_date.as_ref(), &r.source);
        let decimals = decimals(&mut v, r.percent_decimals);
        let (Some(target), Some(reading), Some(percent_decimals)) = (target, reading, decimals)
        else {
            return Err(rejected(v));
        };
        Ok(Self {
            target,
            reading,
            percent_decimals,
        })
    }
}

impl TryFrom<&wire::ComputeForecastAccuracyRequest> for ForecastAccuracyQuery {
    type Error = ValidationError;

    fn try_from(r: &wire::ComputeForecastAccuracyRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let source = source(&mut v, &r.source);
        let as_of = as_of(&mut v, r.as_of_date.as_ref());
        let decimals = decimals(&mut v, r.percent_decimals);
        let (Some(series), Some(period), Some(source), Some(as_of), Some(percent_decimals)) =
            (series, period, source, as_of, decimals)
        else {
            return Err(rejected(v));
        };
        Ok(Self {
            series,
            period,
            source,
            as_of,
            percent_decimals,
        })
    }
}

/// The series filter fields a listing, a vintage diff and a release watch share
/// (`UNSPECIFIED` and empty mean any).
pub(crate) struct FilterFields<'a> {
    pub(crate) organization: &'a str,
    pub(crate) basis: i32,
    pub(crate) flow: i32,
    pub(crate) market: &'a str,
    pub(crate) scope: i32,
    pub(crate) powertrain: i32,
    pub(crate) overlapping: Option<&'a twire::MonthRange>,
}

/// Reads [`FilterFields`] into a listing filter without an as-of date, into `v`.
pub(crate) fn list_filter(v: &mut Violations, f: &FilterFields<'_>) -> Option<ListFilter> {
    let organization = v.check(
        "organization",
        OrganizationId::from_optional_resource_name(f.organization),
    );
    let basis = v.check("basis", MeasureBasis::from_wire_filter(f.basis));
    let flow = v.check("flow", Flow::from_wire_filter(f.flow));
    let market = v.check("market", optional_value(f.market, Market::parse));
    let scope = v.check("scope", VehicleScope::from_wire_filter(f.scope));
    let powertrain = v.check("powertrain", Powertrain::from_wire_filter(f.powertrain));
    let overlapping = optional_message(v, "overlapping", f.overlapping, month_range_from_wire);
    Some(ListFilter {
        organization: organization?,
        basis: basis?,
        flow: flow?,
        market: market?,
        scope: scope?,
        powertrain: powertrain?,
        overlapping: overlapping?,
        as_of: None,
        include_superseded: false,
    })
}

impl TryFrom<&wire::ListSalesFiguresRequest> for ListFilter {
    type Error = ValidationError;

    /// Every filter field (`UNSPECIFIED` and empty mean any); not the paging fields.
    fn try_from(r: &wire::ListSalesFiguresRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let filter = list_filter(
            &mut v,
            &FilterFields {
                organization: &r.organization,
                basis: r.basis,
                flow: r.flow,
                market: &r.market,
                scope: r.scope,
                powertrain: r.powertrain,
                overlapping: r.overlapping.as_ref(),
            },
        );
        let as_of = as_of(&mut v, r.as_of_date.as_ref());
        let (Some(filter), Some(as_of)) = (filter, as_of) else {
            return Err(rejected(v));
        };
        Ok(Self {
            as_of,
            include_superseded: r.include_superseded,
            ..filter
        })
    }
}

impl TryFrom<&wire::GetRevisionHistoryRequest> for RevisionHistoryQuery {
    type Error = ValidationError;

    /// The series and period; not the paging fields.
    fn try_from(r: &wire::GetRevisionHistoryRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let (Some(series), Some(period)) = (series, period) else {
            return Err(rejected(v));
        };
        Ok(Self { series, period })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fields(e: &ValidationError) -> Vec<&str> {
        e.fields()
    }

    #[test]
    fn an_empty_change_request_names_every_missing_field() {
        let e = ChangeQuery::try_from(&wire::ComputeChangeRequest::default()).unwrap_err();
        assert_eq!(fields(&e), ["series", "period", "comparison"]);
    }

    #[test]
    fn a_forecast_accuracy_request_names_every_violation() {
        let e = ForecastAccuracyQuery::try_from(&wire::ComputeForecastAccuracyRequest {
            source: "publishers/cpca".to_owned(),
            percent_decimals: Some(7),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            fields(&e),
            ["series", "period", "source", "percent_decimals"]
        );
    }

    #[test]
    fn an_implied_comparison_refuses_a_prior_period_and_needs_one_in_range() {
        let range = |start: i32, end: i32| twire::MonthRange {
            start: Some(twire::YearMonth {
                year: start,
                month: 1,
            }),
            end: Some(twire::YearMonth {
                year: end,
                month: 12,
            }),
        };
        let r = wire::ComputeChangeRequest {
            period: Some(range(1900, 1900)),
            comparison: wire::Comparison::YearOverYear as i32,
            prior_period: Some(range(2000, 2000)),
            ..Default::default()
        };
        let e = ChangeQuery::try_from(&r).unwrap_err();
        assert_eq!(fields(&e), ["series", "prior_period", "period"]);
    }

    #[test]
    fn a_breakdown_refuses_a_grouped_dimension_that_is_set_and_a_repeated_one() {
        let r = wire::ComputeBreakdownRequest {
            group_by: vec![
                wire::Dimension::Market as i32,
                wire::Dimension::Market as i32,
                0,
            ],
            series: Some(twire::SeriesKey {
                market: "CN".to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = BreakdownQuery::try_from(&r).unwrap_err();
        assert_eq!(
            fields(&e),
            [
                "group_by[1]",
                "group_by[2]",
                "series.basis",
                "series.flow",
                "series.market",
                "series.scope",
                "series.powertrain",
                "period"
            ]
        );
    }

    #[test]
    fn a_destinations_request_needs_an_export_origin_without_a_destination() {
        let r = wire::ComputeDestinationsRequest {
            series: Some(twire::SeriesKey {
                basis: twire::MeasureBasis::Wholesale as i32,
                flow: twire::Flow::Domestic as i32,
                market: "CN".to_owned(),
                scope: twire::VehicleScope::All as i32,
                powertrain: twire::Powertrain::All as i32,
                destination: "DE".to_owned(),
                ..Default::default()
            }),
            limit: 1001,
            percent_decimals: Some(9),
            ..Default::default()
        };
        let e = DestinationsQuery::try_from(&r).unwrap_err();
        assert_eq!(
            fields(&e),
            [
                "series.flow",
                "series.destination",
                "period",
                "limit",
                "percent_decimals"
            ]
        );
        let e =
            DestinationsQuery::try_from(&wire::ComputeDestinationsRequest::default()).unwrap_err();
        assert_eq!(fields(&e), ["series", "period"]);
    }

    #[test]
    fn query_vocabularies_round_trip_through_the_wire() {
        for g in Granularity::ALL {
            assert_eq!(Granularity::from_wire(g.to_wire()), Ok(*g));
        }
        for d in Dimension::ALL {
            assert_eq!(Dimension::from_wire(d.to_wire()), Ok(*d));
        }
        for c in Comparison::ALL {
            assert_eq!(Comparison::from_wire(c.to_wire()), Ok(*c));
        }
        for s in ProgressStatus::ALL {
            assert_eq!(ProgressStatus::from_wire(s.to_wire()), Ok(*s));
        }
        assert!(Granularity::from_wire(0).is_err());
        assert!(Dimension::from_wire(99).is_err());
    }
}
