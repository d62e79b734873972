//! The one error vocabulary both services speak: each kind of failure has one code, one
//! `ErrorInfo.reason` ([`reason`]) and one builder here; the services' `error.rs` only say
//! which of their errors is which. Database failures follow the one rule of
//! [`autointel_db::Failure`]; `RetryInfo` tells clients when to come back; every status is
//! bounded in size, whatever the input.

use std::collections::HashMap;
use std::time::Duration;

use autointel_db::Failure;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.reason` of every status the services return, by kind of failure.
pub mod reason {
    /// A request field is invalid (`BadRequest` lists them).
    pub const INVALID_ARGUMENT: &str = "INVALID_ARGUMENT";
    /// The named resource does not exist (`metadata.resource`).
    pub const RESOURCE_NOT_FOUND: &str = "RESOURCE_NOT_FOUND";
    /// A resource with that name exists already (`metadata.resource`).
    pub const RESOURCE_ALREADY_EXISTS: &str = "RESOURCE_ALREADY_EXISTS";
    /// The etag sent is not the stored one (`metadata.resource`).
    pub const ETAG_MISMATCH: &str = "ETAG_MISMATCH";
    /// A request cites resources that do not exist (`PreconditionFailure` lists them).
    pub const REFERENCED_RESOURCE_NOT_FOUND: &str = "REFERENCED_RESOURCE_NOT_FOUND";
    /// Another rule of the stored state is broken (`PreconditionFailure` says which).
    pub const FAILED_PRECONDITION: &str = "FAILED_PRECONDITION";
    /// A service this one depends on could not be reached.
    pub const DEPENDENCY_UNAVAILABLE: &str = "DEPENDENCY_UNAVAILABLE";
    /// The client's request stream failed (its own status passes through).
    pub const REQUEST_STREAM_FAILED: &str = "REQUEST_STREAM_FAILED";
    /// Something that should not happen; logged in full on the server.
    pub const INTERNAL: &str = "INTERNAL";
}

/// A referenced resource that is missing, or a rule the stored state breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Precondition {
    /// Kind of violation, e.g. `REFERENCED_RESOURCE_NOT_FOUND` or `UNKNOWN_ORGANIZATION`.
    pub kind: String,
    /// The resource the violation is about, e.g. `organizations/nissan`.
    pub subject: String,
    /// What is wrong, for people.
    pub description: String,
}

fn info(details: &mut ErrorDetails, reason: &str, domain: &str, resource: Option<&str>) {
    let mut metadata = HashMap::new();
    if let Some(resource) = resource {
        metadata.insert("resource".to_owned(), clip(resource, MAX_DETAIL_CHARS));
    }
    details.set_error_info(reason, domain, metadata);
}

fn about(code: Code, reason: &str, domain: &str, resource: &str, message: &str) -> Status {
    let mut details = ErrorDetails::new();
    info(&mut details, reason, domain, Some(resource));
    Status::with_error_details(code, clip(message, MAX_MESSAGE_CHARS), details)
}

/// `NOT_FOUND` for `resource` (a resource name).
pub fn not_found(domain: &str, resource: &str) -> Status {
    about(
        Code::NotFound,
        reason::RESOURCE_NOT_FOUND,
        domain,
        resource,
        &format!("{resource} not found"),
    )
}

/// `ALREADY_EXISTS` for `resource`.
pub fn already_exists(domain: &str, resource: &str) -> Status {
    about(
        Code::AlreadyExists,
        reason::RESOURCE_ALREADY_EXISTS,
        domain,
        resource,
        &format!("{resource} already exists"),
    )
}

/// `ABORTED`: `resource` changed since the etag the client sent.
pub fn etag_mismatch(domain: &str, resource: &str) -> Status {
    about(
        Code::Aborted,
        reason::ETAG_MISMATCH,
        domain,
        resource,
        &format!("{resource} was changed by someone else (etag mismatch)"),
    )
}

/// `UNAVAILABLE` because a service this one needs could not be reached; `RetryInfo` 1 s.
pub fn dependency_unavailable(domain: &str, message: &str) -> Status {
    let mut details = ErrorDetails::new();
    info(&mut details, reason::DEPENDENCY_UNAVAILABLE, domain, None);
    details.set_retry_info(Some(RETRY_UNAVAILABLE));
    Status::with_error_details(Code::Unavailable, clip(message, MAX_MESSAGE_CHARS), details)
}

/// `INTERNAL`: `error` is logged in full, the client gets only "internal error".
pub fn internal(domain: &str, error: &dyn std::fmt::Display) -> Status {
    tracing::error!(error = %error, "internal error");
    let mut details = ErrorDetails::new();
    info(&mut details, reason::INTERNAL, domain, None);
    Status::with_error_details(Code::Internal, "internal error", details)
}

/// A failed client stream: its own status, code unchanged, with this service's reason.
pub fn request_stream_failed(domain: &str, stream: &Status) -> Status {
    let mut details = ErrorDetails::new();
    info(&mut details, reason::REQUEST_STREAM_FAILED, domain, None);
    Status::with_error_details(
        stream.code(),
        clip(
            &format!("the request stream failed: {}", stream.message()),
            MAX_MESSAGE_CHARS,
        ),
        details,
    )
}

/// How long a client should wait before retrying after a transient database failure.
pub const RETRY_UNAVAILABLE: Duration = Duration::from_secs(1);
/// How long a client should wait before retrying a write refused for want of storage.
pub const RETRY_STORAGE_FULL: Duration = Duration::from_secs(30);

/// The gRPC code of a database failure: storage full is `RESOURCE_EXHAUSTED` (gRPC's code
/// for "the entire file system is out of space"), transient failures `UNAVAILABLE`, the
/// rest `INTERNAL`.
pub fn failure_code(failure: Failure) -> Code {
    match failure {
        Failure::StorageFull => Code::ResourceExhausted,
        Failure::Unavailable => Code::Unavailable,
        Failure::Internal => Code::Internal,
    }
}

/// The status for a database error: code and `ErrorInfo` reason by [`Failure::of`],
/// `RetryInfo` when retrying can help, a fixed message (the driver's text is logged here,
/// never sent).
pub fn database_status(err: &sqlx::Error, domain: &str) -> Status {
    let failure = Failure::of(err);
    match failure {
        Failure::Internal => tracing::error!(error = %err, "database error"),
        _ => tracing::warn!(error = %err, reason = failure.reason(), "database failure"),
    }
    let mut details = ErrorDetails::new();
    details.set_error_info(failure.reason(), domain, HashMap::<String, String>::new());
    match failure {
        Failure::StorageFull => {
            details.set_retry_info(Some(RETRY_STORAGE_FULL));
        }
        Failure::Unavailable => {
            details.set_retry_info(Some(RETRY_UNAVAILABLE));
        }
        Failure::Internal => {}
    }
    Status::with_error_details(failure_code(failure), failure.message(), details)
}

/// Most violations a status carries (in `BadRequest` or `PreconditionFailure`); the rest
/// are counted in the message and in `ErrorInfo.metadata["violations"]`.
pub const MAX_VIOLATIONS: usize = 10;
/// Most characters of one field path, subject or description a status carries.
pub const MAX_DETAIL_CHARS: usize = 120;
/// Most characters of a status message (`grpc-message`).
pub const MAX_MESSAGE_CHARS: usize = 600;

/// `text` cut to at most `max` characters (an ellipsis marks the cut).
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((end, _)) if text[end..].chars().nth(1).is_some() => format!("{}…", &text[..end]),
        _ => text.to_owned(),
    }
}

/// A status message listing `items` after `summary`, within [`MAX_MESSAGE_CHARS`]: as many
/// as fit, then how many more there are.
fn listing(summary: &str, items: &[String]) -> String {
    let mut message = summary.to_owned();
    for (shown, item) in items.iter().enumerate() {
        let separator = if shown == 0 { ": " } else { "; " };
        let rest = items.len() - shown;
        let tail = format!("; … and {rest} more");
        if message.chars().count() + separator.len() + item.chars().count() + tail.len()
            > MAX_MESSAGE_CHARS
        {
            message.push_str(&format!("{separator}… {rest} more"));
            return message;
        }
        message.push_str(separator);
        message.push_str(item);
    }
    message
}

/// `ErrorInfo` with the total number of violations when some were left out.
fn error_info(
    details: &mut ErrorDetails,
    reason: &str,
    domain: &str,
    total: usize,
    extra: Option<(&str, &str)>,
) {
    let mut metadata = HashMap::new();
    if total > MAX_VIOLATIONS {
        metadata.insert("violations".to_owned(), total.to_string());
    }
    if let Some((key, value)) = extra {
        metadata.insert(key.to_owned(), clip(value, MAX_DETAIL_CHARS));
    }
    details.set_error_info(reason, domain, metadata);
}

/// `INVALID_ARGUMENT` with every field violation up to [`MAX_VIOLATIONS`] (each clipped),
/// the count of the rest, and a bounded message: the whole status stays well under the
/// 8 KiB of metadata default clients accept, however bad the request.
pub fn invalid_argument(domain: &str, violations: &[(&str, &str)]) -> Status {
    let mut details = ErrorDetails::new();
    for (field, description) in violations.iter().take(MAX_VIOLATIONS) {
        details.add_bad_request_violation(
            clip(field, MAX_DETAIL_CHARS),
            clip(description, MAX_DETAIL_CHARS),
        );
    }
    error_info(
        &mut details,
        "INVALID_ARGUMENT",
        domain,
        violations.len(),
        None,
    );
    let items: Vec<String> = violations
        .iter()
        .map(|(f, d)| {
            format!(
                "{}: {}",
                clip(f, MAX_DETAIL_CHARS),
                clip(d, MAX_DETAIL_CHARS)
            )
        })
        .collect();
    Status::with_error_details(
        Code::InvalidArgument,
        listing("invalid request", &items),
        details,
    )
}

/// `FAILED_PRECONDITION` with `ErrorInfo.reason` = `reason`, up to [`MAX_VIOLATIONS`]
/// violations (clipped), the count of the rest, and a bounded message starting `summary`.
pub fn failed_precondition(
    domain: &str,
    reason: &str,
    summary: &str,
    violations: &[Precondition],
) -> Status {
    let mut details = ErrorDetails::new();
    for v in violations.iter().take(MAX_VIOLATIONS) {
        details.add_precondition_failure_violation(
            clip(&v.kind, MAX_DETAIL_CHARS),
            clip(&v.subject, MAX_DETAIL_CHARS),
            clip(&v.description, MAX_DETAIL_CHARS),
        );
    }
    error_info(
        &mut details,
        reason,
        domain,
        violations.len(),
        violations.first().map(|v| ("resource", v.subject.as_str())),
    );
    let items: Vec<String> = violations
        .iter()
        .map(|v| clip(&v.description, MAX_DETAIL_CHARS))
        .collect();
    let message = if violations.len() <= 1 {
        clip(summary, MAX_MESSAGE_CHARS)
    } else {
        listing(&clip(summary, MAX_DETAIL_CHARS), &items)
    };
    Status::with_error_details(Code::FailedPrecondition, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything a status puts on the wire as metadata.
    fn wire_size(status: &Status) -> usize {
        status.message().len() + status.details().len() * 4 / 3 + 64
    }

    #[test]
    fn huge_or_many_violations_stay_well_under_8_kib() {
        let long = "x".repeat(20_000);
        let many: Vec<(String, String)> = (0..200_000)
            .map(|i| (format!("figures[{i}].units"), format!("bad value {long}")))
            .take(2_000)
            .collect();
        let pairs: Vec<(&str, &str)> = many.iter().map(|(f, d)| (f.as_str(), d.as_str())).collect();
        let status = invalid_argument("test.autointel", &pairs);
        assert!(
            wire_size(&status) < 6 * 1024,
            "{} bytes",
            wire_size(&status)
        );
        let details = status.get_error_details();
        let bad = details.bad_request().expect("BadRequest");
        assert_eq!(bad.field_violations.len(), MAX_VIOLATIONS);
        assert_eq!(bad.field_violations[0].field, "figures[0].units");
        assert_eq!(
            details
                .error_info()
                .map(|i| i.metadata["violations"].clone()),
            Some("2000".to_owned())
        );
        assert!(status.message().contains("more"), "{}", status.message());

        let one = invalid_argument("test.autointel", &[("market", &long)]);
        assert!(wire_size(&one) < 2 * 1024);
        assert_eq!(
            one.get_error_details()
                .bad_request()
                .expect("BadRequest")
                .field_violations[0]
                .field,
            "market"
        );

        let subjects: Vec<String> = (0..500)
            .map(|i| format!("organizations/o{i}-{long}"))
            .collect();
        let violations: Vec<Precondition> = subjects
            .iter()
            .map(|s| Precondition {
                kind: "UNKNOWN_ORGANIZATION".to_owned(),
                subject: s.clone(),
                description: s.clone(),
            })
            .collect();
        let status = failed_precondition(
            "test.autointel",
            "UNKNOWN",
            "unknown organisations",
            &violations,
        );
        assert!(
            wire_size(&status) < 6 * 1024,
            "{} bytes",
            wire_size(&status)
        );
    }

    #[test]
    fn clip_cuts_on_character_boundaries() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("éééééé", 3), "éé…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
