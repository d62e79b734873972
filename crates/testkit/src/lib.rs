//! Start the autointel registry and stats services in-process, on ephemeral ports, for any
//! test harness.
//!
//! A [`TestStack`] is a registry and a stats server, each bound to `127.0.0.1:0` and served
//! on the caller's tokio runtime, stats pointed at the registry. Storage is SQLite in memory
//! by default, or a PostgreSQL server given by URL: each stack then gets fresh schemas of
//! its own (one per service), so parallel tests never see each other's data, and
//! [`TestStack::shutdown`] drops them. With [`TestStackBuilder::seed`] the stack starts with
//! the bundled seed dataset: the registry's records, and the seed sales figures imported
//! over gRPC like any client would.
//!
//! ```no_run
//! # async fn example() -> Result<(), autointel_testkit::TestkitError> {
//! use autointel_proto::stats::ComputeChangeRequest;
//! use autointel_testkit::TestStack;
//!
//! let mut builder = TestStack::builder().seed(true);
//! if let Some(url) = autointel_testkit::postgres_url_from_env() {
//!     builder = builder.postgres(url);
//! }
//! let stack = builder.start().await?;
//! let mut stats = stack.stats_client().await?;
//! let mut registry = stack.registry_client().await?;
//! println!("registry on {}, stats on {}", stack.registry_addr(), stack.stats_addr());
//! # let _ = (&mut stats, &mut registry, ComputeChangeRequest::default());
//! // … drive the services …
//! stack.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Call [`TestStack::shutdown`] at the end of a test: it stops both servers gracefully,
//! reports an error either hit while serving, and drops the PostgreSQL schemas. Dropping a
//! stack without it (a failed assertion) still stops the servers and drops the schemas, on a
//! best-effort basis.

pub mod backend;
mod database;
pub mod disk;
pub mod grpc_web;
pub mod metrics;
pub mod pki;
pub mod settings;
pub mod status;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_proto::stats::{ImportSalesFiguresRequest, ImportSalesFiguresResponse};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

pub use crate::backend::{Backend, TestDatabase};
pub use crate::database::{PostgresSchema, redact, with_search_path};
pub use crate::settings::{registry_settings_for, stats_settings_for};

/// Consecutive calendar days from 2000-01-01 as wire dates: distinct as-of dates for the
/// revisions of one long chain.
pub fn consecutive_days() -> impl Iterator<Item = autointel_proto::google::r#type::Date> {
    std::iter::successors(autointel_domain::Date::new(2000, 1, 1).ok(), |d| d.succ())
        .map(autointel_proto::convert::types::date_to_wire)
}

/// The environment variable naming a PostgreSQL server for tests.
pub const POSTGRES_URL_ENV: &str = "AUTOINTEL_TEST_POSTGRES_URL";

/// The sales figures of the seed dataset, as CSV (the format of `autointel import`).
pub const SEED_FIGURES_CSV: &str = include_str!("../../../data/seed/sales_figures.csv");

/// How long a server may take to drain after it is told to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// An error of any kind, as the services report them.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The URL in `AUTOINTEL_TEST_POSTGRES_URL`, if set and not empty.
pub fn postgres_url_from_env() -> Option<String> {
    std::env::var(POSTGRES_URL_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// One of the two services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The registry (`autointel.registry.v1.RegistryService`).
    Registry,
    /// The stats service (`autointel.stats.v1.StatsService`).
    Stats,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Registry => "registry",
            Self::Stats => "stats",
        })
    }
}

/// Why a stack could not start, serve or stop.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A service failed to build (bind, connect its database, migrate).
    #[error("cannot start the {service} service: {source}")]
    Start {
        /// Which service.
        service: Service,
        /// The service's error.
        source: BoxError,
    },
    /// A service failed while serving or shutting down.
    #[error("the {service} service failed: {source}")]
    Serve {
        /// Which service.
        service: Service,
        /// The service's error.
        source: BoxError,
    },
    /// A service's task panicked.
    #[error("the {service} service's task panicked: {source}")]
    Panicked {
        /// Which service.
        service: Service,
        /// The join error.
        source: tokio::task::JoinError,
    },
    /// A service did not stop in time after it was told to.
    #[error("the {service} service did not stop within {timeout:?}")]
    StopTimeout {
        /// Which service.
        service: Service,
        /// How long it was given.
        timeout: Duration,
    },
    /// PostgreSQL could not be reached, or a schema could not be created or dropped.
    #[error("PostgreSQL at {url}: {source}")]
    Postgres {
        /// The server URL, password redacted.
        url: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// The registry's seed dataset could not be loaded.
    #[error("loading the registry seed: {0}")]
    RegistrySeed(#[source] BoxError),
    /// Sales figures given as CSV are invalid.
    #[error("invalid sales figures: {0}")]
    Figures(#[from] autointel_figure_file::Error),
    /// The stats service refused an import.
    #[error("importing sales figures: {0}")]
    Import(#[source] Box<tonic::Status>),
    /// A client could not connect.
    #[error("cannot connect to the {service} service at {url}: {source}")]
    Connect {
        /// Which service.
        service: Service,
        /// The URL.
        url: String,
        /// The cause.
        source: tonic::transport::Error,
    },
}

/// Where a stack keeps its data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Storage {
    /// SQLite in memory: nothing outlives the stack.
    #[default]
    SqliteMemory,
    /// Fresh schemas on this PostgreSQL server.
    Postgres(String),
}

/// Configures a [`TestStack`]; start with [`TestStack::builder`].
#[derive(Clone, Debug, Default)]
pub struct TestStackBuilder {
    seed: bool,
    storage: Storage,
}

impl TestStackBuilder {
    /// Load the seed dataset: the registry's records and the seed sales figures.
    #[must_use]
    pub fn seed(mut self, seed: bool) -> Self {
        self.seed = seed;
        self
    }

    /// Store in fresh schemas on the PostgreSQL server at `url` (e.g.
    /// `postgres://postgres@127.0.0.1:5432/test`) instead of SQLite in memory.
    #[must_use]
    pub fn postgres(mut self, url: impl Into<String>) -> Self {
        self.storage = Storage::Postgres(url.into());
        self
    }

    /// Store in SQLite in memory (the default).
    #[must_use]
    pub fn sqlite_in_memory(mut self) -> Self {
        self.storage = Storage::SqliteMemory;
        self
    }

    /// Starts the registry, then stats pointed at it, and seeds them when asked. On failure
    /// whatever was started is stopped and dropped again.
    pub async fn start(self) -> Result<TestStack, TestkitError> {
        let mut stack = TestStack {
            registry: None,
            stats: None,
            schemas: Vec::new(),
        };
        match stack.start(&self).await {
            Ok(()) => Ok(stack),
            Err(e) => {
                let _ = stack.stop_all().await;
                Err(e)
            }
        }
    }
}

/// A server task and the means to stop it.
#[derive(Debug)]
struct RunningServer {
    service: Service,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), BoxError>>,
}

impl RunningServer {
    /// Tells the server to stop and waits for it to drain.
    async fn stop(mut self) -> Result<(), TestkitError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let service = self.service;
        match tokio::time::timeout(STOP_TIMEOUT, &mut self.task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(source))) => Err(TestkitError::Serve { service, source }),
            Ok(Err(source)) => Err(TestkitError::Panicked { service, source }),
            Err(_) => {
                self.task.abort();
                Err(TestkitError::StopTimeout {
                    service,
                    timeout: STOP_TIMEOUT,
                })
            }
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A running registry and stats server; see the [crate docs](crate).
#[derive(Debug)]
pub struct TestStack {
    registry: Option<RunningServer>,
    stats: Option<RunningServer>,
    schemas: Vec<PostgresSchema>,
}

impl TestStack {
    /// A builder: SQLite in memory, no seed.
    pub fn builder() -> TestStackBuilder {
        TestStackBuilder::default()
    }

    async fn start(&mut self, options: &TestStackBuilder) -> Result<(), TestkitError> {
        let ephemeral = SocketAddr::from(([127, 0, 0, 1], 0));
        let (registry_db, stats_db) = match &options.storage {
            Storage::SqliteMemory => ("sqlite::memory:".to_owned(), "sqlite::memory:".to_owned()),
            Storage::Postgres(base) => {
                // One schema per service: each keeps its own migration history.
                let registry = PostgresSchema::create(base, "registry").await?;
                self.schemas.push(registry.clone());
                let stats = PostgresSchema::create(base, "stats").await?;
                self.schemas.push(stats.clone());
                (registry.url(), stats.url())
            }
        };

        let registry =
            autointel_registry::Application::build(registry_settings_for(ephemeral, &registry_db))
                .await
                .map_err(|e| TestkitError::Start {
                    service: Service::Registry,
                    source: Box::new(e),
                })?;
        if options.seed {
            let report = autointel_registry::seed::load(registry.store())
                .await
                .map_err(|e| TestkitError::RegistrySeed(Box::new(e)))?;
            tracing::debug!(created = report.created, "registry seed loaded");
        }
        let addr = registry.local_addr();
        self.registry = Some(spawn(Service::Registry, addr, |stopped| async move {
            registry
                .serve_until(stopped)
                .await
                .map_err(|e| Box::new(e) as BoxError)
        }));

        let stats = autointel_stats::Application::build(stats_settings_for(
            ephemeral,
            &stats_db,
            &format!("http://{addr}"),
        ))
        .await
        .map_err(|e| TestkitError::Start {
            service: Service::Stats,
            source: Box::new(e),
        })?;
        let addr = stats.local_addr();
        self.stats = Some(spawn(Service::Stats, addr, |stopped| async move {
            stats
                .serve_until(stopped)
                .await
                .map_err(|e| Box::new(e) as BoxError)
        }));

        if options.seed {
            self.import_csv(SEED_FIGURES_CSV).await?;
        }
        Ok(())
    }

    /// The registry's address.
    pub fn registry_addr(&self) -> SocketAddr {
        self.registry
            .as_ref()
            .map_or(SocketAddr::from(([127, 0, 0, 1], 0)), |s| s.addr)
    }

    /// The stats service's address.
    pub fn stats_addr(&self) -> SocketAddr {
        self.stats
            .as_ref()
            .map_or(SocketAddr::from(([127, 0, 0, 1], 0)), |s| s.addr)
    }

    /// The registry's URL, `http://127.0.0.1:<port>` (for `--registry` and the like).
    pub fn registry_url(&self) -> String {
        format!("http://{}", self.registry_addr())
    }

    /// The stats service's URL, `http://127.0.0.1:<port>`.
    pub fn stats_url(&self) -> String {
        format!("http://{}", self.stats_addr())
    }

    /// A client of the registry.
    pub async fn registry_client(&self) -> Result<RegistryServiceClient<Channel>, TestkitError> {
        let channel = connect(Service::Registry, self.registry_url()).await?;
        Ok(RegistryServiceClient::new(channel))
    }

    /// A client of the stats service.
    pub async fn stats_client(&self) -> Result<StatsServiceClient<Channel>, TestkitError> {
        let channel = connect(Service::Stats, self.stats_url()).await?;
        Ok(StatsServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024))
    }

    /// Imports sales figures given as CSV (the columns of `autointel import`) in one
    /// import with a fresh request id.
    pub async fn import_csv(&self, csv: &str) -> Result<ImportSalesFiguresResponse, TestkitError> {
        let figures = autointel_figure_file::read_sales_figures(csv.as_bytes())?;
        let request = ImportSalesFiguresRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            figures,
        };
        let mut client = self.stats_client().await?;
        client
            .import_sales_figures(tokio_stream::iter([request]))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| TestkitError::Import(Box::new(status)))
    }

    /// The PostgreSQL schemas of this stack (registry's, then stats'); empty on SQLite.
    pub fn postgres_schemas(&self) -> Vec<String> {
        self.schemas.iter().map(|s| s.name().to_owned()).collect()
    }

    /// Stops both servers (stats first), waits for them to drain and drops the PostgreSQL
    /// schemas. Returns the first error: a server that failed, or a schema left behind.
    pub async fn shutdown(mut self) -> Result<(), TestkitError> {
        self.stop_all().await
    }

    async fn stop_all(&mut self) -> Result<(), TestkitError> {
        let mut first_error = None;
        for server in [self.stats.take(), self.registry.take()]
            .into_iter()
            .flatten()
        {
            if let Err(e) = server.stop().await {
                first_error.get_or_insert(e);
            }
        }
        for schema in std::mem::take(&mut self.schemas) {
            if let Err(e) = schema.drop_schema().await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        // Not shut down (a test failed): stop the servers, then drop the schemas.
        if let Some(server) = self.stats.take() {
            server.task.abort();
        }
        if let Some(server) = self.registry.take() {
            server.task.abort();
        }
        PostgresSchema::drop_blocking(std::mem::take(&mut self.schemas));
    }
}

/// Serves `serve(stopped)` on a task; `stopped` completes when the server is told to stop.
fn spawn<F, Fut>(service: Service, addr: SocketAddr, serve: F) -> RunningServer
where
    F: FnOnce(Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(Box::pin(async move {
        let _ = stopped.await;
    })));
    RunningServer {
        service,
        addr,
        stop: Some(stop),
        task,
    }
}

async fn connect(service: Service, url: String) -> Result<Channel, TestkitError> {
    let endpoint = match Endpoint::from_shared(url.clone()) {
        Ok(endpoint) => endpoint.connect_timeout(Duration::from_secs(5)),
        Err(source) => {
            return Err(TestkitError::Connect {
                service,
                url,
                source,
            });
        }
    };
    endpoint
        .connect()
        .await
        .map_err(|source| TestkitError::Connect {
            service,
            url,
            source,
        })
}
