//! The tower layer in front of every gRPC service: authentication and roles, the global
//! concurrency limit (load shedding), the request time limit (`DEADLINE_EXCEEDED`), and
//! request metrics.
//!
//! Health checks pass without a token and are never shed; reflection passes without a token
//! unless `reflection_requires_auth`. Refusals are gRPC statuses built in [`refusal`], the
//! one place the layer's errors become statuses.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use prost::Message as _;
use tokio::sync::Semaphore;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tracing::Instrument as _;

#[cfg(test)]
use crate::auth::Tokens;
use crate::auth::{Role, SharedTokens, bearer, required_role};
use crate::connections::Connections;
use crate::metrics::{GrpcMetrics, MethodMetrics};

const HEALTH: &str = "grpc.health.v1.Health";
/// When a client refused for load should come back.
pub const RETRY_OVERLOADED: Duration = Duration::from_millis(200);
const REFLECTION_PREFIX: &str = "grpc.reflection.";

/// Why the layer refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No bearer token, or one that is not configured.
    Unauthenticated,
    /// The caller's role may not call the method.
    PermissionDenied {
        /// The caller's role.
        role: Role,
        /// The method's name.
        method: String,
    },
    /// The server is at `max_concurrent_requests`.
    Overloaded {
        /// The limit.
        limit: usize,
    },
    /// The caller's connection is at `max_concurrent_requests_per_connection`.
    ConnectionOverloaded {
        /// The limit.
        limit: usize,
    },
}

/// The one place the layer's refusals become gRPC statuses (with `ErrorInfo`).
pub fn refusal(refusal: &Refusal, error_domain: &str) -> Status {
    let (code, reason, message) = match refusal {
        Refusal::Unauthenticated => (
            Code::Unauthenticated,
            "UNAUTHENTICATED",
            "a valid `authorization: Bearer <token>` header is required".to_owned(),
        ),
        Refusal::PermissionDenied { role, method } => (
            Code::PermissionDenied,
            "PERMISSION_DENIED",
            format!("the {role} role may not call {method}; it needs a writer token"),
        ),
        Refusal::Overloaded { limit } => (
            Code::ResourceExhausted,
            "OVERLOADED",
            format!(
                "the server is handling its limit of {limit} concurrent requests \
                 (server.max_concurrent_requests); retry with backoff"
            ),
        ),
        Refusal::ConnectionOverloaded { limit } => (
            Code::ResourceExhausted,
            "CONNECTION_OVERLOADED",
            format!(
                "this connection has its limit of {limit} requests in flight \
                 (server.max_concurrent_requests_per_connection); retry with backoff"
            ),
        ),
    };
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, error_domain, HashMap::<String, String>::new());
    if code == Code::ResourceExhausted {
        details.set_retry_info(Some(RETRY_OVERLOADED));
    }
    Status::with_error_details(code, message, details)
}

/// Every `/package.Service/Method` path in an encoded `FileDescriptorSet`.
pub fn method_paths(descriptor_set: &[u8]) -> Vec<String> {
    methods(descriptor_set)
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

/// Whether a method's request and its response are streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Streaming {
    /// The client sends a stream (an import).
    pub client: bool,
    /// The server answers with a stream (a watch).
    pub server: bool,
}

/// Every method path in an encoded `FileDescriptorSet`, with its streaming.
pub fn methods(descriptor_set: &[u8]) -> Vec<(String, Streaming)> {
    let Ok(set) = prost_types::FileDescriptorSet::decode(descriptor_set) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                let streaming = Streaming {
                    client: method.client_streaming(),
                    server: method.server_streaming(),
                };
                paths.push((path, streaming));
            }
        }
    }
    paths
}

#[derive(Debug)]
struct Shared {
    tokens: SharedTokens,
    reflection_requires_auth: bool,
    permits: Arc<Semaphore>,
    limit: usize,
    metrics: GrpcMetrics,
    error_domain: &'static str,
    /// Every known `/package.Service/Method` path with its metric handles.
    methods: HashMap<String, Arc<MethodMetrics>>,
    /// Any other path: `unknown`.
    unknown: Arc<MethodMetrics>,
    /// The server's own time limit for a request (until its response starts).
    request_timeout: Option<Duration>,
    /// Longest wait for the next message of a request stream (none: no limit).
    message_idle_timeout: Option<Duration>,
    /// Requests one connection may have in flight (none: only the global limit).
    per_connection: Option<usize>,
    /// Requests in flight per connection (by peer address).
    slots: std::sync::Mutex<HashMap<std::net::SocketAddr, usize>>,
    /// Every request open per connection, for closing idle connections.
    connections: Option<Arc<Connections>>,
    /// Methods whose client streams (imports): no server time limit, only the idle one.
    client_streaming: HashSet<String>,
    /// Methods whose server streams (watches): their slot ends with the handler, the
    /// stream is bounded by its own limits.
    server_streaming: HashSet<String>,
    /// While false (the service is loading), requests wait up to `ready_wait` for it, then
    /// get UNAVAILABLE; health and reflection pass.
    ready: Option<tokio::sync::watch::Receiver<bool>>,
    /// How long a request waits for a loading service.
    ready_wait: Duration,
}

/// Builds [`Gate`] services.
#[derive(Clone, Debug)]
pub struct GateLayer {
    shared: Arc<Shared>,
}

impl GateLayer {
    /// A layer checking `tokens` (none: no authentication), admitting `max_concurrent`
    /// requests at once and recording into `metrics`; `descriptor_set` names the methods
    /// whose names may appear as metric labels (others are `unknown`).
    pub fn new(
        tokens: impl Into<SharedTokens>,
        reflection_requires_auth: bool,
        max_concurrent: usize,
        metrics: GrpcMetrics,
        error_domain: &'static str,
        descriptor_set: &[u8],
    ) -> Self {
        let unary = Streaming {
            client: false,
            server: false,
        };
        let both = Streaming {
            client: true,
            server: true,
        };
        let mut known = methods(descriptor_set);
        known.push((format!("/{HEALTH}/Check"), unary));
        known.push((
            format!("/{HEALTH}/Watch"),
            Streaming {
                client: false,
                server: true,
            },
        ));
        for version in ["v1", "v1alpha"] {
            known.push((
                format!("/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"),
                both,
            ));
        }
        let paths_where = |pick: fn(&Streaming) -> bool| -> HashSet<String> {
            known
                .iter()
                .filter(|(_, streaming)| pick(streaming))
                .map(|(path, _)| path.clone())
                .collect()
        };
        let client_streaming = paths_where(|s| s.client);
        let server_streaming = paths_where(|s| s.server);
        let methods = known
            .into_iter()
            .map(|(path, _)| {
                let mut parts = path.trim_start_matches('/').splitn(2, '/');
                let service = parts.next().unwrap_or("unknown");
                let method = parts.next().unwrap_or("unknown");
                let handles = Arc::new(metrics.method(service, method));
                (path, handles)
            })
            .collect();
        let unknown = Arc::new(metrics.method("unknown", "unknown"));
        Self {
            shared: Arc::new(Shared {
                tokens: tokens.into(),
                reflection_requires_auth,
                permits: Arc::new(Semaphore::new(max_concurrent)),
                limit: max_concurrent,
                metrics,
                error_domain,
                methods,
                unknown,
                request_timeout: None,
                message_idle_timeout: None,
                per_connection: None,
                slots: std::sync::Mutex::new(HashMap::new()),
                connections: None,
                client_streaming,
                server_streaming,
                ready: None,
                ready_wait: Duration::ZERO,
            }),
        }
    }

    /// Holds requests while `ready` is false (the service is still loading): each waits up
    /// to `wait` for it, then gets `UNAVAILABLE` with `RetryInfo`, so clients go to a replica
    /// that is ready instead of reading an empty engine. Health and reflection pass.
    #[must_use]
    pub fn with_readiness(
        mut self,
        ready: tokio::sync::watch::Receiver<bool>,
        wait: Duration,
    ) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.ready = Some(ready);
            shared.ready_wait = wait;
        }
        self
    }

    /// Ends a request whose client stops sending: past `timeout` without the next
    /// message of its request stream, the call fails with `DEADLINE_EXCEEDED` and frees its
    /// slot (a total duration is never limited here, so a long import that keeps sending
    /// is not cut).
    #[must_use]
    pub fn with_message_idle_timeout(mut self, timeout: Duration) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.message_idle_timeout = Some(timeout);
        }
        self
    }

    /// Lets one connection hold at most `limit` of the concurrent-request slots, so a
    /// single client cannot take them all.
    #[must_use]
    pub fn with_per_connection_limit(mut self, limit: usize) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.per_connection = Some(limit.max(1));
        }
        self
    }

    /// Counts every request on its connection in `connections` until its response ends,
    /// so that the server can close connections idle past their timeout.
    #[must_use]
    pub fn with_connections(mut self, connections: Arc<Connections>) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.connections = Some(connections);
        }
        self
    }

    /// Limits each request to `timeout` (or the client's shorter `grpc-timeout`): past it
    /// the caller gets `DEADLINE_EXCEEDED`, recorded as such in the metrics.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.request_timeout = Some(timeout);
        }
        self
    }
}

/// One request's hold on its connection's slots; released on drop.
#[derive(Debug)]
struct ConnectionSlot {
    shared: Arc<Shared>,
    peer: std::net::SocketAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Ok(mut slots) = self.shared.slots.lock()
            && let Some(count) = slots.get_mut(&self.peer)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                slots.remove(&self.peer);
            }
        }
    }
}

impl Shared {
    /// Takes one of the peer's per-connection slots, if it has one left.
    fn connection_slot(
        self: &Arc<Self>,
        peer: Option<std::net::SocketAddr>,
    ) -> Result<Option<ConnectionSlot>, Refusal> {
        let (Some(limit), Some(peer)) = (self.per_connection, peer) else {
            return Ok(None);
        };
        let Ok(mut slots) = self.slots.lock() else {
            return Ok(None);
        };
        let count = slots.entry(peer).or_insert(0);
        if *count >= limit {
            return Err(Refusal::ConnectionOverloaded { limit });
        }
        *count += 1;
        Ok(Some(ConnectionSlot {
            shared: self.clone(),
            peer,
        }))
    }
}

/// True once `ready` turns true within `wait`.
async fn until_ready(ready: &mut tokio::sync::watch::Receiver<bool>, wait: Duration) -> bool {
    matches!(
        tokio::time::timeout(wait, async { ready.wait_for(|r| *r).await.map(|_| ()) }).await,
        Ok(Ok(()))
    )
}

/// The client's deadline from its `grpc-timeout` header (`<digits><H|M|S|m|u|n>`).
fn client_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

impl<S> tower_layer::Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gate {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`GateLayer`] wraps around the server's routes.
#[derive(Clone, Debug)]
pub struct Gate<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl Shared {
    /// Checks the token and role; `Ok(None)` when authentication is off or not needed.
    fn authorize(
        &self,
        headers: &http::HeaderMap,
        method: &str,
        exempt: bool,
    ) -> Result<Option<Role>, Refusal> {
        let tokens = self.tokens.current();
        if exempt || tokens.is_empty() {
            return Ok(None);
        }
        let role = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .and_then(|token| tokens.role_of(token))
            .ok_or(Refusal::Unauthenticated)?;
        let required = required_role(method);
        if role.allows(required) {
            Ok(Some(role))
        } else {
            Err(Refusal::PermissionDenied {
                role,
                method: method.to_owned(),
            })
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower_service::Service<http::Request<B>> for Gate<S>
where
    S: tower_service::Service<
            http::Request<IdleBody<B>>,
            Response = http::Response<tonic::body::Body>,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let shared = self.shared.clone();
        if let Some(ready) = &shared.ready
            && !*ready.borrow()
        {
            let path = request.uri().path();
            let metrics = shared.methods.get(path).unwrap_or(&shared.unknown).clone();
            if metrics.service != HEALTH && !metrics.service.starts_with(REFLECTION_PREFIX) {
                let mut ready = ready.clone();
                let mut gate = self.clone();
                let wait = shared.ready_wait;
                return Box::pin(async move {
                    if until_ready(&mut ready, wait).await {
                        return gate.call(request).await;
                    }
                    shared.metrics.started();
                    let mut recorder = Recorder {
                        shared: shared.clone(),
                        metrics,
                        start: Instant::now(),
                        deadline: None,
                        done: false,
                        span: None,
                    };
                    recorder.finish(Code::Unavailable);
                    let mut details = ErrorDetails::new();
                    details.set_error_info(
                        "LOADING",
                        shared.error_domain,
                        HashMap::<String, String>::new(),
                    );
                    details.set_retry_info(Some(Duration::from_secs(1)));
                    Ok(Status::with_error_details(
                        Code::Unavailable,
                        "the service is still loading its data; retry shortly or on another replica",
                        details,
                    )
                    .into_http())
                });
            }
        }
        let idle = shared.message_idle_timeout;
        let mut request = request.map(|body| IdleBody::new(body, idle));
        let path = request.uri().path();
        // A client stream (an import) has no total time limit of the server's, only the idle
        // one between its messages and the client's own deadline.
        let client_streaming = shared.client_streaming.contains(path);
        let server_streaming = shared.server_streaming.contains(path);
        let metrics = shared.methods.get(path).unwrap_or(&shared.unknown).clone();
        let health = metrics.service == HEALTH;
        let reflection = metrics.service.starts_with(REFLECTION_PREFIX);
        let exempt = health || (reflection && !shared.reflection_requires_auth);
        shared.metrics.started();
        let span =
            crate::telemetry::request_span(request.headers(), &metrics.service, &metrics.method);
        let start = Instant::now();
        let server_limit = shared.request_timeout.filter(|_| !client_streaming);
        let timeout = match (server_limit, client_timeout(request.headers())) {
            (Some(server), Some(client)) => Some(server.min(client)),
            (server, client) => server.or(client),
        };
        let mut recorder = Recorder {
            shared: shared.clone(),
            metrics,
            start,
            deadline: timeout.map(|t| start + t),
            done: false,
            span: span.clone(),
        };
        let peer = request
            .extensions()
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr());
        let open = shared
            .connections
            .as_ref()
            .and_then(|connections| connections.open_request(peer));
        let admitted = shared
            .authorize(request.headers(), path, exempt)
            .and_then(|role| {
                // health is never shed: probes must see a busy server as alive
                if health {
                    return Ok((role, None));
                }
                let slot = shared.connection_slot(peer)?;
                let permit = shared.permits.clone().try_acquire_owned().map_err(|_| {
                    Refusal::Overloaded {
                        limit: shared.limit,
                    }
                })?;
                Ok((role, Some((permit, slot))))
            });
        let (role, permit) = match admitted {
            Ok(admitted) => admitted,
            Err(why) => {
                let status = refusal(&why, shared.error_domain);
                let peer = peer.map(|p| p.ip().to_string()).unwrap_or_default();
                match why {
                    Refusal::Unauthenticated | Refusal::PermissionDenied { .. } => {
                        tracing::warn!(
                            method = %recorder.metrics.method,
                            peer = %peer,
                            code = code_name(status.code() as i32),
                            "authentication failed: request refused"
                        );
                    }
                    _ => tracing::debug!(
                        method = %recorder.metrics.method,
                        peer = %peer,
                        code = code_name(status.code() as i32),
                        "request refused"
                    ),
                }
                recorder.finish(status.code());
                return Box::pin(std::future::ready(Ok(status.into_http())));
            }
        };
        if let Some(role) = role {
            request.extensions_mut().insert(role);
        }
        // Swap in a fresh clone: the one polled ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let server_timeout = shared.request_timeout;
        let handled = async move {
            let response = match timeout {
                Some(limit) => match tokio::time::timeout(limit, inner.call(request)).await {
                    Ok(response) => response,
                    Err(_) => {
                        drop(permit);
                        recorder.finish(Code::DeadlineExceeded);
                        let whose = if server_timeout == Some(limit) {
                            "the server's request time limit"
                        } else {
                            "the client's deadline"
                        };
                        let status = Status::deadline_exceeded(format!(
                            "the request did not finish within {whose} of {limit:?}"
                        ));
                        return Ok(status.into_http());
                    }
                },
                None => inner.call(request).await,
            };
            // A unary answer keeps its slot until it has been handed to HTTP/2, so the
            // memory of answers a client does not read is bounded by the slots; a stream
            // (a watch) is bounded by its own limits.
            let held = if server_streaming {
                drop(permit);
                None
            } else {
                permit
            };
            let response = response?;
            // A trailers-only response (an error) carries its status in the headers.
            if let Some(code) = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())
            {
                recorder.finish(Code::from_i32(code));
                return Ok(response);
            }
            Ok(response.map(|body| {
                tonic::body::Body::new(Metered {
                    inner: body,
                    recorder,
                    rest: None,
                    held,
                    _open: open,
                })
            }))
        };
        match span {
            Some(span) => Box::pin(handled.instrument(span)),
            None => Box::pin(handled),
        }
    }
}

/// Records one request's outcome exactly once; a request dropped unfinished counts as
/// DEADLINE_EXCEEDED past its deadline, else CANCELLED (the client went away).
#[derive(Debug)]
struct Recorder {
    shared: Arc<Shared>,
    metrics: Arc<MethodMetrics>,
    start: Instant,
    deadline: Option<Instant>,
    done: bool,
    /// The request's span when spans are exported; it ends when the recorder is dropped.
    span: Option<tracing::Span>,
}

impl Recorder {
    fn finish(&mut self, code: Code) {
        if self.done {
            return;
        }
        self.done = true;
        self.shared.metrics.finished(
            &self.metrics,
            code_name(code as i32),
            self.start.elapsed().as_secs_f64(),
        );
        if let Some(span) = &self.span {
            crate::telemetry::record_status(span, code);
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let code = match self.deadline {
            Some(deadline) if Instant::now() >= deadline => Code::DeadlineExceeded,
            _ => Code::Cancelled,
        };
        self.finish(code);
    }
}

/// The canonical name of a gRPC status code (`OK`, `PERMISSION_DENIED`, …).
pub fn code_name(code: i32) -> &'static str {
    match Code::from_i32(code) {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

mod bodies;
#[cfg(test)]
mod tests;

pub use bodies::IdleBody;
use bodies::Metered;
