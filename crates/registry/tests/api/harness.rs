//! Servers over fresh databases, and the suites that run a test on each backend.

use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_registry::{Application, Settings};
use autointel_testkit::{Backend, TestDatabase};
use tokio::sync::oneshot;

use crate::fixtures::Client;

/// The database of one test: SQLite in memory or a fresh PostgreSQL schema, dropped with
/// it (`autointel_testkit::TestDatabase`).
#[derive(Debug)]
pub(crate) struct Db {
    database: TestDatabase,
    postgres: bool,
}

impl Db {
    /// Its URL.
    pub(crate) fn url(&self) -> &str {
        self.database.url()
    }

    /// True on PostgreSQL.
    pub(crate) fn is_postgres(&self) -> bool {
        self.postgres
    }
}

impl std::ops::Deref for Db {
    type Target = str;

    fn deref(&self) -> &str {
        self.url()
    }
}

/// The set-up of `autointel_testkit::on_each_backend!`: a fresh database on `backend`.
pub(crate) async fn database(backend: Backend) -> Db {
    Db {
        postgres: matches!(backend, Backend::Postgres(_)),
        database: TestDatabase::create(&backend, "registry_api").await,
    }
}

/// A running server; dropping it stops the server.
pub(crate) struct TestApp {
    pub(crate) client: Client,
    _stop: oneshot::Sender<()>,
}

pub(crate) async fn spawn_app_with(database_url: &str, seed: bool) -> TestApp {
    let mut settings = Settings::default();
    settings.common.auth.disabled = true;
    settings.common.server.listen_address = "127.0.0.1:0".parse().unwrap();
    settings.common.database.url = database_url.to_owned();
    settings.seed.load = seed;
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.serve_until(async {
        let _ = stopped.await;
    }));
    let client = RegistryServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("client connects");
    TestApp {
        client,
        _stop: stop,
    }
}

/// Starts the real server on 127.0.0.1:0 over `db` and returns a connected client.
pub(crate) async fn spawn_app(db: &Db) -> TestApp {
    spawn_app_with(db, false).await
}
