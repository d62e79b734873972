//! `autointel.stats.v1` vintage and measures requests → domain queries: releases, vintage
//! diffs, release watches and sources side by side.
//!
//! Paging fields and watch cursors are left to the service, as for listings.

use autointel_domain::{
    Market, MeasuresQuery, OrganizationId, Powertrain, ReleaseFilter, ReleaseWatch,
    ValidationError, VehicleScope, VintageDiffQuery, Violations,
};

use super::query::{FilterFields, as_of, decimals, list_filter, source};
use crate::convert::types::{date_from_wire, month_range_from_wire};
use crate::convert::{ResourceId, WireEnum, optional_message, rejected, required};
use crate::stats as wire;

impl TryFrom<&wire::ListReleasesRequest> for ReleaseFilter {
    type Error = ValidationError;

    /// The source and dates; not the paging fields.
    fn try_from(r: &wire::ListReleasesRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let source = source(&mut v, &r.source);
        let from = optional_message(
            &mut v,
            "from_as_of_date",
            r.from_as_of_date.as_ref(),
            date_from_wire,
        );
        let to = optional_message(
            &mut v,
            "to_as_of_date",
            r.to_as_of_date.as_ref(),
            date_from_wire,
        );
        if let (Some(Some(a)), Some(Some(b))) = (from, to)
            && a > b
        {
            v.push("to_as_of_date", "must not be before from_as_of_date");
        }
        match (source, from, to) {
            (Some(source), Some(from), Some(to)) if v.is_empty() => Ok(Self { source, from, to }),
            _ => Err(rejected(v)),
        }
    }
}

impl TryFrom<&wire::DiffVintagesRequest> for VintageDiffQuery {
    type Error = ValidationError;

    /// The two vintages, the filter and the source; not the paging fields.
    fn try_from(r: &wire::DiffVintagesRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let from = required(
            &mut v,
            "from_as_of_date",
            r.from_as_of_date.as_ref(),
            date_from_wire,
        );
        let to = required(
            &mut v,
            "to_as_of_date",
            r.to_as_of_date.as_ref(),
            date_from_wire,
        );
        if let (Some(a), Some(b)) = (from, to)
            && a >= b
        {
            v.push("to_as_of_date", "must be after from_as_of_date");
        }
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
        let source = source(&mut v, &r.source);
        match (from, to, filter, source) {
            (Some(from), Some(to), Some(filter), Some(source)) if v.is_empty() => Ok(Self {
                filter,
                source,
                from,
                to,
            }),
            _ => Err(rejected(v)),
        }
    }
}

impl TryFrom<&wire::WatchReleasesRequest> for ReleaseWatch {
    type Error = ValidationError;

    /// The filter and the source; not the cursor.
    fn try_from(r: &wire::WatchReleasesRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let filter = list_filter(
            &mut v,
            &FilterFields {
                organization: &r.organization,
                basis: r.basis,
                flow: r.flow,
                market: &r.market,
                scope: 0,
                powertrain: 0,
                overlapping: None,
            },
        );
        let source = source(&mut v, &r.source);
        match (filter, source) {
            (Some(filter), Some(source)) => Ok(Self { filter, source }),
            _ => Err(rejected(v)),
        }
    }
}

/// The default divergence threshold: 5%.
const DEFAULT_THRESHOLD_BASIS_POINTS: u32 = 500;
/// The largest divergence threshold: 100 times.
const MAX_THRESHOLD_BASIS_POINTS: i32 = 1_000_000;

impl TryFrom<&wire::ComputeMeasuresRequest> for MeasuresQuery {
    type Error = ValidationError;

    fn try_from(r: &wire::ComputeMeasuresRequest) -> Result<Self, ValidationError> {
        let mut v = Violations::new();
        let organization = v.check(
            "organization",
            OrganizationId::from_optional_resource_name(&r.organization),
        );
        let market = v.check("market", Market::parse(&r.market));
        let scope = v.check("scope", VehicleScope::from_wire_filter(r.scope));
        let powertrain = v.check("powertrain", Powertrain::from_wire_filter(r.powertrain));
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let as_of = as_of(&mut v, r.as_of_date.as_ref());
        let threshold = match r.divergence_threshold_basis_points {
            0 => Some(DEFAULT_THRESHOLD_BASIS_POINTS),
            n if (1..=MAX_THRESHOLD_BASIS_POINTS).contains(&n) => u32::try_from(n).ok(),
            _ => {
                v.push(
                    "divergence_threshold_basis_points",
                    format!("must be 0 to {MAX_THRESHOLD_BASIS_POINTS}"),
                );
                None
            }
        };
        let percent_decimals = decimals(&mut v, r.percent_decimals);
        let (
            Some(organization),
            Some(market),
            Some(scope),
            Some(powertrain),
            Some(period),
            Some(as_of),
            Some(threshold_basis_points),
            Some(percent_decimals),
        ) = (
            organization,
            market,
            scope,
            powertrain,
            period,
            as_of,
            threshold,
            percent_decimals,
        )
        else {
            return Err(rejected(v));
        };
        Ok(Self {
            organization,
            market,
            scope: scope.unwrap_or(VehicleScope::All),
            powertrain: powertrain.unwrap_or(Powertrain::All),
            period,
            as_of,
            threshold_basis_points,
            percent_decimals,
        })
    }
}
