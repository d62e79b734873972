//! The registry and stats servers in process over fresh databases, and their clients.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_stats::{Application, Settings};
pub(crate) use autointel_testkit::metrics::{sample, scrape};
use autointel_testkit::{Backend, TestDatabase};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

pub(crate) struct RunningRegistry {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

pub(crate) async fn start_registry(addr: SocketAddr, database_url: &str) -> RunningRegistry {
    let mut settings = autointel_registry::Settings::default();
    settings.common.auth.disabled = true;
    settings.common.server.listen_address = addr;
    settings.common.database.url = database_url.to_owned();
    settings.seed.load = true;
    let app = autointel_registry::Application::build(settings)
        .await
        .unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        app.serve_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    RunningRegistry {
        addr,
        stop: Some(stop),
        task,
    }
}

impl RunningRegistry {
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

pub(crate) struct Stack {
    pub(crate) stats: StatsServiceClient<Channel>,
    /// Where stats serves (its Flight service too).
    pub(crate) stats_addr: SocketAddr,
    pub(crate) registry: RegistryServiceClient<Channel>,
    pub(crate) registry_server: Option<RunningRegistry>,
    pub(crate) registry_db: String,
    _stats_stop: oneshot::Sender<()>,
}

pub(crate) fn temp_db() -> (PathBuf, String) {
    let path = std::env::temp_dir().join(format!(
        "autointel-stats-test-registry-{}.db",
        uuid::Uuid::new_v4().simple()
    ));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    (path, url)
}

pub(crate) async fn spawn_stack(stats_db: &str) -> Stack {
    let (_, registry_db) = temp_db();
    let registry_server = start_registry(SocketAddr::from(([127, 0, 0, 1], 0)), &registry_db).await;
    let (stats_addr, _, stats_stop) =
        start_stats(stats_settings(stats_db, registry_server.addr)).await;
    let stats = StatsServiceClient::connect(format!("http://{stats_addr}"))
        .await
        .unwrap();
    let registry = RegistryServiceClient::connect(format!("http://{}", registry_server.addr))
        .await
        .unwrap();
    Stack {
        stats,
        stats_addr,
        registry,
        registry_server: Some(registry_server),
        registry_db,
        _stats_stop: stats_stop,
    }
}

/// A stats server on `stats_db` using the registry at `registry`.
pub(crate) async fn spawn_stats(
    stats_db: &str,
    registry: SocketAddr,
) -> (StatsServiceClient<Channel>, oneshot::Sender<()>) {
    let (client, stop, _) = spawn_stats_with(stats_db, registry, |_| {}).await;
    (client, stop)
}

/// The settings of a test's stats server on `stats_db` using the registry at `registry`.
pub(crate) fn stats_settings(stats_db: &str, registry: SocketAddr) -> Settings {
    let mut settings = Settings::default();
    settings.common.auth.disabled = true;
    settings.common.server.listen_address = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.common.database.url = stats_db.to_owned();
    settings.registry.endpoint = format!("http://{registry}");
    settings.engine.refresh_interval_ms = 200;
    settings
}

/// A stats server as [`spawn_stats`] starts it with its settings changed by `tweak`, and the
/// address of its metrics when `tweak` turns them on.
pub(crate) async fn spawn_stats_with(
    stats_db: &str,
    registry: SocketAddr,
    tweak: impl FnOnce(&mut Settings),
) -> (
    StatsServiceClient<Channel>,
    oneshot::Sender<()>,
    Option<SocketAddr>,
) {
    let mut settings = stats_settings(stats_db, registry);
    tweak(&mut settings);
    let (stats_addr, metrics, stats_stop) = start_stats(settings).await;
    let stats = StatsServiceClient::connect(format!("http://{stats_addr}"))
        .await
        .unwrap();
    (stats, stats_stop, metrics)
}

/// A stats server with `settings`: its address, its metrics' address (when on), and what
/// stops it.
async fn start_stats(settings: Settings) -> (SocketAddr, Option<SocketAddr>, oneshot::Sender<()>) {
    let app = Application::build(settings).await.unwrap();
    let stats_addr = app.local_addr();
    let metrics = app.metrics_addr();
    let (stats_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        app.serve_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (stats_addr, metrics, stats_stop)
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(path) = self
            .registry_db
            .strip_prefix("sqlite://")
            .and_then(|p| p.split('?').next())
        {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

pub(crate) fn sqlite_url() -> String {
    "sqlite::memory:".to_owned()
}

/// The stats database of one test, on `backend` (dropped with it).
pub(crate) async fn database(backend: Backend) -> TestDatabase {
    TestDatabase::create(&backend, "stats_api").await
}
