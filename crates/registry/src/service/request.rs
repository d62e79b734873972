//! Reading request fields into domain values, collecting every violation with its path.

use autointel_domain::{Date, MonthRange, OrganizationId, ValidationError, Violations};
use autointel_proto::convert::ResourceId;
use autointel_proto::convert::types::{date_from_wire, month_range_from_wire};

use super::Result;
use crate::error::RegistryError;

/// Longest search text (`text` filters, `LookupOrganizations.query`), in characters.
pub(super) const MAX_SEARCH_CHARS: usize = 500;

/// The id a resource name of `field` names; INVALID_ARGUMENT on `field` otherwise.
pub(super) fn parse_name<R: ResourceId>(field: &str, name: &str) -> Result<R> {
    R::from_resource_name(name).map_err(|e| RegistryError::invalid(field, e.description()))
}

/// INVALID_ARGUMENT with the violations of `err`, their paths under `prefix`.
pub(super) fn prefixed(prefix: &str, err: ValidationError) -> RegistryError {
    let mut v = Violations::new();
    v.extend_prefixed(prefix, err);
    match v.finish() {
        Err(e) => RegistryError::InvalidArgument(e),
        Ok(()) => RegistryError::invalid(prefix, "is invalid"),
    }
}

/// INVALID_ARGUMENT with every violation collected, if there is any.
pub(super) fn finish(v: Violations) -> Result<()> {
    v.finish().map_err(RegistryError::InvalidArgument)
}

/// The value read from `field` when no violation was collected; INVALID_ARGUMENT with every
/// violation otherwise (or, should the value be missing without one, `field` `problem`).
pub(super) fn accepted<T>(
    v: Violations,
    value: Option<T>,
    field: &str,
    problem: &str,
) -> Result<T> {
    finish(v)?;
    value.ok_or_else(|| RegistryError::invalid(field, problem))
}

/// A search filter; `None` when not given. Control characters and over-long text are
/// violations of `field` (PostgreSQL rejects a NUL in a query parameter, which must not
/// become a server error).
pub(super) fn search_text(v: &mut Violations, field: &str, text: &str) -> Option<String> {
    match autointel_domain::validation::optional_text(text, MAX_SEARCH_CHARS) {
        Ok(text) => text,
        Err(e) => {
            v.push(field, e.description());
            None
        }
    }
}

/// An `organization` filter: the organisation a resource name names; `None` when not given.
pub(super) fn organization_filter(v: &mut Violations, name: &str) -> Option<OrganizationId> {
    if name.is_empty() {
        return None;
    }
    v.check("organization", OrganizationId::from_resource_name(name))
}

/// A month-range filter; `None` when not given.
pub(super) fn months_filter(
    v: &mut Violations,
    field: &str,
    range: Option<&autointel_proto::types::MonthRange>,
) -> Option<MonthRange> {
    v.check_nested(field, month_range_from_wire(range?))
}

/// An etag precondition: `None` when the request gives none.
pub(super) fn etag_opt(etag: &str) -> Option<&str> {
    (!etag.is_empty()).then_some(etag)
}

/// The `as_of_date` of a request; today when not given.
pub(super) fn as_of(date: Option<&autointel_proto::google::r#type::Date>) -> Result<Date> {
    match date {
        Some(d) => date_from_wire(d).map_err(|e| prefixed("as_of_date", e)),
        None => crate::store::today(),
    }
}
