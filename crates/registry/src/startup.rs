//! Building and serving the application.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use autointel_proto::registry::registry_service_server::RegistryServiceServer;
use autointel_server::fanout::Fanout;
use autointel_server::{Server, ServiceInfo, StoreWatch};
use tonic::service::Routes;

use crate::error::{ERROR_DOMAIN, RegistryError};
use crate::service::{EventFeed, RegistryApi};
use crate::settings::{ServiceSettings, Settings, WatchSettings};
use crate::store::Store;

/// Fully-qualified name of the registry service, as health checks know it.
pub const SERVICE_NAME: &str = "autointel.registry.v1.RegistryService";

/// Why the application could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The settings are invalid; every problem is listed.
    #[error("invalid configuration: {}", .0.join("; "))]
    InvalidSettings(Vec<String>),
    /// Listeners, tokens, TLS or the gRPC server failed.
    #[error("{0}")]
    Server(#[from] autointel_server::StartError),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] RegistryError),
    /// The seed dataset could not be loaded.
    #[error("seed: {0}")]
    Seed(#[from] crate::seed::SeedError),
}

impl StartupError {
    /// Exits the process: status 2 for configuration problems, each printed once; 1 for
    /// anything else.
    pub fn exit(self, program: &str) -> ! {
        match self {
            Self::InvalidSettings(problems) => autointel_server::exit_invalid(program, &problems),
            Self::Server(e) if e.is_configuration() => {
                autointel_server::exit_with(program, autointel_server::EXIT_CONFIGURATION, &e)
            }
            other => autointel_server::exit_with(program, autointel_server::EXIT_FAILURE, &other),
        }
    }
}

/// A bound, migrated registry server, ready to serve.
#[derive(Debug)]
pub struct Application {
    server: Server,
    store: Store,
    max_message_bytes: usize,
    watch: WatchSettings,
}

impl Application {
    /// Validates the settings, reads tokens and TLS files, binds the listeners, connects to
    /// the database and applies migrations (and loads the seed when asked).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        settings.validate().map_err(StartupError::InvalidSettings)?;
        let mut server = Server::bind(
            &settings.common.server,
            &settings.common.auth,
            &settings.common.tls,
            ServiceInfo {
                error_domain: ERROR_DOMAIN,
                descriptor_set: autointel_proto::FILE_DESCRIPTOR_SET,
            },
        )
        .await?;
        let store = Store::connect_with(
            &settings.common.database.url,
            settings.common.database.max_connections,
        )
        .await?;
        server.watch_store(StoreWatch {
            writability: store.writability().clone(),
            pool: store.pool().clone(),
            probe_sql: crate::store::WRITE_PROBE,
        });
        let keys = store.refresh_match_keys().await?;
        if keys.recomputed > 0 {
            tracing::info!(
                organizations = keys.recomputed,
                match_key_version = autointel_domain::text::MATCH_KEY_VERSION,
                "recomputed the match keys of organisation names"
            );
        }
        if !keys.breaking_rules.is_empty() {
            tracing::warn!(
                organizations = %keys.breaking_rules.join(","),
                "organisations stored with names that are not NFC or hold invisible or \
                 direction-override characters: they are served in NFC; an update must fix them"
            );
        }
        if !keys.duplicate_aliases.is_empty() {
            tracing::warn!(
                organizations = %keys.duplicate_aliases.join(","),
                match_key_version = autointel_domain::text::MATCH_KEY_VERSION,
                "organisations stored with aliases that the current match key makes one: they \
                 stay readable and found by either; an update of their aliases must drop one"
            );
        }
        let over = store.organizations_over_alias_limit().await?;
        if !over.is_empty() {
            tracing::warn!(
                limit = autointel_domain::MAX_ALIASES,
                organizations = %over.join(","),
                "organisations stored with more aliases than the limit: they stay readable; \
                 an update must bring them within it"
            );
        }
        if settings.seed.load {
            let report = crate::seed::load(&store).await?;
            tracing::info!(
                created = report.created,
                existing = report.existing,
                "seed loaded"
            );
        }
        Ok(Self {
            server,
            store,
            max_message_bytes: settings.common.server.max_message_bytes,
            watch: settings.watch.clone(),
        })
    }

    /// The gRPC address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The metrics address actually bound, when metrics are served.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.server.metrics_addr()
    }

    /// The plaintext health-only address actually bound, when configured.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.server.health_addr()
    }

    /// The store (for seeding and tests).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes: then health turns NOT_SERVING, and after the drain
    /// delay the server stops accepting and drains within the shutdown grace.
    pub async fn serve_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let watch = Arc::new(Fanout::start(
            EventFeed(self.store.clone()),
            self.store.subscribe(),
            self.server.draining(),
            self.watch.limits(),
        ));
        let api = RegistryServiceServer::new(RegistryApi::new(self.store.clone(), watch))
            .max_decoding_message_size(self.max_message_bytes)
            .max_encoding_message_size(self.max_message_bytes);
        let result = self
            .server
            .serve(Routes::new(api), &[SERVICE_NAME], shutdown)
            .await;
        self.store.close().await;
        Ok(result?)
    }
}
