//! Service settings, layered: defaults < TOML file (`--config`) < `AUTOINTEL_<SECTION>__<KEY>`
//! env < flags. Every key is documented in OPERATIONS.md.

use std::path::PathBuf;
use std::time::Duration;

use autointel_domain::SourceId;
use autointel_proto::convert::ResourceId;
pub use autointel_server::config::ServiceSettings;
use autointel_server::settings::{ClientTlsSettings, CommonSettings, Secret, WatchSettings};
use serde::{Deserialize, Serialize};

/// How stats spreads its calls over the registry's replicas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadBalancing {
    /// One connection to what the endpoint's name resolves to (a ClusterIP Service, a
    /// single registry).
    #[default]
    Single,
    /// A connection to every address the name resolves to (a headless Service: every
    /// ready replica), re-resolved every `dns_refresh_ms`.
    Dns,
}

/// `[registry]`: how stats calls the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistrySettings {
    /// gRPC endpoint: `http://host:port`, or `https://…` with `[registry.tls]`.
    pub endpoint: String,
    /// File holding the bearer token stats presents to registry (a Kubernetes Secret); it
    /// must exist and hold a token.
    pub token_file: Option<PathBuf>,
    /// The token itself, meant for `AUTOINTEL_REGISTRY__TOKEN`; wins over `token_file`.
    pub token: Option<Secret>,
    /// Deadline of each registry call.
    pub timeout_ms: u64,
    /// How often registry's health is probed for the dependency status stats reports.
    pub refresh_interval_ms: u64,
    /// How long "this organisation exists" is trusted.
    pub cache_ttl_ms: u64,
    /// `single` or `dns`.
    pub load_balancing: LoadBalancing,
    /// How often the endpoint's name is resolved again with `load_balancing = "dns"`.
    pub dns_refresh_ms: u64,
    /// TLS towards the registry.
    pub tls: ClientTlsSettings,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:50051".to_owned(),
            token_file: None,
            token: None,
            timeout_ms: 2_000,
            refresh_interval_ms: 1_000,
            cache_ttl_ms: 60_000,
            load_balancing: LoadBalancing::Single,
            dns_refresh_ms: 5_000,
            tls: ClientTlsSettings::default(),
        }
    }
}

/// `[engine]`: the in-memory query engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineSettings {
    /// How often the engine polls the database for figures other replicas wrote; a replica
    /// sees another's committed import within this plus one poll.
    pub refresh_interval_ms: u64,
    /// Whether the engine keeps snapshots, so a start reads it back instead of replaying
    /// every figure (see `snapshots.rs`): beside an SQLite database file, inside PostgreSQL.
    pub snapshots: bool,
    /// A file for the snapshot instead of the default place (either store).
    pub snapshot_path: Option<PathBuf>,
    /// With PostgreSQL, where a snapshot is written before it is copied into the database
    /// (it needs room for one snapshot); the system's temporary directory when unset.
    pub snapshot_scratch_directory: Option<PathBuf>,
    /// Least time between two snapshots.
    pub snapshot_interval_seconds: u64,
    /// Fewest new figures (sequence numbers) that make a new snapshot worth writing.
    pub snapshot_min_new_figures: u64,
    /// Ignore any snapshot at start, load every figure from the store, then write a fresh
    /// snapshot (for a snapshot suspected wrong; every defect it can detect falls back anyway).
    pub rebuild_snapshot: bool,
    /// Which source answers a series and period that several sources publish, first listed
    /// first (resource names, `sources/{source}`); a request naming a `source` overrides
    /// it. Among sources not listed, or with an empty list, the latest revision by (stage,
    /// as-of date) answers.
    pub source_preference: Vec<String>,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            refresh_interval_ms: 1_000,
            snapshots: true,
            snapshot_path: None,
            snapshot_scratch_directory: None,
            snapshot_interval_seconds: 300,
            snapshot_min_new_figures: 10_000,
            rebuild_snapshot: false,
            source_preference: Vec::new(),
        }
    }
}

/// `[import]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportSettings {
    /// Largest message the stats service decodes (imports stream big batches), in bytes;
    /// never below `server.max_message_bytes`.
    pub max_message_bytes: usize,
    /// Most figures one import may hold; a larger import is refused whole (nothing
    /// written) as soon as the stream passes it, so its memory stays bounded.
    pub max_figures: usize,
}

impl Default for ImportSettings {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024 * 1024,
            max_figures: 500_000,
        }
    }
}

/// Everything the stats service can be configured with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `[server]`, `[database]`, `[log]`, `[auth]`, `[tls]`.
    #[serde(flatten)]
    pub common: CommonSettings,
    /// `[registry]`.
    pub registry: RegistrySettings,
    /// `[engine]`.
    pub engine: EngineSettings,
    /// `[import]`.
    pub import: ImportSettings,
    /// `[watch]`: `WatchReleases` streams.
    pub watch: WatchSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            common: CommonSettings::for_service(50052, "autointel-stats.db"),
            registry: RegistrySettings::default(),
            engine: EngineSettings::default(),
            import: ImportSettings::default(),
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
        let registry = &self.registry;
        let https = registry.endpoint.starts_with("https://");
        if !(registry.endpoint.starts_with("http://") || https) {
            problems.push(format!(
                "registry.endpoint {:?} must start with http:// or https://",
                registry.endpoint
            ));
        } else if tonic::transport::Endpoint::from_shared(registry.endpoint.clone()).is_err() {
            problems.push(format!(
                "registry.endpoint {:?} is not a valid URI",
                registry.endpoint
            ));
        }
        if https && registry.tls.ca_file.is_none() {
            problems.push(
                "registry.tls.ca_file is required for an https:// registry.endpoint".to_owned(),
            );
        }
        if !https && registry.tls != ClientTlsSettings::default() {
            problems.push("registry.tls is set but registry.endpoint is not https://".to_owned());
        }
        registry.tls.validate("registry.tls", problems);
        autointel_server::settings::file_exists(
            "registry",
            "token_file",
            registry.token_file.as_ref(),
            problems,
        );
        for (key, value) in [
            ("registry.timeout_ms", registry.timeout_ms),
            ("registry.refresh_interval_ms", registry.refresh_interval_ms),
            ("registry.dns_refresh_ms", registry.dns_refresh_ms),
            (
                "engine.refresh_interval_ms",
                self.engine.refresh_interval_ms,
            ),
            (
                "engine.snapshot_interval_seconds",
                self.engine.snapshot_interval_seconds,
            ),
        ] {
            if value == 0 {
                problems.push(format!("{key} must be at least 1"));
            }
        }
        self.watch.validate(problems);
        if let Err(e) = self.source_preference() {
            problems.push(e);
        }
        if self.import.max_figures == 0 {
            problems.push("import.max_figures must be at least 1".to_owned());
        }
        if self.import.max_message_bytes < self.common.server.max_message_bytes {
            problems.push(
                "import.max_message_bytes must be at least server.max_message_bytes".to_owned(),
            );
        }
    }
}

impl Settings {
    /// `registry.timeout_ms` as a duration.
    pub fn registry_timeout(&self) -> Duration {
        Duration::from_millis(self.registry.timeout_ms)
    }

    /// The host name of `registry.endpoint` (without brackets for an IPv6 address).
    pub fn registry_host(&self) -> Option<String> {
        crate::registry_client::uri_host(&self.registry.endpoint.parse().ok()?)
    }

    /// `engine.source_preference` as source ids, or which entry is not one (or repeats).
    pub fn source_preference(&self) -> Result<Vec<SourceId>, String> {
        let mut ids: Vec<SourceId> = Vec::new();
        for (i, name) in self.engine.source_preference.iter().enumerate() {
            let id = SourceId::from_resource_name(name).map_err(|e| {
                format!("engine.source_preference[{i}] {name:?} is not a source: {e}")
            })?;
            if ids.contains(&id) {
                return Err(format!(
                    "engine.source_preference[{i}] {name:?} is listed twice"
                ));
            }
            ids.push(id);
        }
        Ok(ids)
    }

    /// `engine.refresh_interval_ms` as a duration.
    pub fn refresh_interval(&self) -> Duration {
        Duration::from_millis(self.engine.refresh_interval_ms)
    }
}

#[cfg(test)]
mod tests {
    use autointel_server::config::checks;

    use super::Settings;

    #[test]
    fn deploy_configmap_loads_validates_and_names_only_known_settings() {
        checks::deploy_configmap_is_valid::<Settings>(include_str!(
            "../../../deploy/base/stats/stats.toml"
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
