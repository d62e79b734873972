//! The stats service: imports sales figures and answers totals, changes, series, rankings,
//! shares, breakdowns, rollups and target progress from an in-memory engine.
//!
//! [`Application::build`] connects the database, runs migrations, loads the engine and binds
//! the listeners; [`Application::serve_until`] serves gRPC (with health, reflection, auth,
//! limits and metrics from `autointel-server`), keeps the engine in step with the database
//! (see [`settings::EngineSettings`]) and reports the registry's health as a dependency.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod engine;
pub mod error;
pub mod metrics;
pub mod registry_client;
pub mod service;
pub mod settings;
pub mod snapshots;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use autointel_proto::stats::stats_service_server::StatsServiceServer;
use autointel_server::auth::FLIGHT_SERVICE;
use autointel_server::{Server, ServiceInfo, StoreWatch};
use tonic::service::Routes;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as ProbeStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::server::HealthReporter;

pub use error::{StartupError, StatsError};
pub use settings::{ServiceSettings, Settings};

use crate::engine::Engine;
use crate::metrics::StatsMetrics;
use crate::registry_client::{Balancing, RegistryClient, RegistryConnection, RegistryToken};
use crate::service::{FigureFeed, State, StatsApi, StatsFlight, WireFigures};
use crate::snapshots::{Snapshots, Written};
use crate::store::Store;
use autointel_server::fanout::Fanout;

/// Age after which an import's staged figures are taken as abandoned.
const STALE_STAGE_MICROS: i64 = 24 * 3600 * 1_000_000;
/// Fully qualified name of the gRPC service, as health checks name it.
pub const SERVICE_NAME: &str = "autointel.stats.v1.StatsService";

/// The health-check name under which stats reports its registry dependency.
pub const REGISTRY_DEPENDENCY: &str = "autointel.registry.v1.RegistryService";

/// Consecutive probe results needed to change the registry dependency's status.
pub const REGISTRY_HYSTERESIS: u32 = 3;

/// A built stats server, bound and migrated, not yet serving (the engine loads once it serves).
#[derive(Debug)]
pub struct Application {
    /// Turned true once the engine is loaded.
    ready: tokio::sync::watch::Sender<bool>,
    /// The settings (the registry credentials are read again from them when they change).
    settings: Settings,
    /// How often the registry credentials are checked for a change.
    credentials_reload: Duration,
    server: Server,
    state: Arc<State>,
    snapshots: Snapshots,
    refresh_interval: Duration,
    probe_interval: Duration,
    max_message_bytes: usize,
    max_import_message_bytes: usize,
}

/// The registry token: `registry.token`, else the contents of `registry.token_file`. A
/// configured file that is missing, unreadable or empty stops start-up (fails closed).
fn registry_token(settings: &settings::RegistrySettings) -> Result<RegistryToken, StartupError> {
    if let Some(token) = &settings.token {
        return Ok(RegistryToken::new(Some(&token.0))?);
    }
    let Some(path) = &settings.token_file else {
        return Ok(RegistryToken::new(None)?);
    };
    let token = std::fs::read_to_string(path).map_err(|e| {
        StartupError::InvalidSettings(vec![format!("registry.token_file {}: {e}", path.display())])
    })?;
    if token.trim().is_empty() {
        return Err(StartupError::InvalidSettings(vec![format!(
            "registry.token_file {} holds no token",
            path.display()
        )]));
    }
    Ok(RegistryToken::new(Some(&token))?)
}

/// How stats reaches the registry, as the settings and the token and TLS files say now.
fn registry_connection(settings: &Settings) -> Result<RegistryConnection, StartupError> {
    let token = registry_token(&settings.registry)?;
    let tls = if settings.registry.endpoint.starts_with("https://") {
        let mut tls = settings.registry.tls.clone();
        if tls.domain_name.is_none() {
            // verify the certificate against the endpoint's name, also when connecting
            // to the addresses it resolves to
            tls.domain_name = settings.registry_host();
        }
        Some(tls.load()?)
    } else {
        None
    };
    let balancing = match settings.registry.load_balancing {
        settings::LoadBalancing::Single => Balancing::Single,
        settings::LoadBalancing::Dns => Balancing::Dns {
            refresh: Duration::from_millis(settings.registry.dns_refresh_ms),
            resolve: registry_client::dns(),
        },
    };
    Ok(RegistryConnection {
        endpoint: settings.registry.endpoint.clone(),
        timeout: settings.registry_timeout(),
        organization_ttl: Duration::from_millis(settings.registry.cache_ttl_ms),
        tls,
        token,
        balancing,
    })
}

/// Every `interval`, reads stats' registry token and TLS files again when they changed
/// and reconnects to the registry with them (new calls use them; calls under way finish):
/// a rotated token or renewed client certificate needs no restart. Files that do not make
/// a valid connection keep the one in force, with an error logged.
async fn reload_registry_credentials(state: Arc<State>, settings: Settings, interval: Duration) {
    let registry = &settings.registry;
    let files: Vec<std::path::PathBuf> = [
        &registry.token_file,
        &registry.tls.ca_file,
        &registry.tls.cert_file,
        &registry.tls.key_file,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    if files.is_empty() {
        return;
    }
    let read = || -> Vec<Option<Vec<u8>>> { files.iter().map(|f| std::fs::read(f).ok()).collect() };
    let mut last = read();
    loop {
        tokio::time::sleep(interval).await;
        let now = read();
        if now == last {
            continue;
        }
        last = now;
        let reconnected = registry_connection(&settings)
            .map_err(|e| e.to_string())
            .and_then(|c| state.registry.reconnect(c).map_err(|e| e.to_string()));
        match reconnected {
            Ok(()) => tracing::info!("registry token and TLS files reloaded"),
            Err(e) => tracing::error!(
                error = %e,
                "the registry token or TLS files changed but cannot be used; keeping the connection in force"
            ),
        }
    }
}

impl Application {
    /// Validates the settings, reads every token and TLS file and binds the listeners
    /// (configuration problems surface here, before the database is touched), then connects
    /// and migrates the database and prepares the (lazy) registry client. The registry need
    /// not be up. The engine loads once [`Self::serve_until`] serves: until it is loaded,
    /// the service's health says NOT_SERVING and requests wait briefly, then get
    /// UNAVAILABLE; liveness answers throughout.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        settings.validate().map_err(StartupError::InvalidSettings)?;
        let source_preference = settings
            .source_preference()
            .map_err(|e| StartupError::InvalidSettings(vec![e]))?;
        let mut server = Server::bind(
            &settings.common.server,
            &settings.common.auth,
            &settings.common.tls,
            ServiceInfo {
                error_domain: error::ERROR_DOMAIN,
                descriptor_set: autointel_proto::FILE_DESCRIPTOR_SET,
            },
        )
        .await?;
        let connection = registry_connection(&settings)?;
        let store = Store::connect(
            &settings.common.database.url,
            settings.common.database.max_connections,
        )
        .await?;
        store.migrate().await?;
        // Figures staged by imports that never finished (a crash, a lost client) a day ago
        // or earlier; a live import stages and writes within minutes.
        let stale = store::now_micros() - STALE_STAGE_MICROS;
        match store.drop_stale_stages(stale).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(figures = n, "deleted figures staged by unfinished imports"),
            Err(e) => tracing::warn!(error = %e, "deleting stale staged figures failed"),
        }
        let metrics = StatsMetrics::default();
        let registry = RegistryClient::new(connection, metrics.clone())?;
        let state = Arc::new(State {
            engine: RwLock::new(Engine::new()),
            store,
            registry,
            import_lock: tokio::sync::Mutex::new(()),
            metrics: metrics.clone(),
            wire_figures: WireFigures::default(),
            max_import_figures: settings.import.max_figures,
            source_preference,
            imported: tokio::sync::watch::channel(0).0,
        });
        metrics.register(server.registry_mut());
        let (ready, ready_rx) = tokio::sync::watch::channel(false);
        server.ready_when(ready_rx);
        server.watch_store(StoreWatch {
            writability: state.store.writability().clone(),
            pool: state.store.pool().clone(),
            probe_sql: store::WRITE_PROBE,
        });
        let snapshots = Snapshots::new(&settings, state.store.backend());
        Ok(Self {
            server,
            state,
            snapshots,
            ready,
            credentials_reload: Duration::from_secs(settings.common.auth.reload_interval_seconds),
            settings: settings.clone(),
            refresh_interval: settings.refresh_interval(),
            probe_interval: Duration::from_millis(settings.registry.refresh_interval_ms),
            max_message_bytes: settings.common.server.max_message_bytes,
            max_import_message_bytes: settings.import.max_message_bytes,
        })
    }

    /// The gRPC address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The metrics address actually bound, when metrics are served.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.server.metrics_addr()
    }

    /// The plaintext health-only address actually bound, when configured.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.server.health_addr()
    }

    /// Serves until `shutdown` completes: then health turns NOT_SERVING, and after the drain
    /// delay the server stops accepting and drains within the shutdown grace.
    pub async fn serve_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let refresher = tokio::spawn(load_then_refresh(
            self.state.clone(),
            self.snapshots,
            self.ready,
            self.refresh_interval,
        ));
        // Known (as UNKNOWN) from the first request on, until the first probe answers.
        self.server
            .health()
            .set_service_status(REGISTRY_DEPENDENCY, ServingStatus::Unknown)
            .await;
        let credentials = tokio::spawn(reload_registry_credentials(
            self.state.clone(),
            self.settings.clone(),
            self.credentials_reload,
        ));
        let sources = tokio::spawn(refresh_sources(self.state.clone()));
        let prober = tokio::spawn(probe_registry(
            self.state.clone(),
            self.server.health(),
            self.probe_interval,
        ));
        let watch = Arc::new(Fanout::start(
            FigureFeed(self.state.store.clone()),
            self.state.imported.subscribe(),
            self.server.draining(),
            self.settings.watch.limits(),
        ));
        let api = StatsServiceServer::new(StatsApi::new(self.state.clone(), watch))
            .max_decoding_message_size(self.max_import_message_bytes)
            .max_encoding_message_size(self.max_message_bytes);
        let flight =
            FlightServiceServer::new(StatsFlight::new(self.state.clone(), self.max_message_bytes))
                .max_decoding_message_size(self.max_message_bytes)
                .max_encoding_message_size(self.max_message_bytes);
        let result = self
            .server
            .serve(
                Routes::new(api).add_service(flight),
                &[SERVICE_NAME, FLIGHT_SERVICE],
                shutdown,
            )
            .await;
        refresher.abort();
        sources.abort();
        prober.abort();
        credentials.abort();
        self.state.store.close().await;
        Ok(result?)
    }
}

fn update_engine_gauge(state: &State) {
    if let Ok(engine) = state.read() {
        state
            .metrics
            .engine_figures
            .set(i64::try_from(engine.len()).unwrap_or(i64::MAX));
        state.metrics.applied_sequence.set(engine.last_seq());
    }
}

/// Records that the engine has caught up with the store now.
fn mark_refreshed(state: &State) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    state.metrics.last_refresh.set(now);
    update_engine_gauge(state);
}

/// Loads the engine (from its snapshot when there is a usable one, then from the store;
/// retrying a failed load every few seconds), reports the service ready, then applies what
/// other replicas commit every `interval` and writes snapshots as the policy says.
async fn load_then_refresh(
    state: Arc<State>,
    snapshots: Snapshots,
    ready: tokio::sync::watch::Sender<bool>,
    interval: Duration,
) {
    let started = std::time::Instant::now();
    let written;
    loop {
        match load(&state, &snapshots).await {
            Ok((figures, snapshot)) => {
                tracing::info!(
                    figures,
                    seconds = started.elapsed().as_secs_f64(),
                    "engine loaded"
                );
                written = snapshot;
                break;
            }
            Err(e) => {
                tracing::error!(error = %e, "loading the engine failed; retrying");
                tokio::time::sleep(LOAD_RETRY).await;
            }
        }
    }
    mark_refreshed(&state);
    state.metrics.loaded.set(1);
    let _ = ready.send(true);
    refresh_loop(state, snapshots, written, interval).await;
}

/// How long a failed start-up load waits before the next attempt.
const LOAD_RETRY: Duration = Duration::from_secs(3);

/// The start-up load: the engine of a usable snapshot (else an empty one), the cited
/// sources, then every figure the store holds past it; the engine gives back the spare
/// capacity grown while loading. Returns the figures applied from the store and what the
/// snapshot read covers.
async fn load(
    state: &Arc<State>,
    snapshots: &Snapshots,
) -> Result<(usize, Option<Written>), StatsError> {
    let snapshot = match snapshots.load(state).await {
        Some((engine, written)) => {
            *state.write()? = engine;
            Some(written)
        }
        None => {
            *state.write()? = Engine::new();
            None
        }
    };
    let sources = state.store.sources().await?;
    {
        let mut engine = state.write()?;
        for source in sources {
            engine.put_source(source);
        }
        engine.set_source_preference(state.source_preference.clone());
    }
    let loaded = state.load_stored().await?;
    state.write()?.compact();
    Ok((loaded, snapshot))
}

/// Applies figures other replicas committed, every `interval`, and writes a snapshot when
/// the policy says one is due.
async fn refresh_loop(
    state: Arc<State>,
    snapshots: Snapshots,
    mut written: Option<Written>,
    interval: Duration,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match state.refresh().await {
            Ok(0) => mark_refreshed(&state),
            Ok(n) => {
                tracing::info!(figures = n, "applied figures written elsewhere");
                mark_refreshed(&state);
            }
            Err(e) => tracing::warn!(error = %e, "refresh from the database failed"),
        }
        match snapshots.maybe_write(&state, written).await {
            Ok(Some(now)) => written = Some(now),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "writing an engine snapshot failed; retrying later");
                // try again after the interval, not at every refresh
                written = Some(Written::failed(written));
            }
        }
    }
}

/// Takes the registry's changes to the sources figures cite, every `registry.cache_ttl_ms`:
/// provenance then shows a source as the registry holds it now, not as it was at import.
async fn refresh_sources(state: Arc<State>) {
    let mut ticker = tokio::time::interval(state.registry.cache_ttl());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match state.refresh_sources().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sources = n, "took the registry's changes to sources"),
            Err(e) => tracing::debug!(error = %e, "refreshing sources from the registry failed"),
        }
    }
}

/// Debounces probe results: the status changes only after [`REGISTRY_HYSTERESIS`]
/// consecutive results that disagree with it (the first result sets it at once).
#[derive(Debug, Default)]
pub struct Hysteresis {
    current: Option<bool>,
    streak: u32,
}

impl Hysteresis {
    /// Feeds one probe result; returns the new status when it changes.
    pub fn observe(&mut self, up: bool) -> Option<bool> {
        match self.current {
            None => {
                self.current = Some(up);
                Some(up)
            }
            Some(current) if current == up => {
                self.streak = 0;
                None
            }
            Some(_) => {
                self.streak += 1;
                if self.streak >= REGISTRY_HYSTERESIS {
                    self.streak = 0;
                    self.current = Some(up);
                    Some(up)
                } else {
                    None
                }
            }
        }
    }
}

/// Probes registry's health every `interval` and reports it under [`REGISTRY_DEPENDENCY`].
/// The overall `""` status stays SERVING while the registry is down: most queries need only
/// the engine, and those that need the registry fail fast with UNAVAILABLE.
async fn probe_registry(state: Arc<State>, health: HealthReporter, interval: Duration) {
    let mut client = HealthClient::new(state.registry.channel());
    let timeout = state.registry.timeout();
    let mut hysteresis = Hysteresis::default();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: REGISTRY_DEPENDENCY.to_owned(),
        });
        request.set_timeout(timeout);
        let up = matches!(
            tokio::time::timeout(timeout, client.check(request)).await,
            Ok(Ok(response)) if response.get_ref().status == ProbeStatus::Serving as i32
        );
        if let Some(up) = hysteresis.observe(up) {
            if up {
                tracing::info!("registry is serving");
            } else {
                tracing::warn!(
                    "registry is not serving; queries that need it fail with UNAVAILABLE"
                );
            }
            let status = if up {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            health.set_service_status(REGISTRY_DEPENDENCY, status).await;
        }
    }
}

#[cfg(test)]
mod hysteresis_tests {
    use super::Hysteresis;

    #[test]
    fn registry_status_changes_only_after_consecutive_results() {
        let mut h = Hysteresis::default();
        assert_eq!(h.observe(true), Some(true));
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), Some(false));
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(true), Some(true));
    }
}
