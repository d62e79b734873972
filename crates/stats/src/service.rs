//! The `StatsService` gRPC implementation: wire → domain at the edge, the engine in the
//! middle, domain → wire on the way out. Errors become statuses only in `error.rs`.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use autointel_domain::{
    Date, Dimension, Flow, Market, MeasureBasis, OrganizationId, Powertrain, SalesFigure,
    SalesFigureId, Source, SourceId, TargetId, Units, VehicleScope, Violations,
};
use autointel_proto::convert::stats::{sales_figure_from_wire, sales_figure_to_wire};
use autointel_proto::convert::types::{
    change_to_wire, date_from_wire, month_range_from_wire, month_range_to_wire,
    percent_decimals_from_wire, ratio_to_wire, series_key_from_wire, series_key_to_wire,
};
use autointel_proto::convert::{
    ResourceId, WireEnum, optional_message, optional_resource_name, required,
};
use autointel_proto::registry as rwire;
use autointel_proto::stats as wire;
use autointel_proto::stats::stats_service_server::StatsService;
use autointel_proto::types as twire;
use base64::Engine as _;
use futures_util::StreamExt;
use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use crate::engine::{
    BreakdownFilter, Engine, FastMap, FigureRef, Granularity, ListFilter, ListKey, ProgressStatus,
    Total, figure_id,
};
use crate::error::{Precondition, StatsError};
use crate::registry_client::RegistryClient;
use crate::store::{ImportOutcome, ImportRecord, Store};

/// Default and largest page sizes of `ListSalesFigures`.
const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;
/// Default page size of `GetRevisionHistory` (its largest is [`MAX_PAGE_SIZE`]).
const DEFAULT_HISTORY_PAGE_SIZE: usize = 100;

/// What the service shares between requests and the refresh task.
#[derive(Debug)]
pub struct State {
    /// The in-memory engine.
    pub engine: RwLock<Engine>,
    /// The database.
    pub store: Store,
    /// The registry.
    pub registry: RegistryClient,
    /// Serialises imports in this process (revision links are computed from the engine).
    pub import_lock: tokio::sync::Mutex<()>,
    /// The service's own metrics.
    pub metrics: crate::metrics::StatsMetrics,
    /// Wire forms of the figures answers cite.
    pub wire_figures: WireFigures,
}

/// Most figures [`WireFigures`] keeps (a few hundred bytes each); it starts over when full.
const WIRE_FIGURES_MAX: usize = 1 << 16;

/// The wire forms of cited figures, built on first use. A figure never changes once
/// imported except for its place in its revision chain (`supersedes`, `superseded_by`),
/// which only an insert can change: each kept form records the engine's size when it was
/// built, and its chain links are looked up again once the engine has grown.
#[derive(Debug, Default)]
pub struct WireFigures {
    map: RwLock<FastMap<FigureRef, Arc<WireFigure>>>,
}

#[derive(Debug)]
struct WireFigure {
    /// [`Engine::len`] when `figure` was built.
    engine_len: usize,
    figure: wire::SalesFigure,
}

impl WireFigures {
    /// The wire form of a figure, as [`figure_to_wire`] makes it.
    fn get(&self, engine: &Engine, f: FigureRef) -> Result<wire::SalesFigure, StatsError> {
        let engine_len = engine.len();
        let cached = self.map.read().ok().and_then(|map| map.get(&f).cloned());
        let w = match cached {
            Some(kept) if kept.engine_len == engine_len => return Ok(kept.figure.clone()),
            Some(kept) => {
                let mut w = kept.figure.clone();
                let (previous, next) = engine.neighbours(f);
                w.supersedes =
                    optional_resource_name(previous.and_then(|p| engine.figure_id(p)).as_ref());
                w.superseded_by =
                    optional_resource_name(next.and_then(|n| engine.figure_id(n)).as_ref());
                w
            }
            None => figure_to_wire(engine, f)?,
        };
        if let Ok(mut map) = self.map.write() {
            if map.len() >= WIRE_FIGURES_MAX {
                map.clear();
            }
            let kept = WireFigure {
                engine_len,
                figure: w.clone(),
            };
            map.insert(f, Arc::new(kept));
        }
        Ok(w)
    }
}

impl State {
    /// Read access to the engine.
    pub fn read(&self) -> Result<RwLockReadGuard<'_, Engine>, StatsError> {
        self.engine
            .read()
            .map_err(|_| StatsError::Internal("engine lock poisoned".to_owned()))
    }

    /// Write access to the engine.
    pub fn write(&self) -> Result<RwLockWriteGuard<'_, Engine>, StatsError> {
        self.engine
            .write()
            .map_err(|_| StatsError::Internal("engine lock poisoned".to_owned()))
    }

    /// Applies every database figure after the engine's last sequence number (and the
    /// sources they cite); returns how many were new.
    pub async fn refresh(&self) -> Result<usize, StatsError> {
        const BATCH: i64 = 10_000;
        let mut applied = 0;
        loop {
            let after = self.read()?.last_seq();
            let batch = self.store.figures_after(after, BATCH).await?;
            if batch.is_empty() {
                return Ok(applied);
            }
            let mut missing_sources = BTreeSet::new();
            {
                let engine = self.read()?;
                for stored in &batch {
                    let source = &stored.figure.provenance.source;
                    if engine.source(source).is_none() {
                        missing_sources.insert(source.clone());
                    }
                }
            }
            let mut sources = Vec::new();
            for id in missing_sources {
                if let Some(source) = self.store.source(&id).await? {
                    sources.push(source);
                }
            }
            let full = batch.len() == usize::try_from(BATCH).unwrap_or(usize::MAX);
            let mut engine = self.write()?;
            for source in sources {
                engine.put_source(source);
            }
            // one merge per series for the whole batch (a long chain delivered newest first
            // is not quadratic); figures already applied (this replica's imports) are skipped
            applied += engine
                .insert_all(
                    batch
                        .iter()
                        .map(|stored| (&stored.figure, stored.create_time_micros)),
                )
                .map_err(|e| StatsError::Internal(e.to_string()))?;
            if let Some(last) = batch.last() {
                engine.set_last_seq(last.seq);
            }
            if !full {
                return Ok(applied);
            }
        }
    }
}

/// The gRPC service.
#[derive(Clone, Debug)]
pub struct StatsApi {
    state: Arc<State>,
}

impl StatsApi {
    /// A service over shared state.
    pub fn new(state: Arc<State>) -> Self {
        Self { state }
    }
}

// ---------------------------------------------------------------------------------------
// Wire → domain helpers.

fn decimals(v: &mut Violations, field: &str, value: Option<i32>) -> Option<u32> {
    v.check(field, percent_decimals_from_wire(value))
}

fn granularity(v: &mut Violations, field: &str, value: i32) -> Option<Granularity> {
    match wire::Granularity::try_from(value) {
        Ok(wire::Granularity::Month) => Some(Granularity::Month),
        Ok(wire::Granularity::Quarter) => Some(Granularity::Quarter),
        Ok(wire::Granularity::Year) => Some(Granularity::Year),
        Ok(wire::Granularity::Unspecified) => {
            v.push(field, "must be specified");
            None
        }
        Err(_) => {
            v.push(field, format!("unknown value {value}"));
            None
        }
    }
}

fn finish(v: Violations) -> Result<(), StatsError> {
    v.finish().map_err(StatsError::InvalidArgument)
}

/// Unwraps values whose absence was recorded as a violation.
fn present<T>(value: Option<T>) -> Result<T, StatsError> {
    value.ok_or_else(|| StatsError::Internal("a rejected field was not reported".to_owned()))
}

// ---------------------------------------------------------------------------------------
// Domain → wire helpers.

fn to_i64(units: u64) -> i64 {
    i64::try_from(units).unwrap_or(i64::MAX)
}

fn total_to_wire(t: &Total) -> wire::Total {
    wire::Total {
        period: Some(month_range_to_wire(t.period)),
        units: t.units.map(to_i64),
        coverage: Some(wire::Coverage {
            complete: t.coverage.complete,
            covered: t
                .coverage
                .covered
                .iter()
                .copied()
                .map(month_range_to_wire)
                .collect(),
            uncovered: t
                .coverage
                .uncovered
                .iter()
                .copied()
                .map(month_range_to_wire)
                .collect(),
        }),
    }
}

fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    }
}

fn figure_to_wire(engine: &Engine, f: FigureRef) -> Result<wire::SalesFigure, StatsError> {
    let figure = engine
        .figure(f)
        .ok_or_else(|| StatsError::Internal("figure missing from the engine".to_owned()))?;
    let superseded_by = engine.superseded_by(f).and_then(|s| engine.figure_id(s));
    let mut w = sales_figure_to_wire(&figure, superseded_by.as_ref());
    w.create_time = Some(timestamp(engine.create_time_micros(f)));
    Ok(w)
}

fn provenance(
    cache: &WireFigures,
    engine: &Engine,
    figures: &[FigureRef],
) -> Result<wire::Provenance, StatsError> {
    let wire_figures = figures
        .iter()
        .map(|&f| cache.get(engine, f))
        .collect::<Result<Vec<_>, _>>()?;
    let sources = engine
        .sources_of(figures)
        .into_iter()
        .map(|c| match &c.details {
            Some(details) => rwire::Source::from(details),
            None => rwire::Source {
                name: c.id.resource_name(),
                ..Default::default()
            },
        })
        .collect();
    Ok(wire::Provenance {
        figures: wire_figures,
        sources,
    })
}

fn change_wire(change: Option<&autointel_domain::Change>, decimals: u32) -> Option<twire::Change> {
    change.and_then(|c| change_to_wire(c, decimals))
}

// ---------------------------------------------------------------------------------------
// Import.

/// FNV-1a (128-bit) of a byte string: a stable content digest without another dependency.
fn digest(bytes: &[u8]) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let hash = bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u128::from(b)).wrapping_mul(PRIME));
    format!("{hash:032x}")
}

fn import_digest(figures: &[wire::SalesFigure]) -> String {
    let mut bytes = Vec::new();
    for f in figures {
        let mut f = f.clone();
        // Output-only fields do not make a different import.
        f.name.clear();
        f.supersedes.clear();
        f.superseded_by.clear();
        f.create_time = None;
        let encoded = f.encode_to_vec();
        bytes.extend_from_slice(&(encoded.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&encoded);
    }
    digest(&bytes)
}

fn import_response(record: &ImportRecord) -> wire::ImportSalesFiguresResponse {
    wire::ImportSalesFiguresResponse {
        imported_count: record.imported_count,
        revision_count: record.revision_count,
    }
}

/// Runs import work that grows with the import (decoding, digests, revision links, engine
/// inserts) on the blocking pool, so the async workers keep serving health and every other
/// request meanwhile.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StatsError> + Send + 'static,
) -> Result<T, StatsError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StatsError::Internal(format!("import work failed: {e}")))?
}

/// An import's figures as domain values (placeholder ids), its content digest and the
/// organisations and sources it cites, each once with the first figure citing it.
struct DecodedImport {
    figures: Vec<SalesFigure>,
    digest: String,
    organizations: Citations<OrganizationId>,
    sources: Citations<SourceId>,
}

/// Distinct values cited by an import, each with the index of the first figure citing it.
type Citations<T> = Vec<(T, usize)>;

/// Converts and checks every figure (violations of the stream already in `v`); linear.
fn decode_import(
    mut v: Violations,
    wire_figures: &[wire::SalesFigure],
) -> Result<DecodedImport, StatsError> {
    let mut figures = Vec::with_capacity(wire_figures.len());
    for (i, w) in wire_figures.iter().enumerate() {
        // A placeholder id; the real one is assigned once the import is accepted.
        let placeholder = figure_id(0).ok_or_else(|| StatsError::Internal("id".to_owned()))?;
        if let Some(f) = v.check_nested(
            &format!("figures[{i}]"),
            sales_figure_from_wire(placeholder, w),
        ) {
            figures.push(f);
        }
    }
    finish(v)?;
    let (organizations, sources) = distinct_references(&figures);
    Ok(DecodedImport {
        digest: import_digest(wire_figures),
        figures,
        organizations,
        sources,
    })
}

/// The organisations and sources `figures` cite, each once (hash sets, not a scan per
/// figure), in first-cited order with the index of the first figure citing it.
fn distinct_references(
    figures: &[SalesFigure],
) -> (Citations<OrganizationId>, Citations<SourceId>) {
    let mut seen_organizations: HashSet<&OrganizationId> = HashSet::new();
    let mut seen_sources: HashSet<&SourceId> = HashSet::new();
    let mut organizations = Vec::new();
    let mut sources = Vec::new();
    for (i, f) in figures.iter().enumerate() {
        if let Some(o) = &f.key.organization
            && seen_organizations.insert(o)
        {
            organizations.push((o.clone(), i));
        }
        let s = &f.provenance.source;
        if seen_sources.insert(s) {
            sources.push((s.clone(), i));
        }
    }
    (organizations, sources)
}

/// Gives every figure its id (UUIDv7, in import order) and links it to the revision it
/// follows ([`Engine::link_revisions`]); returns the figures and how many revise an earlier
/// figure.
pub(crate) fn link_revisions(
    engine: &Engine,
    mut figures: Vec<SalesFigure>,
) -> Result<(Vec<SalesFigure>, i64), StatsError> {
    for f in &mut figures {
        let number = uuid::Uuid::now_v7().as_u128();
        f.id = figure_id(number).ok_or_else(|| StatsError::Internal("figure id".to_owned()))?;
    }
    let revision_count = engine.link_revisions(&mut figures);
    Ok((figures, i64::try_from(revision_count).unwrap_or(i64::MAX)))
}

impl StatsApi {
    async fn import(
        &self,
        mut stream: Streaming<wire::ImportSalesFiguresRequest>,
    ) -> Result<wire::ImportSalesFiguresResponse, StatsError> {
        let mut request_id: Option<String> = None;
        let mut v = Violations::new();
        let mut wire_figures = Vec::new();
        let mut message = 0usize;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(StatsError::RequestStream)?;
            match &request_id {
                None => request_id = Some(batch.request_id.clone()),
                Some(id) if *id != batch.request_id => v.push(
                    "request_id",
                    format!("message {message} has a different request_id from the first"),
                ),
                Some(_) => {}
            }
            wire_figures.extend(batch.figures);
            message += 1;
        }
        let request_id = request_id.unwrap_or_default();
        if request_id.is_empty() {
            v.push("request_id", "is required");
        } else if uuid::Uuid::parse_str(&request_id).is_err() {
            v.push("request_id", "must be a UUID");
        }
        let DecodedImport {
            figures,
            digest,
            organizations,
            sources,
        } = off_the_runtime(move || decode_import(v, &wire_figures)).await?;

        if let Some(record) = self.state.store.import_record(&request_id).await? {
            return if record.digest == digest {
                Ok(import_response(&record))
            } else {
                Err(StatsError::invalid(
                    "request_id",
                    "was already used for an import with different content",
                ))
            };
        }

        let new_sources = self.check_references(&organizations, &sources).await?;

        let _guard = self.state.import_lock.lock().await;
        let state = self.state.clone();
        let (figures, revision_count) =
            off_the_runtime(move || link_revisions(&*state.read()?, figures)).await?;

        let outcome = self
            .state
            .store
            .write_import(&request_id, &digest, figures, &new_sources, revision_count)
            .await?;
        match outcome {
            ImportOutcome::AlreadyImported(record) => {
                if record.digest == digest {
                    Ok(import_response(&record))
                } else {
                    Err(StatsError::invalid(
                        "request_id",
                        "was already used for an import with different content",
                    ))
                }
            }
            ImportOutcome::Written(stored) => {
                let imported = stored.len();
                let state = self.state.clone();
                off_the_runtime(move || {
                    let mut engine = state.write()?;
                    for source in new_sources {
                        engine.put_source(source);
                    }
                    // The refresh task may have applied some already: those are skipped.
                    engine
                        .insert_all(stored.iter().map(|s| (&s.figure, s.create_time_micros)))
                        .map_err(|e| StatsError::Internal(e.to_string()))
                })
                .await?;
                self.state
                    .metrics
                    .import_figures
                    .inc_by(u64::try_from(imported).unwrap_or(u64::MAX));
                tracing::info!(request_id, imported, revision_count, "imported figures");
                Ok(wire::ImportSalesFiguresResponse {
                    imported_count: i64::try_from(imported).unwrap_or(i64::MAX),
                    revision_count,
                })
            }
        }
    }

    /// Checks every organisation and source (each once, with the first figure citing it)
    /// against the registry; returns the sources not yet snapshotted.
    async fn check_references(
        &self,
        organizations: &[(OrganizationId, usize)],
        sources: &[(SourceId, usize)],
    ) -> Result<Vec<Source>, StatsError> {
        let mut failures = Vec::new();
        let ids: Vec<OrganizationId> = organizations.iter().map(|(o, _)| o.clone()).collect();
        let missing: HashSet<OrganizationId> = self
            .state
            .registry
            .missing_organizations(&ids)
            .await?
            .into_iter()
            .collect();
        for (o, i) in organizations {
            if missing.contains(o) {
                failures.push(Precondition {
                    kind: "UNKNOWN_ORGANIZATION".to_owned(),
                    subject: o.resource_name(),
                    description: format!(
                        "{} is not in the registry (first cited by figures[{i}].series.organization)",
                        o.resource_name()
                    ),
                });
            }
        }
        let mut new_sources = Vec::new();
        for (s, i) in sources {
            let known = self.state.read()?.source(s).is_some();
            if known {
                continue;
            }
            if let Some(stored) = self.state.store.source(s).await? {
                new_sources.push(stored);
                continue;
            }
            match self.state.registry.source(s).await? {
                Some(source) => new_sources.push(source),
                None => failures.push(Precondition {
                    kind: "UNKNOWN_SOURCE".to_owned(),
                    subject: s.resource_name(),
                    description: format!(
                        "{} is not in the registry (first cited by figures[{i}].source)",
                        s.resource_name()
                    ),
                }),
            }
        }
        if failures.is_empty() {
            Ok(new_sources)
        } else {
            Err(StatsError::FailedPrecondition(failures))
        }
    }

    // -----------------------------------------------------------------------------------
    // Reads and queries.

    fn get_figure(&self, r: &wire::GetSalesFigureRequest) -> Result<wire::SalesFigure, StatsError> {
        let id = SalesFigureId::from_resource_name(&r.name)
            .map_err(|e| StatsError::invalid("name", e.0))?;
        let engine = self.state.read()?;
        let f = engine
            .find(&id)
            .ok_or_else(|| StatsError::NotFound(id.resource_name()))?;
        figure_to_wire(&engine, f)
    }

    fn list(
        &self,
        r: &wire::ListSalesFiguresRequest,
    ) -> Result<wire::ListSalesFiguresResponse, StatsError> {
        let mut v = Violations::new();
        let page_size = match r.page_size {
            0 => Some(DEFAULT_PAGE_SIZE),
            n if n < 0 => {
                v.push("page_size", "must not be negative");
                None
            }
            n => Some(
                usize::try_from(n)
                    .unwrap_or(MAX_PAGE_SIZE)
                    .min(MAX_PAGE_SIZE),
            ),
        };
        let organization = v.check(
            "organization",
            OrganizationId::from_optional_resource_name(&r.organization),
        );
        let basis = v.check("basis", MeasureBasis::from_wire_filter(r.basis));
        let flow = v.check("flow", Flow::from_wire_filter(r.flow));
        let market = if r.market.is_empty() {
            Some(None)
        } else {
            v.check("market", Market::parse(&r.market)).map(Some)
        };
        let scope = v.check("scope", VehicleScope::from_wire_filter(r.scope));
        let powertrain = v.check("powertrain", Powertrain::from_wire_filter(r.powertrain));
        let overlapping = match &r.overlapping {
            Some(o) => v
                .check_nested("overlapping", month_range_from_wire(o))
                .map(Some),
            None => Some(None),
        };
        let as_of = optional_message(&mut v, "as_of_date", r.as_of_date.as_ref(), date_from_wire);
        let filter = ListFilter {
            organization: present(organization).unwrap_or_default(),
            basis: basis.flatten(),
            flow: flow.flatten(),
            market: market.flatten(),
            scope: scope.flatten(),
            powertrain: powertrain.flatten(),
            overlapping: overlapping.flatten(),
            as_of: as_of.flatten(),
            include_superseded: r.include_superseded,
        };
        let fingerprint = {
            let mut f = r.clone();
            f.page_size = 0;
            f.page_token.clear();
            digest(&f.encode_to_vec())
        };
        let after = if r.page_token.is_empty() {
            None
        } else {
            match decode_token(&r.page_token) {
                Some((fp, key)) if fp == fingerprint => Some(key),
                Some(_) => {
                    v.push("page_token", "was issued for different filters");
                    None
                }
                None => {
                    v.push("page_token", "is malformed");
                    None
                }
            }
        };
        finish(v)?;
        let page_size = present(page_size)?;
        let engine = self.state.read()?;
        let listed = engine.list(&filter);
        let start = match &after {
            Some(key) => listed.partition_point(|(k, _)| k <= key),
            None => 0,
        };
        let page: Vec<_> = listed.iter().skip(start).take(page_size).collect();
        let next_page_token = if start + page.len() < listed.len() {
            page.last()
                .map(|(k, _)| encode_token(&fingerprint, k))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let sales_figures = page
            .iter()
            .map(|(_, f)| figure_to_wire(&engine, *f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(wire::ListSalesFiguresResponse {
            sales_figures,
            next_page_token,
        })
    }

    /// One page of a revision chain. The page token is the [`ListKey`] of the last revision
    /// served, under a digest of the request and that key: an altered token, or one of
    /// another series or period, is refused. A page costs a logarithmic lookup and the page.
    fn revision_history(
        &self,
        r: &wire::GetRevisionHistoryRequest,
    ) -> Result<wire::GetRevisionHistoryResponse, StatsError> {
        let mut v = Violations::new();
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let page_size = match r.page_size {
            0 => Some(DEFAULT_HISTORY_PAGE_SIZE),
            n if n < 0 => {
                v.push("page_size", "must not be negative");
                None
            }
            n => Some(
                usize::try_from(n)
                    .unwrap_or(MAX_PAGE_SIZE)
                    .min(MAX_PAGE_SIZE),
            ),
        };
        let query = {
            let mut q = r.clone();
            q.page_size = 0;
            q.page_token.clear();
            q.encode_to_vec()
        };
        let after = if r.page_token.is_empty() {
            None
        } else {
            match decode_token(&r.page_token) {
                // Only the exact text this service issues: a token that decodes to the same
                // cursor in another spelling (hex case, say) is an edited one too.
                Some((fingerprint, key))
                    if fingerprint == history_fingerprint(&query, &key)
                        && encode_token(&fingerprint, &key) == r.page_token =>
                {
                    Some(key)
                }
                Some(_) => {
                    v.push(
                        "page_token",
                        "was issued for a different series or period, or was altered",
                    );
                    None
                }
                None => {
                    v.push("page_token", "is malformed");
                    None
                }
            }
        };
        finish(v)?;
        let (series, period, page_size) = (present(series)?, present(period)?, present(page_size)?);
        let engine = self.state.read()?;
        let not_a_revision =
            || StatsError::invalid("page_token", "names no revision of this series and period");
        let after = match &after {
            Some(key) => Some(engine.figure_of_list_key(key).ok_or_else(not_a_revision)?),
            None => None,
        };
        let page = engine
            .revision_page(&series, period, after, page_size)
            .ok_or_else(not_a_revision)?;
        let mut previous = page
            .previous
            .and_then(|p| engine.units(p))
            .map(|u| i64::try_from(u).unwrap_or(i64::MAX));
        let mut revisions = Vec::with_capacity(page.revisions.len());
        for &f in &page.revisions {
            let figure = figure_to_wire(&engine, f)?;
            let units = match figure.quantity {
                Some(wire::sales_figure::Quantity::Units(u)) => u,
                _ => 0,
            };
            revisions.push(wire::Revision {
                figure: Some(figure),
                change_from_previous_units: previous.map(|p| units - p),
            });
            previous = Some(units);
        }
        let next_page_token = match page.revisions.last() {
            Some(&last) if page.more => {
                let key = engine
                    .list_key(last)
                    .ok_or_else(|| StatsError::Internal("revision missing".to_owned()))?;
                encode_token(&history_fingerprint(&query, &key), &key)
            }
            _ => String::new(),
        };
        Ok(wire::GetRevisionHistoryResponse {
            revisions,
            next_page_token,
        })
    }

    fn total(
        &self,
        r: &wire::ComputeTotalRequest,
    ) -> Result<wire::ComputeTotalResponse, StatsError> {
        let mut v = Violations::new();
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let as_of = optional_message(&mut v, "as_of_date", r.as_of_date.as_ref(), date_from_wire);
        finish(v)?;
        let engine = self.state.read()?;
        let answer = engine.total(&present(series)?, present(period)?, present(as_of)?);
        Ok(wire::ComputeTotalResponse {
            total: Some(total_to_wire(&answer.total)),
            provenance: Some(provenance(
                &self.state.wire_figures,
                &engine,
                &answer.figures,
            )?),
        })
    }

    fn change(
        &self,
        r: &wire::ComputeChangeRequest,
    ) -> Result<wire::ComputeChangeResponse, StatsError> {
        let mut v = Violations::new();
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let as_of = optional_message(&mut v, "as_of_date", r.as_of_date.as_ref(), date_from_wire);
        let decimals = decimals(&mut v, "percent_decimals", r.percent_decimals);
        let prior = match wire::Comparison::try_from(r.comparison) {
            Ok(wire::Comparison::Custom) => required(
                &mut v,
                "prior_period",
                r.prior_period.as_ref(),
                month_range_from_wire,
            ),
            Ok(c @ (wire::Comparison::YearOverYear | wire::Comparison::PrecedingPeriod)) => {
                if r.prior_period.is_some() {
                    v.push(
                        "prior_period",
                        "must be unset unless comparison is COMPARISON_CUSTOM",
                    );
                }
                period.and_then(|p| {
                    let prior = if c == wire::Comparison::YearOverYear {
                        p.same_range_previous_year()
                    } else {
                        p.preceding()
                    };
                    if prior.is_none() {
                        v.push("period", "has no prior period within the supported years");
                    }
                    prior
                })
            }
            Ok(wire::Comparison::Unspecified) => {
                v.push("comparison", "must be specified");
                None
            }
            Err(_) => {
                v.push("comparison", format!("unknown value {}", r.comparison));
                None
            }
        };
        finish(v)?;
        let decimals = present(decimals)?;
        let engine = self.state.read()?;
        let answer = engine.change(
            &present(series)?,
            present(period)?,
            present(prior)?,
            present(as_of)?,
        );
        Ok(wire::ComputeChangeResponse {
            current: Some(total_to_wire(&answer.current)),
            prior: Some(total_to_wire(&answer.prior)),
            change: change_wire(answer.change.as_ref(), decimals),
            like_for_like_change: change_wire(answer.like_for_like.as_ref(), decimals),
            provenance: Some(provenance(
                &self.state.wire_figures,
                &engine,
                &answer.figures,
            )?),
        })
    }

    async fn series(
        &self,
        r: &wire::ComputeSeriesRequest,
    ) -> Result<wire::ComputeSeriesResponse, StatsError> {
        let mut v = Violations::new();
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let grain = granularity(&mut v, "granularity", r.granularity);
        let as_of = optional_message(&mut v, "as_of_date", r.as_of_date.as_ref(), date_from_wire);
        if r.include_events && r.series.as_ref().is_some_and(|s| s.organization.is_empty()) {
            v.push(
                "include_events",
                "needs series.organization: the whole market has no events",
            );
        }
        finish(v)?;
        let (series, period) = (present(series)?, present(period)?);
        let (points, prov) = {
            let engine = self.state.read()?;
            let answer = engine.series(
                &series,
                period,
                present(grain)?,
                r.cumulative_within_year,
                present(as_of)?,
            );
            (
                answer.points.iter().map(total_to_wire).collect(),
                provenance(&self.state.wire_figures, &engine, &answer.figures)?,
            )
        };
        let events = match (&series.organization, r.include_events) {
            (Some(org), true) => self.state.registry.events(org, period).await?,
            _ => Vec::new(),
        };
        Ok(wire::ComputeSeriesResponse {
            points,
            events,
            provenance: Some(prov),
        })
    }

    fn ranking(
        &self,
        r: &wire::ComputeRankingRequest,
    ) -> Result<wire::ComputeRankingResponse, StatsError> {
        let mut v = Violations::new();
        if r.series
            .as_ref()
            .is_some_and(|s| !s.organization.is_empty())
        {
            v.push(
                "series.organization",
                "must be empty: a ranking is over organisations",
            );
        }
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let as_of = optional_message(&mut v, "as_of_date", r.as_of_date.as_ref(), date_from_wire);
        let decimals = decimals(&mut v, "percent_decimals", r.percent_decimals);
        let limit = match r.limit {
            0 => Some(10),
            n @ 1..=1000 => usize::try_from(n).ok(),
            n => {
                v.push("limit", format!("{n} is outside 1..=1000"));
                None
            }
        };
        finish(v)?;
        let decimals = present(decimals)?;
        let engine = self.state.read()?;
        let answer = engine.ranking(
            &present(series)?,
            present(period)?,
            present(limit)?,
            present(as_of)?,
        );
        Ok(wire::ComputeRankingResponse {
            entries: answer
                .entries
                .iter()
                .map(|e| wire::RankingEntry {
                    rank: i32::try_from(e.rank).unwrap_or(i32::MAX),
                    organization: e.organization.resource_name(),
                    units: to_i64(e.units),
                    share: e.share.as_ref().and_then(|s| ratio_to_wire(s, decimals)),
                    year_over_year: change_wire(e.year_over_year.as_ref(), decimals),
                })
                .collect(),
            total_units: to_i64(answer.total_units),
            total_is_market: answer.total_is_market,
            incomplete_count: i32::try_from(answer.incomplete_count).unwrap_or(i32::MAX),
            provenance: Some(provenance(
                &self.state.wire_figures,
                &engine,
                &answer.figures,
            )?),
        })
    }

    fn share(
        &self,
        r: &wire::ComputeShareRequest,
    ) -> Result<wire::ComputeShareResponse, StatsError> {
        let mut v = Violations::new();
        let numerator = required(
            &mut v,
            "numerator",
            r.numerator.as_ref(),
            series_key_from_wire,
        );
        let denominator = required(
            &mut v,
            "denominator",
            r.denominator.as_ref(),
            series_key_from_wire,
        );
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let grain = granularity(&mut v, "granularity", r.granularity);
        let as_of = optional_message(&mut v, "as_of_date", r.as_of_date.as_ref(), date_from_wire);
        let decimals = decimals(&mut v, "percent_decimals", r.percent_decimals);
        finish(v)?;
        let decimals = present(decimals)?;
        let engine = self.state.read()?;
        let answer = engine.share(
            &present(numerator)?,
            &present(denominator)?,
            present(period)?,
            present(grain)?,
            present(as_of)?,
        );
        Ok(wire::ComputeShareResponse {
            points: answer
                .points
                .iter()
                .map(|p| wire::SharePoint {
                    numerator: Some(total_to_wire(&p.numerator)),
                    denominator: Some(total_to_wire(&p.denominator)),
                    share: p.share.as_ref().and_then(|s| ratio_to_wire(s, decimals)),
                })
                .collect(),
            provenance: Some(provenance(
                &self.state.wire_figures,
                &engine,
                &answer.figures,
            )?),
        })
    }

    fn breakdown(
        &self,
        r: &wire::ComputeBreakdownRequest,
    ) -> Result<wire::ComputeBreakdownResponse, StatsError> {
        let mut v = Violations::new();
        let mut grouped = Vec::new();
        for (i, d) in r.group_by.iter().enumerate() {
            let field = format!("group_by[{i}]");
            let dim = match wire::Dimension::try_from(*d) {
                Ok(wire::Dimension::Organization) => Some(Dimension::Organization),
                Ok(wire::Dimension::Basis) => Some(Dimension::Basis),
                Ok(wire::Dimension::Flow) => Some(Dimension::Flow),
                Ok(wire::Dimension::Market) => Some(Dimension::Market),
                Ok(wire::Dimension::Scope) => Some(Dimension::Scope),
                Ok(wire::Dimension::Powertrain) => Some(Dimension::Powertrain),
                Ok(wire::Dimension::Unspecified) => {
                    v.push(field.clone(), "must be specified");
                    None
                }
                Err(_) => {
                    v.push(field.clone(), format!("unknown value {d}"));
                    None
                }
            };
            if let Some(dim) = dim {
                if grouped.contains(&dim) {
                    v.push(field, "names a dimension twice");
                } else {
                    grouped.push(dim);
                }
            }
        }
        if r.group_by.is_empty() {
            v.push("group_by", "needs at least one dimension");
        }
        let default_series = twire::SeriesKey::default();
        let s = match r.series.as_ref() {
            Some(s) => s,
            None => {
                v.push("series", "is required");
                &default_series
            }
        };
        let g = |d: Dimension| grouped.contains(&d);
        fn grouped_or<T>(
            v: &mut Violations,
            field: &str,
            is_grouped: bool,
            is_set: bool,
            parse: impl FnOnce() -> Result<T, autointel_domain::ValueError>,
        ) -> Option<Option<T>> {
            if is_grouped {
                if is_set {
                    v.push(field, "must be unset when grouped by");
                }
                Some(None)
            } else {
                v.check(field, parse()).map(Some)
            }
        }
        let organization = grouped_or(
            &mut v,
            "series.organization",
            g(Dimension::Organization),
            !s.organization.is_empty(),
            || OrganizationId::from_optional_resource_name(&s.organization),
        );
        let basis = grouped_or(
            &mut v,
            "series.basis",
            g(Dimension::Basis),
            s.basis != 0,
            || MeasureBasis::from_wire(s.basis),
        );
        let flow = grouped_or(
            &mut v,
            "series.flow",
            g(Dimension::Flow),
            s.flow != 0,
            || Flow::from_wire(s.flow),
        );
        let market = grouped_or(
            &mut v,
            "series.market",
            g(Dimension::Market),
            !s.market.is_empty(),
            || Market::parse(&s.market),
        );
        let scope = grouped_or(
            &mut v,
            "series.scope",
            g(Dimension::Scope),
            s.scope != 0,
            || VehicleScope::from_wire(s.scope),
        );
        let powertrain = grouped_or(
            &mut v,
            "series.powertrain",
            g(Dimension::Powertrain),
            s.powertrain != 0,
            || Powertrain::from_wire(s.powertrain),
        );
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let as_of = optional_message(&mut v, "as_of_date", r.as_of_date.as_ref(), date_from_wire);
        finish(v)?;
        let filter = BreakdownFilter {
            organization: present(organization)?,
            basis: present(basis)?,
            flow: present(flow)?,
            market: present(market)?,
            scope: present(scope)?,
            powertrain: present(powertrain)?,
        };
        let engine = self.state.read()?;
        let answer = engine.breakdown(&filter, present(period)?, present(as_of)?);
        Ok(wire::ComputeBreakdownResponse {
            rows: answer
                .rows
                .iter()
                .map(|(k, t)| wire::BreakdownRow {
                    series: Some(series_key_to_wire(k)),
                    total: Some(total_to_wire(t)),
                })
                .collect(),
            provenance: Some(provenance(
                &self.state.wire_figures,
                &engine,
                &answer.figures,
            )?),
        })
    }

    async fn rollup(
        &self,
        r: &wire::ComputeRollupRequest,
    ) -> Result<wire::ComputeRollupResponse, StatsError> {
        let mut v = Violations::new();
        let series = required(&mut v, "series", r.series.as_ref(), series_key_from_wire);
        if r.series.as_ref().is_some_and(|s| s.organization.is_empty()) {
            v.push("series.organization", "is required: the root of the rollup");
        }
        let period = required(&mut v, "period", r.period.as_ref(), month_range_from_wire);
        let hierarchy_date = optional_message(
            &mut v,
            "hierarchy_date",
            r.hierarchy_date.as_ref(),
            date_from_wire,
        );
        let as_of = optional_message(&mut v, "as_of_date", r.as_of_date.as_ref(), date_from_wire);
        finish(v)?;
        let (series, period) = (present(series)?, present(period)?);
        let root = present(series.organization.clone())?;
        let date = present(hierarchy_date)?.unwrap_or_else(|| Date::last_of(period.end()));
        let links = self.state.registry.hierarchy_links(&root, date).await?;
        let engine = self.state.read()?;
        let answer = engine.rollup(&series, &links, period, present(as_of)?);
        Ok(wire::ComputeRollupResponse {
            total: Some(total_to_wire(&answer.total)),
            contributions: answer
                .contributions
                .iter()
                .map(|c| wire::RollupContribution {
                    organization: c.organization.resource_name(),
                    units: c.units.map(to_i64),
                    counted: c.counted,
                    reason: c.reason.clone(),
                })
                .collect(),
            provenance: Some(provenance(
                &self.state.wire_figures,
                &engine,
                &answer.figures,
            )?),
        })
    }

    async fn target_progress(
        &self,
        r: &wire::ComputeTargetProgressRequest,
    ) -> Result<wire::ComputeTargetProgressResponse, StatsError> {
        let mut v = Violations::new();
        let target = v.check("target", TargetId::from_resource_name(&r.target));
        let as_of = optional_message(&mut v, "as_of_date", r.as_of_date.as_ref(), date_from_wire);
        let decimals = decimals(&mut v, "percent_decimals", r.percent_decimals);
        finish(v)?;
        let decimals = present(decimals)?;
        let (wire_target, target) = self.state.registry.target(&present(target)?).await?;
        let engine = self.state.read()?;
        let answer = engine.target_progress(
            &target.metric,
            target.period,
            Units::get(target.threshold),
            target.comparator,
            present(as_of)?,
        );
        let status = match answer.status {
            ProgressStatus::Met => wire::TargetProgressStatus::Met,
            ProgressStatus::OnTrack => wire::TargetProgressStatus::OnTrack,
            ProgressStatus::Behind => wire::TargetProgressStatus::Behind,
            ProgressStatus::NotYetMeasurable => wire::TargetProgressStatus::NotYetMeasurable,
        };
        Ok(wire::ComputeTargetProgressResponse {
            target: Some(wire_target),
            actual: Some(total_to_wire(&answer.actual)),
            threshold_units: to_i64(target.threshold.get()),
            progress: answer
                .progress
                .as_ref()
                .and_then(|p| ratio_to_wire(p, decimals)),
            status: status as i32,
            provenance: Some(provenance(
                &self.state.wire_figures,
                &engine,
                &answer.figures,
            )?),
        })
    }
}

/// An opaque page token of `ListSalesFigures`: the query's fingerprint and the last key served.
pub fn encode_token(fingerprint: &str, key: &ListKey) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("v1\n{fingerprint}\n{}", key.encode()))
}

/// The fingerprint of a `GetRevisionHistory` page token: a digest of the request (without
/// its paging fields) and of the cursor, so that editing either is noticed.
fn history_fingerprint(query: &[u8], key: &ListKey) -> String {
    let mut bytes = query.to_vec();
    bytes.extend_from_slice(b"\nrevisions after\n");
    bytes.extend_from_slice(key.encode().as_bytes());
    digest(&bytes)
}

/// The (fingerprint, last key) of a page token, if it is one of ours.
pub fn decode_token(token: &str) -> Option<(String, ListKey)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, '\n');
    if parts.next()? != "v1" {
        return None;
    }
    let fingerprint = parts.next()?.to_owned();
    let key = ListKey::decode(parts.next()?)?;
    Some((fingerprint, key))
}

fn respond<T>(result: Result<T, StatsError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl StatsService for StatsApi {
    async fn import_sales_figures(
        &self,
        request: Request<Streaming<wire::ImportSalesFiguresRequest>>,
    ) -> Result<Response<wire::ImportSalesFiguresResponse>, Status> {
        respond(self.import(request.into_inner()).await)
    }

    async fn get_sales_figure(
        &self,
        request: Request<wire::GetSalesFigureRequest>,
    ) -> Result<Response<wire::SalesFigure>, Status> {
        respond(self.get_figure(request.get_ref()))
    }

    async fn list_sales_figures(
        &self,
        request: Request<wire::ListSalesFiguresRequest>,
    ) -> Result<Response<wire::ListSalesFiguresResponse>, Status> {
        respond(self.list(request.get_ref()))
    }

    async fn get_revision_history(
        &self,
        request: Request<wire::GetRevisionHistoryRequest>,
    ) -> Result<Response<wire::GetRevisionHistoryResponse>, Status> {
        respond(self.revision_history(request.get_ref()))
    }

    async fn compute_total(
        &self,
        request: Request<wire::ComputeTotalRequest>,
    ) -> Result<Response<wire::ComputeTotalResponse>, Status> {
        respond(self.total(request.get_ref()))
    }

    async fn compute_change(
        &self,
        request: Request<wire::ComputeChangeRequest>,
    ) -> Result<Response<wire::ComputeChangeResponse>, Status> {
        respond(self.change(request.get_ref()))
    }

    async fn compute_series(
        &self,
        request: Request<wire::ComputeSeriesRequest>,
    ) -> Result<Response<wire::ComputeSeriesResponse>, Status> {
        respond(self.series(request.get_ref()).await)
    }

    async fn compute_ranking(
        &self,
        request: Request<wire::ComputeRankingRequest>,
    ) -> Result<Response<wire::ComputeRankingResponse>, Status> {
        respond(self.ranking(request.get_ref()))
    }

    async fn compute_share(
        &self,
        request: Request<wire::ComputeShareRequest>,
    ) -> Result<Response<wire::ComputeShareResponse>, Status> {
        respond(self.share(request.get_ref()))
    }

    async fn compute_breakdown(
        &self,
        request: Request<wire::ComputeBreakdownRequest>,
    ) -> Result<Response<wire::ComputeBreakdownResponse>, Status> {
        respond(self.breakdown(request.get_ref()))
    }

    async fn compute_rollup(
        &self,
        request: Request<wire::ComputeRollupRequest>,
    ) -> Result<Response<wire::ComputeRollupResponse>, Status> {
        respond(self.rollup(request.get_ref()).await)
    }

    async fn compute_target_progress(
        &self,
        request: Request<wire::ComputeTargetProgressRequest>,
    ) -> Result<Response<wire::ComputeTargetProgressResponse>, Status> {
        respond(self.target_progress(request.get_ref()).await)
    }
}
