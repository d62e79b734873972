//! Targets: create (added to the event that announced them), list, update and delete
//! (taken off that event).

use autointel_domain::{Target, TargetId, TargetStatus, Violations};
use autointel_proto::convert::WireEnum;
use autointel_proto::registry as wire;

use super::Result;
use super::paging::list_page;
use super::request::{accepted, etag_opt, organization_filter, parse_name};
use super::resource::{Update, idempotency, new_resource, resource};
use crate::store::{Store, TargetFilter, to_wire_with_meta};

resource!(
    Target,
    TargetId,
    't',
    updatable [
        description,
        metric,
        period,
        deadline,
        threshold_units,
        comparator,
        status,
        sources,
    ]
);

/// `CreateTarget`: a target that names an event is added to that event's targets.
pub(super) async fn create(store: &Store, req: wire::CreateTargetRequest) -> Result<wire::Target> {
    let mut v = Violations::new();
    let idem = idempotency("CreateTarget", &req, &req.request_id, &mut v);
    let value = new_resource::<Target>(&mut v, req.target.as_ref(), &req.target_id);
    let value = accepted(v, value, "target", "is invalid")?;
    Ok(to_wire_with_meta(
        &store.create_target(value, idem.as_ref()).await?,
    ))
}

/// `ListTargets`: by status and organisation.
pub(super) async fn list(
    store: &Store,
    req: wire::ListTargetsRequest,
) -> Result<wire::ListTargetsResponse> {
    let mut v = Violations::new();
    let filter = TargetFilter {
        status: v
            .check("status", TargetStatus::from_wire_filter(req.status))
            .flatten(),
        organization: organization_filter(&mut v, &req.organization),
    };
    let (targets, next_page_token) = list_page(store, &req, v, &filter).await?;
    Ok(wire::ListTargetsResponse {
        targets,
        next_page_token,
    })
}

/// `UpdateTarget`.
pub(super) async fn update(store: &Store, req: wire::UpdateTargetRequest) -> Result<wire::Target> {
    Update::<Target>::read(req.target.as_ref(), req.update_mask.as_ref(), |_, _, _| {})?
        .apply(store, |_, next| Ok(next))
        .await
}

/// `DeleteTarget`: the event that announced it no longer lists it.
pub(super) async fn delete(store: &Store, req: wire::DeleteTargetRequest) -> Result<()> {
    let id: TargetId = parse_name("name", &req.name)?;
    store.delete_target(id.as_str(), etag_opt(&req.etag)).await
}
