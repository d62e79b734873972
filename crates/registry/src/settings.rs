//! Service settings, layered: defaults < TOML file (`--config`) < `AUTOINTEL_<SECTION>__<KEY>`
//! env < flags. Every key is documented in OPERATIONS.md.

use std::path::Path;

use autointel_server::config::{LoadError, Value};
use autointel_server::settings::{
    AuthSettings, DatabaseSettings, LogSettings, ServerSettings, TlsSettings,
};
use serde::{Deserialize, Serialize};

/// `[seed]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedSettings {
    /// Load the bundled seed dataset at start-up (idempotent).
    pub load: bool,
}

/// `[watch]`: `WatchEvents` streams.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WatchSettings {
    /// Open streams per server; more are refused with RESOURCE_EXHAUSTED.
    pub max_subscribers: usize,
    /// How often the one shared poll reads the change log for other replicas' writes.
    pub poll_interval_ms: u64,
}

impl Default for WatchSettings {
    fn default() -> Self {
        Self {
            max_subscribers: 1_000,
            poll_interval_ms: 1_000,
        }
    }
}

/// Settings of the registry server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `[server]`: listeners, limits, shutdown.
    pub server: ServerSettings,
    /// `[database]`.
    pub database: DatabaseSettings,
    /// `[log]`.
    pub log: LogSettings,
    /// `[auth]`.
    pub auth: AuthSettings,
    /// `[tls]`.
    pub tls: TlsSettings,
    /// `[seed]`.
    pub seed: SeedSettings,
    /// `[watch]`.
    pub watch: WatchSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings {
                // off unless configured: a fixed port would clash between local instances
                metrics_address: None,
                ..ServerSettings::on_ports(50051, 9090)
            },
            database: DatabaseSettings::sqlite_file("autointel-registry.db"),
            log: LogSettings::default(),
            auth: AuthSettings::default(),
            tls: TlsSettings::default(),
            seed: SeedSettings::default(),
            watch: WatchSettings::default(),
        }
    }
}

impl Settings {
    /// Defaults < `file` < `AUTOINTEL_…` env < `overrides` (dotted keys, from flags).
    pub fn load(file: Option<&Path>, overrides: &[(&str, Value)]) -> Result<Self, LoadError> {
        autointel_server::config::load(file, autointel_server::config::ENV_PREFIX, overrides)
    }

    /// Every problem with these settings, one line each.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        self.server.validate(&mut problems);
        self.database.validate(&mut problems);
        self.log.validate(&mut problems);
        self.tls.validate("tls", &mut problems);
        self.auth.validate(&mut problems);
        if self.watch.max_subscribers == 0 {
            problems.push("watch.max_subscribers must be at least 1".to_owned());
        }
        if self.watch.poll_interval_ms == 0 {
            problems.push("watch.poll_interval_ms must be at least 1".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl autointel_server::config::ServiceSettings for Settings {
    fn load(file: Option<&Path>, overrides: &[(&str, Value)]) -> Result<Self, LoadError> {
        Settings::load(file, overrides)
    }

    fn validate(&self) -> Result<(), Vec<String>> {
        Settings::validate(self)
    }

    fn common(&self) -> (&ServerSettings, &DatabaseSettings, &TlsSettings) {
        (&self.server, &self.database, &self.tls)
    }

    fn common_mut(&mut self) -> (&mut ServerSettings, &mut DatabaseSettings, &mut TlsSettings) {
        (&mut self.server, &mut self.database, &mut self.tls)
    }
}

#[cfg(test)]
mod tests {
    use autointel_server::config::checks;

    use super::Settings;

    #[test]
    fn deploy_configmap_loads_validates_and_names_only_known_settings() {
        checks::deploy_configmap_is_valid::<Settings>(include_str!(
            "../../../deploy/base/registry/registry.toml"
        ));
    }

    #[test]
    fn flags_beat_the_file_and_defaults_fill_the_rest() {
        checks::flags_beat_the_file_and_defaults_fill_the_rest::<Settings>();
    }

    #[test]
    fn validation_lists_every_problem() {
        checks::validation_lists_every_problem::<Settings>();
    }
}
