//! `stats-server`: serves the stats gRPC service until Ctrl-C or SIGTERM.

use autointel_server::cli::CommonFlags;
use autointel_stats::{Application, Settings};
use clap::Parser;

/// Command-line flags; each overrides the file and `AUTOINTEL_…` env (see OPERATIONS.md).
#[derive(Debug, Parser)]
#[command(name = "stats-server", version = autointel_server::version(), about = "The autointel stats gRPC service")]
struct Flags {
    #[command(flatten)]
    common: CommonFlags,
    /// Registry endpoint, e.g. http://127.0.0.1:50051 (registry.endpoint).
    #[arg(long)]
    registry: Option<String>,
}

#[tokio::main]
async fn main() {
    const PROGRAM: &str = "stats-server";
    let flags = Flags::parse();
    let extra = flags
        .registry
        .iter()
        .map(|endpoint| ("registry.endpoint", endpoint.clone().into()))
        .collect();
    let (settings, _telemetry) = autointel_server::cli::settings::<Settings>(
        PROGRAM,
        "autointel-stats",
        &flags.common,
        extra,
    );
    let app = Application::build(settings)
        .await
        .unwrap_or_else(|e| e.exit(PROGRAM));
    if let Err(e) = app.serve_until(autointel_server::shutdown_signal()).await {
        e.exit(PROGRAM);
    }
}
