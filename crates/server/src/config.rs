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
