//! Partnerships: create, get, list, update (predecessor chains without loops, status along
//! its lifecycle), delete, each answer with its successors, and the partners an
//! organisation reaches through them.

use std::collections::{HashSet, VecDeque};

use autointel_domain::{
    Organization, OrganizationId, Partnership, PartnershipId, PartnershipKind, PartnershipStatus,
    Violations,
};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::registry as wire;

use super::Result;
use super::paging::list_page;
use super::request::{etag_opt, finish, months_filter, organization_filter, parse_name};
use super::resource::{self, Update, must_exist, resource};
use crate::error::RegistryError;
use crate::store::{PartnershipFilter, Record, Store};

/// Most partnership hops `ListPartners` follows.
pub const MAX_HOPS: i32 = 4;

resource!(
    Partnership,
    PartnershipId,
    'p',
    updatable [
        title,
        description,
        parties,
        focus_areas,
        status,
        announced_date,
        started_date,
        ended_date,
        predecessor,
        sources,
    ]
);

/// `CreatePartnership`.
pub(super) async fn create(
    store: &Store,
    req: wire::CreatePartnershipRequest,
) -> Result<wire::Partnership> {
    resource::create::<Partnership>(
        store,
        "CreatePartnership",
        &req,
        &req.request_id,
        req.partnership.as_ref(),
        &req.partnership_id,
    )
    .await
}

/// `GetPartnership`, with its successors.
pub(super) async fn get(
    store: &Store,
    req: &wire::GetPartnershipRequest,
) -> Result<wire::Partnership> {
    let mut found = resource::get::<Partnership>(store, &req.name).await?;
    fill_successors(store, std::slice::from_mut(&mut found)).await?;
    Ok(found)
}

/// Fills `successors` of `partnerships` from the store: one query for all of them.
async fn fill_successors(store: &Store, partnerships: &mut [wire::Partnership]) -> Result<()> {
    let ids: Vec<Option<PartnershipId>> = partnerships
        .iter()
        .map(|p| PartnershipId::from_resource_name(&p.name).ok())
        .collect();
    let keys: Vec<&str> = ids.iter().flatten().map(PartnershipId::as_str).collect();
    let mut successors = store.successors_of(&keys).await?;
    for (p, id) in partnerships.iter_mut().zip(&ids) {
        p.successors = id
            .as_ref()
            .and_then(|id| successors.remove(id.as_str()))
            .unwrap_or_default()
            .into_iter()
            .map(|s| format!("{}/{s}", PartnershipId::COLLECTION))
            .collect();
    }
    Ok(())
}

/// `ListPartnerships`: by kind, status, party and announcement months, in timeline order;
/// the successors of the whole page in one query.
pub(super) async fn list(
    store: &Store,
    req: wire::ListPartnershipsRequest,
) -> Result<wire::ListPartnershipsResponse> {
    let mut v = Violations::new();
    let filter = PartnershipFilter {
        kind: v
            .check("kind", PartnershipKind::from_wire_filter(req.kind))
            .flatten(),
        status: v
            .check("status", PartnershipStatus::from_wire_filter(req.status))
            .flatten(),
        organization: organization_filter(&mut v, &req.organization),
        announced_within: months_filter(&mut v, "announced_within", req.announced_within.as_ref()),
    };
    let (mut partnerships, next_page_token) = list_page(store, &req, v, &filter).await?;
    fill_successors(store, &mut partnerships).await?;
    Ok(wire::ListPartnershipsResponse {
        partnerships,
        next_page_token,
    })
}

/// `UpdatePartnership`: a predecessor chain must not loop back to the partnership, and its
/// status moves only along its lifecycle.
pub(super) async fn update(
    store: &Store,
    req: wire::UpdatePartnershipRequest,
) -> Result<wire::Partnership> {
    let update = Update::<Partnership>::read(
        req.partnership.as_ref(),
        req.update_mask.as_ref(),
        |_, _, _| {},
    )?;
    if update.touches("predecessor") && !update.patch.predecessor.is_empty() {
        refuse_predecessor_cycle(store, &update.id, &update.patch.predecessor).await?;
    }
    let mut updated = update
        .apply(store, |current, next| {
            if !current.status.can_transition_to(next.status) {
                return Err(RegistryError::precondition(
                    "INVALID_STATUS_TRANSITION",
                    current.resource_name(),
                    format!(
                        "a partnership cannot move from {} to {}",
                        current.status, next.status
                    ),
                ));
            }
            Ok(next)
        })
        .await?;
    fill_successors(store, std::slice::from_mut(&mut updated)).await?;
    Ok(updated)
}

/// `DeletePartnership`: refused while an event or a successor references it.
pub(super) async fn delete(store: &Store, req: wire::DeletePartnershipRequest) -> Result<()> {
    let id: PartnershipId = parse_name("name", &req.name)?;
    store
        .delete::<Partnership>(id.as_str(), etag_opt(&req.etag))
        .await
}

/// FAILED_PRECONDITION when following predecessors from `predecessor` leads back to `id`.
async fn refuse_predecessor_cycle(
    store: &Store,
    id: &PartnershipId,
    predecessor: &str,
) -> Result<()> {
    let mut cursor = PartnershipId::from_resource_name(predecessor).ok();
    let mut steps = 0;
    while let Some(p) = cursor {
        if &p == id {
            return Err(RegistryError::precondition(
                "PREDECESSOR_CYCLE",
                id.resource_name(),
                format!("{} would become its own predecessor", id.resource_name()),
            ));
        }
        steps += 1;
        if steps > 64 {
            break;
        }
        cursor = store
            .get::<Partnership>(p.as_str())
            .await?
            .and_then(|s| s.value.predecessor);
    }
    Ok(())
}

/// `ListPartners`: organisations reached through partnerships (of a kind and status, if
/// given) within `max_hops`, nearest first, each once with the path that reached it.
pub(super) async fn partners(
    store: &Store,
    req: wire::ListPartnersRequest,
) -> Result<wire::ListPartnersResponse> {
    let mut v = Violations::new();
    let start = v.check(
        "organization",
        OrganizationId::from_resource_name(&req.organization),
    );
    let hops = match req.max_hops {
        0 => 1,
        h if (1..=MAX_HOPS).contains(&h) => h,
        _ => {
            v.push("max_hops", format!("must be 0 to {MAX_HOPS}"));
            1
        }
    };
    let kind = v
        .check("kind", PartnershipKind::from_wire_filter(req.kind))
        .flatten();
    let status = v
        .check("status", PartnershipStatus::from_wire_filter(req.status))
        .flatten();
    finish(v)?;
    let Some(start) = start else {
        return Err(RegistryError::invalid("organization", "is invalid"));
    };
    must_exist::<Organization>(store, &start).await?;
    let mut seen = HashSet::from([start.clone()]);
    let mut queue = VecDeque::from([(start, 0, Vec::<String>::new())]);
    let mut partners = Vec::new();
    while let Some((org, depth, path)) = queue.pop_front() {
        if depth >= hops {
            continue;
        }
        for p in store.partnerships_of(org.as_str()).await? {
            if kind.is_some_and(|k| k != p.kind) || status.is_some_and(|s| s != p.status) {
                continue;
            }
            for party in &p.parties {
                if seen.insert(party.organization.clone()) {
                    let mut next_path = path.clone();
                    next_path.push(p.id.resource_name());
                    partners.push(wire::Partner {
                        organization: party.organization.resource_name(),
                        hops: depth + 1,
                        path: next_path.clone(),
                    });
                    queue.push_back((party.organization.clone(), depth + 1, next_path));
                }
            }
        }
    }
    Ok(wire::ListPartnersResponse { partners })
}
