//! The `StatsService` gRPC adapter. Each handler converts its request once into domain
//! values (proto's `TryFrom` into a `domain::query` value, every violation with its path),
//! calls the engine (and the registry or store where it must), and converts the answer once
//! (`answers`); errors become statuses only in `error.rs`. The trait impl below only
//! dispatches.
//!
//! `state` is what requests and the refresh task share (engine, store, registry, the cache
//! of cited figures' wire forms), `import` the import path, `queries` the computations,
//! `figures` reading figures and revision chains, `vintages` releases, vintage diffs and
//! measures side by side, `watch` the release stream, `paging` page sizes and tokens,
//! `answers` every answer → wire conversion; `flight` the Arrow Flight service over the same state.

mod answers;
mod figures;
mod flight;
mod import;
mod paging;
mod queries;
mod state;
mod vintages;
mod watch;

use std::sync::Arc;

use autointel_domain::{ValidationError, Violations};
use autointel_proto::stats as wire;
use autointel_proto::stats::stats_service_server::StatsService;
use tonic::{Request, Response, Status, Streaming};

use autointel_server::fanout::Fanout;

use crate::error::StatsError;

pub use flight::{StatsFlight, figure_batch, figure_schema};
pub use paging::{decode_token, encode_token};
pub use state::{State, WireFigures};
pub use watch::FigureFeed;

/// The gRPC service.
#[derive(Clone, Debug)]
pub struct StatsApi {
    state: Arc<State>,
    watch: Arc<Fanout<FigureFeed>>,
}

impl StatsApi {
    /// A service over shared state, its release watches fed by `watch`.
    pub fn new(state: Arc<State>, watch: Arc<Fanout<FigureFeed>>) -> Self {
        Self { state, watch }
    }
}

/// Converts a request into its domain query, or every violation.
fn query<'a, R, Q>(request: &'a R) -> Result<Q, StatsError>
where
    Q: TryFrom<&'a R, Error = ValidationError>,
{
    Q::try_from(request).map_err(StatsError::InvalidArgument)
}

/// Every violation collected, as one error.
fn finish(v: Violations) -> Result<(), StatsError> {
    v.finish().map_err(StatsError::InvalidArgument)
}

/// Unwraps a value whose absence was recorded as a violation.
fn present<T>(value: Option<T>) -> Result<T, StatsError> {
    value.ok_or_else(|| StatsError::Internal("a rejected field was not reported".to_owned()))
}

/// FNV-1a (128-bit) of a byte string: a stable content digest without another dependency
/// (imports' idempotency, page tokens' fingerprints).
fn digest(bytes: &[u8]) -> String {
    let mut d = Digest::new();
    d.update(bytes);
    d.finish()
}

/// [`digest`] of bytes that arrive in pieces: the digest of their concatenation.
struct Digest(u128);

impl Digest {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

    fn new() -> Self {
        Self(Self::OFFSET)
    }

    fn update(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |h, &b| {
            (h ^ u128::from(b)).wrapping_mul(Self::PRIME)
        });
    }

    fn finish(&self) -> String {
        format!("{:032x}", self.0)
    }
}

/// What a tonic handler answers.
type Reply<T> = Result<Response<T>, Status>;

/// A handler's result as tonic answers it: the one mapping of errors to statuses.
fn respond<T>(result: Result<T, StatsError>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl StatsService for StatsApi {
    async fn import_sales_figures(
        &self,
        request: Request<Streaming<wire::ImportSalesFiguresRequest>>,
    ) -> Reply<wire::ImportSalesFiguresResponse> {
        respond(import::import(&self.state, request.into_inner()).await)
    }

    async fn get_sales_figure(
        &self,
        request: Request<wire::GetSalesFigureRequest>,
    ) -> Reply<wire::SalesFigure> {
        respond(figures::get(&self.state, request.get_ref()))
    }

    async fn list_sales_figures(
        &self,
        request: Request<wire::ListSalesFiguresRequest>,
    ) -> Reply<wire::ListSalesFiguresResponse> {
        respond(figures::list(&self.state, request.get_ref()).await)
    }

    async fn get_revision_history(
        &self,
        request: Request<wire::GetRevisionHistoryRequest>,
    ) -> Reply<wire::GetRevisionHistoryResponse> {
        respond(figures::revision_history(&self.state, request.get_ref()))
    }

    async fn compute_total(
        &self,
        request: Request<wire::ComputeTotalRequest>,
    ) -> Reply<wire::ComputeTotalResponse> {
        respond(queries::total(&self.state, request.get_ref()))
    }

    async fn compute_change(
        &self,
        request: Request<wire::ComputeChangeRequest>,
    ) -> Reply<wire::ComputeChangeResponse> {
        respond(queries::change(&self.state, request.get_ref()))
    }

    async fn compute_series(
        &self,
        request: Request<wire::ComputeSeriesRequest>,
    ) -> Reply<wire::ComputeSeriesResponse> {
        respond(queries::series(&self.state, request.get_ref()).await)
    }

    async fn compute_ranking(
        &self,
        request: Request<wire::ComputeRankingRequest>,
    ) -> Reply<wire::ComputeRankingResponse> {
        respond(queries::ranking(&self.state, request.get_ref()).await)
    }

    async fn compute_share(
        &self,
        request: Request<wire::ComputeShareRequest>,
    ) -> Reply<wire::ComputeShareResponse> {
        respond(queries::share(&self.state, request.get_ref()))
    }

    async fn compute_breakdown(
        &self,
        request: Request<wire::ComputeBreakdownRequest>,
    ) -> Reply<wire::ComputeBreakdownResponse> {
        respond(queries::breakdown(&self.state, request.get_ref()))
    }

    async fn compute_destinations(
        &self,
        request: Request<wire::ComputeDestinationsRequest>,
    ) -> Reply<wire::ComputeDestinationsResponse> {
        respond(queries::destinations(&self.state, request.get_ref()))
    }

    async fn compute_rollup(
        &self,
        request: Request<wire::ComputeRollupRequest>,
    ) -> Reply<wire::ComputeRollupResponse> {
        respond(queries::rollup(&self.state, request.get_ref()).await)
    }

    async fn compute_target_progress(
        &self,
        request: Request<wire::ComputeTargetProgressRequest>,
    ) -> Reply<wire::ComputeTargetProgressResponse> {
        respond(queries::target_progress(&self.state, request.get_ref()).await)
    }

    async fn compute_forecast_accuracy(
        &self,
        request: Request<wire::ComputeForecastAccuracyRequest>,
    ) -> Reply<wire::ComputeForecastAccuracyResponse> {
        respond(queries::forecast_accuracy(&self.state, request.get_ref()))
    }

    async fn list_releases(
        &self,
        request: Request<wire::ListReleasesRequest>,
    ) -> Reply<wire::ListReleasesResponse> {
        respond(vintages::list_releases(&self.state, request.get_ref()))
    }

    async fn diff_vintages(
        &self,
        request: Request<wire::DiffVintagesRequest>,
    ) -> Reply<wire::DiffVintagesResponse> {
        respond(vintages::diff(&self.state, request.get_ref()))
    }

    type WatchReleasesStream = watch::ReleaseStream;

    async fn watch_releases(
        &self,
        request: Request<wire::WatchReleasesRequest>,
    ) -> Reply<Self::WatchReleasesStream> {
        watch::watch(self.state.clone(), &self.watch, request.get_ref())
            .await
            .map(Response::new)
    }

    async fn compute_measures(
        &self,
        request: Request<wire::ComputeMeasuresRequest>,
    ) -> Reply<wire::ComputeMeasuresResponse> {
        respond(vintages::measures(&self.state, request.get_ref()))
    }
}
