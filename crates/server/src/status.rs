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
