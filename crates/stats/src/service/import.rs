//! `ImportSalesFigures`: read the stream, convert every figure (all violations), digest the
//! content for idempotency, check what it cites against the registry, give the figures
//! their ids and let the engine link their revisions, write them in one transaction, then
//! apply them to the engine. Work that grows with the import runs on the blocking pool.

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
use super::state::{State, apply_import};
use super::{digest, finish};
use crate::engine::{Engine, figure_id};
use crate::error::{Precondition, StatsError};
use crate::store::{ImportOutcome, ImportRecord};

/// `ImportSalesFigures`.
pub(super) async fn import(
    state: &Arc<State>,
    stream: Streaming<wire::ImportSalesFiguresRequest>,
) -> Result<wire::ImportSalesFiguresResponse, StatsError> {
    let (request_id, wire_figures, v) = read(stream, state.max_import_figures).await?;
    let DecodedImport {
        figures,
        digest,
        organizations,
        sources,
    } = off_the_runtime(move || decode(v, &wire_figures)).await?;

    if let Some(record) = state.store.import_record(&request_id).await? {
        return replayed(&record, &digest);
    }

    let new_sources = check_references(state, &organizations, &sources).await?;

    let _guard = state.import_lock.lock().await;
    let linking = state.clone();
    let (figures, revision_count) =
        off_the_runtime(move || number_and_link(&*linking.read()?, figures)).await?;

    let outcome = state
        .store
        .write_import(&request_id, &digest, figures, &new_sources, revision_count)
        .await?;
    match outcome {
        ImportOutcome::AlreadyImported(record) => {
            // an earlier attempt (perhaps on another replica) wrote it: read what this engine
            // lacks, so the caller reads its write here
            catch_up(state).await;
            replayed(&record, &digest)
        }
        ImportOutcome::Written(stored) => {
            let imported = stored.len();
            let last = stored.last().map_or(0, |s| s.seq);
            let applying = state.clone();
            // The refresh task may have applied some already: those are skipped.
            off_the_runtime(move || apply_import(&mut *applying.write()?, new_sources, &stored))
                .await?;
            // Listings read up to the engine's applied mark: when figures stored before
            // these are still missing here (another replica's), read them now, so the
            // caller lists its own import at once.
            if state.read()?.last_seq() < last {
                catch_up(state).await;
            }
            state
                .metrics
                .import_figures
                .inc_by(u64::try_from(imported).unwrap_or(u64::MAX));
            tracing::info!(request_id, imported, revision_count, "imported figures");
            Ok(import_response(
                i64::try_from(imported).unwrap_or(i64::MAX),
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

/// The stream's request id (the same in every message, a UUID), its figures, and the
/// violations found so far. An import over `max_figures` is refused as soon as the stream
/// passes the limit (the rest is never read): nothing is written.
async fn read(
    mut stream: Streaming<wire::ImportSalesFiguresRequest>,
    max_figures: usize,
) -> Result<(String, Vec<wire::SalesFigure>, Violations), StatsError> {
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
        if wire_figures.len() + batch.figures.len() > max_figures {
            return Err(StatsError::invalid(
                "figures",
                format!(
                    "an import holds at most {max_figures} figures (import.max_figures); \
                     this one has more: split it into several imports"
                ),
            ));
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
    Ok((request_id, wire_figures, v))
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
fn decode(
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

/// The digest of an import's content: its figures without their output-only fields.
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

/// Gives every figure its id (UUIDv7, in import order) and links it to the revision it
/// follows ([`Engine::link_revisions`]); returns the figures and how many revise an earlier
/// figure.
fn number_and_link(
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
