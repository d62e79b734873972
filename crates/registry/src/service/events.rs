//! Events: create (a clarification supersedes what it names), list in timeline order,
//! update, delete (reinstating what the deleted event superseded), and the watch stream of
//! their changes.

use std::pin::Pin;

use autointel_domain::{
    Event, EventId, EventKind, EventStatus, OrganizationId, ParticipantRef, PersonId, Violations,
};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::registry as wire;
use autointel_server::fanout::{Fanout, Feed};
use tokio_stream::{Stream, StreamExt as _};
use tonic::Status;

use super::Result;
use super::paging::{decode_cursor, encode_cursor, list_page};
use super::request::{accepted, etag_opt, months_filter, parse_name, search_text};
use super::resource::{Update, idempotency, new_resource, resource};
use crate::error::RegistryError;
use crate::store::{EventFilter, Store, to_wire_with_meta};

resource!(
    Event,
    EventId,
    'e',
    updatable [
        kind,
        title,
        summary,
        participants,
        occurred_date,
        announced_date,
        status,
        partnership,
        quotes,
        sources,
        market,
    ]
);

/// Why a request may not set `SUPERSEDED`.
const SUPERSEDED_BY_SERVICE: &str =
    "SUPERSEDED is set by the service when another event supersedes this one";

/// The event change log as the watch fan-out reads it.
#[derive(Clone, Debug)]
pub struct EventFeed(pub Store);

impl Feed for EventFeed {
    type Item = (i32, wire::Event);

    async fn after(
        &self,
        after: i64,
        limit: i64,
    ) -> std::result::Result<Vec<(i64, Self::Item)>, Status> {
        Ok(self
            .0
            .changes_after(after, limit)
            .await
            .map_err(Status::from)?
            .into_iter()
            .map(|c| (c.seq, (c.change_type, c.event)))
            .collect())
    }

    async fn latest(&self) -> std::result::Result<i64, Status> {
        self.0.latest_change().await.map_err(Status::from)
    }
}

/// `CreateEvent`: output-only fields are ignored and `SUPERSEDED` refused; superseding
/// another event marks that one superseded.
pub(super) async fn create(store: &Store, req: wire::CreateEventRequest) -> Result<wire::Event> {
    let mut v = Violations::new();
    let idem = idempotency("CreateEvent", &req, &req.request_id, &mut v);
    let mut event_wire = req.event.clone();
    if let Some(e) = event_wire.as_mut() {
        e.superseded_by.clear();
        e.targets.clear();
        if e.status == EventStatus::Superseded.to_wire() {
            v.push("event.status", SUPERSEDED_BY_SERVICE);
            e.status = EventStatus::Reported.to_wire();
        }
    }
    let value = new_resource::<Event>(&mut v, event_wire.as_ref(), &req.event_id);
    let value = accepted(v, value, "event", "is invalid")?;
    Ok(to_wire_with_meta(
        &store.create_event(value, idem.as_ref()).await?,
    ))
}

/// `ListEvents`: by kind, status, participant, occurrence months and text, in timeline
/// order, with the cursor to watch from for what changes after the listing.
pub(super) async fn list(
    store: &Store,
    req: wire::ListEventsRequest,
) -> Result<wire::ListEventsResponse> {
    let mut v = Violations::new();
    let mut filter = EventFilter {
        kind: v
            .check("kind", EventKind::from_wire_filter(req.kind))
            .flatten(),
        status: v
            .check("status", EventStatus::from_wire_filter(req.status))
            .flatten(),
        exclude_superseded: req.exclude_superseded,
        ..EventFilter::default()
    };
    if !req.participant.is_empty() {
        let participant = OrganizationId::from_resource_name(&req.participant)
            .map(ParticipantRef::Organization)
            .or_else(|_| {
                PersonId::from_resource_name(&req.participant).map(ParticipantRef::Person)
            });
        match participant {
            Ok(p) => filter.participant = Some(p),
            Err(_) => v.push(
                "participant",
                "must be an organisation or person resource name (organizations/{id} or people/{id})",
            ),
        }
    }
    filter.occurred_within = months_filter(&mut v, "occurred_within", req.occurred_within.as_ref());
    filter.text = search_text(&mut v, "text", &req.text);
    if !req.market.is_empty() {
        filter.market = v.check("market", autointel_domain::Market::parse(&req.market));
    }
    // Read the cursor before listing: a change racing with the listing is then
    // repeated by WatchEvents rather than missed.
    let cursor = store.latest_change().await?;
    let (events, next_page_token) = list_page(store, &req, v, &filter).await?;
    Ok(wire::ListEventsResponse {
        events,
        next_page_token,
        watch_cursor: encode_cursor(cursor),
    })
}

/// `UpdateEvent`: `SUPERSEDED` is refused (and a superseded event keeps it: the merged
/// event must be valid).
pub(super) async fn update(store: &Store, req: wire::UpdateEventRequest) -> Result<wire::Event> {
    Update::<Event>::read(
        req.event.as_ref(),
        req.update_mask.as_ref(),
        |v, e, paths| {
            if paths.iter().any(|p| p == "status") && e.status == EventStatus::Superseded.to_wire()
            {
                v.push("event.status", SUPERSEDED_BY_SERVICE);
            }
        },
    )?
    .apply(store, |_, next| Ok(next))
    .await
}

/// `DeleteEvent`: refused while a target names it or another event supersedes it; the
/// event it superseded, if any, is reinstated.
pub(super) async fn delete(store: &Store, req: wire::DeleteEventRequest) -> Result<()> {
    let id: EventId = parse_name("name", &req.name)?;
    store.delete_event(id.as_str(), etag_opt(&req.etag)).await
}

/// The stream `WatchEvents` answers with.
pub(super) type WatchStream =
    Pin<Box<dyn Stream<Item = std::result::Result<wire::WatchEventsResponse, Status>> + Send>>;

/// `WatchEvents`: every change after the request's cursor (or from now), each with the
/// cursor to resume after it.
pub(super) async fn watch(
    feed: &Fanout<EventFeed>,
    req: &wire::WatchEventsRequest,
) -> std::result::Result<WatchStream, Status> {
    let start = watch_start(req).map_err(Status::from)?;
    let changes = feed.subscribe(start, encode_cursor).await?;
    Ok(Box::pin(changes.map(|change| {
        change.map(|(seq, (change_type, event))| wire::WatchEventsResponse {
            change_type,
            event: Some(event),
            cursor: encode_cursor(seq),
        })
    })))
}

/// The change seq a watch starts after: its cursor's, or none (from now).
fn watch_start(req: &wire::WatchEventsRequest) -> Result<Option<i64>> {
    if req.cursor.is_empty() {
        return Ok(None);
    }
    decode_cursor(&req.cursor)
        .map(Some)
        .ok_or_else(|| RegistryError::invalid("cursor", "is malformed"))
}
