//! The one place the testkit builds each service's settings.
//!
//! When the services' `Settings` change shape, only these two functions change. Both start
//! from the services' defaults (no metrics listener, no TLS), with authentication
//! explicitly disabled, and set only what a test stack needs.

use std::net::SocketAddr;

/// Settings of a registry for a test: listen on `listen_address`, store in `database_url`,
/// no seed (the testkit seeds through the store so that it can report what it loaded).
pub fn registry_settings_for(
    listen_address: SocketAddr,
    database_url: &str,
) -> autointel_registry::Settings {
    let mut settings = autointel_registry::Settings::default();
    settings.common.auth.disabled = true;
    settings.common.server.listen_address = listen_address;
    // A fixed metrics port would clash between stacks running side by side.
    settings.common.server.metrics_address = None;
    settings.common.database.url = database_url.to_owned();
    settings.seed.load = false;
    settings
}

/// Settings of a stats server for a test: listen on `listen_address`, store in
/// `database_url`, call the registry at `registry_endpoint` (`http://host:port`).
pub fn stats_settings_for(
    listen_address: SocketAddr,
    database_url: &str,
    registry_endpoint: &str,
) -> autointel_stats::Settings {
    let mut settings = autointel_stats::Settings::default();
    settings.common.auth.disabled = true;
    settings.common.server.listen_address = listen_address;
    settings.common.server.metrics_address = None;
    settings.common.database.url = database_url.to_owned();
    settings.registry.endpoint = registry_endpoint.to_owned();
    settings
}
