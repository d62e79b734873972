//! Server plumbing shared by the autointel services: layered configuration ([`config`]),
//! the common settings sections ([`settings`]), bearer-token auth with roles ([`auth`]), the
//! gRPC gate layer (auth, load shedding, metrics: [`gate`]), the `/metrics` endpoint
//! ([`metrics`]), logging ([`telemetry`]) and the serving loop with health, reflection, TLS,
//! limits and a bounded graceful shutdown ([`server`]).

pub mod auth;
pub mod cli;
pub mod collectors;
pub mod config;
pub mod connections;
pub mod fanout;
pub mod gate;
pub mod metrics;
pub mod server;
pub mod settings;
pub mod status;
pub mod store_health;
pub mod telemetry;
pub mod tls;

use std::net::SocketAddr;
use std::path::Path;

pub use prometheus_client;
pub use server::{LIVENESS, Server, ServiceInfo};
pub use store_health::{STORE_HEALTH, StoreWatch};

/// Why a server could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not be bound.
    #[error("cannot listen for {what} on {address}: {source}")]
    Bind {
        /// `gRPC` or `metrics`.
        what: &'static str,
        /// The address.
        address: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A configured file could not be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The auth tokens could not be read.
    #[error("{0}")]
    Tokens(#[from] auth::TokenError),
    /// Server reflection could not be built.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The TLS files do not make a valid configuration.
    #[error("tls: {0}")]
    Tls(String),
    /// The gRPC transport failed (TLS configuration, accept loop).
    #[error("server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

impl StartError {
    /// True when the operator's configuration is at fault (a port in use, a missing or
    /// malformed file, bad tokens): the process exits with status 2, like invalid settings.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::Bind { .. }
                | Self::File { .. }
                | Self::Tokens(_)
                | Self::Tls(_)
                | Self::Transport(_)
        )
    }
}

/// Exit status for invalid configuration (settings, files, tokens, ports).
pub const EXIT_CONFIGURATION: i32 = 2;
/// Exit status for any other failure to start or serve.
pub const EXIT_FAILURE: i32 = 1;

/// Prints `error` once (its message already names its cause) and exits with `status`.
pub fn exit_with(program: &str, status: i32, error: &dyn std::fmt::Display) -> ! {
    eprintln!("{program}: {error}");
    std::process::exit(status)
}

/// The git revision the binary was built from (`AUTOINTEL_GIT_REVISION` at build time, as
/// the Dockerfiles pass it), or `unknown`.
pub const GIT_REVISION: &str = match option_env!("AUTOINTEL_GIT_REVISION") {
    Some(revision) => revision,
    None => "unknown",
};

/// `<package version> (<git revision>)`, for `--version` and `autointel_build_info`.
pub fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| format!("{} ({GIT_REVISION})", env!("CARGO_PKG_VERSION")))
}

/// Reads a whole file, naming it in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|source| StartError::File {
        path: path.display().to_string(),
        source,
    })
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Prints every configuration problem to stderr and exits with status 2.
pub fn exit_invalid(program: &str, problems: &[String]) -> ! {
    eprintln!("{program}: invalid configuration:");
    for problem in problems {
        eprintln!("  - {problem}");
    }
    std::process::exit(2)
}
