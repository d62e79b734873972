//! Turning gRPC errors into messages a person can act on, and exit codes.

use std::fmt;

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Process exit codes, one per kind of failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Something unexpected.
    Failure = 1,
    /// The request was invalid (bad flags, field violations, bad file rows).
    InvalidInput = 3,
    /// What was asked for does not exist.
    NotFound = 4,
    /// The request conflicts with the stored state (exists, changed, still referenced).
    Conflict = 5,
    /// A service could not be reached or is unavailable.
    Unavailable = 6,
    /// Missing or insufficient credentials.
    Unauthorized = 7,
}

/// A failure with its explanation and exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code of the process.
    pub code: ExitCode,
    /// What went wrong, possibly several lines.
    pub message: String,
}

impl Failure {
    /// A failure of invalid input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: ExitCode::InvalidInput,
            message: message.into(),
        }
    }

    /// Explains a gRPC status: the code in words, the message, and every
    /// field violation or precondition failure on its own line.
    pub fn from_status(status: &Status, endpoint: &str) -> Self {
        Self::from_status_located(status, endpoint, str::to_owned)
    }

    /// [`Self::from_status`], with every field path, subject and description passed through
    /// `locate` first (an import names `figures[i]` by the file's own line).
    pub fn from_status_located(
        status: &Status,
        endpoint: &str,
        locate: impl Fn(&str) -> String,
    ) -> Self {
        let code = match status.code() {
            Code::InvalidArgument | Code::OutOfRange => ExitCode::InvalidInput,
            Code::NotFound => ExitCode::NotFound,
            Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => ExitCode::Conflict,
            Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => {
                ExitCode::Unavailable
            }
            Code::Unauthenticated | Code::PermissionDenied => ExitCode::Unauthorized,
            _ => ExitCode::Failure,
        };
        let what = match status.code() {
            Code::InvalidArgument => "invalid request",
            Code::NotFound => "not found",
            Code::AlreadyExists => "already exists",
            Code::Aborted => "changed by someone else (etag mismatch)",
            Code::FailedPrecondition => "cannot be done in the current state",
            Code::Unavailable => "service unavailable",
            Code::DeadlineExceeded => "timed out",
            Code::ResourceExhausted => "service overloaded, retry later",
            Code::Unauthenticated => "not authenticated (pass --token or set AUTOINTEL_TOKEN)",
            Code::PermissionDenied => "permission denied for this token",
            _ => "request failed",
        };
        let details = status.get_error_details();
        let mut lines: Vec<String> = Vec::new();
        let mut subjects: Vec<&str> = Vec::new();
        if let Some(bad) = details.bad_request() {
            for v in &bad.field_violations {
                subjects.push(&v.field);
                lines.push(format!(
                    "  {}: {}",
                    locate(&v.field),
                    locate(&v.description)
                ));
            }
        }
        if let Some(pre) = details.precondition_failure() {
            for v in &pre.violations {
                subjects.push(&v.subject);
                lines.push(format!("  {}: {}", v.subject, locate(&v.description)));
            }
        }
        let mut message = format!("error: {what}");
        // The message of our services lists the first violations again: keep it only when
        // it says something the lines below do not.
        let repeats = !subjects.is_empty() && subjects.iter().all(|s| status.message().contains(s));
        if !status.message().is_empty() && !repeats {
            message.push_str(": ");
            message.push_str(&locate(status.message()));
        }
        for line in &lines {
            message.push('\n');
            message.push_str(line);
        }
        let total = details
            .error_info()
            .and_then(|info| info.metadata.get("violations"))
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(total) = total
            && total > lines.len()
        {
            message.push_str(&format!(
                "\n  … and {} more ({total} in all; the service reports the first {})",
                total - lines.len(),
                lines.len()
            ));
        }
        if code == ExitCode::Unavailable && status.code() == Code::Unavailable {
            message.push_str(&format!("\n  (endpoint {endpoint})"));
        }
        Self { code, message }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, FieldViolation};

    #[test]
    fn field_violations_are_listed_one_per_line() {
        let status = Status::with_error_details(
            Code::InvalidArgument,
            "2 fields are invalid",
            ErrorDetails::with_bad_request(vec![
                FieldViolation::new("series.basis", "must be specified"),
                FieldViolation::new("period.end", "is before the start"),
            ]),
        );
        let failure = Failure::from_status(&status, "http://127.0.0.1:50052");
        assert_eq!(failure.code, ExitCode::InvalidInput);
        assert_eq!(
            failure.message,
            "error: invalid request: 2 fields are invalid\n  series.basis: must be specified\n  period.end: is before the start"
        );
    }

    #[test]
    fn unavailable_names_the_endpoint() {
        let failure =
            Failure::from_status(&Status::unavailable("connection refused"), "http://x:1");
        assert_eq!(failure.code, ExitCode::Unavailable);
        assert!(failure.message.ends_with("(endpoint http://x:1)"));
    }
}
