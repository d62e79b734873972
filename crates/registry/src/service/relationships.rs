//! Relationships: create, list, update, delete, and the ownership hierarchy they form
//! (ancestors and descendants as of a date).

use std::collections::HashSet;

use autointel_domain::{
    Organization, OrganizationId, Relationship, RelationshipId, RelationshipKind, Violations,
};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::registry as wire;

use super::Result;
use super::paging::list_page;
use super::request::{as_of, etag_opt, finish, organization_filter, parse_name};
use super::resource::{self, Update, must_exist, resource};
use crate::error::RegistryError;
use crate::store::{RelationshipFilter, Store, to_wire_with_meta};

/// Deepest hierarchy walk.
pub const MAX_DEPTH: i32 = 16;

resource!(
    Relationship,
    RelationshipId,
    'r',
    updatable [stake_basis_points, valid_from_date, valid_to_date, sources, controls]
);

/// `CreateRelationship`.
pub(super) async fn create(
    store: &Store,
    req: wire::CreateRelationshipRequest,
) -> Result<wire::Relationship> {
    resource::create::<Relationship>(
        store,
        "CreateRelationship",
        &req,
        &req.request_id,
        req.relationship.as_ref(),
        &req.relationship_id,
    )
    .await
}

/// `ListRelationships`: by kind and by an organisation on either end.
pub(super) async fn list(
    store: &Store,
    req: wire::ListRelationshipsRequest,
) -> Result<wire::ListRelationshipsResponse> {
    let mut v = Violations::new();
    let filter = RelationshipFilter {
        kind: v
            .check("kind", RelationshipKind::from_wire_filter(req.kind))
            .flatten(),
        organization: organization_filter(&mut v, &req.organization),
    };
    let (relationships, next_page_token) = list_page(store, &req, v, &filter).await?;
    Ok(wire::ListRelationshipsResponse {
        relationships,
        next_page_token,
    })
}

/// `UpdateRelationship`.
pub(super) async fn update(
    store: &Store,
    req: wire::UpdateRelationshipRequest,
) -> Result<wire::Relationship> {
    Update::<Relationship>::read(
        req.relationship.as_ref(),
        req.update_mask.as_ref(),
        |_, _, _| {},
    )?
    .apply(store, |_, next| Ok(next))
    .await
}

/// `DeleteRelationship`.
pub(super) async fn delete(store: &Store, req: wire::DeleteRelationshipRequest) -> Result<()> {
    let id: RelationshipId = parse_name("name", &req.name)?;
    store
        .delete_relationship(id.as_str(), etag_opt(&req.etag))
        .await
}

/// `ListAncestors`: owners, their owners and so on, nearest first.
pub(super) async fn ancestors(
    store: &Store,
    req: wire::ListAncestorsRequest,
) -> Result<wire::ListAncestorsResponse> {
    let ancestors = walk(
        store,
        &req.organization,
        req.as_of_date.as_ref(),
        req.max_depth,
        true,
    )
    .await?;
    Ok(wire::ListAncestorsResponse { ancestors })
}

/// `ListDescendants`: what it owns, what those own and so on, nearest first.
pub(super) async fn descendants(
    store: &Store,
    req: wire::ListDescendantsRequest,
) -> Result<wire::ListDescendantsResponse> {
    let descendants = walk(
        store,
        &req.organization,
        req.as_of_date.as_ref(),
        req.max_depth,
        false,
    )
    .await?;
    Ok(wire::ListDescendantsResponse { descendants })
}

/// Breadth-first walk of the hierarchy, up (ancestors) or down, over links valid on
/// the date; each organisation once, nearest first.
async fn walk(
    store: &Store,
    organization: &str,
    as_of_date: Option<&autointel_proto::google::r#type::Date>,
    max_depth: i32,
    up: bool,
) -> Result<Vec<wire::HierarchyNode>> {
    let mut v = Violations::new();
    let start = v.check(
        "organization",
        OrganizationId::from_resource_name(organization),
    );
    let depth_limit = match max_depth {
        0 => MAX_DEPTH,
        d if (1..=MAX_DEPTH).contains(&d) => d,
        _ => {
            v.push("max_depth", format!("must be 0 to {MAX_DEPTH}"));
            0
        }
    };
    let date = match as_of(as_of_date) {
        Ok(d) => Some(d),
        Err(RegistryError::InvalidArgument(e)) => {
            for f in e.into_violations() {
                v.push(f.field, f.description);
            }
            None
        }
        Err(e) => return Err(e),
    };
    finish(v)?;
    let (Some(start), Some(date)) = (start, date) else {
        return Err(RegistryError::invalid("organization", "is invalid"));
    };
    must_exist::<Organization>(store, &start).await?;
    let mut seen = HashSet::from([start.clone()]);
    let mut frontier = vec![start];
    let mut nodes = Vec::new();
    for depth in 1..=depth_limit {
        let mut next = Vec::new();
        for org in &frontier {
            for rel in store.relationships_of(org.as_str(), up).await? {
                if !rel.is_valid_on(date) {
                    continue;
                }
                let other = if up {
                    rel.parent.clone()
                } else {
                    rel.child.clone()
                };
                if seen.insert(other.clone()) {
                    let mut w = wire::Relationship::from(&rel);
                    if let Some(s) = store.get::<Relationship>(rel.id.as_str()).await? {
                        w = to_wire_with_meta(&s);
                    }
                    nodes.push(wire::HierarchyNode {
                        organization: other.resource_name(),
                        depth,
                        relationship: Some(w),
                    });
                    next.push(other);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(nodes)
}
