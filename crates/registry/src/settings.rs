//! Service settings, layered: defaults < TOML file (`--config`) < `AUTOINTEL_<SECTION>__<KEY>`
//! env < flags. Every key is documented in OPERATIONS.md.

pub use autointel_server::config::ServiceSettings;
use autointel_server::settings::CommonSettings;
pub use autointel_server::settings::WatchSettings;
use serde::{Deserialize, Serialize};

/// `[seed]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedSettings {
    /// Load the bundled seed dataset at start-up (idempotent).
    pub load: bool,
}

/// Settings of the registry server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `[server]`, `[database]`, `[log]`, `[auth]`, `[tls]`.
    #[serde(flatten)]
    pub common: CommonSettings,
    /// `[seed]`.
    pub seed: SeedSettings,
    /// `[watch]`.
    pub watch: WatchSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            common: CommonSettings::for_service(50051, "autointel-registry.db"),
            seed: SeedSettings::default(),
            watch: WatchSettings::default(),
        }
    }
}

impl ServiceSettings for Settings {
    fn common(&self) -> &CommonSettings {
        &self.common
    }

    fn common_mut(&mut self) -> &mut CommonSettings {
        &mut self.common
    }

    fn validate_own(&self, problems: &mut Vec<String>) {
        self.watch.validate(problems);
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
