//! `stats-server`: serves the stats gRPC service until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use autointel_server::config::Value;
use autointel_stats::{Application, Settings};
use clap::Parser;

/// Command-line flags; each overrides the file and `AUTOINTEL_…` env (see OPERATIONS.md).
#[derive(Debug, Parser)]
#[command(name = "stats-server", version = autointel_server::version(), about = "The autointel stats gRPC service")]
struct Flags {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (server.listen_address).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Address of the Prometheus /metrics endpoint (server.metrics_address).
    #[arg(long, value_name = "ADDRESS")]
    metrics_listen: Option<SocketAddr>,
    /// Database URL: `sqlite:…` or `postgres://…` (database.url).
    #[arg(long)]
    database_url: Option<String>,
    /// Registry endpoint, e.g. http://127.0.0.1:50051 (registry.endpoint).
    #[arg(long)]
    registry: Option<String>,
}

#[tokio::main]
async fn main() {
    let flags = Flags::parse();
    let mut overrides: Vec<(&str, Value)> = Vec::new();
    if let Some(listen) = flags.listen {
        overrides.push(("server.listen_address", listen.to_string().into()));
    }
    if let Some(metrics) = flags.metrics_listen {
        overrides.push(("server.metrics_address", metrics.to_string().into()));
    }
    if let Some(url) = flags.database_url {
        overrides.push(("database.url", url.into()));
    }
    if let Some(registry) = flags.registry {
        overrides.push(("registry.endpoint", registry.into()));
    }
    let settings = Settings::load(flags.config.as_deref(), &overrides)
        .unwrap_or_else(|e| autointel_server::exit_invalid("stats-server", &e.problems()));
    if let Err(problems) = settings.validate() {
        autointel_server::exit_invalid("stats-server", &problems);
    }
    let _telemetry = autointel_server::telemetry::init(&settings.log, "autointel-stats")
        .unwrap_or_else(|e| autointel_server::exit_invalid("stats-server", &[e.to_string()]));
    let app = Application::build(settings)
        .await
        .unwrap_or_else(|e| e.exit("stats-server"));
    if let Err(e) = app.serve_until(autointel_server::shutdown_signal()).await {
        e.exit("stats-server");
    }
}
