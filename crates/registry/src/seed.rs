//! The bundled seed dataset (`data/seed/registry.toml`) and its idempotent loader.
//!
//! The file is in the registry-record format (`crate::record_file`, which reports every
//! bad entry with its path, e.g. `events[2].occurred_date`); its records are created in
//! dependency order. Records whose id already exists are left as they are, so loading twice
//! changes nothing.

use std::future::Future;

use crate::error::RegistryError;
use crate::record_file::{FileError, FileFormat};
use crate::store::{Record, Store};

pub use crate::record_file::Dataset;

/// The seed dataset shipped with the project.
pub const SEED_TOML: &str = include_str!("../../../data/seed/registry.toml");

/// Why the seed could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file cannot be read, or entries break domain rules (every violation with its
    /// path).
    #[error("seed file: {0}")]
    File(#[from] FileError),
    /// The store refused an entry.
    #[error("seed entry {entry}: {source}")]
    Store {
        /// Resource name of the entry.
        entry: String,
        /// The cause.
        source: RegistryError,
    },
}

/// What a load did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Records created.
    pub created: usize,
    /// Records that already existed and were left alone.
    pub existing: usize,
}

/// Parses and validates a seed file (TOML); every bad entry is reported with its path.
pub fn parse_dataset(text: &str) -> Result<Dataset, SeedError> {
    Ok(crate::record_file::parse(text, FileFormat::Toml)?)
}

/// Loads the bundled seed dataset; idempotent.
pub async fn load(store: &Store) -> Result<SeedReport, SeedError> {
    load_str(store, SEED_TOML).await
}

/// Loads a seed dataset from TOML text; records whose id exists are left alone.
pub async fn load_str(store: &Store, text: &str) -> Result<SeedReport, SeedError> {
    let mut data = parse_dataset(text)?;
    let mut report = SeedReport::default();
    create_missing(store, &mut report, data.sources, |s, v| async move {
        s.create(v, None).await
    })
    .await?;
    create_missing(store, &mut report, data.organizations, |s, v| async move {
        s.create(v, None).await
    })
    .await?;
    create_missing(store, &mut report, data.relationships, |s, v| async move {
        s.create(v, None).await
    })
    .await?;
    create_missing(store, &mut report, data.people, |s, v| async move {
        s.create(v, None).await
    })
    .await?;
    // Predecessors first (a stable sort keeps file order otherwise).
    data.partnerships.sort_by_key(|p| p.predecessor.is_some());
    create_missing(store, &mut report, data.partnerships, |s, v| async move {
        s.create(v, None).await
    })
    .await?;
    data.events.sort_by_key(|e| e.supersedes.is_some());
    create_missing(store, &mut report, data.events, |s, v| async move {
        s.create_event(v, None).await
    })
    .await?;
    create_missing(store, &mut report, data.targets, |s, v| async move {
        s.create_target(v, None).await
    })
    .await?;
    Ok(report)
}

async fn create_missing<T, F, Fut>(
    store: &Store,
    report: &mut SeedReport,
    items: Vec<T>,
    create: F,
) -> Result<(), SeedError>
where
    T: Record,
    F: Fn(Store, T) -> Fut,
    Fut: Future<Output = Result<crate::store::Stored<T>, RegistryError>>,
{
    for item in items {
        let entry = item.resource_name();
        let exists = store
            .exists::<T>(item.id())
            .await
            .map_err(|source| SeedError::Store {
                entry: entry.clone(),
                source,
            })?;
        if exists {
            report.existing += 1;
            continue;
        }
        match create(store.clone(), item).await {
            Ok(_) => report.created += 1,
            // Another loader won the race: still idempotent.
            Err(RegistryError::AlreadyExists(_)) => report.existing += 1,
            Err(source) => return Err(SeedError::Store { entry, source }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_seed_parses_and_validates() {
        let data = parse_dataset(SEED_TOML).map_err(|e| e.to_string());
        assert!(data.is_ok(), "{data:?}");
    }
}
