//! Connections to the two services, with the bearer token on every call.

use std::time::Duration;

use arrow_flight::flight_service_client::FlightServiceClient;
use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use crate::failure::{ExitCode, Failure};

/// Adds `authorization: Bearer <token>` to every request when a token is set.
#[derive(Clone, Debug)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl BearerToken {
    /// Builds the header value; a token with characters a header cannot carry is invalid input.
    pub fn new(token: Option<&str>) -> Result<Self, Failure> {
        match token.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(Self(None)),
            Some(token) => format!("Bearer {token}")
                .parse()
                .map(|v| Self(Some(v)))
                .map_err(|_| {
                    Failure::invalid("error: the token contains characters not allowed in a header")
                }),
        }
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A client of the registry service.
pub type Registry = RegistryServiceClient<InterceptedService<Channel, BearerToken>>;
/// A client of the stats service.
pub type Stats = StatsServiceClient<InterceptedService<Channel, BearerToken>>;

/// stats' Arrow Flight service (on the stats endpoint), with the token on every request.
pub type Flight = FlightServiceClient<InterceptedService<Channel, BearerToken>>;

async fn channel(url: &str, what: &str) -> Result<Channel, Failure> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| Failure::invalid(format!("error: {what} endpoint {url:?} is not a URL: {e}")))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(120));
    endpoint.connect().await.map_err(|e| Failure {
        code: ExitCode::Unavailable,
        message: format!(
            "error: cannot reach the {what} service at {url}: {e}\n  (is `autointel up` running, or are --{what}/--endpoint right?)"
        ),
    })
}

/// Connects to the registry service.
pub async fn registry(url: &str, token: &BearerToken) -> Result<Registry, Failure> {
    let channel = channel(url, "registry").await?;
    Ok(RegistryServiceClient::with_interceptor(
        channel,
        token.clone(),
    ))
}

/// Connects to stats' Arrow Flight service.
pub async fn flight(url: &str, token: &BearerToken) -> Result<Flight, Failure> {
    let channel = channel(url, "stats").await?;
    Ok(
        FlightServiceClient::with_interceptor(channel, token.clone())
            .max_decoding_message_size(64 * 1024 * 1024),
    )
}

/// Connects to the stats service.
pub async fn stats(url: &str, token: &BearerToken) -> Result<Stats, Failure> {
    let channel = channel(url, "stats").await?;
    Ok(StatsServiceClient::with_interceptor(channel, token.clone())
        .max_decoding_message_size(64 * 1024 * 1024))
}
