//! Servers over fresh databases, and the suites that run a test on each backend.

use std::io::Write as _;

use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_registry::{Application, Settings};
use sqlx::Connection as _;
use tokio::sync::oneshot;

use crate::fixtures::Client;

/// A database for one test: SQLite in memory or a fresh PostgreSQL schema.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pub(crate) url: String,
    pub(crate) pg: Option<(String, String)>,
}

impl Db {
    pub(crate) fn sqlite() -> Self {
        Self {
            url: "sqlite::memory:".to_owned(),
            pg: None,
        }
    }

    pub(crate) async fn postgres() -> Option<Self> {
        let Ok(base) = std::env::var("AUTOINTEL_TEST_POSTGRES_URL") else {
            // Written to the stderr handle, not via eprintln!, so libtest does not capture it.
            let _ = writeln!(
                std::io::stderr(),
                "skipping: AUTOINTEL_TEST_POSTGRES_URL not set"
            );
            return None;
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::postgres::PgConnection::connect(&base)
            .await
            .expect("AUTOINTEL_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(Self {
            url: format!("{base}{sep}options=-csearch_path%3D{schema}"),
            pg: Some((base, schema)),
        })
    }

    pub(crate) async fn cleanup(&self) {
        if let Some((base, schema)) = &self.pg {
            let mut conn = sqlx::postgres::PgConnection::connect(base).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
        }
    }
}

/// A running server; dropping it stops the server.
pub(crate) struct TestApp {
    pub(crate) client: Client,
    _stop: oneshot::Sender<()>,
}

pub(crate) async fn spawn_app_with(db: &Db, seed: bool) -> TestApp {
    let mut settings = Settings::default();
    settings.auth.disabled = true;
    settings.server.listen_address = "127.0.0.1:0".parse().unwrap();
    settings.database.url = db.url.clone();
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

/// Runs each named suite `fn(Db)` as a test on SQLite (`sqlite::name`) and, when
/// `AUTOINTEL_TEST_POSTGRES_URL` is set, on a fresh PostgreSQL schema (`postgres::name`).
#[macro_export]
macro_rules! suites {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::harness::Db::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = $crate::harness::Db::postgres().await else { return };
                    super::$name(db.clone()).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}
