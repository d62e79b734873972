//! `autointel.type.v1` and `google.type.Date` ↔ domain values.

use autointel_domain::{
    Change, Date, DatePrecision, Flow, Market, MeasureBasis, MonthRange, OrganizationId,
    PartialDate, Powertrain, Ratio, SeriesKey, ValidationError, ValueError, VehicleScope,
    Violations, YearMonth,
};

use super::{ResourceId, WireEnum, rejected, required, wire_enum};
use crate::google::r#type as gtype;
use crate::types as wire;

wire_enum!(DatePrecision, wire::DatePrecision, {
    Day => Day, Month => Month, Quarter => Quarter, Year => Year,
});
wire_enum!(MeasureBasis, wire::MeasureBasis, {
    Retail => Retail, Wholesale => Wholesale, Production => Production,
    Registrations => Registrations, Deliveries => Deliveries,
    CompanyReported => CompanyReported,
});
wire_enum!(Flow, wire::Flow, { Domestic => Domestic, Export => Export, Total => Total });
wire_enum!(VehicleScope, wire::VehicleScope, {
    Passenger => Passenger, LightCommercial => LightCommercial,
    Commercial => Commercial, All => All,
});
wire_enum!(Powertrain, wire::Powertrain, {
    Ice => Ice, Bev => Bev, Phev => Phev, Erev => Erev, Hev => Hev, Fcev => Fcev,
    Nev => Nev, All => All,
});

fn small(value: i32, what: &str) -> Result<u8, ValueError> {
    u8::try_from(value).map_err(|_| ValueError(format!("{what} {value} is out of range")))
}

/// Converts a wire month.
pub fn year_month_from_wire(w: &wire::YearMonth) -> Result<YearMonth, ValidationError> {
    let mut v = Violations::new();
    if !(1900..=2999).contains(&w.year) {
        v.push("year", format!("year {} is outside 1900..=2999", w.year));
    }
    if !(1..=12).contains(&w.month) {
        v.push("month", format!("month {} is outside 1..=12", w.month));
    }
    v.finish()?;
    let month = small(w.month, "month").map_err(|e| ValidationError::single("month", e.0))?;
    YearMonth::new(w.year, month).map_err(|e| ValidationError::single("", e.0))
}

/// Converts a domain month.
pub fn year_month_to_wire(m: YearMonth) -> wire::YearMonth {
    wire::YearMonth {
        year: m.year(),
        month: i32::from(m.month()),
    }
}

/// Converts a wire month range: both ends required, start ≤ end.
pub fn month_range_from_wire(w: &wire::MonthRange) -> Result<MonthRange, ValidationError> {
    let mut v = Violations::new();
    let start = required(&mut v, "start", w.start.as_ref(), year_month_from_wire);
    let end = required(&mut v, "end", w.end.as_ref(), year_month_from_wire);
    let (Some(start), Some(end)) = (start, end) else {
        return Err(rejected(v));
    };
    MonthRange::new(start, end).map_err(|e| ValidationError::single("end", e.0))
}

/// Converts a domain month range.
pub fn month_range_to_wire(r: MonthRange) -> wire::MonthRange {
    wire::MonthRange {
        start: Some(year_month_to_wire(r.start())),
        end: Some(year_month_to_wire(r.end())),
    }
}

/// Converts a wire calendar date: year, month and day all required.
pub fn date_from_wire(w: &gtype::Date) -> Result<Date, ValidationError> {
    let mut v = Violations::new();
    if !(1900..=2999).contains(&w.year) {
        v.push("year", format!("year {} is outside 1900..=2999", w.year));
    }
    if !(1..=12).contains(&w.month) {
        v.push("month", format!("month {} is outside 1..=12", w.month));
    }
    if !(1..=31).contains(&w.day) {
        v.push("day", format!("day {} is outside 1..=31", w.day));
    }
    v.finish()?;
    let month = small(w.month, "month").map_err(|e| ValidationError::single("month", e.0))?;
    let day = small(w.day, "day").map_err(|e| ValidationError::single("day", e.0))?;
    Date::new(w.year, month, day).map_err(|e| ValidationError::single("day", e.0))
}

/// Converts a domain calendar date.
pub fn date_to_wire(d: Date) -> gtype::Date {
    gtype::Date {
        year: d.year(),
        month: i32::from(d.month()),
        day: i32::from(d.day()),
    }
}

/// Converts a wire partial date: only the fields its precision needs may be
/// set.
pub fn partial_date_from_wire(w: &wire::PartialDate) -> Result<PartialDate, ValidationError> {
    let mut v = Violations::new();
    let precision = v.check("precision", DatePrecision::from_wire(w.precision));
    if !(1900..=2999).contains(&w.year) {
        v.push("year", format!("year {} is outside 1900..=2999", w.year));
    }
    let Some(precision) = precision else {
        return Err(rejected(v));
    };
    let wants_quarter = precision == DatePrecision::Quarter;
    let wants_month = matches!(precision, DatePrecision::Day | DatePrecision::Month);
    let wants_day = precision == DatePrecision::Day;
    check_part(&mut v, "quarter", w.quarter, wants_quarter, 1..=4);
    check_part(&mut v, "month", w.month, wants_month, 1..=12);
    check_part(&mut v, "day", w.day, wants_day, 1..=31);
    v.finish()?;
    let part = |value: i32, field: &str| {
        small(value, field).map_err(|e| ValidationError::single(field, e.0))
    };
    match precision {
        DatePrecision::Year => {
            PartialDate::year(w.year).map_err(|e| ValidationError::single("year", e.0))
        }
        DatePrecision::Quarter => PartialDate::quarter(w.year, part(w.quarter, "quarter")?)
            .map_err(|e| ValidationError::single("quarter", e.0)),
        DatePrecision::Month => YearMonth::new(w.year, part(w.month, "month")?)
            .map(PartialDate::Month)
            .map_err(|e| ValidationError::single("month", e.0)),
        DatePrecision::Day => Date::new(w.year, part(w.month, "month")?, part(w.day, "day")?)
            .map(PartialDate::Day)
            .map_err(|e| ValidationError::single("day", e.0)),
    }
}

fn check_part(
    v: &mut Violations,
    field: &str,
    value: i32,
    wanted: bool,
    range: std::ops::RangeInclusive<i32>,
) {
    if wanted && !range.contains(&value) {
        v.push(
            field,
            format!(
                "must be within {}..={} for this precision",
                range.start(),
                range.end()
            ),
        );
    } else if !wanted && value != 0 {
        v.push(field, "must be unset for this precision");
    }
}

/// Converts a domain partial date.
pub fn partial_date_to_wire(d: &PartialDate) -> wire::PartialDate {
    let mut w = wire::PartialDate {
        precision: d.precision().to_wire(),
        ..Default::default()
    };
    match *d {
        PartialDate::Day(date) => {
            w.year = date.year();
            w.month = i32::from(date.month());
            w.day = i32::from(date.day());
        }
        PartialDate::Month(m) => {
            w.year = m.year();
            w.month = i32::from(m.month());
        }
        PartialDate::Quarter { year, quarter } => {
            w.year = year;
            w.quarter = i32::from(quarter);
        }
        PartialDate::Year(year) => w.year = year,
    }
    w
}

/// Converts a wire series key; every dimension required, organisation
/// optional (empty = the whole market).
pub fn series_key_from_wire(w: &wire::SeriesKey) -> Result<SeriesKey, ValidationError> {
    let mut v = Violations::new();
    let organization = v.check(
        "organization",
        OrganizationId::from_optional_resource_name(&w.organization),
    );
    let basis = v.check("basis", MeasureBasis::from_wire(w.basis));
    let flow = v.check("flow", Flow::from_wire(w.flow));
    let market = v.check("market", Market::parse(&w.market));
    let scope = v.check("scope", VehicleScope::from_wire(w.scope));
    let powertrain = v.check("powertrain", Powertrain::from_wire(w.powertrain));
    let destination = v.check(
        "destination",
        (!w.destination.is_empty())
            .then(|| Market::parse(&w.destination))
            .transpose(),
    );
    let (
        Some(organization),
        Some(basis),
        Some(flow),
        Some(market),
        Some(scope),
        Some(powertrain),
        Some(destination),
    ) = (
        organization,
        basis,
        flow,
        market,
        scope,
        powertrain,
        destination,
    )
    else {
        return Err(rejected(v));
    };
    let key = SeriesKey {
        organization,
        basis,
        flow,
        market,
        scope,
        powertrain,
        destination,
    };
    key.validate()?;
    Ok(key)
}

/// Converts a domain series key.
pub fn series_key_to_wire(k: &SeriesKey) -> wire::SeriesKey {
    wire::SeriesKey {
        organization: super::optional_resource_name(k.organization.as_ref()),
        basis: k.basis.to_wire(),
        flow: k.flow.to_wire(),
        market: k.market.as_str().to_owned(),
        scope: k.scope.to_wire(),
        powertrain: k.powertrain.to_wire(),
        destination: k
            .destination
            .as_ref()
            .map_or_else(String::new, |d| d.as_str().to_owned()),
    }
}

/// Converts an exact ratio, with its percentage rounded half away from zero
/// to `decimals` places. `None` when it does not fit the wire's `int64`.
pub fn ratio_to_wire(r: &Ratio, decimals: u32) -> Option<wire::Ratio> {
    Some(wire::Ratio {
        numerator: i64::try_from(r.numerator()).ok()?,
        denominator: i64::try_from(r.denominator()).ok()?,
        percent: r.percent_rounded(decimals),
    })
}

/// Converts a change, with its percentage rounded to `decimals` places.
/// `None` when a figure does not fit the wire's `int64`.
pub fn change_to_wire(c: &Change, decimals: u32) -> Option<wire::Change> {
    Some(wire::Change {
        current_units: i64::try_from(c.current).ok()?,
        prior_units: i64::try_from(c.prior).ok()?,
        absolute_change: i64::try_from(c.absolute()).ok()?,
        relative_change: match c.relative() {
            Some(r) => Some(ratio_to_wire(&r, decimals)?),
            None => None,
        },
    })
}

/// Reads the optional `percent_decimals` of a query: 0 to 6, default 1.
pub fn percent_decimals_from_wire(value: Option<i32>) -> Result<u32, ValueError> {
    match value {
        None => Ok(1),
        Some(d @ 0..=6) => Ok(d.unsigned_abs()),
        Some(d) => Err(ValueError(format!("{d} is outside 0..=6"))),
    }
}
