//! The gRPC adapter: converts requests into domain values (collecting every field
//! violation), calls the store, converts results back.

use std::collections::{HashSet, VecDeque};

use autointel_domain::{
    Date, EventId, EventKind, EventStatus, OrganizationId, OrganizationKind, ParticipantRef,
    PartnershipId, PartnershipKind, PartnershipStatus, PersonId, RelationshipId, RelationshipKind,
    SourceId, SourceKind, TargetId, TargetStatus, ValidationError, Violations,
};
use autointel_proto::convert::types::{date_from_wire, month_range_from_wire};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::registry::{self as wire, registry_service_server::RegistryService};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost::Message;
use std::sync::Arc;

use autointel_server::fanout::{Fanout, Feed};
use tokio_stream::StreamExt as _;
use tonic::{Request, Response, Status};

use crate::error::RegistryError;
use crate::store::{
    EventFilter, Filter, Idempotency, OrganizationFilter, Page, PageRequest, PartnershipFilter,
    PersonFilter, Record, RelationshipFilter, SourceFilter, Store, Stored, TargetFilter,
    to_wire_with_meta,
};

type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// Page size when the request leaves it at 0 (AIP-158).
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page; larger requests are coerced to it.
pub const MAX_PAGE_SIZE: usize = 1000;
/// Deepest hierarchy walk.
pub const MAX_DEPTH: i32 = 16;
/// Most partnership hops `ListPartners` follows.
pub const MAX_HOPS: i32 = 4;
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

/// `RegistryService` over a [`Store`].
#[derive(Clone, Debug)]
pub struct RegistryApi {
    store: Store,
    watch: Arc<Fanout<EventFeed>>,
}

impl RegistryApi {
    /// A service over `store`; `WatchEvents` streams share `watch`.
    pub fn new(store: Store, watch: Arc<Fanout<EventFeed>>) -> Self {
        Self { store, watch }
    }
}

// ------------------------------------------------------------------ request helpers

fn parse_name<R: ResourceId>(field: &str, name: &str) -> Result<R> {
    R::from_resource_name(name).map_err(|e| RegistryError::invalid(field, e.description()))
}

fn prefixed(prefix: &str, err: ValidationError) -> RegistryError {
    let mut v = Violations::new();
    v.extend_prefixed(prefix, err);
    match v.finish() {
        Err(e) => RegistryError::InvalidArgument(e),
        Ok(()) => RegistryError::invalid(prefix, "is invalid"),
    }
}

fn finish(v: Violations) -> Result<()> {
    v.finish().map_err(RegistryError::InvalidArgument)
}

fn idempotency(
    method: &'static str,
    request: &impl Message,
    request_id: &str,
    v: &mut Violations,
) -> Option<Idempotency> {
    if request_id.is_empty() {
        return None;
    }
    if uuid::Uuid::parse_str(request_id).is_err() {
        v.push("request_id", "must be a UUID (AIP-155)");
        return None;
    }
    Some(Idempotency {
        request_id: request_id.to_owned(),
        method,
        request: request.encode_to_vec(),
    })
}

/// A generated id: a prefix letter and a UUIDv7 in simple hex (AIP-122 compliant).
fn generate_id(prefix: char) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

/// Converts the resource of a create request: the id comes from the request's id field
/// (or is generated); `name` and output-only fields are ignored.
fn new_resource<T: Record>(
    v: &mut Violations,
    wire: Option<&T::Wire>,
    id_field: &str,
    requested_id: &str,
    prefix: char,
    set_name: impl FnOnce(&mut T::Wire, String),
    validate_id: fn(&str) -> Result<(), autointel_domain::ValueError>,
) -> Option<T> {
    let Some(wire) = wire else {
        v.push(T::FIELD, "is required");
        return None;
    };
    let id = if requested_id.is_empty() {
        generate_id(prefix)
    } else {
        match validate_id(requested_id) {
            Ok(()) => requested_id.to_owned(),
            Err(e) => {
                v.push(id_field, e.description());
                // Keep converting with a placeholder to report every other violation too.
                generate_id(prefix)
            }
        }
    };
    let mut wire = wire.clone();
    set_name(&mut wire, format!("{}/{id}", T::COLLECTION));
    v.check_nested(T::FIELD, T::from_wire(&wire))
}

/// FNV-1a: a stable fingerprint of a request's filters for page tokens.
fn fingerprint(method: &str, filters: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in method.as_bytes().iter().chain([0u8].iter()).chain(filters) {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Longest search text (`text` filters, `LookupOrganizations.query`), in characters.
const MAX_SEARCH_CHARS: usize = 500;

/// A search filter; `None` when not given. Control characters and over-long text are
/// violations of `field` (PostgreSQL rejects a NUL in a query parameter, which must not
/// become a server error).
fn search_text(v: &mut Violations, field: &str, text: &str) -> Option<String> {
    match autointel_domain::validation::optional_text(text, MAX_SEARCH_CHARS) {
        Ok(text) => text,
        Err(e) => {
            v.push(field, e.description());
            None
        }
    }
}

/// An `organization` filter: the organisation a resource name names; `None` when not given.
fn organization_filter(v: &mut Violations, name: &str) -> Option<OrganizationId> {
    if name.is_empty() {
        return None;
    }
    v.check("organization", OrganizationId::from_resource_name(name))
}

/// A month-range filter; `None` when not given.
fn months_filter(
    v: &mut Violations,
    field: &str,
    range: Option<&autointel_proto::types::MonthRange>,
) -> Option<autointel_domain::MonthRange> {
    v.check_nested(field, month_range_from_wire(range?))
}

/// Page size and position from a list request; the token must come from the same query.
fn page_request(
    v: &mut Violations,
    fp: u64,
    page_size: i32,
    page_token: &str,
) -> Option<PageRequest> {
    let size = match page_size {
        n if n < 0 => {
            v.push("page_size", "must not be negative");
            return None;
        }
        0 => DEFAULT_PAGE_SIZE,
        n => usize::try_from(n)
            .unwrap_or(MAX_PAGE_SIZE)
            .min(MAX_PAGE_SIZE),
    };
    if page_token.is_empty() {
        return Some(PageRequest { size, after: None });
    }
    match decode_page_token(page_token) {
        None => {
            v.push("page_token", "is malformed");
            None
        }
        Some((token_fp, _, _)) if token_fp != fp => {
            v.push(
                "page_token",
                "was issued for a different query; repeat the same filters or start over",
            );
            None
        }
        Some((_, rank, id)) => Some(PageRequest {
            size,
            after: Some((rank, id)),
        }),
    }
}

fn next_token<T>(fp: u64, page: &Page<T>) -> String {
    match &page.next {
        None => String::new(),
        Some((rank, id)) => encode_page_token(fp, *rank, id),
    }
}

/// An opaque page token: the query's fingerprint and the (rank, id) of the last item served.
pub fn encode_page_token(fp: u64, rank: i64, id: &str) -> String {
    let payload = format!("v2:{fp:016x}:{rank}:{id}");
    let check = fingerprint("page_token", payload.as_bytes());
    URL_SAFE_NO_PAD.encode(format!("{payload}:{check:016x}"))
}

/// Base64 that is exactly what we would have written: a token whose last character was
/// edited in its unused bits decodes to the same bytes but is not canonical, and is refused.
fn canonical_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    (URL_SAFE_NO_PAD.encode(&bytes) == text).then_some(bytes)
}

/// The (fingerprint, rank, id) of a page token, if it is one of ours.
/// Any edit of a token (its checksum covers the payload, its base64 must be canonical)
/// makes it not ours.
pub fn decode_page_token(page_token: &str) -> Option<(u64, i64, String)> {
    let text = String::from_utf8(canonical_base64(page_token)?).ok()?;
    let (payload, check) = text.rsplit_once(':')?;
    if check != format!("{:016x}", fingerprint("page_token", payload.as_bytes())) {
        return None;
    }
    let mut parts = payload.splitn(4, ':');
    let (Some("v2"), Some(token_fp), Some(rank), Some(id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some((
        u64::from_str_radix(token_fp, 16).ok()?,
        rank.parse::<i64>().ok()?,
        id.to_owned(),
    ))
}

fn wires<T: Record>(items: &[Stored<T>]) -> Vec<T::Wire> {
    items.iter().map(to_wire_with_meta).collect()
}

/// Reads the update mask: required, every path allowed.
fn mask_paths(
    v: &mut Violations,
    mask: Option<&prost_types::FieldMask>,
    allowed: &[&str],
) -> Vec<String> {
    let paths = mask.map(|m| m.paths.clone()).unwrap_or_default();
    if paths.is_empty() {
        v.push(
            "update_mask",
            "is required and must name at least one field",
        );
    }
    for path in &paths {
        if !allowed.contains(&path.as_str()) {
            v.push(
                "update_mask",
                format!(
                    "{} cannot be updated; updatable fields: {}",
                    autointel_domain::Shown(path),
                    allowed.join(", ")
                ),
            );
        }
    }
    paths
}

/// Applies the masked fields of `patch` to the current value and re-validates.
fn merge<T: Record>(
    current: &T,
    patch: &T::Wire,
    paths: &[String],
    copy: fn(&mut T::Wire, &T::Wire, &str),
) -> Result<T> {
    let mut merged = current.to_wire();
    for path in paths {
        copy(&mut merged, patch, path);
    }
    T::from_wire(&merged).map_err(|e| prefixed(T::FIELD, e))
}

macro_rules! copy_fields {
    ($dst:ident, $src:ident, $path:ident, [$($field:ident),* $(,)?]) => {
        match $path {
            $(stringify!($field) => $dst.$field = $src.$field.clone(),)*
            _ => {}
        }
    };
}

fn copy_organization(d: &mut wire::Organization, s: &wire::Organization, path: &str) {
    copy_fields!(
        d,
        s,
        path,
        [kind, english_name, chinese_name, aliases, country_code]
    );
}
fn copy_relationship(d: &mut wire::Relationship, s: &wire::Relationship, path: &str) {
    copy_fields!(
        d,
        s,
        path,
        [stake_basis_points, valid_from_date, valid_to_date, sources]
    );
}
fn copy_partnership(d: &mut wire::Partnership, s: &wire::Partnership, path: &str) {
    copy_fields!(
        d,
        s,
        path,
        [
            title,
            description,
            parties,
            focus_areas,
            status,
            announced_date,
            started_date,
            ended_date,
            predecessor,
            sources
        ]
    );
}
fn copy_event(d: &mut wire::Event, s: &wire::Event, path: &str) {
    copy_fields!(
        d,
        s,
        path,
        [
            kind,
            title,
            summary,
            participants,
            occurred_date,
            announced_date,
            status,
            partnership,
            quotes,
            sources
        ]
    );
}
fn copy_target(d: &mut wire::Target, s: &wire::Target, path: &str) {
    copy_fields!(
        d,
        s,
        path,
        [
            description,
            metric,
            period,
            deadline,
            threshold_units,
            comparator,
            status,
            sources
        ]
    );
}

/// Resource id and etag of an update request's resource.
fn update_target_id<R: ResourceId>(
    v: &mut Violations,
    field: &str,
    name: Option<&str>,
) -> Option<R> {
    match name {
        None => {
            v.push(field, "is required");
            None
        }
        Some(name) => v.check(format!("{field}.name"), R::from_resource_name(name)),
    }
}

fn etag_opt(etag: &str) -> Option<&str> {
    (!etag.is_empty()).then_some(etag)
}

fn as_of(date: Option<&autointel_proto::google::r#type::Date>) -> Result<Date> {
    match date {
        Some(d) => date_from_wire(d).map_err(|e| prefixed("as_of_date", e)),
        None => crate::store::today(),
    }
}

async fn get_or_not_found<T: Record>(store: &Store, id: &str) -> Result<Stored<T>> {
    store
        .get::<T>(id)
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("{}/{id}", T::COLLECTION)))
}

fn ok<T>(r: Result<T>) -> std::result::Result<Response<T>, Status> {
    r.map(Response::new).map_err(Status::from)
}

// ------------------------------------------------------------------ the service

impl RegistryApi {
    async fn create_organization(
        &self,
        req: wire::CreateOrganizationRequest,
    ) -> Result<wire::Organization> {
        let mut v = Violations::new();
        if let Some(o) = &req.organization {
            autointel_domain::check_alias_count(&mut v, "organization.aliases", o.aliases.len());
        }
        let idem = idempotency("CreateOrganization", &req, &req.request_id, &mut v);
        let org = new_resource::<autointel_domain::Organization>(
            &mut v,
            req.organization.as_ref(),
            "organization_id",
            &req.organization_id,
            'o',
            |w, n| w.name = n,
            autointel_domain::check_resource_id,
        );
        if let Some(org) = &org {
            autointel_domain::check_visible_names(&mut v, "organization", org);
        }
        finish(v)?;
        let Some(org) = org else {
            return Err(RegistryError::invalid("organization", "is invalid"));
        };
        let stored = self.store.create(org, idem.as_ref()).await?;
        Ok(to_wire_with_meta(&stored))
    }

    async fn list_organizations(
        &self,
        req: wire::ListOrganizationsRequest,
    ) -> Result<wire::ListOrganizationsResponse> {
        let mut v = Violations::new();
        let mut filter = OrganizationFilter {
            kind: v
                .check("kind", OrganizationKind::from_wire_filter(req.kind))
                .flatten(),
            ..OrganizationFilter::default()
        };
        if !req.country_code.is_empty() {
            filter.country_code = v.check(
                "country_code",
                autointel_domain::CountryCode::parse(&req.country_code),
            );
        }
        filter.text = search_text(&mut v, "text", &req.text);
        let fp = fingerprint(
            "ListOrganizations",
            &wire::ListOrganizationsRequest {
                page_size: 0,
                page_token: String::new(),
                ..req.clone()
            }
            .encode_to_vec(),
        );
        let (result, next_page_token) = self
            .list_page(v, fp, req.page_size, &req.page_token, &filter)
            .await?;
        Ok(wire::ListOrganizationsResponse {
            organizations: wires(&result.items),
            next_page_token,
        })
    }

    async fn update_organization(
        &self,
        req: wire::UpdateOrganizationRequest,
    ) -> Result<wire::Organization> {
        const ALLOWED: &[&str] = &[
            "kind",
            "english_name",
            "chinese_name",
            "aliases",
            "country_code",
        ];
        let mut v = Violations::new();
        let id = update_target_id::<OrganizationId>(
            &mut v,
            "organization",
            req.organization.as_ref().map(|o| o.name.as_str()),
        );
        let paths = mask_paths(&mut v, req.update_mask.as_ref(), ALLOWED);
        if let Some(o) = &req.organization {
            if paths.iter().any(|p| p == "aliases") {
                autointel_domain::check_alias_count(
                    &mut v,
                    "organization.aliases",
                    o.aliases.len(),
                );
            }
            let updated = std::iter::once(("english_name".to_owned(), &o.english_name))
                .chain(std::iter::once((
                    "chinese_name".to_owned(),
                    &o.chinese_name,
                )))
                .chain(
                    o.aliases
                        .iter()
                        .enumerate()
                        .map(|(i, a)| (format!("aliases[{i}]"), a)),
                )
                .filter(|(field, _)| {
                    let root = field.split('[').next().unwrap_or(field);
                    paths.iter().any(|p| p == root)
                });
            for (field, name) in updated {
                if let Err(e) = autointel_domain::text::check_visible(name) {
                    v.push(format!("organization.{field}"), e.description());
                }
            }
        }
        finish(v)?;
        let (Some(id), Some(patch)) = (id, req.organization.as_ref()) else {
            return Err(RegistryError::invalid("organization", "is required"));
        };
        let stored = self
            .store
            .update::<autointel_domain::Organization>(id.as_str(), etag_opt(&patch.etag), |cur| {
                merge(cur, patch, &paths, copy_organization)
            })
            .await?;
        Ok(to_wire_with_meta(&stored))
    }

    async fn create_relationship(
        &self,
        req: wire::CreateRelationshipRequest,
    ) -> Result<wire::Relationship> {
        let mut v = Violations::new();
        let idem = idempotency("CreateRelationship", &req, &req.request_id, &mut v);
        let value = new_resource::<autointel_domain::Relationship>(
            &mut v,
            req.relationship.as_ref(),
            "relationship_id",
            &req.relationship_id,
            'r',
            |w, n| w.name = n,
            autointel_domain::check_resource_id,
        );
        finish(v)?;
        let Some(value) = value else {
            return Err(RegistryError::invalid("relationship", "is invalid"));
        };
        Ok(to_wire_with_meta(
            &self.store.create(value, idem.as_ref()).await?,
        ))
    }

    async fn list_relationships(
        &self,
        req: wire::ListRelationshipsRequest,
    ) -> Result<wire::ListRelationshipsResponse> {
        let mut v = Violations::new();
        let filter = RelationshipFilter {
            kind: v
                .check("kind", RelationshipKind::from_wire_filter(req.kind))
                .flatten(),
            organization: organization_filter(&mut v, &req.organization),
        };
        let fp = fingerprint(
            "ListRelationships",
            &wire::ListRelationshipsRequest {
                page_size: 0,
                page_token: String::new(),
                ..req.clone()
            }
            .encode_to_vec(),
        );
        let (result, next_page_token) = self
            .list_page(v, fp, req.page_size, &req.page_token, &filter)
            .await?;
        Ok(wire::ListRelationshipsResponse {
            relationships: wires(&result.items),
            next_page_token,
        })
    }

    async fn update_relationship(
        &self,
        req: wire::UpdateRelationshipRequest,
    ) -> Result<wire::Relationship> {
        const ALLOWED: &[&str] = &[
            "stake_basis_points",
            "valid_from_date",
            "valid_to_date",
            "sources",
        ];
        let mut v = Violations::new();
        let id = update_target_id::<RelationshipId>(
            &mut v,
            "relationship",
            req.relationship.as_ref().map(|o| o.name.as_str()),
        );
        let paths = mask_paths(&mut v, req.update_mask.as_ref(), ALLOWED);
        finish(v)?;
        let (Some(id), Some(patch)) = (id, req.relationship.as_ref()) else {
            return Err(RegistryError::invalid("relationship", "is required"));
        };
        let stored = self
            .store
            .update::<autointel_domain::Relationship>(id.as_str(), etag_opt(&patch.etag), |cur| {
                merge(cur, patch, &paths, copy_relationship)
            })
            .await?;
        Ok(to_wire_with_meta(&stored))
    }

    /// Breadth-first walk of the hierarchy, up (ancestors) or down, over links valid on
    /// the date; each organisation once, nearest first.
    async fn walk(
        &self,
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
        if !self
            .store
            .exists::<autointel_domain::Organization>(start.as_str())
            .await?
        {
            return Err(RegistryError::NotFound(start.resource_name()));
        }
        let mut seen = HashSet::from([start.clone()]);
        let mut frontier = vec![start];
        let mut nodes = Vec::new();
        for depth in 1..=depth_limit {
            let mut next = Vec::new();
            for org in &frontier {
                for rel in self.store.relationships_of(org.as_str(), up).await? {
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
                        if let Some(s) = self
                            .store
                            .get::<autointel_domain::Relationship>(rel.id.as_str())
                            .await?
                        {
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

    async fn create_partnership(
        &self,
        req: wire::CreatePartnershipRequest,
    ) -> Result<wire::Partnership> {
        let mut v = Violations::new();
        let idem = idempotency("CreatePartnership", &req, &req.request_id, &mut v);
        let value = new_resource::<autointel_domain::Partnership>(
            &mut v,
            req.partnership.as_ref(),
            "partnership_id",
            &req.partnership_id,
            'p',
            |w, n| w.name = n,
            autointel_domain::check_resource_id,
        );
        finish(v)?;
        let Some(value) = value else {
            return Err(RegistryError::invalid("partnership", "is invalid"));
        };
        Ok(to_wire_with_meta(
            &self.store.create(value, idem.as_ref()).await?,
        ))
    }

    async fn list_partnerships(
        &self,
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
            announced_within: months_filter(
                &mut v,
                "announced_within",
                req.announced_within.as_ref(),
            ),
        };
        let fp = fingerprint(
            "ListPartnerships",
            &wire::ListPartnershipsRequest {
                page_size: 0,
                page_token: String::new(),
                ..req.clone()
            }
            .encode_to_vec(),
        );
        let (result, next_page_token) = self
            .list_page(v, fp, req.page_size, &req.page_token, &filter)
            .await?;
        Ok(wire::ListPartnershipsResponse {
            partnerships: wires(&result.items),
            next_page_token,
        })
    }

    async fn update_partnership(
        &self,
        req: wire::UpdatePartnershipRequest,
    ) -> Result<wire::Partnership> {
        const ALLOWED: &[&str] = &[
            "title",
            "description",
            "parties",
            "focus_areas",
            "status",
            "announced_date",
            "started_date",
            "ended_date",
            "predecessor",
            "sources",
        ];
        let mut v = Violations::new();
        let id = update_target_id::<PartnershipId>(
            &mut v,
            "partnership",
            req.partnership.as_ref().map(|o| o.name.as_str()),
        );
        let paths = mask_paths(&mut v, req.update_mask.as_ref(), ALLOWED);
        finish(v)?;
        let (Some(id), Some(patch)) = (id, req.partnership.as_ref()) else {
            return Err(RegistryError::invalid("partnership", "is required"));
        };
        // A predecessor chain must not loop back to this partnership.
        if paths.iter().any(|p| p == "predecessor") && !patch.predecessor.is_empty() {
            let mut cursor = PartnershipId::from_resource_name(&patch.predecessor).ok();
            let mut steps = 0;
            while let Some(p) = cursor {
                if p == id {
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
                cursor = self
                    .store
                    .get::<autointel_domain::Partnership>(p.as_str())
                    .await?
                    .and_then(|s| s.value.predecessor);
            }
        }
        let stored = self
            .store
            .update::<autointel_domain::Partnership>(id.as_str(), etag_opt(&patch.etag), |cur| {
                let next = merge(cur, patch, &paths, copy_partnership)?;
                if !cur.status.can_transition_to(next.status) {
                    return Err(RegistryError::precondition(
                        "INVALID_STATUS_TRANSITION",
                        cur.resource_name(),
                        format!(
                            "a partnership cannot move from {} to {}",
                            cur.status, next.status
                        ),
                    ));
                }
                Ok(next)
            })
            .await?;
        Ok(to_wire_with_meta(&stored))
    }

    async fn list_partners(
        &self,
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
        if !self
            .store
            .exists::<autointel_domain::Organization>(start.as_str())
            .await?
        {
            return Err(RegistryError::NotFound(start.resource_name()));
        }
        let mut seen = HashSet::from([start.clone()]);
        let mut queue = VecDeque::from([(start, 0, Vec::<String>::new())]);
        let mut partners = Vec::new();
        while let Some((org, depth, path)) = queue.pop_front() {
            if depth >= hops {
                continue;
            }
            for p in self.store.partnerships_of(org.as_str()).await? {
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

    async fn create_event(&self, req: wire::CreateEventRequest) -> Result<wire::Event> {
        let mut v = Violations::new();
        let idem = idempotency("CreateEvent", &req, &req.request_id, &mut v);
        let mut event_wire = req.event.clone();
        if let Some(e) = event_wire.as_mut() {
            e.superseded_by.clear();
            e.targets.clear();
            if e.status == EventStatus::Superseded.to_wire() {
                v.push(
                    "event.status",
                    "SUPERSEDED is set by the service when another event supersedes this one",
                );
                e.status = EventStatus::Reported.to_wire();
            }
        }
        let value = new_resource::<autointel_domain::Event>(
            &mut v,
            event_wire.as_ref(),
            "event_id",
            &req.event_id,
            'e',
            |w, n| w.name = n,
            autointel_domain::check_resource_id,
        );
        finish(v)?;
        let Some(value) = value else {
            return Err(RegistryError::invalid("event", "is invalid"));
        };
        Ok(to_wire_with_meta(
            &self.store.create_event(value, idem.as_ref()).await?,
        ))
    }

    async fn list_events(&self, req: wire::ListEventsRequest) -> Result<wire::ListEventsResponse> {
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
        filter.occurred_within =
            months_filter(&mut v, "occurred_within", req.occurred_within.as_ref());
        filter.text = search_text(&mut v, "text", &req.text);
        let fp = fingerprint(
            "ListEvents",
            &wire::ListEventsRequest {
                page_size: 0,
                page_token: String::new(),
                ..req.clone()
            }
            .encode_to_vec(),
        );
        // Read the cursor before listing: a change racing with the listing is then
        // repeated by WatchEvents rather than missed.
        let cursor = self.store.latest_change().await?;
        let (result, next_page_token) = self
            .list_page(v, fp, req.page_size, &req.page_token, &filter)
            .await?;
        Ok(wire::ListEventsResponse {
            events: wires(&result.items),
            next_page_token,
            watch_cursor: encode_cursor(cursor),
        })
    }

    async fn update_event(&self, req: wire::UpdateEventRequest) -> Result<wire::Event> {
        const ALLOWED: &[&str] = &[
            "kind",
            "title",
            "summary",
            "participants",
            "occurred_date",
            "announced_date",
            "status",
            "partnership",
            "quotes",
            "sources",
        ];
        let mut v = Violations::new();
        let id = update_target_id::<EventId>(
            &mut v,
            "event",
            req.event.as_ref().map(|o| o.name.as_str()),
        );
        let paths = mask_paths(&mut v, req.update_mask.as_ref(), ALLOWED);
        if let Some(e) = &req.event
            && paths.iter().any(|p| p == "status")
            && e.status == EventStatus::Superseded.to_wire()
        {
            v.push(
                "event.status",
                "SUPERSEDED is set by the service when another event supersedes this one",
            );
        }
        finish(v)?;
        let (Some(id), Some(patch)) = (id, req.event.as_ref()) else {
            return Err(RegistryError::invalid("event", "is required"));
        };
        let stored = self
            .store
            .update::<autointel_domain::Event>(id.as_str(), etag_opt(&patch.etag), |cur| {
                merge(cur, patch, &paths, copy_event)
            })
            .await?;
        Ok(to_wire_with_meta(&stored))
    }

    async fn create_target(&self, req: wire::CreateTargetRequest) -> Result<wire::Target> {
        let mut v = Violations::new();
        let idem = idempotency("CreateTarget", &req, &req.request_id, &mut v);
        let value = new_resource::<autointel_domain::Target>(
            &mut v,
            req.target.as_ref(),
            "target_id",
            &req.target_id,
            't',
            |w, n| w.name = n,
            autointel_domain::check_resource_id,
        );
        finish(v)?;
        let Some(value) = value else {
            return Err(RegistryError::invalid("target", "is invalid"));
        };
        Ok(to_wire_with_meta(
            &self.store.create_target(value, idem.as_ref()).await?,
        ))
    }

    /// Reads one page of a List request: the paging fields are checked together with
    /// the filters' violations, and the page token is bound to the filters (`fp`).
    async fn list_page<F: Filter>(
        &self,
        mut v: Violations,
        fp: u64,
        page_size: i32,
        page_token: &str,
        filter: &F,
    ) -> Result<(Page<F::Record>, String)> {
        let page = page_request(&mut v, fp, page_size, page_token);
        finish(v)?;
        let Some(page) = page else {
            return Err(RegistryError::invalid("page_token", "is invalid"));
        };
        let result = self.store.list(filter, &page).await?;
        let next_page_token = next_token(fp, &result);
        Ok((result, next_page_token))
    }

    async fn list_targets(
        &self,
        req: wire::ListTargetsRequest,
    ) -> Result<wire::ListTargetsResponse> {
        let mut v = Violations::new();
        let filter = TargetFilter {
            status: v
                .check("status", TargetStatus::from_wire_filter(req.status))
                .flatten(),
            organization: organization_filter(&mut v, &req.organization),
        };
        let fp = fingerprint(
            "ListTargets",
            &wire::ListTargetsRequest {
                page_size: 0,
                page_token: String::new(),
                ..req.clone()
            }
            .encode_to_vec(),
        );
        let (result, next_page_token) = self
            .list_page(v, fp, req.page_size, &req.page_token, &filter)
            .await?;
        Ok(wire::ListTargetsResponse {
            targets: wires(&result.items),
            next_page_token,
        })
    }

    async fn update_target(&self, req: wire::UpdateTargetRequest) -> Result<wire::Target> {
        const ALLOWED: &[&str] = &[
            "description",
            "metric",
            "period",
            "deadline",
            "threshold_units",
            "comparator",
            "status",
            "sources",
        ];
        let mut v = Violations::new();
        let id = update_target_id::<TargetId>(
            &mut v,
            "target",
            req.target.as_ref().map(|o| o.name.as_str()),
        );
        let paths = mask_paths(&mut v, req.update_mask.as_ref(), ALLOWED);
        finish(v)?;
        let (Some(id), Some(patch)) = (id, req.target.as_ref()) else {
            return Err(RegistryError::invalid("target", "is required"));
        };
        let stored = self
            .store
            .update::<autointel_domain::Target>(id.as_str(), etag_opt(&patch.etag), |cur| {
                merge(cur, patch, &paths, copy_target)
            })
            .await?;
        Ok(to_wire_with_meta(&stored))
    }

    async fn create_person(&self, req: wire::CreatePersonRequest) -> Result<wire::Person> {
        let mut v = Violations::new();
        let idem = idempotency("CreatePerson", &req, &req.request_id, &mut v);
        let value = new_resource::<autointel_domain::Person>(
            &mut v,
            req.person.as_ref(),
            "person_id",
            &req.person_id,
            'h',
            |w, n| w.name = n,
            autointel_domain::check_resource_id,
        );
        finish(v)?;
        let Some(value) = value else {
            return Err(RegistryError::invalid("person", "is invalid"));
        };
        Ok(to_wire_with_meta(
            &self.store.create(value, idem.as_ref()).await?,
        ))
    }

    async fn list_people(&self, req: wire::ListPeopleRequest) -> Result<wire::ListPeopleResponse> {
        let mut v = Violations::new();
        let filter = PersonFilter {
            organization: organization_filter(&mut v, &req.organization),
        };
        let fp = fingerprint(
            "ListPeople",
            &wire::ListPeopleRequest {
                page_size: 0,
                page_token: String::new(),
                ..req.clone()
            }
            .encode_to_vec(),
        );
        let (result, next_page_token) = self
            .list_page(v, fp, req.page_size, &req.page_token, &filter)
            .await?;
        Ok(wire::ListPeopleResponse {
            people: wires(&result.items),
            next_page_token,
        })
    }

    async fn create_source(&self, req: wire::CreateSourceRequest) -> Result<wire::Source> {
        let mut v = Violations::new();
        let idem = idempotency("CreateSource", &req, &req.request_id, &mut v);
        let value = new_resource::<autointel_domain::Source>(
            &mut v,
            req.source.as_ref(),
            "source_id",
            &req.source_id,
            's',
            |w, n| w.name = n,
            autointel_domain::check_resource_id,
        );
        finish(v)?;
        let Some(value) = value else {
            return Err(RegistryError::invalid("source", "is invalid"));
        };
        Ok(to_wire_with_meta(
            &self.store.create(value, idem.as_ref()).await?,
        ))
    }

    async fn list_sources(
        &self,
        req: wire::ListSourcesRequest,
    ) -> Result<wire::ListSourcesResponse> {
        let mut v = Violations::new();
        let filter = SourceFilter {
            kind: v
                .check("kind", SourceKind::from_wire_filter(req.kind))
                .flatten(),
        };
        let fp = fingerprint(
            "ListSources",
            &wire::ListSourcesRequest {
                page_size: 0,
                page_token: String::new(),
                ..req.clone()
            }
            .encode_to_vec(),
        );
        let (result, next_page_token) = self
            .list_page(v, fp, req.page_size, &req.page_token, &filter)
            .await?;
        Ok(wire::ListSourcesResponse {
            sources: wires(&result.items),
            next_page_token,
        })
    }

    fn watch(&self, req: &wire::WatchEventsRequest) -> Result<Option<i64>> {
        if req.cursor.is_empty() {
            return Ok(None);
        }
        decode_cursor(&req.cursor)
            .map(Some)
            .ok_or_else(|| RegistryError::invalid("cursor", "is malformed"))
    }
}

/// An opaque watch cursor for a change seq.
pub fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{seq}"))
}

/// The change seq of a cursor, if it is one of ours.
pub fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = canonical_base64(cursor)?;
    let text = String::from_utf8(bytes).ok()?;
    let seq: i64 = text.strip_prefix("v1:")?.parse().ok()?;
    (seq >= 0).then_some(seq)
}

#[tonic::async_trait]
impl RegistryService for RegistryApi {
    async fn create_organization(
        &self,
        request: Request<wire::CreateOrganizationRequest>,
    ) -> std::result::Result<Response<wire::Organization>, Status> {
        ok(self.create_organization(request.into_inner()).await)
    }

    async fn get_organization(
        &self,
        request: Request<wire::GetOrganizationRequest>,
    ) -> std::result::Result<Response<wire::Organization>, Status> {
        ok(async {
            let id: OrganizationId = parse_name("name", &request.get_ref().name)?;
            let s = get_or_not_found::<autointel_domain::Organization>(&self.store, id.as_str())
                .await?;
            Ok(to_wire_with_meta(&s))
        }
        .await)
    }

    async fn list_organizations(
        &self,
        request: Request<wire::ListOrganizationsRequest>,
    ) -> std::result::Result<Response<wire::ListOrganizationsResponse>, Status> {
        ok(self.list_organizations(request.into_inner()).await)
    }

    async fn update_organization(
        &self,
        request: Request<wire::UpdateOrganizationRequest>,
    ) -> std::result::Result<Response<wire::Organization>, Status> {
        ok(self.update_organization(request.into_inner()).await)
    }

    async fn delete_organization(
        &self,
        request: Request<wire::DeleteOrganizationRequest>,
    ) -> std::result::Result<Response<()>, Status> {
        ok(async {
            let req = request.into_inner();
            let id: OrganizationId = parse_name("name", &req.name)?;
            self.store
                .delete_organization(id.as_str(), etag_opt(&req.etag))
                .await
        }
        .await)
    }

    async fn lookup_organizations(
        &self,
        request: Request<wire::LookupOrganizationsRequest>,
    ) -> std::result::Result<Response<wire::LookupOrganizationsResponse>, Status> {
        ok(async {
            let raw = &request.get_ref().query;
            // Checked like a name: a NUL is refused by PostgreSQL itself, which used to
            // surface as UNAVAILABLE on PostgreSQL and as "nothing found" on SQLite.
            if let Err(e) = autointel_domain::validation::required_text(raw, MAX_SEARCH_CHARS) {
                return Err(RegistryError::invalid("query", e.description()));
            }
            let query = autointel_domain::match_key(raw);
            if query.is_empty() {
                return Err(RegistryError::invalid("query", "must not be empty"));
            }
            let legacy = autointel_domain::text::legacy_match_key(raw);
            let found = self.store.lookup_organizations(&[query, legacy]).await?;
            Ok(wire::LookupOrganizationsResponse {
                organizations: wires(&found),
            })
        }
        .await)
    }

    async fn create_relationship(
        &self,
        request: Request<wire::CreateRelationshipRequest>,
    ) -> std::result::Result<Response<wire::Relationship>, Status> {
        ok(self.create_relationship(request.into_inner()).await)
    }

    async fn get_relationship(
        &self,
        request: Request<wire::GetRelationshipRequest>,
    ) -> std::result::Result<Response<wire::Relationship>, Status> {
        ok(async {
            let id: RelationshipId = parse_name("name", &request.get_ref().name)?;
            let s = get_or_not_found::<autointel_domain::Relationship>(&self.store, id.as_str())
                .await?;
            Ok(to_wire_with_meta(&s))
        }
        .await)
    }

    async fn list_relationships(
        &self,
        request: Request<wire::ListRelationshipsRequest>,
    ) -> std::result::Result<Response<wire::ListRelationshipsResponse>, Status> {
        ok(self.list_relationships(request.into_inner()).await)
    }

    async fn update_relationship(
        &self,
        request: Request<wire::UpdateRelationshipRequest>,
    ) -> std::result::Result<Response<wire::Relationship>, Status> {
        ok(self.update_relationship(request.into_inner()).await)
    }

    async fn delete_relationship(
        &self,
        request: Request<wire::DeleteRelationshipRequest>,
    ) -> std::result::Result<Response<()>, Status> {
        ok(async {
            let req = request.into_inner();
            let id: RelationshipId = parse_name("name", &req.name)?;
            self.store
                .delete_relationship(id.as_str(), etag_opt(&req.etag))
                .await
        }
        .await)
    }

    async fn list_ancestors(
        &self,
        request: Request<wire::ListAncestorsRequest>,
    ) -> std::result::Result<Response<wire::ListAncestorsResponse>, Status> {
        let req = request.into_inner();
        ok(self
            .walk(
                &req.organization,
                req.as_of_date.as_ref(),
                req.max_depth,
                true,
            )
            .await
            .map(|ancestors| wire::ListAncestorsResponse { ancestors }))
    }

    async fn list_descendants(
        &self,
        request: Request<wire::ListDescendantsRequest>,
    ) -> std::result::Result<Response<wire::ListDescendantsResponse>, Status> {
        let req = request.into_inner();
        ok(self
            .walk(
                &req.organization,
                req.as_of_date.as_ref(),
                req.max_depth,
                false,
            )
            .await
            .map(|descendants| wire::ListDescendantsResponse { descendants }))
    }

    async fn create_partnership(
        &self,
        request: Request<wire::CreatePartnershipRequest>,
    ) -> std::result::Result<Response<wire::Partnership>, Status> {
        ok(self.create_partnership(request.into_inner()).await)
    }

    async fn get_partnership(
        &self,
        request: Request<wire::GetPartnershipRequest>,
    ) -> std::result::Result<Response<wire::Partnership>, Status> {
        ok(async {
            let id: PartnershipId = parse_name("name", &request.get_ref().name)?;
            let s =
                get_or_not_found::<autointel_domain::Partnership>(&self.store, id.as_str()).await?;
            Ok(to_wire_with_meta(&s))
        }
        .await)
    }

    async fn list_partnerships(
        &self,
        request: Request<wire::ListPartnershipsRequest>,
    ) -> std::result::Result<Response<wire::ListPartnershipsResponse>, Status> {
        ok(self.list_partnerships(request.into_inner()).await)
    }

    async fn update_partnership(
        &self,
        request: Request<wire::UpdatePartnershipRequest>,
    ) -> std::result::Result<Response<wire::Partnership>, Status> {
        ok(self.update_partnership(request.into_inner()).await)
    }

    async fn list_partners(
        &self,
        request: Request<wire::ListPartnersRequest>,
    ) -> std::result::Result<Response<wire::ListPartnersResponse>, Status> {
        ok(self.list_partners(request.into_inner()).await)
    }

    async fn create_event(
        &self,
        request: Request<wire::CreateEventRequest>,
    ) -> std::result::Result<Response<wire::Event>, Status> {
        ok(self.create_event(request.into_inner()).await)
    }

    async fn get_event(
        &self,
        request: Request<wire::GetEventRequest>,
    ) -> std::result::Result<Response<wire::Event>, Status> {
        ok(async {
            let id: EventId = parse_name("name", &request.get_ref().name)?;
            let s = get_or_not_found::<autointel_domain::Event>(&self.store, id.as_str()).await?;
            Ok(to_wire_with_meta(&s))
        }
        .await)
    }

    async fn list_events(
        &self,
        request: Request<wire::ListEventsRequest>,
    ) -> std::result::Result<Response<wire::ListEventsResponse>, Status> {
        ok(self.list_events(request.into_inner()).await)
    }

    async fn update_event(
        &self,
        request: Request<wire::UpdateEventRequest>,
    ) -> std::result::Result<Response<wire::Event>, Status> {
        ok(self.update_event(request.into_inner()).await)
    }

    type WatchEventsStream = std::pin::Pin<
        Box<
            dyn tokio_stream::Stream<Item = std::result::Result<wire::WatchEventsResponse, Status>>
                + Send,
        >,
    >;

    async fn watch_events(
        &self,
        request: Request<wire::WatchEventsRequest>,
    ) -> std::result::Result<Response<Self::WatchEventsStream>, Status> {
        let start = self.watch(request.get_ref()).map_err(Status::from)?;
        let changes = self.watch.subscribe(start, encode_cursor).await?;
        Ok(Response::new(Box::pin(changes.map(|change| {
            change.map(|(seq, (change_type, event))| wire::WatchEventsResponse {
                change_type,
                event: Some(event),
                cursor: encode_cursor(seq),
            })
        }))))
    }

    async fn create_target(
        &self,
        request: Request<wire::CreateTargetRequest>,
    ) -> std::result::Result<Response<wire::Target>, Status> {
        ok(self.create_target(request.into_inner()).await)
    }

    async fn get_target(
        &self,
        request: Request<wire::GetTargetRequest>,
    ) -> std::result::Result<Response<wire::Target>, Status> {
        ok(async {
            let id: TargetId = parse_name("name", &request.get_ref().name)?;
            let s = get_or_not_found::<autointel_domain::Target>(&self.store, id.as_str()).await?;
            Ok(to_wire_with_meta(&s))
        }
        .await)
    }

    async fn list_targets(
        &self,
        request: Request<wire::ListTargetsRequest>,
    ) -> std::result::Result<Response<wire::ListTargetsResponse>, Status> {
        ok(self.list_targets(request.into_inner()).await)
    }

    async fn update_target(
        &self,
        request: Request<wire::UpdateTargetRequest>,
    ) -> std::result::Result<Response<wire::Target>, Status> {
        ok(self.update_target(request.into_inner()).await)
    }

    async fn create_person(
        &self,
        request: Request<wire::CreatePersonRequest>,
    ) -> std::result::Result<Response<wire::Person>, Status> {
        ok(self.create_person(request.into_inner()).await)
    }

    async fn get_person(
        &self,
        request: Request<wire::GetPersonRequest>,
    ) -> std::result::Result<Response<wire::Person>, Status> {
        ok(async {
            let id: PersonId = parse_name("name", &request.get_ref().name)?;
            let s = get_or_not_found::<autointel_domain::Person>(&self.store, id.as_str()).await?;
            Ok(to_wire_with_meta(&s))
        }
        .await)
    }

    async fn list_people(
        &self,
        request: Request<wire::ListPeopleRequest>,
    ) -> std::result::Result<Response<wire::ListPeopleResponse>, Status> {
        ok(self.list_people(request.into_inner()).await)
    }

    async fn create_source(
        &self,
        request: Request<wire::CreateSourceRequest>,
    ) -> std::result::Result<Response<wire::Source>, Status> {
        ok(self.create_source(request.into_inner()).await)
    }

    async fn get_source(
        &self,
        request: Request<wire::GetSourceRequest>,
    ) -> std::result::Result<Response<wire::Source>, Status> {
        ok(async {
            let id: SourceId = parse_name("name", &request.get_ref().name)?;
            let s = get_or_not_found::<autointel_domain::Source>(&self.store, id.as_str()).await?;
            Ok(to_wire_with_meta(&s))
        }
        .await)
    }

    async fn list_sources(
        &self,
        request: Request<wire::ListSourcesRequest>,
    ) -> std::result::Result<Response<wire::ListSourcesResponse>, Status> {
        ok(self.list_sources(request.into_inner()).await)
    }
}

#[cfg(test)]
mod token_tests {
    use super::*;

    /// Every one-character edit of a page token is refused (none reads as another
    /// position), and so is every edit of a watch cursor's last character.
    #[test]
    fn edited_tokens_are_refused() {
        const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let token = encode_page_token(0x1234_5678_9abc_def0, 7, "dongfeng-nissan");
        assert_eq!(
            decode_page_token(&token),
            Some((0x1234_5678_9abc_def0, 7, "dongfeng-nissan".to_owned()))
        );
        let mut accepted = 0;
        for (i, original) in token.char_indices() {
            for c in ALPHABET.chars().filter(|&c| c != original) {
                let mut edited = token.clone();
                edited.replace_range(i..=i, &c.to_string());
                if decode_page_token(&edited).is_some() {
                    accepted += 1;
                }
            }
        }
        assert_eq!(accepted, 0, "edited page tokens accepted");
        let cursor = encode_cursor(42);
        let last = cursor.len() - 1;
        for c in ALPHABET.chars() {
            let mut edited = cursor.clone();
            edited.replace_range(last.., &c.to_string());
            if edited != cursor {
                assert_ne!(decode_cursor(&edited), Some(42), "{edited}");
            }
        }
    }
}
