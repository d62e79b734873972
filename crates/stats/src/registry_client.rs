//! The registry, as stats needs it: organisation existence (cached with a TTL), sources,
//! hierarchy links, events and targets.
//!
//! Every call has a deadline; only UNAVAILABLE is retried (3 attempts, 50 ms then 100 ms
//! apart), so a call fails within 3 × `timeout` + 150 ms at worst and within a few hundred
//! milliseconds when the registry refuses connections. A registry that cannot be reached is
//! [`StatsError::RegistryUnavailable`]. The channel connects lazily and reconnects by
//! itself, so stats starts without the registry and recovers when it returns.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use autointel_domain::{
    Date, HierarchyLink, MonthRange, OrganizationId, OwnershipHistory, RelationshipKind, Source,
    SourceId, Target, TargetId,
};
use autointel_proto::convert::types::{date_to_wire, month_range_to_wire};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::registry as wire;
use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use futures_util::future::join_all;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Response, Status};
use tracing::Instrument as _;

use crate::error::StatsError;
use crate::metrics::StatsMetrics;

mod listings;

/// Why a registry call got no answer, as the metrics tell them apart.
#[derive(Debug)]
enum Unreached {
    /// Past the deadline (ours, or the registry's DEADLINE_EXCEEDED).
    Timeout(String),
    /// Unreachable or refusing (UNAVAILABLE after the retries, CANCELLED).
    Unavailable(String),
}

/// Most organisations whose existence is cached.
const CACHE_CAPACITY: usize = 10_000;
/// Attempts per call when the registry is UNAVAILABLE.
const ATTEMPTS: u32 = 3;
/// Backoff before the second attempt; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Most events returned for one organisation.
const MAX_EVENTS: usize = 1_000;

/// Adds stats' own `authorization: Bearer …` to every registry call (when configured), and
/// the caller's trace context (`traceparent`) when spans are exported.
#[derive(Clone)]
pub struct RegistryToken(Option<MetadataValue<Ascii>>);

impl std::fmt::Debug for RegistryToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "RegistryToken(..)"
        } else {
            "RegistryToken(none)"
        })
    }
}

impl RegistryToken {
    /// The header for `token`; `None` sends no header.
    pub fn new(token: Option<&str>) -> Result<Self, StatsError> {
        match token.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(Self(None)),
            Some(token) => {
                let mut value: MetadataValue<Ascii> =
                    format!("Bearer {token}").parse().map_err(|_| {
                        StatsError::Internal(
                            "the registry token contains characters a header cannot carry"
                                .to_owned(),
                        )
                    })?;
                value.set_sensitive(true);
                Ok(Self(Some(value)))
            }
        }
    }
}

impl Interceptor for RegistryToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        autointel_server::telemetry::inject_context(request.metadata_mut());
        Ok(request)
    }
}

type Client = RegistryServiceClient<InterceptedService<Channel, RegistryToken>>;

/// Finds the addresses behind a host name and port (DNS by default: [`dns`]).
pub type Resolve = Arc<
    dyn Fn(String, u16) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send>>
        + Send
        + Sync,
>;

/// The host of an endpoint URI, as a resolver and a TLS domain name take it (an IPv6
/// address without its brackets).
pub fn uri_host(uri: &tonic::codegen::http::Uri) -> Option<String> {
    uri.host()
        .map(|host| host.trim_matches(['[', ']']).to_owned())
}

/// The system resolver (`getaddrinfo`, as every other client on the host).
pub fn dns() -> Resolve {
    Arc::new(|host, port| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect())
        })
    })
}

/// How calls spread over the registry's replicas.
#[derive(Clone)]
pub enum Balancing {
    /// One connection to whatever the endpoint's name resolves to when connecting (through a
    /// Kubernetes ClusterIP Service: one replica until the server closes the connection at
    /// its `max_connection_age`).
    Single,
    /// A connection to every address the endpoint's name resolves to, re-resolved every
    /// `refresh`; each call goes to the less loaded of two connections picked at random.
    /// Meant for a headless Service, whose name resolves to every ready replica.
    Dns {
        /// How often the name is resolved again.
        refresh: Duration,
        /// The resolver.
        resolve: Resolve,
    },
}

impl std::fmt::Debug for Balancing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Single => f.write_str("Single"),
            Self::Dns { refresh, .. } => f.debug_struct("Dns").field("refresh", refresh).finish(),
        }
    }
}

/// How to reach the registry.
#[derive(Clone, Debug)]
pub struct RegistryConnection {
    /// `http://host:port` or `https://host:port`.
    pub endpoint: String,
    /// Deadline of each call.
    pub timeout: Duration,
    /// How long a positive "organisation exists" answer is trusted.
    pub organization_ttl: Duration,
    /// TLS (for an `https://` endpoint), with the domain name to verify set: with
    /// [`Balancing::Dns`] each connection's URI holds an address, not the name.
    pub tls: Option<ClientTlsConfig>,
    /// The bearer token stats presents.
    pub token: RegistryToken,
    /// How calls spread over the registry's replicas.
    pub balancing: Balancing,
}

/// What every connection to the registry shares.
#[derive(Clone)]
struct EndpointTemplate {
    scheme: String,
    /// The endpoint's host name, resolved to addresses. (TLS checks certificates against
    /// it too: `tls` carries it as the domain name, since each connection's URI holds an
    /// address.)
    host: String,
    timeout: Duration,
    tls: Option<ClientTlsConfig>,
}

impl EndpointTemplate {
    fn endpoint(&self, url: &str) -> Result<Endpoint, StatsError> {
        let mut endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| StatsError::Internal(format!("invalid registry endpoint: {e}")))?
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .tcp_nodelay(true);
        if let Some(tls) = self.tls.clone() {
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| StatsError::Internal(format!("registry TLS: {e}")))?;
        }
        Ok(endpoint)
    }

    fn for_address(&self, address: SocketAddr) -> Result<Endpoint, StatsError> {
        self.endpoint(&format!("{}://{address}", self.scheme))
    }
}

/// A channel to the registry as `connection` says (lazy, or balanced over what its name
/// resolves to, with the task that keeps that current).
fn connect(connection: RegistryConnection) -> Result<Connected, StatsError> {
    let uri: tonic::codegen::http::Uri = connection
        .endpoint
        .parse()
        .map_err(|e| StatsError::Internal(format!("invalid registry endpoint: {e}")))?;
    let template = EndpointTemplate {
        scheme: uri.scheme_str().unwrap_or("http").to_owned(),
        host: uri_host(&uri).unwrap_or_default(),
        timeout: connection.timeout,
        tls: connection.tls,
    };
    let (channel, resolver) = match connection.balancing {
        Balancing::Single => (
            template.endpoint(&connection.endpoint)?.connect_lazy(),
            None,
        ),
        Balancing::Dns { refresh, resolve } => {
            let port = uri
                .port_u16()
                .unwrap_or(if template.scheme == "https" { 443 } else { 80 });
            // Validate the TLS configuration now rather than on the first address.
            template.endpoint(&connection.endpoint)?;
            let (channel, changes) = Channel::balance_channel(64);
            let task = tokio::spawn(keep_resolving(template, port, refresh, resolve, changes));
            (channel, Some(task))
        }
    };
    Ok(Connected {
        client: RegistryServiceClient::with_interceptor(channel.clone(), connection.token),
        channel,
        resolver,
    })
}

/// Keeps the balanced channel's connections equal to the addresses `host:port` resolves to,
/// resolving every `refresh`, until the channel is dropped. A failed or empty resolution
/// keeps the current connections (a DNS hiccup must not empty the pool).
async fn keep_resolving(
    template: EndpointTemplate,
    port: u16,
    refresh: Duration,
    resolve: Resolve,
    changes: tokio::sync::mpsc::Sender<Change<SocketAddr, Endpoint>>,
) {
    let mut current: BTreeSet<SocketAddr> = BTreeSet::new();
    let mut ticker = tokio::time::interval(refresh);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let resolved: BTreeSet<SocketAddr> = match resolve(template.host.clone(), port).await {
            Ok(addresses) if !addresses.is_empty() => addresses.into_iter().collect(),
            Ok(_) => {
                tracing::warn!(host = %template.host, "registry name resolves to no address; keeping the current connections");
                continue;
            }
            Err(e) => {
                tracing::warn!(host = %template.host, error = %e, "cannot resolve the registry name; keeping the current connections");
                continue;
            }
        };
        for gone in current.difference(&resolved) {
            if changes.send(Change::Remove(*gone)).await.is_err() {
                return;
            }
        }
        for new in resolved.difference(&current) {
            match template.for_address(*new) {
                Ok(endpoint) => {
                    if changes.send(Change::Insert(*new, endpoint)).await.is_err() {
                        return;
                    }
                }
                Err(e) => tracing::warn!(address = %new, error = %e, "cannot use registry address"),
            }
        }
        if resolved != current {
            tracing::info!(host = %template.host, addresses = resolved.len(), "registry addresses changed");
        }
        current = resolved;
    }
}

/// The channel in force and what keeps it (the resolver task of a balanced channel).
#[derive(Debug)]
struct Connected {
    client: Client,
    channel: Channel,
    resolver: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Connected {
    fn drop(&mut self) {
        if let Some(task) = &self.resolver {
            task.abort();
        }
    }
}

/// Whose events: an organisation's (it takes part) or a market's (they concern it).
#[derive(Clone, Copy, Debug)]
pub enum EventsOf<'a> {
    /// The events an organisation takes part in.
    Organization(&'a OrganizationId),
    /// The events concerning a market (tariffs, quotas, bans).
    Market(&'a autointel_domain::Market),
}

/// A client of the registry service.
#[derive(Debug)]
pub struct RegistryClient {
    connected: std::sync::RwLock<Arc<Connected>>,
    timeout: Duration,
    organization_ttl: Duration,
    known_organizations: Mutex<HashMap<OrganizationId, Instant>>,
    /// Every relationship, as read at the instant given, for rankings of groups.
    relationships: Mutex<Option<(Instant, Arc<OwnershipHistory>)>>,
    metrics: StatsMetrics,
}

impl RegistryClient {
    /// A client for `connection.endpoint` (e.g. `http://127.0.0.1:50051`); connects on first use.
    /// With [`Balancing::Dns`] it must be called inside the Tokio runtime (it starts the
    /// task that keeps the set of addresses current).
    pub fn new(connection: RegistryConnection, metrics: StatsMetrics) -> Result<Self, StatsError> {
        let timeout = connection.timeout;
        let organization_ttl = connection.organization_ttl;
        let connected = connect(connection)?;
        Ok(Self {
            connected: std::sync::RwLock::new(Arc::new(connected)),
            timeout,
            organization_ttl,
            known_organizations: Mutex::new(HashMap::new()),
            relationships: Mutex::new(None),
            metrics,
        })
    }

    /// The channel and client in force.
    fn connected(&self) -> Arc<Connected> {
        match self.connected.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts a new connection in force (renewed token or TLS files): calls already made
    /// finish on the old channel, new calls use the new one.
    pub fn reconnect(&self, connection: RegistryConnection) -> Result<(), StatsError> {
        let connected = Arc::new(connect(connection)?);
        match self.connected.write() {
            Ok(mut c) => *c = connected,
            Err(poisoned) => *poisoned.into_inner() = connected,
        }
        Ok(())
    }

    pub fn channel(&self) -> Channel {
        self.connected().channel.clone()
    }

    /// Deadline of each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// [`Self::attempt`], counting the call's outcome in `stats_registry_calls_total`.
    async fn call<T, F, Fut>(
        &self,
        method: &'static str,
        what: &str,
        f: F,
    ) -> Result<Result<T, Status>, StatsError>
    where
        F: FnMut(Client, Duration) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let result = match autointel_server::telemetry::client_span(
            "autointel.registry.v1.RegistryService",
            method,
        ) {
            Some(span) => self.attempt(what, f).instrument(span).await,
            None => self.attempt(what, f).await,
        };
        let outcome = match &result {
            Ok(Ok(_)) => "ok",
            Ok(Err(status)) if status.code() == Code::NotFound => "not_found",
            Ok(Err(_)) => "error",
            Err(Unreached::Timeout(_)) => "timeout",
            Err(Unreached::Unavailable(_)) => "unavailable",
        };
        self.metrics.registry_call(method, outcome);
        result.map_err(|unreached| match unreached {
            Unreached::Timeout(message) | Unreached::Unavailable(message) => {
                StatsError::RegistryUnavailable(message)
            }
        })
    }

    /// Calls the registry with a deadline, retrying UNAVAILABLE; `Ok(Err(status))` is an
    /// answer other than success (NOT_FOUND and the like).
    async fn attempt<T, F, Fut>(&self, what: &str, mut f: F) -> Result<Result<T, Status>, Unreached>
    where
        F: FnMut(Client, Duration) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let outcome = tokio::time::timeout(
                self.timeout,
                f(self.connected().client.clone(), self.timeout),
            )
            .await;
            let status = match outcome {
                Err(_) => {
                    return Err(Unreached::Timeout(format!(
                        "{what}: no answer within {} ms",
                        self.timeout.as_millis()
                    )));
                }
                Ok(Ok(response)) => return Ok(Ok(response.into_inner())),
                Ok(Err(status)) => status,
            };
            match status.code() {
                Code::Unavailable if attempt < ATTEMPTS => {
                    tracing::debug!(what, attempt, error = %status.message(), "registry unavailable; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                Code::DeadlineExceeded => {
                    return Err(Unreached::Timeout(format!("{what}: {}", status.message())));
                }
                Code::Unavailable | Code::Cancelled => {
                    return Err(Unreached::Unavailable(format!(
                        "{what}: {}",
                        status.message()
                    )));
                }
                _ => return Ok(Err(status)),
            }
        }
    }

    fn unexpected(what: &str, status: &Status) -> StatsError {
        StatsError::Registry(format!("{what}: {:?}: {}", status.code(), status.message()))
    }

    fn cached(&self, id: &OrganizationId) -> bool {
        let Ok(cache) = self.known_organizations.lock() else {
            return false;
        };
        cache
            .get(id)
            .is_some_and(|seen| seen.elapsed() < self.organization_ttl)
    }

    fn remember(&self, id: &OrganizationId) {
        let Ok(mut cache) = self.known_organizations.lock() else {
            return;
        };
        if cache.len() >= CACHE_CAPACITY {
            let ttl = self.organization_ttl;
            cache.retain(|_, seen| seen.elapsed() < ttl);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(id.clone(), Instant::now());
    }

    /// True when the registry knows the organisation (positive answers are cached for the
    /// TTL; unknown ones are asked again next time).
    pub async fn organization_exists(&self, id: &OrganizationId) -> Result<bool, StatsError> {
        if self.cached(id) {
            return Ok(true);
        }
        let name = id.resource_name();
        let what = format!("checking {name}");
        let answer = self
            .call("GetOrganization", &what, |mut c, timeout| {
                let mut request = Request::new(wire::GetOrganizationRequest { name: name.clone() });
                request.set_timeout(timeout);
                async move { c.get_organization(request).await }
            })
            .await?;
        match answer {
            Ok(_) => {
                self.remember(id);
                Ok(true)
            }
            Err(status) if status.code() == Code::NotFound => Ok(false),
            Err(status) => Err(Self::unexpected(&what, &status)),
        }
    }

    /// Of `ids`, those the registry does not know, in the order given: one
    /// `BatchGetOrganizations` call per 1,000 organisations not already known from the cache,
    /// however many figures cite them.
    pub async fn missing_organizations(
        &self,
        ids: &[OrganizationId],
    ) -> Result<Vec<OrganizationId>, StatsError> {
        const BATCH: usize = 1_000;
        let unknown: Vec<&OrganizationId> = ids.iter().filter(|id| !self.cached(id)).collect();
        let mut missing: std::collections::HashSet<String> = std::collections::HashSet::new();
        for chunk in unknown.chunks(BATCH) {
            let names: Vec<String> = chunk.iter().map(|id| id.resource_name()).collect();
            let what = format!("checking {} organisations", names.len());
            let answer = self
                .call("BatchGetOrganizations", &what, |mut c, timeout| {
                    let mut request = Request::new(wire::BatchGetOrganizationsRequest {
                        names: names.clone(),
                    });
                    request.set_timeout(timeout);
                    async move { c.batch_get_organizations(request).await }
                })
                .await?
                .map_err(|status| Self::unexpected(&what, &status))?;
            missing.extend(answer.missing_names);
            for id in chunk {
                if !missing.contains(&id.resource_name()) {
                    self.remember(id);
                }
            }
        }
        Ok(ids
            .iter()
            .filter(|id| missing.contains(&id.resource_name()))
            .cloned()
            .collect())
    }

    /// The registry's source, `None` when unknown.
    pub async fn source(&self, id: &SourceId) -> Result<Option<Source>, StatsError> {
        let name = id.resource_name();
        let what = format!("fetching {name}");
        let answer = self
            .call("GetSource", &what, |mut c, timeout| {
                let mut request = Request::new(wire::GetSourceRequest { name: name.clone() });
                request.set_timeout(timeout);
                async move { c.get_source(request).await }
            })
            .await?;
        match answer {
            Ok(source) => Source::try_from(&source)
                .map(Some)
                .map_err(|e| StatsError::Registry(format!("{what}: invalid source: {e}"))),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(Self::unexpected(&what, &status)),
        }
    }

    /// How long what stats learns from the registry is trusted (`registry.cache_ttl_ms`).
    pub fn cache_ttl(&self) -> Duration {
        self.organization_ttl
    }

    /// Every link below `root` valid on `date` (kind and stake included), including every
    /// parent of an organisation reached through several.
    pub async fn hierarchy_links(
        &self,
        root: &OrganizationId,
        date: Date,
    ) -> Result<Vec<HierarchyLink>, StatsError> {
        let name = root.resource_name();
        let what = format!("the hierarchy below {name}");
        let answer = self
            .call("ListDescendants", &what, |mut c, timeout| {
                let mut request = Request::new(wire::ListDescendantsRequest {
                    organization: name.clone(),
                    as_of_date: Some(date_to_wire(date)),
                    max_depth: 0,
                });
                request.set_timeout(timeout);
                async move { c.list_descendants(request).await }
            })
            .await?;
        let descendants = match answer {
            Ok(r) => r.descendants,
            Err(status) if status.code() == Code::NotFound => {
                return Err(StatsError::NotFound(name));
            }
            Err(status) => return Err(Self::unexpected(&what, &status)),
        };
        let mut members: Vec<String> = vec![name.clone()];
        members.extend(descendants.iter().map(|d| d.organization.clone()));
        // ListDescendants names one link per organisation; its direct parents give all.
        let parents = join_all(descendants.iter().map(|d| {
            let child = d.organization.clone();
            let what = format!("the parents of {child}");
            async move {
                let answer = self
                    .call("ListAncestors", &what, |mut c, timeout| {
                        let mut request = Request::new(wire::ListAncestorsRequest {
                            organization: child.clone(),
                            as_of_date: Some(date_to_wire(date)),
                            max_depth: 1,
                        });
                        request.set_timeout(timeout);
                        async move { c.list_ancestors(request).await }
                    })
                    .await?;
                match answer {
                    Ok(r) => Ok((child, r.ancestors)),
                    Err(status) => Err(Self::unexpected(&what, &status)),
                }
            }
        }))
        .await;
        let mut links = Vec::new();
        for result in parents {
            let (child, ancestors) = result?;
            let child_id = OrganizationId::from_resource_name(&child)
                .map_err(|e| StatsError::Registry(format!("invalid organisation {child}: {e}")))?;
            for a in ancestors.iter().filter(|a| a.depth <= 1) {
                if !members.contains(&a.organization) {
                    continue;
                }
                let parent = OrganizationId::from_resource_name(&a.organization).map_err(|e| {
                    StatsError::Registry(format!("invalid organisation {}: {e}", a.organization))
                })?;
                let relationship = a.relationship.as_ref();
                let kind = relationship
                    .and_then(|r| RelationshipKind::from_wire(r.kind).ok())
                    .ok_or_else(|| {
                        StatsError::Registry(format!(
                            "the link {} -> {child} has no valid kind",
                            a.organization
                        ))
                    })?;
                let stake_basis_points = relationship
                    .and_then(|r| r.stake_basis_points)
                    .and_then(|bp| u16::try_from(bp).ok())
                    .filter(|bp| (1..=10_000).contains(bp));
                links.push(HierarchyLink {
                    parent,
                    child: child_id.clone(),
                    kind,
                    stake_basis_points,
                    controls: relationship.is_some_and(|r| r.controls),
                });
            }
        }
        Ok(links)
    }

    /// The organisation's events whose timeline date falls within `period`, in timeline
    /// order (at most 1 000).
    pub async fn events(
        &self,
        of: EventsOf<'_>,
        period: MonthRange,
    ) -> Result<Vec<wire::Event>, StatsError> {
        let (participant, market) = match of {
            EventsOf::Organization(o) => (o.resource_name(), String::new()),
            EventsOf::Market(m) => (String::new(), m.as_str().to_owned()),
        };
        let what = format!("the events of {}{market}", participant);
        let mut events = Vec::new();
        let mut page_token = String::new();
        loop {
            let token = page_token.clone();
            let answer = self
                .call("ListEvents", &what, |mut c, timeout| {
                    let mut request = Request::new(wire::ListEventsRequest {
                        page_size: 1000,
                        page_token: token.clone(),
                        participant: participant.clone(),
                        market: market.clone(),
                        occurred_within: Some(month_range_to_wire(period)),
                        ..Default::default()
                    });
                    request.set_timeout(timeout);
                    async move { c.list_events(request).await }
                })
                .await?;
            let page = answer.map_err(|status| Self::unexpected(&what, &status))?;
            events.extend(page.events);
            if page.next_page_token.is_empty() || events.len() >= MAX_EVENTS {
                break;
            }
            page_token = page.next_page_token;
        }
        events.truncate(MAX_EVENTS);
        Ok(events)
    }

    /// The target as the registry holds it (wire and domain); NOT_FOUND when unknown.
    pub async fn target(&self, id: &TargetId) -> Result<(wire::Target, Target), StatsError> {
        let name = id.resource_name();
        let what = format!("fetching {name}");
        let answer = self
            .call("GetTarget", &what, |mut c, timeout| {
                let mut request = Request::new(wire::GetTargetRequest { name: name.clone() });
                request.set_timeout(timeout);
                async move { c.get_target(request).await }
            })
            .await?;
        match answer {
            Ok(target) => {
                let domain = Target::try_from(&target)
                    .map_err(|e| StatsError::Registry(format!("{what}: invalid target: {e}")))?;
                Ok((target, domain))
            }
            Err(status) if status.code() == Code::NotFound => Err(StatsError::NotFound(name)),
            Err(status) => Err(Self::unexpected(&what, &status)),
        }
    }
}
