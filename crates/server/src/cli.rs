//! The flags both server binaries share, and the start-up sequence they run: settings
//! (defaults < file < env < flags), validation, logging, then the service.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::{ServiceSettings, Value};

/// Flags every server takes; each overrides the file and `AUTOINTEL_…` env (see
/// OPERATIONS.md).
#[derive(Debug, Clone, clap::Args)]
pub struct CommonFlags {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (server.listen_address).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Address of the Prometheus /metrics endpoint (server.metrics_address).
    #[arg(long, value_name = "ADDRESS")]
    pub metrics_listen: Option<SocketAddr>,
    /// Database URL: sqlite://file?mode=rwc, sqlite::memory:, postgres://… (database.url).
    #[arg(long)]
    pub database_url: Option<String>,
}

impl CommonFlags {
    /// The settings these flags override, as dotted keys.
    pub fn overrides(&self) -> Vec<(&'static str, Value)> {
        let mut overrides: Vec<(&'static str, Value)> = Vec::new();
        if let Some(listen) = self.listen {
            overrides.push(("server.listen_address", listen.to_string().into()));
        }
        if let Some(metrics) = self.metrics_listen {
            overrides.push(("server.metrics_address", metrics.to_string().into()));
        }
        if let Some(url) = &self.database_url {
            overrides.push(("database.url", url.clone().into()));
        }
        overrides
    }
}

/// Loads a service's settings (file, env, the flags' overrides and `extra`), validates
/// them and installs logging for `service`; a problem exits with status 2, each printed
/// once. The returned guard keeps the trace exporter running.
pub fn settings<S: ServiceSettings>(
    program: &str,
    service: &'static str,
    flags: &CommonFlags,
    extra: Vec<(&'static str, Value)>,
) -> (S, crate::telemetry::TelemetryGuard) {
    let mut overrides = flags.overrides();
    overrides.extend(extra);
    let settings = S::load(flags.config.as_deref(), &overrides)
        .unwrap_or_else(|e| crate::exit_invalid(program, &e.problems()));
    if let Err(problems) = settings.validate() {
        crate::exit_invalid(program, &problems);
    }
    let guard = crate::telemetry::init(&settings.common().log, service)
        .unwrap_or_else(|e| crate::exit_invalid(program, &[e.to_string()]));
    (settings, guard)
}
