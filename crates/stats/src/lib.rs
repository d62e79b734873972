//! The stats service: imports sales figures and answers totals, changes, series, rankings,
//! shares, breakdowns, rollups and target progress from an in-memory engine.
//!
//! [`Application::build`] connects the database, runs migrations, loads the engine and binds
//! the listener; [`Application::serve_until`] serves gRPC (with health and reflection) and
//! keeps the engine in step with the database (see [`Settings::refresh_interval`]).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod engine;
pub mod error;
pub mod registry_client;
pub mod seed;
pub mod service;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use autointel_proto::stats::stats_service_server::StatsServiceServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::ServingStatus;

pub use error::StatsError;

use crate::engine::Engine;
use crate::registry_client::RegistryClient;
use crate::service::{State, StatsApi};
use crate::store::Store;

/// Fully qualified name of the gRPC service, as health checks name it.
pub const SERVICE_NAME: &str = "autointel.stats.v1.StatsService";

/// Everything the stats service can be configured with.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub listen_address: SocketAddr,
    /// `sqlite:…` (file or `sqlite::memory:`) or `postgres://…`.
    pub database_url: String,
    /// The registry's gRPC endpoint, e.g. `http://127.0.0.1:50051`.
    pub registry_endpoint: String,
    /// Deadline of each registry call.
    pub registry_timeout: Duration,
    /// How long a registry answer "this organisation exists" is trusted.
    pub organization_cache_ttl: Duration,
    /// How often the engine polls the database for figures other replicas wrote. A replica
    /// sees another's committed import within `refresh_interval` plus the time of one poll.
    pub refresh_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen_address: SocketAddr::from(([127, 0, 0, 1], 50052)),
            database_url: "sqlite:autointel-stats.db?mode=rwc".to_owned(),
            registry_endpoint: "http://127.0.0.1:50051".to_owned(),
            registry_timeout: Duration::from_secs(2),
            organization_cache_ttl: Duration::from_secs(60),
            refresh_interval: Duration::from_secs(1),
        }
    }
}

/// A built stats server, bound and loaded, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: Arc<State>,
    refresh_interval: Duration,
}

impl Application {
    /// Connects and migrates the database, loads the engine, prepares the (lazy) registry
    /// client and binds the listener. The registry need not be up.
    pub async fn build(settings: Settings) -> Result<Self, StatsError> {
        let store = Store::connect(&settings.database_url).await?;
        store.migrate().await?;
        let registry = RegistryClient::new(
            &settings.registry_endpoint,
            settings.registry_timeout,
            settings.organization_cache_ttl,
        )?;
        let state = Arc::new(State {
            engine: RwLock::new(Engine::new()),
            store,
            registry,
            import_lock: tokio::sync::Mutex::new(()),
        });
        let mut sources = Vec::new();
        for source in state.store.sources().await? {
            sources.push(source);
        }
        {
            let mut engine = state.write()?;
            for source in sources {
                engine.put_source(source);
            }
        }
        let loaded = state.refresh().await?;
        tracing::info!(figures = loaded, "engine loaded");
        let listener = TcpListener::bind(settings.listen_address)
            .await
            .map_err(|e| {
                StatsError::Internal(format!("cannot bind {}: {e}", settings.listen_address))
            })?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| StatsError::Internal(format!("no local address: {e}")))?;
        Ok(Self {
            listener,
            local_addr,
            state,
            refresh_interval: settings.refresh_interval,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then reports NOT_SERVING and drains.
    pub async fn serve_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StatsError> {
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_serving::<StatsServiceServer<StatsApi>>().await;
        health.set_service_status("", ServingStatus::Serving).await;
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(autointel_proto::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|e| StatsError::Internal(format!("reflection: {e}")))?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(autointel_proto::FILE_DESCRIPTOR_SET)
            .build_v1alpha()
            .map_err(|e| StatsError::Internal(format!("reflection: {e}")))?;

        let refresher = tokio::spawn(refresh_loop(self.state.clone(), self.refresh_interval));
        let shutdown_health = health.clone();
        let result = tonic::transport::Server::builder()
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(StatsServiceServer::new(StatsApi::new(self.state.clone())))
            .serve_with_incoming_shutdown(TcpListenerStream::new(self.listener), async move {
                shutdown.await;
                shutdown_health
                    .set_not_serving::<StatsServiceServer<StatsApi>>()
                    .await;
                shutdown_health
                    .set_service_status("", ServingStatus::NotServing)
                    .await;
            })
            .await;
        refresher.abort();
        self.state.store.close().await;
        result.map_err(|e| StatsError::Internal(format!("server: {e}")))
    }
}

/// Applies figures other replicas committed, every `interval`.
async fn refresh_loop(state: Arc<State>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match state.refresh().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(figures = n, "applied figures written elsewhere"),
            Err(e) => tracing::warn!(error = %e, "refresh from the database failed"),
        }
    }
}
