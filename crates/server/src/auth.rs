//! Bearer tokens with roles.
//!
//! A token is compared with every configured token in constant time (over SHA-256 digests,
//! so neither content nor length leaks). Tokens are never logged: only the role is.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};

use ring::digest::{SHA256, digest};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::settings::AuthSettings;

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Queries: Get*, BatchGet*, List*, Lookup*, Compute*, Watch*.
    Reader,
    /// Creates, updates, deletes and imports; implies reader.
    Writer,
}

impl Role {
    /// `reader` or `writer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Writer => "writer",
        }
    }

    /// True when this role may call a method that needs `required`.
    pub fn allows(self, required: Role) -> bool {
        self >= required
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Arrow Flight service, whose methods get their roles from [`FLIGHT_READS`].
pub const FLIGHT_SERVICE: &str = "arrow.flight.protocol.FlightService";

/// The Flight methods a reader may call; every other Flight method (`DoPut`, `DoExchange`,
/// `DoAction`, and any a later protocol adds) needs a writer.
pub const FLIGHT_READS: [&str; 7] = [
    "Handshake",
    "ListFlights",
    "GetFlightInfo",
    "PollFlightInfo",
    "GetSchema",
    "DoGet",
    "ListActions",
];

/// The role a gRPC method needs. Ours, from the name alone: `Create*`, `Update*`, `Delete*`
/// and `Import*` need a writer, everything else a reader. Arrow Flight's, from an explicit
/// list (its verbs say nothing about writing): [`FLIGHT_READS`] need a reader, the rest a
/// writer. `method` is the bare method name (`CreateOrganization`) or the full path
/// (`/autointel.registry.v1.RegistryService/…`); a Flight method is known by its full path.
pub fn required_role(method: &str) -> Role {
    let name = method.rsplit('/').next().unwrap_or(method);
    if let Some(service) = method.strip_prefix('/').and_then(|m| m.split('/').next())
        && service == FLIGHT_SERVICE
    {
        return if FLIGHT_READS.contains(&name) {
            Role::Reader
        } else {
            Role::Writer
        };
    }
    if ["Create", "Update", "Delete", "Import"]
        .iter()
        .any(|verb| name.starts_with(verb))
    {
        Role::Writer
    } else {
        Role::Reader
    }
}

/// Why the configured tokens could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The tokens file exists but cannot be read.
    #[error("auth.tokens_file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The tokens file is not valid.
    #[error("auth.tokens_file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong (never the token itself).
        message: String,
    },
    /// Tokens are configured but none was read.
    #[error("{origin} holds no tokens; authentication cannot be enabled")]
    Empty {
        /// `auth.tokens_file <path>` or `auth.tokens`.
        origin: String,
    },
    /// `auth.tokens` (`AUTOINTEL_AUTH__TOKENS`) is not `role:token,…`.
    #[error("auth.tokens: entry {index} {message}")]
    Inline {
        /// 1-based entry.
        index: usize,
        /// What is wrong (never the token itself).
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token: String,
    role: Role,
}

/// The accepted tokens (as digests) and their roles; empty means authentication is off.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<([u8; 32], Role)>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("count", &self.entries.len())
            .finish()
    }
}

fn hash(token: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, token).as_ref());
    out
}

impl Tokens {
    /// Reads `tokens_file` and `tokens`. Fails closed: a configured source that is
    /// missing, unreadable, malformed or holds no token is an error, never "no auth".
    pub fn load(settings: &AuthSettings) -> Result<Self, TokenError> {
        let mut tokens = Self::default();
        if let Some(path) = &settings.tokens_file {
            let before = tokens.entries.len();
            tokens.read_file(path)?;
            if tokens.entries.len() == before {
                return Err(TokenError::Empty {
                    origin: format!("auth.tokens_file {}", path.display()),
                });
            }
        }
        if let Some(inline) = &settings.tokens {
            let before = tokens.entries.len();
            tokens.parse_inline(&inline.0)?;
            if tokens.entries.len() == before {
                return Err(TokenError::Empty {
                    origin: "auth.tokens".to_owned(),
                });
            }
        }
        Ok(tokens)
    }

    fn read_file(&mut self, path: &Path) -> Result<(), TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.display().to_string(),
            source,
        })?;
        // toml's messages quote the offending input, which may be a token: keep only the place.
        let file: TokensFile = toml::from_str(&text).map_err(|e| TokenError::Parse {
            path: path.display().to_string(),
            message: match e.span() {
                Some(span) => format!(
                    "invalid at byte {}: expected [[tokens]] with token = \"…\" and role = \"reader\" or \"writer\"",
                    span.start
                ),
                None => "expected [[tokens]] with token = \"…\" and role = \"reader\" or \"writer\""
                    .to_owned(),
            },
        })?;
        for (i, entry) in file.tokens.iter().enumerate() {
            let token = entry.token.trim();
            if token.is_empty() {
                return Err(TokenError::Parse {
                    path: path.display().to_string(),
                    message: format!("token {} is empty", i + 1),
                });
            }
            self.entries.push((hash(token.as_bytes()), entry.role));
        }
        Ok(())
    }

    fn parse_inline(&mut self, text: &str) -> Result<(), TokenError> {
        for (i, entry) in text.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let index = i + 1;
            let Some((role, token)) = entry.split_once(':') else {
                return Err(TokenError::Inline {
                    index,
                    message: "is not role:token".to_owned(),
                });
            };
            let role = match role.trim() {
                "reader" => Role::Reader,
                "writer" => Role::Writer,
                _ => {
                    return Err(TokenError::Inline {
                        index,
                        message: "has a role other than reader or writer".to_owned(),
                    });
                }
            };
            let token = token.trim();
            if token.is_empty() {
                return Err(TokenError::Inline {
                    index,
                    message: "has an empty token".to_owned(),
                });
            }
            self.entries.push((hash(token.as_bytes()), role));
        }
        Ok(())
    }

    /// Tokens from `(role, token)` pairs (for tests and embedding).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (Role, &'a str)>) -> Self {
        Self {
            entries: pairs
                .into_iter()
                .map(|(role, token)| (hash(token.as_bytes()), role))
                .collect(),
        }
    }

    /// True when no token is configured (authentication off).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many tokens are configured.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The role of `token`, comparing with every configured token in constant time; the
    /// highest role wins when a token is configured twice.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        let presented = hash(token.as_bytes());
        let mut found: Option<Role> = None;
        for (digest, role) in &self.entries {
            let matches: bool = digest.ct_eq(&presented).into();
            if matches {
                found = found.max(Some(*role));
            }
        }
        found
    }
}

/// The tokens in force, shared by the gate and the task that reloads them when their file
/// changes (a rotated Kubernetes Secret), so a rotation needs no restart.
#[derive(Clone, Debug, Default)]
pub struct SharedTokens(Arc<RwLock<Arc<Tokens>>>);

impl From<Tokens> for SharedTokens {
    fn from(tokens: Tokens) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(tokens))))
    }
}

impl SharedTokens {
    /// The tokens in force now.
    pub fn current(&self) -> Arc<Tokens> {
        match self.0.read() {
            Ok(tokens) => tokens.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, tokens: Tokens) {
        let tokens = Arc::new(tokens);
        match self.0.write() {
            Ok(mut current) => *current = tokens,
            Err(poisoned) => *poisoned.into_inner() = tokens,
        }
    }

    /// Every `interval`, reads `auth.tokens_file` (and `auth.tokens`) again when the file's
    /// content changed, and puts the new tokens in force. A file that cannot be read or
    /// holds no valid token keeps the tokens in force (an error is logged): a broken
    /// rotation never turns authentication off or locks every client out.
    pub fn reload_on_change(
        &self,
        settings: AuthSettings,
        interval: std::time::Duration,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let path = settings.tokens_file.clone()?;
        let shared = self.clone();
        Some(tokio::spawn(async move {
            let mut last = std::fs::read(&path).ok();
            loop {
                tokio::time::sleep(interval).await;
                let now = std::fs::read(&path).ok();
                if now == last {
                    continue;
                }
                last = now;
                match Tokens::load(&settings) {
                    Ok(tokens) if !tokens.is_empty() => {
                        tracing::info!(
                            path = %path.display(),
                            tokens = tokens.len(),
                            "auth tokens reloaded"
                        );
                        shared.replace(tokens);
                    }
                    Ok(_) => tracing::error!(
                        path = %path.display(),
                        "the tokens file changed but holds no token; keeping the tokens in force"
                    ),
                    Err(e) => tracing::error!(
                        error = %e,
                        "the tokens file changed but cannot be used; keeping the tokens in force"
                    ),
                }
            }
        }))
    }
}

/// The bearer token of an `authorization` header value, if it is one.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_need_a_writer_and_everything_else_a_reader() {
        for method in [
            "CreateOrganization",
            "UpdateTarget",
            "DeleteRelationship",
            "UpdatePerson",
            "DeleteSource",
            "/autointel.registry.v1.RegistryService/DeleteEvent",
            "/autointel.stats.v1.StatsService/ImportSalesFigures",
        ] {
            assert_eq!(required_role(method), Role::Writer, "{method}");
        }
        for method in [
            "GetOrganization",
            "ListEvents",
            "WatchEvents",
            "ComputeTotal",
            "LookupOrganizations",
            "/autointel.registry.v1.RegistryService/ListDescendants",
        ] {
            assert_eq!(required_role(method), Role::Reader, "{method}");
        }
        assert!(Role::Writer.allows(Role::Reader));
        assert!(!Role::Reader.allows(Role::Writer));
    }

    #[test]
    fn flight_methods_have_explicit_roles() {
        let path = |m: &str| format!("/{FLIGHT_SERVICE}/{m}");
        for method in ["DoPut", "DoExchange", "DoAction", "DoSomethingNew"] {
            assert_eq!(required_role(&path(method)), Role::Writer, "{method}");
        }
        for method in FLIGHT_READS {
            assert_eq!(required_role(&path(method)), Role::Reader, "{method}");
        }
    }

    #[test]
    fn inline_tokens_parse_and_match_exactly() {
        let mut tokens = Tokens::default();
        tokens
            .parse_inline("reader:r-token, writer:w-token")
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tokens.role_of("r-token"), Some(Role::Reader));
        assert_eq!(tokens.role_of("w-token"), Some(Role::Writer));
        assert_eq!(tokens.role_of("w-toke"), None);
        assert_eq!(tokens.role_of(""), None);
        assert!(Tokens::default().parse_inline("admin:x").is_err());
        assert!(Tokens::default().parse_inline("reader").is_err());
    }

    #[test]
    fn bad_tokens_file_error_does_not_echo_the_token() {
        let dir = std::env::temp_dir().join(format!("autointel-auth-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("tokens.toml");
        let _ = std::fs::write(
            &path,
            "[[tokens]]\ntoken = \"s3cret-value\"\nrole = \"admin\"\n",
        );
        let error = Tokens::load(&AuthSettings {
            tokens_file: Some(path),
            ..AuthSettings::default()
        })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(error.contains("tokens_file"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A configured tokens source that cannot give tokens stops start-up, naming it.
    #[test]
    fn a_configured_tokens_source_without_tokens_fails_closed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let missing = dir.path().join("missing.toml");
        let empty = dir.path().join("empty.toml");
        let _ = std::fs::write(&empty, "");
        let unreadable = dir.path().to_owned(); // a directory: read fails
        for path in [missing, empty, unreadable] {
            let error = Tokens::load(&AuthSettings {
                tokens_file: Some(path.clone()),
                ..AuthSettings::default()
            })
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("{} was accepted", path.display()));
            assert!(
                error.contains(&path.display().to_string()),
                "names the file: {error}"
            );
        }
        let error = Tokens::load(&AuthSettings {
            tokens: Some(crate::settings::Secret(" , ".to_owned())),
            ..AuthSettings::default()
        });
        assert!(error.is_err(), "blank auth.tokens enables nothing");

        let mut problems = Vec::new();
        AuthSettings::default().validate(&mut problems);
        assert!(
            problems.iter().any(|p| p.contains("auth.disabled")),
            "no tokens and no explicit opt-out: {problems:?}"
        );
        let mut problems = Vec::new();
        AuthSettings::disabled().validate(&mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let mut problems = Vec::new();
        AuthSettings {
            tokens: Some(crate::settings::Secret("reader:x".to_owned())),
            disabled: true,
            ..AuthSettings::default()
        }
        .validate(&mut problems);
        assert!(
            problems.iter().any(|p| p.contains("contradicts")),
            "{problems:?}"
        );
    }

    #[test]
    fn bearer_header_is_parsed_case_insensitively() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }
}
