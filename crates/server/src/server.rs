//! Binding and serving a gRPC server with health, reflection, the gate layer, limits, TLS,
//! metrics and a bounded graceful shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::StreamExt as _;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tonic::service::Routes;
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};

use crate::StartError;
use crate::auth::{SharedTokens, Tokens};
use crate::connections::{Connections, IdleWatch};
use crate::gate::GateLayer;
use crate::metrics::{GrpcMetrics, serve_metrics};
use crate::settings::{AuthSettings, ServerSettings, TlsSettings};
use crate::store_health::StoreWatch;
use crate::tls::ReloadableTls;

/// What a service tells the shared server about itself.
#[derive(Clone, Copy, Debug)]
pub struct ServiceInfo {
    /// `ErrorInfo.domain` of the refusals the gate layer returns.
    pub error_domain: &'static str,
    /// The encoded `FileDescriptorSet` served by reflection.
    pub descriptor_set: &'static [u8],
}

/// A bound gRPC server (and metrics listener), not serving yet.
#[derive(Debug)]
pub struct Server {
    settings: ServerSettings,
    info: ServiceInfo,
    listener: TcpListener,
    local_addr: SocketAddr,
    metrics_listener: Option<TcpListener>,
    metrics_addr: Option<SocketAddr>,
    health_listener: Option<TcpListener>,
    health_addr: Option<SocketAddr>,
    tls: Option<ReloadableTls>,
    tls_reload: Duration,
    tls_failures: prometheus_client::metrics::counter::Counter,
    tokens: SharedTokens,
    auth: AuthSettings,
    health: HealthReporter,
    registry: Registry,
    grpc_metrics: GrpcMetrics,
    store: Option<(StoreWatch, Gauge)>,
    draining: tokio::sync::watch::Sender<bool>,
    ready: Option<tokio::sync::watch::Receiver<bool>>,
}

async fn bind(what: &'static str, address: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind {
            what,
            address,
            source,
        })
}

impl Server {
    /// Reads tokens and TLS files and binds the gRPC and metrics listeners.
    pub async fn bind(
        settings: &ServerSettings,
        auth: &AuthSettings,
        tls: &TlsSettings,
        info: ServiceInfo,
    ) -> Result<Self, StartError> {
        let tokens = Tokens::load(auth)?;
        if tokens.is_empty() {
            tracing::warn!(
                "no auth tokens configured: authentication is DISABLED, every caller may read and write"
            );
        } else {
            tracing::info!(tokens = tokens.len(), "bearer-token authentication enabled");
        }
        let tls_reload = Duration::from_secs(tls.reload_interval_seconds);
        let tls = ReloadableTls::load(tls).map_err(StartError::Tls)?;
        let listener = bind("gRPC", settings.listen_address).await?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            what: "gRPC",
            address: settings.listen_address,
            source,
        })?;
        let (metrics_listener, metrics_addr) = match settings.metrics_address {
            Some(address) => {
                let listener = bind("metrics", address).await?;
                let bound = listener.local_addr().map_err(|source| StartError::Bind {
                    what: "metrics",
                    address,
                    source,
                })?;
                (Some(listener), Some(bound))
            }
            None => (None, None),
        };
        let (health_listener, health_addr) = match settings.health_address {
            Some(address) => {
                let listener = bind("health", address).await?;
                let bound = listener.local_addr().map_err(|source| StartError::Bind {
                    what: "health",
                    address,
                    source,
                })?;
                (Some(listener), Some(bound))
            }
            None => (None, None),
        };
        let mut registry = Registry::default();
        registry.register(
            "autointel_build",
            "the version and git revision of this binary",
            prometheus_client::metrics::info::Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION")),
                ("revision", crate::GIT_REVISION),
            ]),
        );
        registry.register_collector(Box::new(crate::collectors::ProcessCollector::default()));
        let tls_failures = prometheus_client::metrics::counter::Counter::default();
        registry.register(
            "autointel_tls_handshake_failures",
            "TLS handshakes that failed or did not finish in time",
            tls_failures.clone(),
        );
        let grpc_metrics = GrpcMetrics::register(&mut registry);
        Ok(Self {
            settings: settings.clone(),
            info,
            listener,
            local_addr,
            metrics_listener,
            metrics_addr,
            health_listener,
            health_addr,
            tls,
            tls_reload,
            tls_failures,
            tokens: tokens.into(),
            auth: auth.clone(),
            health: HealthReporter::new(),
            registry,
            grpc_metrics,
            store: None,
            draining: tokio::sync::watch::Sender::new(false),
            ready: None,
        })
    }

    /// The gRPC address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The metrics address actually bound, if metrics are served.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The plaintext health-only address actually bound, if configured.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health_addr
    }

    /// Serves before the service is ready (it loads its data meanwhile): until `ready`
    /// turns true the service's health names report NOT_SERVING (readiness and the
    /// startup probe wait; liveness answers), and its requests wait up to
    /// [`READY_WAIT`] for it, then get UNAVAILABLE.
    pub fn ready_when(&mut self, ready: tokio::sync::watch::Receiver<bool>) {
        self.ready = Some(ready);
    }

    /// Turns true when shutdown begins (with health turning NOT_SERVING): long-lived
    /// streams end then, instead of holding the drain for the whole grace period.
    pub fn draining(&self) -> tokio::sync::watch::Receiver<bool> {
        self.draining.subscribe()
    }

    /// The health reporter, for statuses of dependencies.
    pub fn health(&self) -> HealthReporter {
        self.health.clone()
    }

    /// The metrics registry, to register a service's own metrics before serving.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Reports whether `store` takes writes, as the health service [`crate::STORE_HEALTH`]
    /// and the metric `autointel_store_writable`, while serving.
    pub fn watch_store(&mut self, store: StoreWatch) {
        let gauge = store.register(&mut self.registry);
        self.registry
            .register_collector(Box::new(crate::collectors::PoolCollector::new(
                store.pool.clone(),
            )));
        self.store = Some((store, gauge));
    }

    /// Serves `api` (with health, reflection and the gate layer) until `shutdown` completes.
    ///
    /// Shutdown: every name in `services` and the overall `""` turn NOT_SERVING, then after
    /// `drain_delay_ms` the listener stops accepting and in-flight requests get
    /// `shutdown_grace_seconds` to finish; whatever is left then is abandoned (the process
    /// exits, or in-process the connections are dropped when their tasks next yield).
    pub async fn serve(
        self,
        api: Routes,
        services: &[&'static str],
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let health = self.health.clone();
        let ready_now = self.ready.as_ref().is_none_or(|r| *r.borrow());
        for name in ["", LIVENESS] {
            health
                .set_service_status(name, ServingStatus::Serving)
                .await;
        }
        let status = if ready_now {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        for name in services.iter().copied() {
            health.set_service_status(name, status).await;
        }
        let ready_task = match (&self.ready, ready_now) {
            (Some(ready), false) => {
                let mut ready = ready.clone();
                let mut draining = self.draining.subscribe();
                let health = health.clone();
                let names: Vec<&'static str> = services.to_vec();
                Some(tokio::spawn(async move {
                    let became = async { ready.wait_for(|r| *r).await.map(|_| ()) }.await;
                    if became.is_ok() && !*draining.borrow_and_update() {
                        for name in names {
                            health
                                .set_service_status(name, ServingStatus::Serving)
                                .await;
                        }
                        tracing::info!("ready: the service's health is SERVING");
                    }
                }))
            }
            _ => None,
        };
        let (health_stop, health_stopped) = tokio::sync::watch::channel(false);
        let health_task = self.health_listener.map(|listener| {
            let mut stopped = health_stopped.clone();
            let service = HealthServer::new(HealthService::from_health_reporter(health.clone()));
            tokio::spawn(async move {
                let served = tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming_shutdown(
                        TcpIncoming::from(listener).with_nodelay(Some(true)),
                        async move {
                            let _ = stopped.wait_for(|stop| *stop).await;
                        },
                    )
                    .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "the health port stopped");
                }
            })
        });
        let tokens_task = self.tokens.reload_on_change(
            self.auth.clone(),
            Duration::from_secs(self.auth.reload_interval_seconds),
        );
        let store_tasks = self
            .store
            .map(|(store, gauge)| store.spawn(health.clone(), gauge));
        let metrics_task = self
            .metrics_listener
            .map(|listener| tokio::spawn(serve_metrics(listener, Arc::new(self.registry))));

        let settings = &self.settings;
        // The request time limit is the gate's (DEADLINE_EXCEEDED); tonic's own would
        // answer CANCELLED.
        let mut builder = tonic::transport::Server::builder()
            .max_concurrent_streams(settings.max_concurrent_streams)
            .http2_keepalive_interval(settings.keepalive_interval_seconds.map(Duration::from_secs))
            .http2_keepalive_timeout(Some(Duration::from_secs(
                settings.keepalive_timeout_seconds,
            )))
            .tcp_nodelay(true);
        if let Some(age) = settings.max_connection_age_seconds {
            builder = builder
                .max_connection_age(Duration::from_secs(age))
                .max_connection_age_grace(settings.shutdown_grace());
        }
        let tls_enabled = self.tls.is_some();
        let connections = Arc::new(Connections::default());
        let (reflection_v1, reflection_v1alpha) = if settings.reflection {
            (
                Some(reflection(self.info.descriptor_set, services).build_v1()?),
                Some(reflection(self.info.descriptor_set, services).build_v1alpha()?),
            )
        } else {
            (None, None)
        };
        let gate = GateLayer::new(
            self.tokens,
            settings.reflection_requires_auth,
            settings.max_concurrent_requests,
            self.grpc_metrics,
            self.info.error_domain,
            self.info.descriptor_set,
        )
        .with_request_timeout(settings.request_timeout())
        .with_message_idle_timeout(Duration::from_secs(settings.message_idle_timeout_seconds))
        .with_per_connection_limit(settings.per_connection_limit())
        .with_connections(connections.clone());
        let gate = match &self.ready {
            Some(ready) => gate.with_readiness(ready.clone(), READY_WAIT),
            None => gate,
        };
        let mut routes = api.add_service(HealthServer::new(HealthService::from_health_reporter(
            health.clone(),
        )));
        if let Some(r) = reflection_v1 {
            routes = routes.add_service(r);
        }
        if let Some(r) = reflection_v1alpha {
            routes = routes.add_service(r);
        }
        let grpc_web = settings
            .grpc_web
            .then(|| cors(&settings.cors_allowed_origins));

        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let drain_delay = settings.drain_delay();
        let grace = settings.shutdown_grace();
        let names: Vec<&'static str> = services.to_vec();
        let draining = self.draining;
        // TLS is terminated here (tonic serves the decrypted streams), so certificates
        // can be reloaded; otherwise the plain TCP listener goes to tonic directly.
        let idle_timeout = settings.idle_connection_timeout();
        let accepted = {
            let connections = connections.clone();
            move |stream: TcpStream| Coalescing::new(stream, &connections, idle_timeout)
        };
        let (incoming, accept_task, tls_task): (IncomingStream, _, _) = match self.tls {
            Some(tls) => {
                let reload = tls.reload_on_change(self.tls_reload);
                let (streams, accept) =
                    crate::tls::incoming(self.listener, tls, accepted, self.tls_failures);
                (
                    Box::pin(streams.map(|r| r.map(Served::from))),
                    Some(accept),
                    Some(reload),
                )
            }
            None => (
                Box::pin(
                    TcpIncoming::from(self.listener)
                        .with_nodelay(Some(true))
                        .map(move |stream| stream.map(|s| Served::Plain(accepted(s)))),
                ),
                None,
                None,
            ),
        };
        let stop_accepting = accept_task
            .as_ref()
            .map(tokio::task::JoinHandle::abort_handle);
        let signal = async move {
            shutdown.await;
            for name in names.iter().copied().chain([""]) {
                health
                    .set_service_status(name, ServingStatus::NotServing)
                    .await;
            }
            let _ = draining.send(true);
            tracing::info!(
                drain_delay_ms = drain_delay.as_millis() as u64,
                "shutting down: health is NOT_SERVING"
            );
            tokio::time::sleep(drain_delay).await;
            if let Some(accepting) = stop_accepting {
                accepting.abort();
            }
            tracing::info!(
                grace_seconds = grace.as_secs(),
                "no longer accepting; draining in-flight requests"
            );
            let _ = stopping_tx.send(());
        };
        tracing::info!(
            address = %self.local_addr,
            metrics = %self.metrics_addr.map_or_else(|| "off".to_owned(), |a| a.to_string()),
            health = %self.health_addr.map_or_else(|| "off".to_owned(), |a| a.to_string()),
            version = crate::version(),
            tls = tls_enabled,
            "serving"
        );
        // gRPC-Web, when on: CORS (a preflight is answered without a token), then the
        // grpc-web translation, then the gate, so tokens, roles and limits are the same.
        let serving: Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>> =
            match grpc_web {
                Some(cors) => Box::pin(
                    builder
                        .accept_http1(true)
                        .layer(cors)
                        .layer(tonic_web::GrpcWebLayer::new())
                        .layer(gate)
                        .add_routes(routes)
                        .serve_with_incoming_shutdown(incoming, signal),
                ),
                None => Box::pin(
                    builder
                        .layer(gate)
                        .add_routes(routes)
                        .serve_with_incoming_shutdown(incoming, signal),
                ),
            };
        tokio::pin!(serving);
        let result = tokio::select! {
            result = &mut serving => result,
            Ok(()) = stopping_rx => match tokio::time::timeout(grace, &mut serving).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(grace_seconds = grace.as_secs(), "shutdown grace expired; abandoning the requests still in flight");
                    Ok(())
                }
            },
        };
        if let Some(task) = metrics_task {
            task.abort();
        }
        let _ = health_stop.send(true);
        if let Some(task) = health_task {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        for task in store_tasks
            .into_iter()
            .flatten()
            .chain(tokens_task)
            .chain(accept_task)
            .chain(tls_task)
            .chain(ready_task)
        {
            task.abort();
        }
        tracing::info!("stopped");
        result.map_err(StartError::from)
    }
}

/// The CORS policy of gRPC-Web: only `origins` may call; preflights are answered (without
/// a token); scripts may read the gRPC status headers.
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
    let origins: Vec<http::HeaderValue> = origins
        .iter()
        .filter_map(|o| http::HeaderValue::from_str(o).ok())
        .collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::list(origins))
        .allow_methods([http::Method::POST, http::Method::OPTIONS])
        .allow_headers([
            AUTHORIZATION,
            CONTENT_TYPE,
            HeaderName::from_static("x-grpc-web"),
            HeaderName::from_static("x-user-agent"),
            HeaderName::from_static("grpc-timeout"),
            HeaderName::from_static("traceparent"),
        ])
        .expose_headers([
            HeaderName::from_static("grpc-status"),
            HeaderName::from_static("grpc-message"),
            HeaderName::from_static("grpc-status-details-bin"),
        ])
        .max_age(Duration::from_secs(600))
}

/// Reflection that lists exactly what this port serves: `services`, health and reflection
/// itself (the descriptor set holds every autointel service; the others are not listed).
fn reflection<'b>(
    descriptor_set: &'b [u8],
    services: &[&'static str],
) -> tonic_reflection::server::Builder<'b> {
    let mut builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(descriptor_set)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    for name in services.iter().copied().chain(SERVED_BY_EVERY_PORT) {
        builder = builder.with_service_name(name);
    }
    builder
}

/// How long a request waits for a service that is still loading before UNAVAILABLE.
pub const READY_WAIT: Duration = Duration::from_secs(2);

/// The `grpc.health.v1` service name for liveness: SERVING as long as the process and its
/// runtime answer, whatever the service's readiness (loading, draining, a store that
/// cannot write), so a liveness probe never restarts a pod that is merely not ready.
pub const LIVENESS: &str = "liveness";

/// The services every port serves besides its own.
pub const SERVED_BY_EVERY_PORT: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// What the gRPC listener hands tonic: a TCP connection, or one whose TLS handshake the
/// server completed.
type IncomingStream = Pin<Box<dyn tokio_stream::Stream<Item = io::Result<Served>> + Send>>;

/// A served connection, plain or TLS.
#[derive(Debug)]
enum Served {
    Plain(Coalescing),
    Tls(Box<tokio_rustls::server::TlsStream<Coalescing>>),
}

impl From<tokio_rustls::server::TlsStream<Coalescing>> for Served {
    fn from(stream: tokio_rustls::server::TlsStream<Coalescing>) -> Self {
        Self::Tls(Box::new(stream))
    }
}

impl AsyncRead for Served {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Served {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Connected for Served {
    type ConnectInfo = TcpConnectInfo;

    /// The peer's TCP address, TLS or not (the gate counts slots per connection by it).
    fn connect_info(&self) -> Self::ConnectInfo {
        match self {
            Self::Plain(s) => s.connect_info(),
            Self::Tls(s) => s.get_ref().0.connect_info(),
        }
    }
}

/// An accepted connection that does not offer vectored writes, and that reads as ended
/// once it has had no request open for the idle timeout (see `connections`).
///
/// Without vectored writes, HTTP/2 copies DATA frames under 1 KiB into its write buffer
/// (with vectored writes only those under 256 bytes), so the frames of many small answers
/// leave in one `write` instead of one `writev` each; larger payloads are still written
/// from their own buffers.
#[derive(Debug)]
struct Coalescing {
    stream: TcpStream,
    idle: Option<IdleWatch>,
}

impl Coalescing {
    /// Watches `stream` in `connections` when there is an idle timeout.
    fn new(stream: TcpStream, connections: &Arc<Connections>, idle: Option<Duration>) -> Self {
        let idle = idle
            .zip(stream.peer_addr().ok())
            .map(|(timeout, peer)| connections.accepted(peer, timeout));
        Self { stream, idle }
    }
}

impl AsyncRead for Coalescing {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Pending => {
                if this.idle.as_mut().is_some_and(|idle| idle.poll_expired(cx)) {
                    // nothing read: the connection ends as if the client had closed it
                    tracing::debug!(
                        "closing a connection idle past server.idle_connection_timeout_seconds"
                    );
                    return Poll::Ready(Ok(()));
                }
                Poll::Pending
            }
            ready => ready,
        }
    }
}

impl AsyncWrite for Coalescing {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Connected for Coalescing {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}
