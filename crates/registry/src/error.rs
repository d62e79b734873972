//! The registry's error type and its one mapping to gRPC statuses.

use autointel_domain::ValidationError;
use autointel_server::status;
use tonic::Status;

/// `ErrorInfo.domain` of every error the registry returns.
pub const ERROR_DOMAIN: &str = "registry.autointel";

pub use autointel_server::status::Precondition;

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
        /// Machine-readable `ErrorInfo.reason` (`autointel_server::status::reason`).
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
            reason: status::reason::REFERENCED_RESOURCE_NOT_FOUND,
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
                kind: reason.to_owned(),
                subject: subject.into(),
                description,
            }],
        }
    }
}

/// The one place registry errors become gRPC statuses, in the shared vocabulary of
/// `autointel_server::status`.
impl From<RegistryError> for Status {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::InvalidArgument(violations) => {
                let pairs: Vec<(&str, &str)> = violations
                    .violations()
                    .iter()
                    .map(|v| (v.field.as_str(), v.description.as_str()))
                    .collect();
                status::invalid_argument(ERROR_DOMAIN, &pairs)
            }
            RegistryError::NotFound(resource) => status::not_found(ERROR_DOMAIN, &resource),
            RegistryError::AlreadyExists(resource) => {
                status::already_exists(ERROR_DOMAIN, &resource)
            }
            RegistryError::FailedPrecondition {
                message,
                reason,
                violations,
            } => status::failed_precondition(ERROR_DOMAIN, reason, &message, &violations),
            RegistryError::Aborted { resource } => status::etag_mismatch(ERROR_DOMAIN, &resource),
            RegistryError::Database(e) => status::database_status(&e, ERROR_DOMAIN),
            err @ (RegistryError::Migrate(_) | RegistryError::Corrupt(_)) => {
                status::internal(ERROR_DOMAIN, &err)
            }
        }
    }
}
