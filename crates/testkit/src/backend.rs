//! The databases a test runs on, one macro to run a test on each, and a test database that
//! cleans up after itself: what every harness (crate API tests, end-to-end tests) shares.

use std::io::Write as _;

use crate::{POSTGRES_URL_ENV, PostgresSchema};

/// Which database a test runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (in memory, or files the harness chooses).
    Sqlite,
    /// Fresh schemas on the PostgreSQL server at this URL.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL from `AUTOINTEL_TEST_POSTGRES_URL`, or `None` after a visible
    /// `skipping:` line (written past libtest's capture) when it is not set.
    pub fn postgres() -> Option<Self> {
        match crate::postgres_url_from_env() {
            Some(url) => Some(Self::Postgres(url)),
            None => {
                let _ = writeln!(std::io::stderr(), "skipping: {POSTGRES_URL_ENV} not set");
                None
            }
        }
    }

    /// `sqlite` or `postgres`, for messages and labels.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// A fresh database of one service for one test: SQLite in memory, or a new PostgreSQL
/// schema, dropped with the value. Dereferences to its URL.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    schema: Option<PostgresSchema>,
}

impl TestDatabase {
    /// A database on `backend`; `label` names a PostgreSQL schema's service. Panics when
    /// PostgreSQL is configured but unusable (a test must not pass without its database).
    pub async fn create(backend: &Backend, label: &str) -> Self {
        match backend {
            Backend::Sqlite => Self {
                url: "sqlite::memory:".to_owned(),
                schema: None,
            },
            Backend::Postgres(base) => {
                let schema = PostgresSchema::create(base, label)
                    .await
                    .unwrap_or_else(|e| panic!("{POSTGRES_URL_ENV} is set but unusable: {e}"));
                Self {
                    url: schema.url(),
                    schema: Some(schema),
                }
            }
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl std::ops::Deref for TestDatabase {
    type Target = str;

    fn deref(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        PostgresSchema::drop_blocking(self.schema.take().into_iter().collect());
    }
}

/// Runs each named test on SQLite (`name::sqlite`) and, when `AUTOINTEL_TEST_POSTGRES_URL`
/// is set, on PostgreSQL (`name::postgres`; otherwise a visible `skipping:` line).
///
/// `on_each_backend!(a, b)` calls `a(backend: Backend)`. With a set-up function,
/// `on_each_backend!(crate::harness::database => a, b)` calls `a(&setup(backend).await)`,
/// and what the set-up returned lives (and cleans up) until the test ends.
#[macro_export]
macro_rules! on_each_backend {
    ($setup:path => $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let it = $setup($crate::Backend::Sqlite).await;
                super::$name(&it).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backend) = $crate::Backend::postgres() {
                    let it = $setup(backend).await;
                    super::$name(&it).await;
                }
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backend) = $crate::Backend::postgres() {
                    super::$name(backend).await;
                }
            }
        }
    )*};
}
