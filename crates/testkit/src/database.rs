//! Databases for a stack: SQLite in memory, or fresh PostgreSQL schemas dropped afterwards.

use std::time::Duration;

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

use crate::TestkitError;

/// A uniquely named PostgreSQL schema, for one service of one test.
///
/// [`TestStack`](crate::TestStack) makes its own; a harness that runs the service binaries
/// can make one per service and pass [`PostgresSchema::url`] as `--database-url`.
#[derive(Clone, Debug)]
pub struct PostgresSchema {
    /// The server URL the schema was created on (without `search_path`).
    base_url: String,
    /// The schema's name: `testkit_<uuid>_<service>`.
    name: String,
}

impl PostgresSchema {
    /// Creates the schema `testkit_<uuid>_<label>` on the server at `base_url`; `label` is
    /// lower-case letters, digits and `_`.
    pub async fn create(base_url: &str, label: &str) -> Result<Self, TestkitError> {
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let name = format!("testkit_{}_{label}", uuid::Uuid::new_v4().simple());
        let mut conn = connect(base_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .map_err(|source| postgres_error(base_url, source))?;
        let _ = conn.close().await;
        Ok(Self {
            base_url: base_url.to_owned(),
            name,
        })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL a service uses: the base URL with this schema as its `search_path`.
    pub fn url(&self) -> String {
        with_search_path(&self.base_url, &self.name)
    }

    /// Drops the schema and everything in it.
    pub async fn drop_schema(&self) -> Result<(), TestkitError> {
        let mut conn = connect(&self.base_url).await?;
        // A server that was not stopped cleanly may still hold a lock: do not wait forever.
        sqlx::query("SET lock_timeout = '10s'")
            .execute(&mut conn)
            .await
            .map_err(|source| postgres_error(&self.base_url, source))?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            self.name
        )))
        .execute(&mut conn)
        .await
        .map_err(|source| postgres_error(&self.base_url, source))?;
        let _ = conn.close().await;
        Ok(())
    }

    /// Drops the schemas from synchronous code (a `Drop`), on a thread of its own so that
    /// it works inside or outside a runtime; logs and gives up after a while.
    pub fn drop_blocking(schemas: Vec<Self>) {
        if schemas.is_empty() {
            return;
        }
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("testkit-drop-schemas".to_owned())
            .spawn(move || {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    runtime.block_on(async {
                        for schema in &schemas {
                            if let Err(e) = schema.drop_schema().await {
                                tracing::warn!(schema = %schema.name, error = %e, "schema left behind");
                            }
                        }
                    });
                }
                let _ = done.send(());
            });
        if spawned.is_ok() {
            let _ = finished.recv_timeout(Duration::from_secs(20));
        }
    }
}

async fn connect(base_url: &str) -> Result<PgConnection, TestkitError> {
    PgConnection::connect(base_url)
        .await
        .map_err(|source| postgres_error(base_url, source))
}

fn postgres_error(base_url: &str, source: sqlx::Error) -> TestkitError {
    TestkitError::Postgres {
        url: redact(base_url),
        source,
    }
}

/// `base_url` with `options=-csearch_path=<schema>` added to its query string.
pub fn with_search_path(base_url: &str, schema: &str) -> String {
    let separator = if base_url.contains('?') { '&' } else { '?' };
    format!("{base_url}{separator}options=-csearch_path%3D{schema}")
}

/// The URL with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_is_added_to_the_query_string() {
        assert_eq!(
            with_search_path("postgres://u@h/db", "s1"),
            "postgres://u@h/db?options=-csearch_path%3Ds1"
        );
        assert_eq!(
            with_search_path("postgres://u@h/db?sslmode=disable", "s1"),
            "postgres://u@h/db?sslmode=disable&options=-csearch_path%3Ds1"
        );
    }

    #[test]
    fn passwords_are_redacted_from_messages() {
        assert_eq!(
            redact("postgres://user:secret@host:5432/db"),
            "postgres://user:***@host:5432/db"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact("sqlite::memory:"), "sqlite::memory:");
    }
}
