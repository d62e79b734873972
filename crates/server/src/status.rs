//! Statuses both services build the same way: database failures (by the one rule of
//! [`autointel_db::Failure`]) and the `RetryInfo` that tells clients when to come back.

use std::collections::HashMap;
use std::time::Duration;

use autointel_db::Failure;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

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

/// One failed precondition: its type, the resource it is about, why.
#[derive(Clone, Copy, Debug)]
pub struct PreconditionViolation<'a> {
    /// e.g. `REFERENCED_RESOURCE_NOT_FOUND`.
    pub kind: &'a str,
    /// The resource name.
    pub subject: &'a str,
    /// Why, for people.
    pub description: &'a str,
}

/// `FAILED_PRECONDITION` with `ErrorInfo.reason` = `reason`, up to [`MAX_VIOLATIONS`]
/// violations (clipped), the count of the rest, and a bounded message starting `summary`.
pub fn failed_precondition(
    domain: &str,
    reason: &str,
    summary: &str,
    violations: &[PreconditionViolation<'_>],
) -> Status {
    let mut details = ErrorDetails::new();
    for v in violations.iter().take(MAX_VIOLATIONS) {
        details.add_precondition_failure_violation(
            clip(v.kind, MAX_DETAIL_CHARS),
            clip(v.subject, MAX_DETAIL_CHARS),
            clip(v.description, MAX_DETAIL_CHARS),
        );
    }
    error_info(
        &mut details,
        reason,
        domain,
        violations.len(),
        violations.first().map(|v| ("resource", v.subject)),
    );
    let items: Vec<String> = violations
        .iter()
        .map(|v| clip(v.description, MAX_DETAIL_CHARS))
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
        let violations: Vec<PreconditionViolation<'_>> = subjects
            .iter()
            .map(|s| PreconditionViolation {
                kind: "UNKNOWN_ORGANIZATION",
                subject: s,
                description: s,
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
