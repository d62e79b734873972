//! The registry's error type and its one mapping to gRPC statuses.

use std::collections::HashMap;

use autointel_domain::ValidationError;
use autointel_server::status;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every error the registry returns.
pub const ERROR_DOMAIN: &str = "registry.autointel";

/// A referenced resource that is missing, or a rule the current state breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Precondition {
    /// Violation type, e.g. `REFERENCED_RESOURCE_NOT_FOUND`.
    pub kind: &'static str,
    /// The resource name the violation is about.
    pub subject: String,
    /// What is wrong, for people.
    pub description: String,
}

/// Everything that can go wrong in the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The request is malformed; every field violation, paths prefixed by the request field.
    #[error("invalid request: {0}")]
    InvalidArgument(ValidationError),
    /// The named resource does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A resource with that name exists already.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The request references missing resources or breaks a rule of the stored state.
    #[error("{message}")]
    FailedPrecondition {
        /// Summary for people.
        message: String,
        /// Machine-readable `ErrorInfo.reason`.
        reason: &'static str,
        /// Each violated precondition.
        violations: Vec<Precondition>,
    },
    /// The etag sent does not match the stored one (or the resource changed concurrently).
    #[error("{resource} was changed by someone else (etag mismatch)")]
    Aborted {
        /// Resource name.
        resource: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored record could not be read back; a bug or a corrupted database.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl RegistryError {
    /// An INVALID_ARGUMENT error with one violation.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(ValidationError::single(field, description))
    }

    /// A FAILED_PRECONDITION for references to resources that do not exist.
    pub fn missing_references(violations: Vec<Precondition>) -> Self {
        let names: Vec<&str> = violations.iter().map(|v| v.subject.as_str()).collect();
        Self::FailedPrecondition {
            message: format!("referenced resources do not exist: {}", names.join(", ")),
            reason: "REFERENCED_RESOURCE_NOT_FOUND",
            violations,
        }
    }

    /// A FAILED_PRECONDITION for a rule of the stored state.
    pub fn precondition(
        reason: &'static str,
        subject: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        let description = description.into();
        Self::FailedPrecondition {
            message: description.clone(),
            reason,
            violations: vec![Precondition {
                kind: reason,
                subject: subject.into(),
                description,
            }],
        }
    }
}

fn error_info(details: &mut ErrorDetails, reason: &str, resource: Option<&str>) {
    let mut metadata = HashMap::new();
    if let Some(resource) = resource {
        metadata.insert(
            "resource".to_owned(),
            status::clip(resource, status::MAX_DETAIL_CHARS),
        );
    }
    details.set_error_info(reason, ERROR_DOMAIN, metadata);
}

/// The one place registry errors become gRPC statuses.
impl From<RegistryError> for Status {
    fn from(err: RegistryError) -> Self {
        let message = err.to_string();
        let mut details = ErrorDetails::new();
        let code = match err {
            RegistryError::InvalidArgument(violations) => {
                let pairs: Vec<(&str, &str)> = violations
                    .violations()
                    .iter()
                    .map(|v| (v.field.as_str(), v.description.as_str()))
                    .collect();
                return status::invalid_argument(ERROR_DOMAIN, &pairs);
            }
            RegistryError::NotFound(resource) => {
                error_info(&mut details, "RESOURCE_NOT_FOUND", Some(&resource));
                Code::NotFound
            }
            RegistryError::AlreadyExists(resource) => {
                error_info(&mut details, "RESOURCE_ALREADY_EXISTS", Some(&resource));
                Code::AlreadyExists
            }
            RegistryError::FailedPrecondition {
                message,
                reason,
                violations,
            } => {
                let violations: Vec<status::PreconditionViolation<'_>> = violations
                    .iter()
                    .map(|v| status::PreconditionViolation {
                        kind: v.kind,
                        subject: &v.subject,
                        description: &v.description,
                    })
                    .collect();
                return status::failed_precondition(ERROR_DOMAIN, reason, &message, &violations);
            }
            RegistryError::Aborted { resource } => {
                error_info(&mut details, "ETAG_MISMATCH", Some(&resource));
                Code::Aborted
            }
            RegistryError::Database(e) => {
                return status::database_status(&e, ERROR_DOMAIN);
            }
            RegistryError::Migrate(_) | RegistryError::Corrupt(_) => {
                tracing::error!(error = %message, "internal error");
                error_info(&mut details, "INTERNAL", None);
                return Status::with_error_details(Code::Internal, "internal error", details);
            }
        };
        Status::with_error_details(
            code,
            status::clip(&message, status::MAX_MESSAGE_CHARS),
            details,
        )
    }
}
