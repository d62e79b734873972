//! Layered configuration: built-in defaults < TOML file < `AUTOINTEL_…` env < flags.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::settings::CommonSettings;

pub use config::Value;

/// Prefix of every environment variable the services read (`AUTOINTEL_SERVER__LISTEN_ADDRESS`).
pub const ENV_PREFIX: &str = "AUTOINTEL";

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file named by `--config` does not exist.
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    /// A source could not be read or a value has the wrong type.
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    /// The file or the environment names settings that do not exist (a typo would
    /// otherwise leave the default in force without a word).
    #[error("{}", .0.join("; "))]
    Unknown(Vec<String>),
}

impl LoadError {
    /// One line per problem, for start-up to list.
    pub fn problems(&self) -> Vec<String> {
        match self {
            Self::Unknown(problems) => problems.clone(),
            other => vec![other.to_string()],
        }
    }
}

/// Loads `S`: `S::default()` first, then `file` (TOML), then every `{prefix}_SECTION__KEY`
/// environment variable, then `overrides` (dotted keys such as `server.listen_address`, from
/// command-line flags).
///
/// A key in the file, or a `{prefix}_SECTION__KEY` variable (the `__` marks it as a
/// setting), that names no setting is an error listing every such key. Other `{prefix}_…`
/// variables without `__` (`AUTOINTEL_TEST_POSTGRES_URL`, the service links Kubernetes
/// injects) are not settings and are left alone.
pub fn load<S>(
    file: Option<&Path>,
    env_prefix: &str,
    overrides: &[(&str, Value)],
) -> Result<S, LoadError>
where
    S: Serialize + DeserializeOwned + Default,
{
    load_from(file, env_prefix, std::env::vars(), overrides)
}

/// [`load`] with the environment given as name/value pairs.
pub fn load_from<S>(
    file: Option<&Path>,
    env_prefix: &str,
    env: impl IntoIterator<Item = (String, String)>,
    overrides: &[(&str, Value)],
) -> Result<S, LoadError>
where
    S: Serialize + DeserializeOwned + Default,
{
    let env: config::Map<String, String> = env.into_iter().collect();
    let mut builder =
        config::Config::builder().add_source(config::Config::try_from(&S::default())?);
    let mut text = None;
    if let Some(file) = file {
        if !file.exists() {
            return Err(LoadError::MissingFile(file.display().to_string()));
        }
        text = Some(
            std::fs::read_to_string(file)
                .map_err(|e| LoadError::Config(config::ConfigError::Foreign(Box::new(e))))?,
        );
        builder = builder.add_source(
            config::File::from(file)
                .format(config::FileFormat::Toml)
                .required(true),
        );
    }
    builder = builder.add_source(
        config::Environment::with_prefix(env_prefix)
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .source(Some(env.clone())),
    );
    for (key, value) in overrides {
        builder = builder.set_override(*key, value.clone())?;
    }
    let settings: S = builder.build()?.try_deserialize()?;

    let mut problems = Vec::new();
    if let (Some(file), Some(text)) = (file, text) {
        let unknown = unknown_keys(&text, &settings)
            .map_err(|e| LoadError::Unknown(vec![format!("{}: {e}", file.display())]))?;
        for key in unknown {
            problems.push(format!(
                "{} sets `{key}`, which is not a setting",
                file.display()
            ));
        }
    }
    let known = known_keys(&settings);
    let prefix = format!("{env_prefix}_");
    let mut names: Vec<&String> = env.keys().collect();
    names.sort();
    for name in names {
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        if !rest.contains("__") {
            continue;
        }
        let key = rest.to_lowercase().replace("__", ".");
        if !known.contains(&key) {
            problems.push(format!(
                "environment variable {name} names `{key}`, which is not a setting"
            ));
        }
    }
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(LoadError::Unknown(problems))
    }
}

/// The dotted key paths (`server.listen_address`) a TOML configuration file sets that
/// `settings` has no field for: settings the file names but nothing reads.
pub fn unknown_keys<S: Serialize>(file: &str, settings: &S) -> Result<Vec<String>, String> {
    let written = toml::from_str::<toml::Table>(file).map_err(|e| e.to_string())?;
    let known = known_keys(settings);
    let mut written_keys = Vec::new();
    key_paths(&toml::Value::Table(written), "", &mut written_keys);
    written_keys.retain(|key| !known.contains(key));
    Ok(written_keys)
}

/// Every dotted key path `settings` serialises (unset optional settings are absent, so pass
/// settings loaded from the source being checked).
fn known_keys<S: Serialize>(settings: &S) -> Vec<String> {
    let mut keys = Vec::new();
    if let Ok(value) = toml::Value::try_from(settings) {
        key_paths(&value, "", &mut keys);
    }
    keys
}

/// Every dotted key path of a TOML value, tables and their members.
fn key_paths(value: &toml::Value, prefix: &str, out: &mut Vec<String>) {
    if let toml::Value::Table(table) = value {
        for (key, value) in table {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            key_paths(value, &path, out);
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Serialize)]
    struct Example {
        server: Server,
    }

    #[derive(Serialize)]
    struct Server {
        listen_address: String,
    }

    #[derive(Debug, Default, Serialize, serde::Deserialize)]
    #[serde(default)]
    struct Layered {
        server: LayeredServer,
    }

    #[derive(Debug, Default, Serialize, serde::Deserialize)]
    #[serde(default)]
    struct LayeredServer {
        port: u16,
        metrics: Option<u16>,
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn temp_toml(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "autointel-config-{name}-{}.toml",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn every_unknown_key_in_the_file_or_environment_is_refused_at_once() {
        let path = temp_toml("typos", "[server]\nprot = 1\n[sever]\nport = 2\n");
        let error = load_from::<Layered>(
            Some(&path),
            "AUTOINTEL",
            env(&[
                ("AUTOINTEL_SERVER__METRCS", "9"),
                ("AUTOINTEL_SERVER__PORT", "3"),
            ]),
            &[],
        )
        .unwrap_err();
        let _ = std::fs::remove_file(&path);
        let problems = error.problems();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].ends_with("sets `server.prot`, which is not a setting"));
        assert!(problems.iter().any(|p| p.contains("sets `sever`,")));
        assert!(problems.iter().any(|p| p.contains("sets `sever.port`,")));
        assert_eq!(
            problems[3],
            "environment variable AUTOINTEL_SERVER__METRCS names `server.metrcs`, which is not a setting"
        );
    }

    #[test]
    fn optional_settings_and_variables_that_are_not_settings_load() {
        let path = temp_toml("optional", "[server]\nmetrics = 9090\n");
        let settings = load_from::<Layered>(
            Some(&path),
            "AUTOINTEL",
            env(&[
                ("AUTOINTEL_SERVER__PORT", "3"),
                // not settings: no `__` (test harness variables, Kubernetes service links)
                ("AUTOINTEL_TEST_POSTGRES_URL", "postgres://x"),
                ("AUTOINTEL_REGISTRY_PORT_50051_TCP", "tcp://10.0.0.1:50051"),
                ("OTHER_SERVER__PORT", "4"),
            ]),
            &[("server.port", Value::from(5))],
        )
        .unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(settings.server.metrics, Some(9090));
        assert_eq!(settings.server.port, 5, "flags beat the environment");
        let from_env = load_from::<Layered>(
            None,
            "AUTOINTEL",
            env(&[("AUTOINTEL_SERVER__PORT", "3")]),
            &[],
        )
        .unwrap();
        assert_eq!(from_env.server.port, 3);
        let optional_from_env = load_from::<Layered>(
            None,
            "AUTOINTEL",
            env(&[("AUTOINTEL_SERVER__METRICS", "7")]),
            &[],
        )
        .unwrap();
        assert_eq!(optional_from_env.server.metrics, Some(7));
    }

    #[test]
    fn unknown_keys_names_settings_no_field_reads() {
        let settings = Example {
            server: Server {
                listen_address: "127.0.0.1:1".to_owned(),
            },
        };
        let file = "[server]\nlisten_address = \"0.0.0.0:1\"\nlisten_adress = \"typo\"\n[servre]\n";
        assert_eq!(
            unknown_keys(file, &settings).unwrap(),
            ["server.listen_adress", "servre"]
        );
        assert!(
            unknown_keys("[server]\nlisten_address = \"x\"\n", &settings)
                .unwrap()
                .is_empty()
        );
    }
}

/// What every service's settings offer, so that loading, validation and the behaviour they
/// share are written and checked ([`checks`]) once for both services.
pub trait ServiceSettings: Serialize + DeserializeOwned + Default {
    /// The sections every service has.
    fn common(&self) -> &CommonSettings;
    /// The same, to change.
    fn common_mut(&mut self) -> &mut CommonSettings;
    /// Pushes a line for every problem in the service's own sections.
    fn validate_own(&self, problems: &mut Vec<String>);

    /// Defaults < `file` < `AUTOINTEL_…` env < `overrides` (dotted keys, from flags).
    fn load(file: Option<&Path>, overrides: &[(&str, Value)]) -> Result<Self, LoadError> {
        load(file, ENV_PREFIX, overrides)
    }

    /// Every problem with these settings, one line each.
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        self.common().validate(&mut problems);
        self.validate_own(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Checks of the settings behaviour both services share; each service's tests call them
/// (they panic with what is wrong).
pub mod checks {
    use super::{ServiceSettings, Value};

    fn with_file<T>(name: &str, text: &str, read: impl FnOnce(&std::path::Path) -> T) -> T {
        let path = std::env::temp_dir().join(format!(
            "autointel-{name}-{}-{}.toml",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::write(&path, text).expect("write a settings file");
        let out = read(&path);
        let _ = std::fs::remove_file(&path);
        out
    }

    /// The deploy ConfigMap `configmap` loads, is valid but for the Secrets a pod mounts,
    /// and names only settings that exist.
    pub fn deploy_configmap_is_valid<S: ServiceSettings>(configmap: &str) {
        let settings: S = with_file("configmap", configmap, |p| S::load(Some(p), &[]))
            .expect("the ConfigMap loads");
        let problems = settings.validate().err().unwrap_or_default();
        assert!(
            problems
                .iter()
                .all(|p| p.contains("/var/run/secrets/autointel/")),
            "{problems:#?}"
        );
        assert_eq!(settings.common().server.shutdown_grace_seconds, 20);
        let unknown = super::unknown_keys(configmap, &settings).expect("parse the ConfigMap");
        assert!(
            unknown.is_empty(),
            "the ConfigMap sets unknown settings {unknown:?}"
        );
    }

    /// Flags beat the file, and defaults fill what neither sets.
    pub fn flags_beat_the_file_and_defaults_fill_the_rest<S: ServiceSettings>() {
        let file = "[server]\nlisten_address = \"0.0.0.0:1\"\nmax_concurrent_requests = 7\n[database]\nurl = \"sqlite::memory:\"\n";
        let overrides = [("server.listen_address", Value::from("127.0.0.1:2"))];
        let settings: S =
            with_file("layers", file, |p| S::load(Some(p), &overrides)).expect("the settings load");
        let (server, database) = (&settings.common().server, &settings.common().database);
        assert_eq!(server.listen_address.port(), 2);
        assert_eq!(server.max_concurrent_requests, 7);
        assert_eq!(database.url, "sqlite::memory:");
        assert_eq!(server.request_timeout_seconds, 30, "defaults fill the rest");
    }

    /// Validation lists every problem, not just the first.
    pub fn validation_lists_every_problem<S: ServiceSettings>() {
        let mut settings = S::default();
        let common = settings.common_mut();
        common.server.max_concurrent_requests = 0;
        common.database.url = "mysql://x".to_owned();
        common.tls.cert_file = Some("/nonexistent/cert.pem".into());
        let problems = settings.validate().expect_err("invalid settings");
        assert!(problems.len() >= 4, "{problems:#?}");
        for key in [
            "server.max_concurrent_requests",
            "database.url",
            "tls.key_file",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(key)),
                "{key}: {problems:#?}"
            );
        }
    }
}
