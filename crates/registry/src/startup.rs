//! Building and serving the application.

use std::future::Future;
use std::net::SocketAddr;

use autointel_proto::registry::registry_service_server::RegistryServiceServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::ServingStatus;

use crate::error::RegistryError;
use crate::service::RegistryApi;
use crate::settings::Settings;
use crate::store::Store;

/// Fully-qualified name of the registry service, as health checks know it.
pub const SERVICE_NAME: &str = "autointel.registry.v1.RegistryService";

/// Why the application could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] RegistryError),
    /// The seed dataset could not be loaded.
    #[error("seed: {0}")]
    Seed(#[from] crate::seed::SeedError),
    /// Server reflection could not be built.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The gRPC server failed.
    #[error("server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// A bound, migrated registry server, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    store: Store,
}

impl Application {
    /// Binds the listener, connects to the database and applies migrations (and loads the
    /// seed when asked).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let listener = TcpListener::bind(settings.listen_address)
            .await
            .map_err(|source| StartupError::Bind {
                address: settings.listen_address,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| StartupError::Bind {
            address: settings.listen_address,
            source,
        })?;
        let store = Store::connect(&settings.database_url).await?;
        if settings.load_seed {
            let report = crate::seed::load(&store).await?;
            tracing::info!(
                created = report.created,
                existing = report.existing,
                "seed loaded"
            );
        }
        Ok(Self {
            listener,
            local_addr,
            store,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The store (for seeding and tests).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes, then reports NOT_SERVING and drains.
    pub async fn serve_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status(SERVICE_NAME, ServingStatus::Serving)
            .await;
        reporter
            .set_service_status("", ServingStatus::Serving)
            .await;
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(autointel_proto::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(autointel_proto::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;
        let api = RegistryApi::new(self.store.clone());
        tracing::info!(address = %self.local_addr, "registry serving");
        let shutdown = async move {
            shutdown.await;
            reporter
                .set_service_status(SERVICE_NAME, ServingStatus::NotServing)
                .await;
            reporter
                .set_service_status("", ServingStatus::NotServing)
                .await;
            tracing::info!("registry shutting down");
        };
        tonic::transport::Server::builder()
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(RegistryServiceServer::new(api))
            .serve_with_incoming_shutdown(TcpListenerStream::new(self.listener), shutdown)
            .await?;
        self.store.close().await;
        Ok(())
    }
}
