//! `registry-server`: the registry gRPC service.

use std::net::SocketAddr;

use anyhow::Context as _;
use autointel_registry::{Application, Settings};
use clap::Parser;

/// Command-line flags; each falls back to an `AUTOINTEL_REGISTRY__…` variable.
#[derive(Debug, Parser)]
#[command(name = "registry-server", about = "autointel registry gRPC service")]
struct Flags {
    /// Address to listen on.
    #[arg(
        long,
        env = "AUTOINTEL_REGISTRY__LISTEN_ADDRESS",
        default_value = "127.0.0.1:50051"
    )]
    listen: SocketAddr,
    /// Database URL (sqlite://file?mode=rwc, sqlite::memory:, postgres://…).
    #[arg(
        long,
        env = "AUTOINTEL_REGISTRY__DATABASE_URL",
        default_value = "sqlite://autointel-registry.db?mode=rwc"
    )]
    database_url: String,
    /// Load the bundled seed dataset at start-up (idempotent).
    #[arg(long, env = "AUTOINTEL_REGISTRY__LOAD_SEED")]
    seed: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let flags = Flags::parse();
    let settings = Settings {
        listen_address: flags.listen,
        database_url: flags.database_url,
        load_seed: flags.seed,
    };
    let app = Application::build(settings)
        .await
        .context("starting registry")?;
    app.serve_until(shutdown_signal())
        .await
        .context("serving registry")
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
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
