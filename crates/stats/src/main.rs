//! `stats-server`: serves the stats gRPC service until Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use autointel_stats::{Application, Settings};
use clap::Parser;

/// Command-line flags; everything else takes its default.
#[derive(Debug, Parser)]
#[command(name = "stats-server", about = "The autointel stats gRPC service")]
struct Flags {
    /// Address to listen on.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Database URL (`sqlite:…` or `postgres://…`).
    #[arg(long)]
    database_url: Option<String>,
    /// Registry endpoint, e.g. http://127.0.0.1:50051.
    #[arg(long)]
    registry: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let flags = Flags::parse();
    let defaults = Settings::default();
    let settings = Settings {
        listen_address: flags.listen.unwrap_or(defaults.listen_address),
        database_url: flags.database_url.unwrap_or(defaults.database_url.clone()),
        registry_endpoint: flags.registry.unwrap_or(defaults.registry_endpoint.clone()),
        ..defaults
    };
    let app = Application::build(settings).await?;
    tracing::info!(address = %app.local_addr(), "stats serving");
    app.serve_until(shutdown_signal()).await?;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
