//! `ImportSalesFigures`: read the stream a message at a time, converting every figure (all
//! violations) and digesting the content for idempotency; hold the figures, or once there
//! are more than [`HELD_MAX`], stage them all in the store as they come; check what the
//! import cites against the registry; give the figures their ids and link their revisions
//! (a staged import chain by chain, read back sorted); write them in one transaction; then
//! apply them to the engine in slices, as any replica does. Memory is bounded by
//! [`HELD_MAX`] figures, or a step of figures and 32 bytes a figure (ids and links) for a
//! staged import, whatever its size.

use std::collections::HashSet;
use std::sync::Arc;

use autointel_domain::{OrganizationId, SalesFigure, Source, SourceId, Violations};
use autointel_proto::convert::ResourceId;
use autointel_proto::convert::stats::sales_figure_from_wire;
use autointel_proto::stats as wire;
use futures_util::StreamExt;
use prost::Message;
use tonic::Streaming;

use super::answers::import_response;
use super::state::State;
use super::{Digest, finish};
use crate::engine::{Link, figure_id, figure_number};
use crate::error::{Precondition, StatsError};
use crate::store::{
    ImportFigures, ImportOutcome, ImportRecord, StagedFigure, StagedNumbers, Store,
};

/// Most figures an import holds in memory (about 20 MB); a larger one is staged in the
/// store. Small in debug builds, so that the tests' imports take both paths and staged
/// ones several steps (a chain read across steps, say).
const HELD_MAX: usize = if cfg!(debug_assertions) { 64 } else { 50_000 };

/// Figures converted before they are staged in one step (small in debug builds, as above).
const STAGE_STEP: usize = if cfg!(debug_assertions) { 64 } else { 5_000 };

/// Staged figures linked per step (small in debug builds, as above).
const LINK_STEP: usize = if cfg!(debug_assertions) { 64 } else { 10_000 };

/// `ImportSalesFigures`.
pub(super) async fn import(
    state: &Arc<State>,
    stream: Streaming<wire::ImportSalesFiguresRequest>,
) -> Result<wire::ImportSalesFiguresResponse, StatsError> {
    let stage = Stage::new(state.store.clone());
    let started = std::time::Instant::now();
    let Received {
        request_id,
        digest,
        count,
        organizations,
        sources,
        held,
    } = receive(state, stream, &stage).await?;

    if let Some(record) = state.store.import_record(&request_id).await? {
        return replayed(&record, &digest);
    }

    let new_sources = check_references(state, &organizations, &sources).await?;

    let _guard = state.import_lock.lock().await;
    let received = started.elapsed();
    let (mut figures, revision_count) = match held {
        Some(figures) => {
            let linking = state.clone();
            let (figures, revision_count) =
                off_the_runtime(move || number_and_link_held(&linking, figures)).await?;
            (Numbered::Held(figures), revision_count)
        }
        None => {
            let (numbers, revision_count) = number_and_link(state, &stage.id, count).await?;
            (Numbered::Staged(numbers), revision_count)
        }
    };
    let linked = started.elapsed();

    let outcome = state
        .store
        .write_import(
            &request_id,
            &digest,
            figures.take_for_write(),
            &new_sources,
            revision_count,
        )
        .await?;
    match outcome {
        ImportOutcome::AlreadyImported(record) => {
            // an earlier attempt (perhaps on another replica) wrote it: read what this engine
            // lacks, so the caller reads its write here
            catch_up(state).await;
            replayed(&record, &digest)
        }
        ImportOutcome::Written { last_seq, .. } => {
            let written = started.elapsed();
            state.imported.send_replace(last_seq);
            {
                let mut engine = state.write()?;
                for source in new_sources {
                    engine.put_source(source);
                }
            }
            // Applied in slices like any other replica's import, so no query waits behind
            // all of it; the caller then reads its own write here.
            catch_up(state).await;
            if state.read()?.last_seq() < last_seq {
                catch_up(state).await;
            }
            state
                .metrics
                .import_figures
                .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
            tracing::info!(
                request_id,
                imported = count,
                revision_count,
                received_s = received.as_secs_f64(),
                linked_s = (linked - received).as_secs_f64(),
                written_s = (written - linked).as_secs_f64(),
                applied_s = (started.elapsed() - written).as_secs_f64(),
                "imported figures"
            );
            Ok(import_response(
                i64::try_from(count).unwrap_or(i64::MAX),
                revision_count,
            ))
        }
    }
}

/// Applies what the store holds beyond the engine's mark; a failure only delays that until
/// the next refresh (the write itself is durable and acknowledged).
async fn catch_up(state: &State) {
    if let Err(e) = state.refresh().await {
        tracing::warn!(error = %e, "reading newer figures after an import failed; the refresh will");
    }
}

/// An import's staged figures, deleted when the import ends however it ends (written,
/// refused, or its client gone); an import held in memory stages nothing and deletes
/// nothing.
struct Stage {
    store: Store,
    id: String,
    /// Whether anything was staged.
    used: std::sync::atomic::AtomicBool,
}

impl Stage {
    fn new(store: Store) -> Self {
        Self {
            store,
            id: uuid::Uuid::new_v4().to_string(),
            used: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Stages figures `first..` of the import.
    async fn stage(&self, first: usize, figures: &[SalesFigure]) -> Result<(), StatsError> {
        self.used.store(true, std::sync::atomic::Ordering::Relaxed);
        let first = i64::try_from(first).unwrap_or(i64::MAX);
        self.store.stage(&self.id, first, figures).await
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if !self.used.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let (store, id) = (self.store.clone(), std::mem::take(&mut self.id));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.drop_stage(&id).await {
                    tracing::warn!(error = %e, stage = id, "deleting an import's staged figures failed; a later start will");
                }
            });
        }
    }
}

/// What reading an import's stream gave: its request id, content digest, number of
/// figures (all staged) and the organisations and sources it cites.
struct Received {
    request_id: String,
    digest: String,
    count: usize,
    organizations: Citations<OrganizationId>,
    sources: Citations<SourceId>,
    /// The figures, unless they are staged.
    held: Option<Vec<SalesFigure>>,
}

/// Reads the stream: the request id (the same in every message, a UUID), every figure
/// converted and checked (every violation reported, nothing staged once one is found), the
/// digest, the distinct citations; holds the figures or, past [`HELD_MAX`], stages them a
/// step at a time. An import over
/// `import.max_figures` is refused as soon as the stream passes the limit (the rest is
/// never read): nothing is written.
async fn receive(
    state: &State,
    mut stream: Streaming<wire::ImportSalesFiguresRequest>,
    stage: &Stage,
) -> Result<Received, StatsError> {
    let max_figures = state.max_import_figures;
    let mut request_id: Option<String> = None;
    let mut reading = Reading::default();
    let mut staged = 0usize;
    let mut message = 0usize;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(StatsError::RequestStream)?;
        match &request_id {
            None => request_id = Some(batch.request_id.clone()),
            Some(id) if *id != batch.request_id => reading.v.push(
                "request_id",
                format!("message {message} has a different request_id from the first"),
            ),
            Some(_) => {}
        }
        if reading.count + batch.figures.len() > max_figures {
            return Err(StatsError::invalid(
                "figures",
                format!(
                    "an import holds at most {max_figures} figures (import.max_figures); \
                     this one has more: split it into several imports"
                ),
            ));
        }
        reading = off_the_runtime(move || reading.read(&batch.figures)).await?;
        let staging = staged > 0 || reading.pending.len() > HELD_MAX;
        if staging && reading.pending.len() >= STAGE_STEP {
            stage_pending(stage, &mut staged, &mut reading.pending).await?;
        }
        message += 1;
    }
    let Reading {
        mut v,
        digest,
        citations,
        mut pending,
        count,
    } = reading;
    let request_id = request_id.unwrap_or_default();
    if request_id.is_empty() {
        v.push("request_id", "is required");
    } else if uuid::Uuid::parse_str(&request_id).is_err() {
        v.push("request_id", "must be a UUID");
    }
    finish(v)?;
    let held = if staged == 0 {
        Some(pending)
    } else {
        stage_pending(stage, &mut staged, &mut pending).await?;
        None
    };
    Ok(Received {
        request_id,
        digest: digest.finish(),
        count,
        organizations: citations.organizations,
        sources: citations.sources,
        held,
    })
}

/// What reading an import has found so far: every violation, the digest, the citations,
/// the converted figures not yet staged (none once a violation is found: nothing will be
/// written) and how many figures came.
struct Reading {
    v: Violations,
    digest: Digest,
    citations: References,
    pending: Vec<SalesFigure>,
    count: usize,
}

impl Default for Reading {
    fn default() -> Self {
        Self {
            v: Violations::new(),
            digest: Digest::new(),
            citations: References::default(),
            pending: Vec::new(),
            count: 0,
        }
    }
}

impl Reading {
    /// Converts and checks one message's figures (linear; run off the async workers).
    fn read(mut self, figures: &[wire::SalesFigure]) -> Result<Self, StatsError> {
        // A placeholder id; the real one is assigned once the import is accepted.
        let placeholder = figure_id(0).ok_or_else(|| StatsError::Internal("id".to_owned()))?;
        for w in figures {
            digest_figure(&mut self.digest, w);
            if let Some(f) = self.v.check_nested(
                &format!("figures[{}]", self.count),
                sales_figure_from_wire(placeholder.clone(), w),
            ) && self.v.is_empty()
            {
                self.citations.add(&f, self.count);
                self.pending.push(f);
            }
            self.count += 1;
        }
        if !self.v.is_empty() {
            self.pending.clear();
        }
        Ok(self)
    }
}

/// Runs import work that grows with a message or a step (conversion, digests, revision
/// links) on the blocking pool, so the async workers keep serving health and every other
/// request meanwhile.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StatsError> + Send + 'static,
) -> Result<T, StatsError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StatsError::Internal(format!("import work failed: {e}")))?
}

/// Stages the figures converted so far and forgets them.
async fn stage_pending(
    stage: &Stage,
    staged: &mut usize,
    pending: &mut Vec<SalesFigure>,
) -> Result<(), StatsError> {
    if pending.is_empty() {
        return Ok(());
    }
    stage.stage(*staged, pending).await?;
    *staged += pending.len();
    pending.clear();
    Ok(())
}

/// Adds a figure to the import's digest: the figure without its output-only fields, as its
/// encoded length and bytes (the digest of every figure's bytes in turn).
fn digest_figure(digest: &mut Digest, w: &wire::SalesFigure) {
    let mut f = w.clone();
    // Output-only fields do not make a different import.
    f.name.clear();
    f.supersedes.clear();
    f.superseded_by.clear();
    f.create_time = None;
    let encoded = f.encode_to_vec();
    digest.update(&(encoded.len() as u64).to_le_bytes());
    digest.update(&encoded);
}

/// The answer to a request id seen before: its import's counts, when the content is the
/// same.
fn replayed(
    record: &ImportRecord,
    digest: &str,
) -> Result<wire::ImportSalesFiguresResponse, StatsError> {
    if record.digest == digest {
        Ok(import_response(
            record.imported_count,
            record.revision_count,
        ))
    } else {
        Err(StatsError::invalid(
            "request_id",
            "was already used for an import with different content",
        ))
    }
}

/// Distinct values cited by an import, each with the index of the first figure citing it.
type Citations<T> = Vec<(T, usize)>;

/// The organisations and sources an import cites, each once (hash sets, not a scan per
/// figure), in first-cited order with the index of the first figure citing it.
#[derive(Default)]
struct References {
    seen_organizations: HashSet<OrganizationId>,
    seen_sources: HashSet<SourceId>,
    organizations: Citations<OrganizationId>,
    sources: Citations<SourceId>,
}

impl References {
    fn add(&mut self, f: &SalesFigure, i: usize) {
        if let Some(o) = &f.key.organization
            && self.seen_organizations.insert(o.clone())
        {
            self.organizations.push((o.clone(), i));
        }
        let s = &f.provenance.source;
        if self.seen_sources.insert(s.clone()) {
            self.sources.push((s.clone(), i));
        }
    }
}

/// Checks every organisation and source (each once, with the first figure citing it)
/// against the registry; returns the sources not yet snapshotted.
async fn check_references(
    state: &State,
    organizations: &[(OrganizationId, usize)],
    sources: &[(SourceId, usize)],
) -> Result<Vec<Source>, StatsError> {
    let mut failures = Vec::new();
    let ids: Vec<OrganizationId> = organizations.iter().map(|(o, _)| o.clone()).collect();
    let missing: HashSet<OrganizationId> = state
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
        let known = state.read()?.source(s).is_some();
        if known {
            continue;
        }
        if let Some(stored) = state.store.source(s).await? {
            new_sources.push(stored);
            continue;
        }
        match state.registry.source(s).await? {
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

/// An import's figures with their ids and links: held, or the numbers of staged ones.
enum Numbered {
    Held(Vec<SalesFigure>),
    Staged(StagedNumbers),
}

impl Numbered {
    /// The figures for [`Store::write_import`] (held ones are moved out).
    fn take_for_write(&mut self) -> ImportFigures<'_> {
        match self {
            Self::Held(figures) => ImportFigures::Held(std::mem::take(figures)),
            Self::Staged(numbers) => ImportFigures::Staged(numbers),
        }
    }
}

/// Gives every held figure its id (UUIDv7, in import order) and links it to the revision it
/// follows ([`Engine::link_revisions`](crate::engine::Engine::link_revisions)); returns the
/// figures and how many revise an earlier figure.
fn number_and_link_held(
    state: &State,
    mut figures: Vec<SalesFigure>,
) -> Result<(Vec<SalesFigure>, i64), StatsError> {
    for f in &mut figures {
        let number = uuid::Uuid::now_v7().as_u128();
        f.id = figure_id(number).ok_or_else(|| StatsError::Internal("figure id".to_owned()))?;
    }
    let revision_count = state.read()?.link_revisions(&mut figures);
    Ok((figures, i64::try_from(revision_count).unwrap_or(i64::MAX)))
}

/// Gives every staged figure its id (UUIDv7, in import order) and links it to the revision
/// it follows, reading the stage sorted by chain ([`Engine::link_chain`](crate::engine::Engine::link_chain));
/// returns the numbers to write and how many figures revise an earlier one.
async fn number_and_link(
    state: &Arc<State>,
    stage_id: &str,
    count: usize,
) -> Result<(StagedNumbers, i64), StatsError> {
    let mut linking = Linking {
        ids: (0..count).map(|_| uuid::Uuid::now_v7().as_u128()).collect(),
        supersedes: vec![0u128; count],
        chain: Vec::new(),
        revision_count: 0,
    };
    let mut staged = std::pin::pin!(state.store.staged_by_chain(stage_id));
    loop {
        let mut step = Vec::with_capacity(LINK_STEP);
        while step.len() < LINK_STEP {
            match staged.next().await {
                Some(figure) => step.push(figure?),
                None => break,
            }
        }
        let last_step = step.len() < LINK_STEP;
        let state = state.clone();
        linking = off_the_runtime(move || {
            linking.take(&state, step, last_step)?;
            Ok(linking)
        })
        .await?;
        if last_step {
            break;
        }
    }
    let numbers = StagedNumbers {
        stage_id: stage_id.to_owned(),
        ids: linking.ids,
        supersedes: linking.supersedes,
    };
    Ok((
        numbers,
        i64::try_from(linking.revision_count).unwrap_or(i64::MAX),
    ))
}

/// True when two figures belong to one revision chain: series key, nature, source, period.
fn same_chain(a: &SalesFigure, b: &SalesFigure) -> bool {
    a.key == b.key
        && a.nature == b.nature
        && a.provenance.source == b.provenance.source
        && a.period == b.period
}

/// An import's ids and links so far, and the staged figures of the chain being read
/// (which may go on in the next step).
struct Linking {
    ids: Vec<u128>,
    supersedes: Vec<u128>,
    chain: Vec<StagedFigure>,
    revision_count: usize,
}

impl Linking {
    /// Takes one step of staged figures in chain order, linking every chain that ends in
    /// it (all of them after the last step).
    fn take(
        &mut self,
        state: &State,
        page: Vec<StagedFigure>,
        last_page: bool,
    ) -> Result<(), StatsError> {
        for staged in page {
            if self
                .chain
                .first()
                .is_some_and(|c| !same_chain(&c.figure, &staged.figure))
            {
                self.link(state)?;
            }
            self.chain.push(staged);
        }
        if last_page {
            self.link(state)?;
        }
        Ok(())
    }

    /// Links the chain read so far, then forgets its figures.
    fn link(&mut self, state: &State) -> Result<(), StatsError> {
        let ids = &self.ids;
        let position = |ordinal: i64| {
            usize::try_from(ordinal)
                .ok()
                .filter(|&at| at < ids.len())
                .ok_or_else(|| {
                    StatsError::Internal(format!("staged figure {ordinal} out of range"))
                })
        };
        let figures: Vec<&SalesFigure> = self.chain.iter().map(|s| &s.figure).collect();
        let engine = state.read()?;
        let (links, revisions) = engine.link_chain(&figures);
        for (staged, link) in self.chain.iter().zip(links) {
            self.supersedes[position(staged.ordinal)?] = match link {
                Link::None => 0,
                Link::Earlier(j) => ids[position(self.chain[j].ordinal)?],
                Link::Stored(e) => engine
                    .figure_id(e)
                    .as_ref()
                    .and_then(figure_number)
                    .unwrap_or(0),
            };
        }
        self.revision_count += revisions;
        self.chain.clear();
        Ok(())
    }
}
