//! The configuration sections every service shares: `[server]`, `[database]`, `[log]`,
//! `[auth]`, `[tls]`, and the TLS of an outbound client.
//!
//! Every section deserialises with defaults for missing keys and checks itself with
//! `validate`, pushing one line per problem so that start-up can list them all.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

const MIB: usize = 1024 * 1024;

/// The sections every service has, flattened into its settings (`[server]`, `[database]`,
/// `[log]`, `[auth]`, `[tls]` at the top level of the file).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommonSettings {
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
}

impl CommonSettings {
    /// A service's defaults: gRPC on `grpc`, an SQLite file `database_file`, `/metrics` off
    /// unless configured (a fixed port would clash between local instances).
    pub fn for_service(grpc: u16, database_file: &str) -> Self {
        Self {
            server: ServerSettings {
                metrics_address: None,
                ..ServerSettings::on_ports(grpc, 0)
            },
            database: DatabaseSettings::sqlite_file(database_file),
            ..Self::default()
        }
    }

    /// Pushes a line for every problem in the shared sections.
    pub fn validate(&self, problems: &mut Vec<String>) {
        self.server.validate(problems);
        self.database.validate(problems);
        self.log.validate(problems);
        self.tls.validate("tls", problems);
        self.auth.validate(problems);
    }
}

/// `[server]`: listeners, limits and shutdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// gRPC listen address; port 0 picks a free port.
    pub listen_address: SocketAddr,
    /// Prometheus `/metrics` listen address; absent disables the endpoint.
    pub metrics_address: Option<SocketAddr>,
    /// A plaintext port serving only `grpc.health.v1` (no TLS, no client certificate, no
    /// token), for probes when the gRPC port speaks TLS; absent: health only on the gRPC port.
    pub health_address: Option<SocketAddr>,
    /// Upper bound on draining in-flight requests at shutdown, after which they are cut.
    pub shutdown_grace_seconds: u64,
    /// Time between reporting NOT_SERVING and refusing new connections at shutdown.
    pub drain_delay_ms: u64,
    /// Deadline of every request handler (a client's shorter `grpc-timeout` wins).
    pub request_timeout_seconds: u64,
    /// Requests served at once across all connections; more are refused with
    /// RESOURCE_EXHAUSTED at once (health checks are exempt).
    pub max_concurrent_requests: usize,
    /// Of those, the most one connection may hold (absent: a quarter of
    /// `max_concurrent_requests`, at least 1), so one client cannot take every slot.
    pub max_concurrent_requests_per_connection: Option<usize>,
    /// Longest wait for the next message of a request stream (a unary request's only
    /// message included); a client that sends nothing for this long gets DEADLINE_EXCEEDED
    /// and frees its slot. Never a limit on a stream's total duration.
    pub message_idle_timeout_seconds: u64,
    /// HTTP/2 PING interval on idle connections; a peer that does not answer within
    /// `keepalive_timeout_seconds` is disconnected (absent: no pings).
    pub keepalive_interval_seconds: Option<u64>,
    /// How long a keepalive PING may go unanswered.
    pub keepalive_timeout_seconds: u64,
    /// HTTP/2 streams one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// Largest message accepted or sent, in bytes.
    pub max_message_bytes: usize,
    /// Connections are closed gracefully after this many seconds (absent: never), so that
    /// clients re-resolve and spread over new replicas.
    pub max_connection_age_seconds: Option<u64>,
    /// A connection with no request open for this long is closed (absent: never). Requests
    /// count until their response ends, so a watch stream keeps its connection; keepalive
    /// PINGs do not count. Clients reconnect on their next call.
    pub idle_connection_timeout_seconds: Option<u64>,
    /// Serve gRPC server reflection (v1 and v1alpha).
    pub reflection: bool,
    /// Also answer gRPC-Web (HTTP/1.1 and HTTP/2, `application/grpc-web+proto`) for browser
    /// dashboards; off by default. Tokens, roles and limits are the same.
    pub grpc_web: bool,
    /// Origins a browser may call from with gRPC-Web (CORS), e.g. `https://dash.example`;
    /// none: no cross-origin call is allowed.
    pub cors_allowed_origins: Vec<String>,
    /// Require a reader token for reflection (otherwise reflection is open like health).
    pub reflection_requires_auth: bool,
}

impl ServerSettings {
    /// Defaults with the given gRPC and metrics ports on localhost.
    pub fn on_ports(grpc: u16, metrics: u16) -> Self {
        Self {
            listen_address: SocketAddr::from(([127, 0, 0, 1], grpc)),
            metrics_address: Some(SocketAddr::from(([127, 0, 0, 1], metrics))),
            health_address: None,
            shutdown_grace_seconds: 20,
            drain_delay_ms: 0,
            request_timeout_seconds: 30,
            max_concurrent_requests: 256,
            max_concurrent_requests_per_connection: None,
            message_idle_timeout_seconds: 10,
            keepalive_interval_seconds: Some(30),
            keepalive_timeout_seconds: 10,
            max_concurrent_streams: 100,
            max_message_bytes: 4 * MIB,
            max_connection_age_seconds: None,
            idle_connection_timeout_seconds: Some(300),
            reflection: true,
            grpc_web: false,
            cors_allowed_origins: Vec::new(),
            reflection_requires_auth: false,
        }
    }

    /// Pushes a line for every problem.
    pub fn validate(&self, problems: &mut Vec<String>) {
        if self.shutdown_grace_seconds == 0 {
            problems.push("server.shutdown_grace_seconds must be at least 1".to_owned());
        }
        if self.request_timeout_seconds == 0 {
            problems.push("server.request_timeout_seconds must be at least 1".to_owned());
        }
        if self.max_concurrent_requests == 0 {
            problems.push("server.max_concurrent_requests must be at least 1".to_owned());
        }
        if self.max_concurrent_requests_per_connection == Some(0) {
            problems.push(
                "server.max_concurrent_requests_per_connection must be at least 1".to_owned(),
            );
        }
        if self.idle_connection_timeout_seconds == Some(0) {
            problems.push("server.idle_connection_timeout_seconds must be at least 1".to_owned());
        }
        if self.message_idle_timeout_seconds == 0 {
            problems.push("server.message_idle_timeout_seconds must be at least 1".to_owned());
        }
        if self.keepalive_interval_seconds == Some(0) || self.keepalive_timeout_seconds == 0 {
            problems.push(
                "server.keepalive_interval_seconds and keepalive_timeout_seconds must be at least 1"
                    .to_owned(),
            );
        }
        for origin in &self.cors_allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://"))
                || origin.ends_with('/')
                || http::HeaderValue::from_str(origin).is_err()
            {
                problems.push(format!(
                    "server.cors_allowed_origins: {origin:?} is not an origin such as https://dash.example"
                ));
            }
        }
        if !self.cors_allowed_origins.is_empty() && !self.grpc_web {
            problems.push("server.cors_allowed_origins needs server.grpc_web = true".to_owned());
        }
        if self.max_concurrent_streams == 0 {
            problems.push("server.max_concurrent_streams must be at least 1".to_owned());
        }
        if self.max_message_bytes < 1024 {
            problems.push("server.max_message_bytes must be at least 1024".to_owned());
        }
        if self.max_connection_age_seconds == Some(0) {
            problems.push(
                "server.max_connection_age_seconds must be at least 1 (or absent for no limit)"
                    .to_owned(),
            );
        }
        for (key, address) in [
            ("metrics_address", self.metrics_address),
            ("health_address", self.health_address),
        ] {
            if let Some(address) = address
                && address == self.listen_address
                && address.port() != 0
            {
                problems.push(format!(
                    "server.{key} {address} is the same as server.listen_address"
                ));
            }
        }
        if let (Some(metrics), Some(health)) = (self.metrics_address, self.health_address)
            && metrics == health
            && metrics.port() != 0
        {
            problems.push(format!(
                "server.health_address {health} is the same as server.metrics_address"
            ));
        }
    }

    /// `shutdown_grace_seconds` as a duration.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }

    /// `drain_delay_ms` as a duration.
    pub fn drain_delay(&self) -> Duration {
        Duration::from_millis(self.drain_delay_ms)
    }

    /// The per-connection share of `max_concurrent_requests`.
    pub fn per_connection_limit(&self) -> usize {
        self.max_concurrent_requests_per_connection
            .unwrap_or(self.max_concurrent_requests / 4)
            .max(1)
    }

    /// `idle_connection_timeout_seconds` as a duration.
    pub fn idle_connection_timeout(&self) -> Option<Duration> {
        self.idle_connection_timeout_seconds
            .map(Duration::from_secs)
    }

    /// `request_timeout_seconds` as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self::on_ports(50051, 9090)
    }
}

/// `[database]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc`, `sqlite::memory:` or `postgres://user:password@host/db`.
    pub url: String,
    /// Most connections in the pool.
    pub max_connections: u32,
}

impl DatabaseSettings {
    /// A SQLite file in the working directory, named after the service.
    pub fn sqlite_file(name: &str) -> Self {
        Self {
            url: format!("sqlite://{name}?mode=rwc"),
            max_connections: 8,
        }
    }

    /// Pushes a line for every problem.
    pub fn validate(&self, problems: &mut Vec<String>) {
        if !(self.url.starts_with("sqlite:")
            || self.url.starts_with("postgres://")
            || self.url.starts_with("postgresql://"))
        {
            problems.push(
                "database.url must start with sqlite:, postgres:// or postgresql://".to_owned(),
            );
        }
        if self.max_connections == 0 {
            problems.push("database.max_connections must be at least 1".to_owned());
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self::sqlite_file("autointel.db")
    }
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter: `info`, `debug`, `info,autointel_stats=debug`; `RUST_LOG` wins.
    pub level: String,
    /// OTLP/gRPC collector to export every request's span to, e.g.
    /// `http://otel-collector:4317`, or `https://…` with `[log.otlp_tls]`; absent: no trace
    /// export.
    pub otlp_endpoint: Option<String>,
    /// TLS towards an `https://` collector.
    pub otlp_tls: ClientTlsSettings,
}

impl LogSettings {
    /// Pushes a line for every problem.
    pub fn validate(&self, problems: &mut Vec<String>) {
        if tracing_subscriber::EnvFilter::try_new(&self.level).is_err() {
            problems.push(format!(
                "log.level {:?} is not a valid filter (e.g. info, debug, warn,autointel_stats=debug)",
                self.level
            ));
        }
        if let Some(endpoint) = &self.otlp_endpoint {
            let https = endpoint.starts_with("https://");
            if !(endpoint.starts_with("http://") || https) {
                problems.push(format!(
                    "log.otlp_endpoint {endpoint:?} must start with http:// or https://"
                ));
            } else if tonic::transport::Endpoint::from_shared(endpoint.clone()).is_err() {
                problems.push(format!("log.otlp_endpoint {endpoint:?} is not a valid URI"));
            } else if https && self.otlp_tls.ca_file.is_none() {
                problems.push(format!(
                    "log.otlp_endpoint {endpoint:?} is https: set log.otlp_tls.ca_file to the CA the collector's certificate chains to"
                ));
            }
        }
        self.otlp_tls.validate("log.otlp_tls", problems);
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
            otlp_endpoint: None,
            otlp_tls: ClientTlsSettings::default(),
        }
    }
}

/// A secret string: never printed by `Debug`, never logged.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// `[auth]`: bearer tokens with roles. Authentication fails closed: a configured tokens
/// source that is missing, unreadable, empty or malformed stops start-up, and serving
/// without tokens needs `disabled = true`, said explicitly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// TOML file of `[[tokens]] token = "…" role = "reader" | "writer"`; it must exist
    /// and hold at least one token.
    pub tokens_file: Option<PathBuf>,
    /// `role:token,role:token`, meant for `AUTOINTEL_AUTH__TOKENS`.
    pub tokens: Option<Secret>,
    /// Serve without authentication: every caller may read and write. Only valid with
    /// no tokens configured; for local stacks and tests.
    pub disabled: bool,
    /// How often `tokens_file` is checked for a new content (a rotated Secret), which is
    /// then put in force without a restart.
    pub reload_interval_seconds: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            tokens_file: None,
            tokens: None,
            disabled: false,
            reload_interval_seconds: 10,
        }
    }
}

impl AuthSettings {
    /// No authentication, said explicitly.
    pub fn disabled() -> Self {
        Self {
            disabled: true,
            ..Self::default()
        }
    }

    /// Pushes a line for every problem.
    pub fn validate(&self, problems: &mut Vec<String>) {
        let configured = self.tokens_file.is_some() || self.tokens.is_some();
        if !configured && !self.disabled {
            problems.push(
                "auth: no tokens configured; set auth.tokens_file or auth.tokens \
                 (AUTOINTEL_AUTH__TOKENS), or auth.disabled = true \
                 (AUTOINTEL_AUTH__DISABLED=true) to serve without authentication"
                    .to_owned(),
            );
        }
        if configured && self.disabled {
            problems.push(
                "auth.disabled = true contradicts the configured auth.tokens_file or auth.tokens"
                    .to_owned(),
            );
        }
        file_exists("auth", "tokens_file", self.tokens_file.as_ref(), problems);
        if self.reload_interval_seconds == 0 {
            problems.push("auth.reload_interval_seconds must be at least 1".to_owned());
        }
    }
}

/// `[tls]` of a server: TLS when `cert_file` and `key_file` are set, mutual TLS when
/// `client_ca_file` is set too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsSettings {
    /// PEM certificate chain of the server.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the server.
    pub key_file: Option<PathBuf>,
    /// PEM CA bundle client certificates must chain to (mutual TLS).
    pub client_ca_file: Option<PathBuf>,
    /// How often the files are checked for a change (a renewed certificate), which is then
    /// served to new connections without a restart.
    pub reload_interval_seconds: u64,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            client_ca_file: None,
            reload_interval_seconds: 30,
        }
    }
}

impl TlsSettings {
    /// True when TLS is configured.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some() || self.key_file.is_some()
    }

    /// Pushes a line for every problem.
    pub fn validate(&self, section: &str, problems: &mut Vec<String>) {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => problems.push(format!(
                "{section}.key_file is required with {section}.cert_file"
            )),
            (None, Some(_)) => problems.push(format!(
                "{section}.cert_file is required with {section}.key_file"
            )),
            _ => {}
        }
        if self.client_ca_file.is_some() && !self.enabled() {
            problems.push(format!(
                "{section}.client_ca_file needs {section}.cert_file and {section}.key_file"
            ));
        }
        for (key, path) in [
            ("cert_file", &self.cert_file),
            ("key_file", &self.key_file),
            ("client_ca_file", &self.client_ca_file),
        ] {
            file_exists(section, key, path.as_ref(), problems);
        }
    }
}

/// TLS of an outbound client (`[registry.tls]` of stats): server verification against
/// `ca_file`, a client certificate for mutual TLS with `cert_file` and `key_file`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientTlsSettings {
    /// PEM CA bundle the server's certificate must chain to (absent: the platform roots are
    /// not used, so set it for any https endpoint).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (mutual TLS).
    pub cert_file: Option<PathBuf>,
    /// PEM client private key (mutual TLS).
    pub key_file: Option<PathBuf>,
    /// Name to verify the server's certificate against (default: the endpoint's host).
    pub domain_name: Option<String>,
}

impl ClientTlsSettings {
    /// Pushes a line for every problem.
    pub fn validate(&self, section: &str, problems: &mut Vec<String>) {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => problems.push(format!(
                "{section}.key_file is required with {section}.cert_file"
            )),
            (None, Some(_)) => problems.push(format!(
                "{section}.cert_file is required with {section}.key_file"
            )),
            _ => {}
        }
        for (key, path) in [
            ("ca_file", &self.ca_file),
            ("cert_file", &self.cert_file),
            ("key_file", &self.key_file),
        ] {
            file_exists(section, key, path.as_ref(), problems);
        }
    }

    /// Reads the files into tonic's client TLS configuration.
    pub fn load(&self) -> Result<tonic::transport::ClientTlsConfig, crate::StartError> {
        let mut config = tonic::transport::ClientTlsConfig::new();
        if let Some(ca) = &self.ca_file {
            config = config.ca_certificate(tonic::transport::Certificate::from_pem(
                crate::read_file(ca)?,
            ));
        }
        if let (Some(cert), Some(key)) = (&self.cert_file, &self.key_file) {
            config = config.identity(tonic::transport::Identity::from_pem(
                crate::read_file(cert)?,
                crate::read_file(key)?,
            ));
        }
        if let Some(domain) = &self.domain_name {
            config = config.domain_name(domain.clone());
        }
        Ok(config)
    }
}

/// Pushes a problem when `path` is set and is not a file.
pub fn file_exists(section: &str, key: &str, path: Option<&PathBuf>, problems: &mut Vec<String>) {
    if let Some(path) = path
        && !path.is_file()
    {
        problems.push(format!(
            "{section}.{key}: {} does not exist or is not a file",
            path.display()
        ));
    }
}

/// `[watch]`: resumable watch streams (registry's `WatchEvents`, stats' `WatchReleases`).
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

impl WatchSettings {
    /// Records every problem of `[watch]`.
    pub fn validate(&self, problems: &mut Vec<String>) {
        if self.max_subscribers == 0 {
            problems.push("watch.max_subscribers must be at least 1".to_owned());
        }
        if self.poll_interval_ms == 0 {
            problems.push("watch.poll_interval_ms must be at least 1".to_owned());
        }
    }

    /// The limits of a [`Fanout`](crate::fanout::Fanout) these settings give.
    pub fn limits(&self) -> crate::fanout::FanoutLimits {
        crate::fanout::FanoutLimits {
            max_subscribers: self.max_subscribers,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            ..crate::fanout::FanoutLimits::default()
        }
    }
}
