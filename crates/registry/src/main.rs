//! `registry-server`: the registry gRPC service.

use autointel_registry::{Application, Settings};
use autointel_server::cli::CommonFlags;
use clap::Parser;

/// Command-line flags; each overrides the file and `AUTOINTEL_…` env (see OPERATIONS.md).
#[derive(Debug, Parser)]
#[command(name = "registry-server", version = autointel_server::version(), about = "autointel registry gRPC service")]
struct Flags {
    #[command(flatten)]
    common: CommonFlags,
    /// Load the bundled seed dataset at start-up, idempotently (seed.load).
    #[arg(long)]
    seed: bool,
}

#[tokio::main]
async fn main() {
    const PROGRAM: &str = "registry-server";
    let flags = Flags::parse();
    let extra = if flags.seed {
        vec![("seed.load", true.into())]
    } else {
        Vec::new()
    };
    let (settings, _telemetry) = autointel_server::cli::settings::<Settings>(
        PROGRAM,
        "autointel-registry",
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
