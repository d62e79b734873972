//! Service settings.

use std::net::{Ipv4Addr, SocketAddr};

/// Settings of the registry server. A plain struct with defaults for now; it stays
/// `serde`-deserialisable so a later change can layer files and env over it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address the gRPC server listens on; port 0 picks a free port.
    pub listen_address: SocketAddr,
    /// Database URL: `sqlite://path?mode=rwc`, `sqlite::memory:` or `postgres://…`.
    pub database_url: String,
    /// Load the seed dataset at start-up (idempotent).
    pub load_seed: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen_address: SocketAddr::from((Ipv4Addr::LOCALHOST, 50051)),
            database_url: "sqlite://autointel-registry.db?mode=rwc".to_owned(),
            load_seed: false,
        }
    }
}
