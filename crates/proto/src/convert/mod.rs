//! Conversions between wire and domain types, one module per package.
//!
//! Wire → domain conversions collect **every** field violation with its path
//! relative to the converted message (`parties[1].organization`); callers
//! prefix the request field (`partnership.parties[1].organization`).
//! Domain → wire conversions are infallible except where a domain value
//! cannot be represented on the wire.

pub mod registry;
pub mod stats;
pub mod types;

use autointel_domain::{
    EventId, OrganizationId, PartnershipId, PersonId, RelationshipId, SalesFigureId, SourceId,
    TargetId, ValidationError, ValueError, Violations,
};

/// A domain id that names a resource of one collection (AIP-122).
pub trait ResourceId: Sized {
    /// Collection id in resource names, e.g. `organizations`.
    const COLLECTION: &'static str;
    /// Parses the bare id.
    fn parse_id(value: &str) -> Result<Self, ValueError>;
    /// The bare id.
    fn id(&self) -> &str;

    /// The resource name, `{collection}/{id}`.
    fn resource_name(&self) -> String {
        format!("{}/{}", Self::COLLECTION, self.id())
    }

    /// Parses a resource name `{collection}/{id}`.
    fn from_resource_name(name: &str) -> Result<Self, ValueError> {
        if name.is_empty() {
            return Err(ValueError::new("is required"));
        }
        let Some(id) = name
            .strip_prefix(Self::COLLECTION)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return Err(ValueError(format!(
                "must be a resource name of the form {}/{{id}}",
                Self::COLLECTION
            )));
        };
        Self::parse_id(id)
    }

    /// Parses an optional resource name: empty means none.
    fn from_optional_resource_name(name: &str) -> Result<Option<Self>, ValueError> {
        if name.is_empty() {
            Ok(None)
        } else {
            Self::from_resource_name(name).map(Some)
        }
    }
}

macro_rules! resource_ids {
    ($($ty:ty => $collection:literal),* $(,)?) => {$(
        impl ResourceId for $ty {
            const COLLECTION: &'static str = $collection;
            fn parse_id(value: &str) -> Result<Self, ValueError> {
                <$ty>::parse(value)
            }
            fn id(&self) -> &str {
                self.as_str()
            }
        }
    )*};
}

resource_ids! {
    OrganizationId => "organizations",
    RelationshipId => "relationships",
    PartnershipId => "partnerships",
    EventId => "events",
    TargetId => "targets",
    PersonId => "people",
    SourceId => "sources",
    SalesFigureId => "salesFigures",
}

/// The resource name of an optional id; empty when none.
pub fn optional_resource_name<R: ResourceId>(id: Option<&R>) -> String {
    id.map(ResourceId::resource_name).unwrap_or_default()
}

/// A domain enum with a wire counterpart whose `0` means unspecified.
pub trait WireEnum: Sized + Copy {
    /// The wire number.
    fn to_wire(self) -> i32;
    /// The domain value of a wire number, `None` for unspecified or unknown.
    fn lookup(value: i32) -> Option<Self>;

    /// Converts a required wire enum: unspecified and unknown numbers are
    /// rejected.
    fn from_wire(value: i32) -> Result<Self, ValueError> {
        match value {
            0 => Err(ValueError::new("must be specified")),
            n => Self::lookup(n).ok_or_else(|| ValueError(format!("unknown value {n}"))),
        }
    }

    /// Converts a filter enum: unspecified means "any" (`None`), unknown
    /// numbers are rejected.
    fn from_wire_filter(value: i32) -> Result<Option<Self>, ValueError> {
        match value {
            0 => Ok(None),
            n => Self::lookup(n)
                .map(Some)
                .ok_or_else(|| ValueError(format!("unknown value {n}"))),
        }
    }
}

macro_rules! wire_enum {
    ($domain:ty, $wire:ty, { $($d:ident => $w:ident),* $(,)? }) => {
        impl $crate::convert::WireEnum for $domain {
            fn to_wire(self) -> i32 {
                match self {
                    $(<$domain>::$d => <$wire>::$w as i32,)*
                }
            }
            fn lookup(value: i32) -> Option<Self> {
                match <$wire>::try_from(value).ok()? {
                    $(<$wire>::$w => Some(<$domain>::$d),)*
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use wire_enum;

/// Finishes a conversion whose parts did not all parse: the collected
/// violations.
pub(crate) fn rejected(violations: Violations) -> ValidationError {
    match violations.finish() {
        Err(err) => err,
        // A part failed without recording why; name the message itself.
        Ok(()) => ValidationError::single("", "is invalid"),
    }
}

/// Converts a required nested message, recording "is required" when absent.
pub fn required<W, T>(
    violations: &mut Violations,
    field: &str,
    wire: Option<&W>,
    convert: impl FnOnce(&W) -> Result<T, ValidationError>,
) -> Option<T> {
    match wire {
        Some(w) => violations.check_nested(field, convert(w)),
        None => {
            violations.push(field, "is required");
            None
        }
    }
}

/// Converts an optional nested message.
pub fn optional_message<W, T>(
    violations: &mut Violations,
    field: &str,
    wire: Option<&W>,
    convert: impl FnOnce(&W) -> Result<T, ValidationError>,
) -> Option<Option<T>> {
    match wire {
        Some(w) => violations.check_nested(field, convert(w)).map(Some),
        None => Some(None),
    }
}

/// Converts every element of a repeated field, with `field[i]` paths.
pub(crate) fn each<W, T>(
    violations: &mut Violations,
    field: &str,
    wire: &[W],
    mut convert: impl FnMut(&W) -> Result<T, ValidationError>,
) -> Option<Vec<T>> {
    let mut out = Vec::with_capacity(wire.len());
    let mut ok = true;
    for (i, w) in wire.iter().enumerate() {
        match violations.check_nested(&format!("{field}[{i}]"), convert(w)) {
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Parses every element of a repeated scalar field, with `field[i]` paths.
pub(crate) fn each_value<W, T>(
    violations: &mut Violations,
    field: &str,
    wire: &[W],
    mut parse: impl FnMut(&W) -> Result<T, ValueError>,
) -> Option<Vec<T>> {
    let mut out = Vec::with_capacity(wire.len());
    let mut ok = true;
    for (i, w) in wire.iter().enumerate() {
        match violations.check(format!("{field}[{i}]"), parse(w)) {
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Parses an optional string value: empty means none.
pub(crate) fn optional_value<T>(
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Result<Option<T>, ValueError> {
    if value.is_empty() {
        Ok(None)
    } else {
        parse(value).map(Some)
    }
}

/// Converts a wire `int64` count of whole vehicles.
pub(crate) fn units_from_wire(value: i64) -> Result<autointel_domain::Units, ValueError> {
    autointel_domain::Units::new(value)
}

/// Converts whole vehicles to the wire `int64`; the domain bound (10^12)
/// always fits.
pub(crate) fn units_to_wire(units: autointel_domain::Units) -> i64 {
    i64::try_from(units.get()).unwrap_or(i64::MAX)
}
