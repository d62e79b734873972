//! The service's error type and its one mapping to gRPC statuses.

use autointel_domain::{FieldViolation, ValidationError};
use autointel_server::status;

/// `ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "stats.autointel";

pub use autointel_server::status::Precondition;

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
    /// A listing's page token (or a Flight ticket) reads at a sequence mark this replica has
    /// not applied yet (another replica issued it); retrying, here or there, answers it.
    #[error(
        "the page token (or Flight ticket) reads figures stored up to sequence number \
         {mark}; this replica has applied them up to {applied} so far, retry"
    )]
    NotCaughtUp {
        /// The token's mark.
        mark: i64,
        /// What this replica has applied.
        applied: i64,
    },
    /// Anything else that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why the stats server could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The settings are invalid; every problem is listed.
    #[error("invalid configuration: {}", .0.join("; "))]
    InvalidSettings(Vec<String>),
    /// Listeners, tokens, TLS or the gRPC server failed.
    #[error("{0}")]
    Server(#[from] autointel_server::StartError),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] StatsError),
}

impl StartupError {
    /// Exits the process: status 2 for configuration problems, each printed once; 1 for
    /// anything else.
    pub fn exit(self, program: &str) -> ! {
        match self {
            Self::InvalidSettings(problems) => autointel_server::exit_invalid(program, &problems),
            Self::Server(e) if e.is_configuration() => {
                autointel_server::exit_with(program, autointel_server::EXIT_CONFIGURATION, &e)
            }
            other => autointel_server::exit_with(program, autointel_server::EXIT_FAILURE, &other),
        }
    }
}

impl From<sqlx::Error> for StartupError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StatsError::Database(e))
    }
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
}

/// The one place stats errors become gRPC statuses, in the shared vocabulary of
/// `autointel_server::status`.
impl From<StatsError> for tonic::Status {
    fn from(err: StatsError) -> Self {
        match err {
            StatsError::InvalidArgument(v) => {
                let pairs: Vec<(&str, &str)> = v
                    .violations()
                    .iter()
                    .map(|v| (v.field.as_str(), v.description.as_str()))
                    .collect();
                status::invalid_argument(ERROR_DOMAIN, &pairs)
            }
            StatsError::FailedPrecondition(list) => {
                let summary = if list.len() == 1 {
                    format!("{} ({})", list[0].subject, list[0].description)
                } else {
                    format!("{} cited resources do not exist", list.len())
                };
                status::failed_precondition(
                    ERROR_DOMAIN,
                    status::reason::REFERENCED_RESOURCE_NOT_FOUND,
                    &format!("failed precondition: {summary}"),
                    &list,
                )
            }
            StatsError::NotFound(resource) => status::not_found(ERROR_DOMAIN, &resource),
            StatsError::RegistryUnavailable(message) => status::dependency_unavailable(
                ERROR_DOMAIN,
                &format!("registry unavailable: {message}"),
            ),
            err @ StatsError::NotCaughtUp { .. } => {
                status::dependency_unavailable(ERROR_DOMAIN, &err.to_string())
            }
            StatsError::RequestStream(stream) => {
                status::request_stream_failed(ERROR_DOMAIN, &stream)
            }
            StatsError::Database(e) => status::database_status(&e, ERROR_DOMAIN),
            err
            @ (StatsError::Registry(_) | StatsError::Migration(_) | StatsError::Internal(_)) => {
                status::internal(ERROR_DOMAIN, &err)
            }
        }
    }
}
