//! Layered configuration: built-in defaults < TOML file < `AUTOINTEL_…` env < flags.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

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
}

/// Loads `S`: `S::default()` first, then `file` (TOML), then every `{prefix}_SECTION__KEY`
/// environment variable, then `overrides` (dotted keys such as `server.listen_address`, from
/// command-line flags). Variables whose names match no setting are ignored, so other
/// `AUTOINTEL_…` variables (for tests, say) do no harm.
pub fn load<S>(
    file: Option<&Path>,
    env_prefix: &str,
    overrides: &[(&str, Value)],
) -> Result<S, LoadError>
where
    S: Serialize + DeserializeOwned + Default,
{
    let mut builder =
        config::Config::builder().add_source(config::Config::try_from(&S::default())?);
    if let Some(file) = file {
        if !file.exists() {
            return Err(LoadError::MissingFile(file.display().to_string()));
        }
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
            .try_parsing(true),
    );
    for (key, value) in overrides {
        builder = builder.set_override(*key, value.clone())?;
    }
    Ok(builder.build()?.try_deserialize()?)
}

/// The dotted key paths (`server.listen_address`) a TOML configuration file sets that
/// `settings` has no field for: settings the file names but nothing reads.
pub fn unknown_keys<S: Serialize>(file: &str, settings: &S) -> Result<Vec<String>, String> {
    let written = toml::from_str::<toml::Table>(file).map_err(|e| e.to_string())?;
    let known = toml::Value::try_from(settings).map_err(|e| e.to_string())?;
    let (mut written_keys, mut known_keys) = (Vec::new(), Vec::new());
    key_paths(&toml::Value::Table(written), "", &mut written_keys);
    key_paths(&known, "", &mut known_keys);
    written_keys.retain(|key| !known_keys.contains(key));
    Ok(written_keys)
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
