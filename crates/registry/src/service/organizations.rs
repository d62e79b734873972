//! Organisations: create, list, update, delete and look-up by name.

use autointel_domain::{Organization, OrganizationId, OrganizationKind, Violations};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::registry as wire;

use super::Result;
use super::paging::list_page;
use super::request::{MAX_SEARCH_CHARS, accepted, etag_opt, finish, parse_name, search_text};
use super::resource::{Update, idempotency, new_resource, resource, wires};
use crate::error::RegistryError;
use crate::store::{OrganizationFilter, Store, to_wire_with_meta};

resource!(
    Organization,
    OrganizationId,
    'o',
    updatable [kind, english_name, chinese_name, aliases, country_code]
);

/// `CreateOrganization`: at most `MAX_ALIASES` aliases, no two alike by match key, every
/// name visible.
pub(super) async fn create(
    store: &Store,
    req: wire::CreateOrganizationRequest,
) -> Result<wire::Organization> {
    let mut v = Violations::new();
    if let Some(o) = &req.organization {
        autointel_domain::check_alias_count(&mut v, "organization.aliases", o.aliases.len());
    }
    let idem = idempotency("CreateOrganization", &req, &req.request_id, &mut v);
    let org = new_resource::<Organization>(&mut v, req.organization.as_ref(), &req.organization_id);
    if let Some(o) = &req.organization {
        autointel_domain::check_distinct_aliases(&mut v, "organization.aliases", &o.aliases);
    }
    if let Some(org) = &org {
        autointel_domain::check_visible_names(&mut v, "organization", org);
    }
    let org = accepted(v, org, "organization", "is invalid")?;
    let stored = store.create(org, idem.as_ref()).await?;
    Ok(to_wire_with_meta(&stored))
}

/// `ListOrganizations`: by kind, country and text over names and aliases.
pub(super) async fn list(
    store: &Store,
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
    let (organizations, next_page_token) = list_page(store, &req, v, &filter).await?;
    Ok(wire::ListOrganizationsResponse {
        organizations,
        next_page_token,
    })
}

/// `UpdateOrganization`: the updated names must be visible, the aliases within the limit and
/// no two alike by match key.
pub(super) async fn update(
    store: &Store,
    req: wire::UpdateOrganizationRequest,
) -> Result<wire::Organization> {
    let update = Update::<Organization>::read(
        req.organization.as_ref(),
        req.update_mask.as_ref(),
        |v, o, paths| {
            if paths.iter().any(|p| p == "aliases") {
                autointel_domain::check_alias_count(v, "organization.aliases", o.aliases.len());
                autointel_domain::check_distinct_aliases(v, "organization.aliases", &o.aliases);
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
        },
    )?;
    update.apply(store, |_, next| Ok(next)).await
}

/// `DeleteOrganization`: refused while anything references it.
pub(super) async fn delete(store: &Store, req: wire::DeleteOrganizationRequest) -> Result<()> {
    let id: OrganizationId = parse_name("name", &req.name)?;
    store
        .delete_organization(id.as_str(), etag_opt(&req.etag))
        .await
}

/// Most names one `BatchGetOrganizations` takes.
pub const MAX_BATCH_NAMES: usize = 1_000;

/// `BatchGetOrganizations`: every organisation named that exists, and the names that do
/// not, in one call (every malformed name is a violation of `names[i]`).
pub(super) async fn batch_get(
    store: &Store,
    req: wire::BatchGetOrganizationsRequest,
) -> Result<wire::BatchGetOrganizationsResponse> {
    let mut v = Violations::new();
    if req.names.is_empty() {
        v.push("names", "at least one name is required");
    }
    if req.names.len() > MAX_BATCH_NAMES {
        v.push(
            "names",
            format!(
                "at most {MAX_BATCH_NAMES} names per call (got {})",
                req.names.len()
            ),
        );
    }
    let mut ids: Vec<OrganizationId> = Vec::with_capacity(req.names.len());
    let mut seen = std::collections::HashSet::new();
    for (i, name) in req.names.iter().enumerate().take(MAX_BATCH_NAMES) {
        if let Some(id) = v.check(
            format!("names[{i}]"),
            OrganizationId::from_resource_name(name),
        ) && seen.insert(id.clone())
        {
            ids.push(id);
        }
    }
    finish(v)?;
    let keys: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
    let found = store.get_many::<Organization>(&keys).await?;
    let by_id: std::collections::HashMap<&str, _> =
        found.iter().map(|s| (s.value.id.as_str(), s)).collect();
    let mut organizations = Vec::new();
    let mut missing_names = Vec::new();
    for id in &ids {
        match by_id.get(id.as_str()) {
            Some(stored) => organizations.push(to_wire_with_meta(*stored)),
            None => missing_names.push(id.resource_name()),
        }
    }
    Ok(wire::BatchGetOrganizationsResponse {
        organizations,
        missing_names,
    })
}

/// `LookupOrganizations`: by a name or alias, matched by its match key, and by the keys
/// of earlier versions, which a binary still running beside this one may have written.
pub(super) async fn lookup(
    store: &Store,
    req: wire::LookupOrganizationsRequest,
) -> Result<wire::LookupOrganizationsResponse> {
    let raw = &req.query;
    // Checked like a name: a NUL is refused by PostgreSQL itself, which used to
    // surface as UNAVAILABLE on PostgreSQL and as "nothing found" on SQLite.
    if let Err(e) = autointel_domain::validation::required_text(raw, MAX_SEARCH_CHARS) {
        return Err(RegistryError::invalid("query", e.description()));
    }
    let query = autointel_domain::match_key(raw);
    if query.is_empty() {
        return Err(RegistryError::invalid("query", "must not be empty"));
    }
    let mut keys = autointel_domain::text::legacy_match_keys(raw);
    keys.retain(|k| *k != query);
    keys.push(query);
    let found = store.lookup_organizations(&keys).await?;
    Ok(wire::LookupOrganizationsResponse {
        organizations: wires(&found),
    })
}
