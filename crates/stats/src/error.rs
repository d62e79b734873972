//! The service's error type and its one mapping to gRPC statuses.

use autointel_domain::{FieldViolation, ValidationError};
use autointel_server::status;
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "stats.autointel";

/// A precondition that failed: what kind, which resource, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Precondition {
    /// Kind of failure, e.g. `UNKNOWN_ORGANIZATION`.
    pub kind: String,
    /// The resource, e.g. `organizations/nissan`.
    pub subject: String,
    /// Why, in words.
    pub description: String,
}

/// Everything that can go wrong in the stats service.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// The request is invalid; every violation is listed.
    #[error("invalid request: {0}")]
    InvalidArgument(ValidationError),
    /// The request refers to resources that do not exist.
    #[error("failed precondition: {}", .0.iter().map(|p| format!("{} ({})", p.subject, p.description)).collect::<Vec<_>>().join("; "))]
    FailedPrecondition(Vec<Precondition>),
    /// A resource is absent.
    #[error("{0} not found")]
    NotFound(String),
    /// The registry could not be reached for what was needed.
    #[error("registry unavailable: {0}")]
    RegistryUnavailable(String),
    /// The registry answered with an unexpected error.
    #[error("registry error: {0}")]
    Registry(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The client's request stream failed (a message over the size limit, a malformed
    /// frame, a cancelled call): its status, code unchanged, as tonic reported it.
    #[error("the request stream failed: {}", .0.message())]
    RequestStream(tonic::Status),
    /// Anything else that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
    /// The settings are invalid; every problem is listed (start-up only).
    #[error("invalid configuration: {}", .0.join("; "))]
    InvalidSettings(Vec<String>),
    /// Listeners, tokens, TLS or the gRPC server failed (start-up and serving only).
    #[error("{0}")]
    Server(#[from] autointel_server::StartError),
}

impl StatsError {
    /// An invalid-argument error with one violation.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(ValidationError::single(field, description))
    }

    /// An invalid-argument error from violations; `None` when there are none.
    pub fn from_violations(violations: Vec<FieldViolation>) -> Option<Self> {
        let mut v = autointel_domain::Violations::new();
        for violation in violations {
            v.push(violation.field, violation.description);
        }
        v.finish().err().map(Self::InvalidArgument)
    }

    /// Exits the process after a failure to start or serve: status 2 for configuration
    /// problems, each printed once; 1 for anything else.
    pub fn exit(self, program: &str) -> ! {
        match self {
            Self::InvalidSettings(problems) => autointel_server::exit_invalid(program, &problems),
            Self::Server(e) if e.is_configuration() => {
                autointel_server::exit_with(program, autointel_server::EXIT_CONFIGURATION, &e)
            }
            other => autointel_server::exit_with(program, autointel_server::EXIT_FAILURE, &other),
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
            Self::FailedPrecondition(_) => "FAILED_PRECONDITION",
            Self::NotFound(_) => "NOT_FOUND",
            Self::RegistryUnavailable(_) => "REGISTRY_UNAVAILABLE",
            Self::Registry(_) => "REGISTRY_ERROR",
            Self::RequestStream(_) => "REQUEST_STREAM_FAILED",
            Self::Database(_) | Self::Migration(_) => "DATABASE_ERROR",
            Self::Internal(_) | Self::InvalidSettings(_) | Self::Server(_) => "INTERNAL",
        }
    }
}

impl From<StatsError> for tonic::Status {
    fn from(err: StatsError) -> Self {
        let mut details = ErrorDetails::new();
        details.set_error_info(
            err.reason(),
            ERROR_DOMAIN,
            std::collections::HashMap::<String, String>::new(),
        );
        let code = match &err {
            StatsError::InvalidArgument(v) => {
                let pairs: Vec<(&str, &str)> = v
                    .violations()
                    .iter()
                    .map(|v| (v.field.as_str(), v.description.as_str()))
                    .collect();
                return status::invalid_argument(ERROR_DOMAIN, &pairs);
            }
            StatsError::FailedPrecondition(list) => {
                let violations: Vec<status::PreconditionViolation<'_>> = list
                    .iter()
                    .map(|p| status::PreconditionViolation {
                        kind: &p.kind,
                        subject: &p.subject,
                        description: &p.description,
                    })
                    .collect();
                let summary = if list.len() == 1 {
                    err.to_string()
                } else {
                    "failed precondition".to_owned()
                };
                return status::failed_precondition(
                    ERROR_DOMAIN,
                    "FAILED_PRECONDITION",
                    &summary,
                    &violations,
                );
            }
            StatsError::NotFound(_) => Code::NotFound,
            StatsError::RegistryUnavailable(_) => {
                details.set_retry_info(Some(status::RETRY_UNAVAILABLE));
                Code::Unavailable
            }
            StatsError::Registry(_) => Code::Internal,
            StatsError::RequestStream(status) => status.code(),
            StatsError::Database(e) => {
                return status::database_status(e, ERROR_DOMAIN);
            }
            StatsError::Migration(e) => {
                tracing::error!(error = %e, "migration error");
                Code::Internal
            }
            StatsError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                Code::Internal
            }
            StatsError::InvalidSettings(_) | StatsError::Server(_) => {
                tracing::error!(error = %err, "start-up error");
                Code::Internal
            }
        };
        tonic::Status::with_error_details(
            code,
            status::clip(&err.to_string(), status::MAX_MESSAGE_CHARS),
            details,
        )
    }
}
