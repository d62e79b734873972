//! The registry, as stats needs it: organisation existence (cached with a TTL), sources,
//! hierarchy links, events and targets.
//!
//! Every call has a deadline; only UNAVAILABLE is retried (3 attempts, 50 ms then 100 ms
//! apart), so a call fails within 3 × `timeout` + 150 ms at worst and within a few hundred
//! milliseconds when the registry refuses connections. A registry that cannot be reached is
//! [`StatsError::RegistryUnavailable`]. The channel connects lazily and reconnects by
//! itself, so stats starts without the registry and recovers when it returns.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use autointel_domain::{Date, MonthRange, OrganizationId, Source, SourceId, Target, TargetId};
use autointel_proto::convert::ResourceId;
use autointel_proto::convert::types::{date_to_wire, month_range_to_wire};
use autointel_proto::registry as wire;
use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use futures_util::future::join_all;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Response, Status};

use crate::error::StatsError;
use crate::metrics::StatsMetrics;

/// Most organisations whose existence is cached.
const CACHE_CAPACITY: usize = 10_000;
/// Attempts per call when the registry is UNAVAILABLE.
const ATTEMPTS: u32 = 3;
/// Backoff before the second attempt; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Most events returned for one organisation.
const MAX_EVENTS: usize = 1_000;

/// Adds stats' own `authorization: Bearer …` to every registry call (when configured).
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
        Ok(request)
    }
}

type Client = RegistryServiceClient<InterceptedService<Channel, RegistryToken>>;

/// How to reach the registry.
#[derive(Clone, Debug)]
pub struct RegistryConnection {
    /// `http://host:port` or `https://host:port`.
    pub endpoint: String,
    /// Deadline of each call.
    pub timeout: Duration,
    /// How long a positive "organisation exists" answer is trusted.
    pub organization_ttl: Duration,
    /// TLS (for an `https://` endpoint).
    pub tls: Option<ClientTlsConfig>,
    /// The bearer token stats presents.
    pub token: RegistryToken,
}

/// A client of the registry service.
#[derive(Debug)]
pub struct RegistryClient {
    client: Client,
    channel: Channel,
    timeout: Duration,
    organization_ttl: Duration,
    known_organizations: Mutex<HashMap<OrganizationId, Instant>>,
    metrics: StatsMetrics,
}

impl RegistryClient {
    /// A client for `connection.endpoint` (e.g. `http://127.0.0.1:50051`); connects on first use.
    pub fn new(connection: RegistryConnection, metrics: StatsMetrics) -> Result<Self, StatsError> {
        let timeout = connection.timeout;
        let mut endpoint = Endpoint::from_shared(connection.endpoint)
            .map_err(|e| StatsError::Internal(format!("invalid registry endpoint: {e}")))?
            .connect_timeout(timeout)
            .timeout(timeout)
            .tcp_nodelay(true);
        if let Some(tls) = connection.tls {
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| StatsError::Internal(format!("registry TLS: {e}")))?;
        }
        let channel = endpoint.connect_lazy();
        Ok(Self {
            client: RegistryServiceClient::with_interceptor(channel.clone(), connection.token),
            channel,
            timeout,
            organization_ttl: connection.organization_ttl,
            known_organizations: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// The channel to the registry (for health probes).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
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
        let result = self.attempt(what, f).await;
        let outcome = match &result {
            Ok(Ok(_)) => "ok",
            Ok(Err(status)) if status.code() == Code::NotFound => "not_found",
            Ok(Err(_)) => "error",
            Err(StatsError::RegistryUnavailable(message))
                if message.contains("no answer within") =>
            {
                "timeout"
            }
            Err(_) => "unavailable",
        };
        self.metrics.registry_call(method, outcome);
        result
    }

    /// Calls the registry with a deadline, retrying UNAVAILABLE; `Ok(Err(status))` is an
    /// answer other than success (NOT_FOUND and the like).
    async fn attempt<T, F, Fut>(
        &self,
        what: &str,
        mut f: F,
    ) -> Result<Result<T, Status>, StatsError>
    where
        F: FnMut(Client, Duration) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let outcome =
                tokio::time::timeout(self.timeout, f(self.client.clone(), self.timeout)).await;
            let status = match outcome {
                Err(_) => {
                    return Err(StatsError::RegistryUnavailable(format!(
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
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                    return Err(StatsError::RegistryUnavailable(format!(
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

    /// Every `(parent, child)` link below `root` valid on `date`, including every parent of
    /// an organisation reached through several.
    pub async fn hierarchy_links(
        &self,
        root: &OrganizationId,
        date: Date,
    ) -> Result<Vec<(OrganizationId, OrganizationId)>, StatsError> {
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
                links.push((parent, child_id.clone()));
            }
        }
        Ok(links)
    }

    /// The organisation's events whose timeline date falls within `period`, in timeline
    /// order (at most 1 000).
    pub async fn events(
        &self,
        organization: &OrganizationId,
        period: MonthRange,
    ) -> Result<Vec<wire::Event>, StatsError> {
        let name = organization.resource_name();
        let what = format!("the events of {name}");
        let mut events = Vec::new();
        let mut page_token = String::new();
        loop {
            let token = page_token.clone();
            let answer = self
                .call("ListEvents", &what, |mut c, timeout| {
                    let mut request = Request::new(wire::ListEventsRequest {
                        page_size: 1000,
                        page_token: token.clone(),
                        participant: name.clone(),
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
