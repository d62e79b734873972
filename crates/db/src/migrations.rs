//! Migrations under an expand/contract policy, so that rolling back a release works.
//!
//! A release only **expands** the schema (adds tables, nullable or defaulted columns,
//! indexes); removing what older binaries still use (**contract**) waits for a later release.
//! An expand migration is marked compatible in its description, which lives in the
//! database (`_sqlx_migrations.description`): an older binary cannot know a future
//! migration, but it can read that mark. At start-up, [`migrate`] applies the binary's own
//! pending migrations; when the database also holds migrations this binary does not know,
//! it starts only if every one of them is marked compatible with a schema version this
//! binary knows, and refuses otherwise, naming them.

use std::fmt;

use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Row, SqlSafeStr};

/// The mark an expand migration's description ends with; the number is the oldest schema
/// version whose binaries still work with it.
const MARK: &str = " [expand; works with binaries of schema ";

/// The table sqlx records applied migrations in.
const TABLE: &str = "_sqlx_migrations";

/// How a migration relates to the binaries released before it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Compatibility {
    /// Only adds: binaries that know schema `since` or later keep working against it, so a
    /// rollback to them needs no database restore.
    Expand {
        /// The oldest schema version whose binaries work with this migration.
        since: i64,
    },
    /// Changes or removes what older binaries use: they refuse to start against it.
    Breaking,
}

/// A simple (forward-only) migration whose description carries its compatibility mark.
pub fn migration(
    version: i64,
    description: &str,
    sql: &'static str,
    compatibility: Compatibility,
) -> Migration {
    let description = match compatibility {
        Compatibility::Expand { since } => format!("{description}{MARK}{since}]"),
        Compatibility::Breaking => description.to_owned(),
    };
    Migration::new(
        version,
        description.into(),
        MigrationType::Simple,
        sql.into_sql_str(),
        false,
    )
}

/// The schema version an expand migration's description says it works with.
fn works_with(description: &str) -> Option<i64> {
    let (_, rest) = description.rsplit_once(MARK)?;
    rest.strip_suffix(']')?.parse().ok()
}

/// Migrations in the database that this binary does not know and that older binaries
/// cannot run against.
#[derive(Debug)]
pub struct NewerSchema {
    /// The newest schema version this binary knows.
    pub known: i64,
    /// `(version, description)` of each unknown migration not marked compatible with it.
    pub incompatible: Vec<(i64, String)>,
}

impl fmt::Display for NewerSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the database schema is newer than this binary (which knows up to migration {}) \
             and not compatible with it: ",
            self.known
        )?;
        for (i, (version, description)) in self.incompatible.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "migration {version} ({description})")?;
        }
        f.write_str("; deploy a release that knows them")
    }
}

impl std::error::Error for NewerSchema {}

/// Applies `migrations` (this binary's) to the database, allowing migrations newer than
/// this binary when each is marked compatible with a schema it knows (see the module).
pub async fn migrate(pool: &AnyPool, migrations: Vec<Migration>) -> Result<(), MigrateError> {
    let known = migrations.iter().map(|m| m.version).max().unwrap_or(0);
    let mut migrator = Migrator::with_migrations(migrations);
    let mut conn = pool.acquire().await?;
    conn.ensure_migrations_table(TABLE).await?;
    let applied = sqlx::query("SELECT version, description FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await?;
    let mut unknown = Vec::new();
    for row in &applied {
        let version: i64 = row.try_get(0)?;
        if !migrator.iter().any(|m| m.version == version) {
            let description: String = row.try_get(1)?;
            unknown.push((version, description));
        }
    }
    if !unknown.is_empty() {
        let incompatible: Vec<(i64, String)> = unknown
            .iter()
            .filter(|(_, description)| works_with(description).is_none_or(|since| since > known))
            .cloned()
            .collect();
        if !incompatible.is_empty() {
            return Err(MigrateError::Source(Box::new(NewerSchema {
                known,
                incompatible,
            })));
        }
        tracing::info!(
            known,
            newer = %unknown.iter().map(|(v, _)| v.to_string()).collect::<Vec<_>>().join(","),
            "the database has newer migrations, all marked compatible with this binary"
        );
        migrator.set_ignore_missing(true);
    }
    drop(conn);
    migrator.run(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_round_trips() {
        let m = migration(
            5,
            "add nature",
            "SELECT 1",
            Compatibility::Expand { since: 3 },
        );
        assert_eq!(works_with(&m.description), Some(3));
        let m = migration(6, "drop column", "SELECT 1", Compatibility::Breaking);
        assert_eq!(works_with(&m.description), None);
    }
}
