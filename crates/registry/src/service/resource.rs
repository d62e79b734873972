//! What every resource's handlers share: getting one by name, converting the resource of a
//! create request (AIP-133, with AIP-155 request ids), and reading and applying an update
//! request's field mask (AIP-134).

use autointel_domain::Violations;
use autointel_proto::convert::ResourceId;
use prost::Message;

use super::Result;
use super::request::{accepted, etag_opt, finish, parse_name, prefixed};
use crate::error::RegistryError;
use crate::store::{Idempotency, Record, Store, Stored, to_wire_with_meta};

/// A registry resource as the service handles it.
pub(super) trait Resource: Record {
    /// The id its resource names carry.
    type Id: ResourceId;
    /// First letter of the ids the service generates for it.
    const ID_PREFIX: char;
    /// The fields an update mask may name.
    const UPDATABLE: &'static [&'static str] = &[];
    /// The resource name of a wire message.
    fn name(wire: &Self::Wire) -> &str;
    /// Sets the resource name of a wire message.
    fn set_name(wire: &mut Self::Wire, name: String);
    /// The etag of a wire message.
    fn etag(wire: &Self::Wire) -> &str;
    /// Copies the field `path` (one of [`Self::UPDATABLE`]) from `src` to `dst`.
    fn copy_field(_dst: &mut Self::Wire, _src: &Self::Wire, _path: &str) {}
}

/// Implements [`Resource`] for a domain entity: its id type, generated-id prefix and the
/// fields an update may change (each copied as a whole).
macro_rules! resource {
    ($ty:ty, $id:ty, $prefix:literal $(, updatable [$($field:ident),* $(,)?])?) => {
        impl $crate::service::resource::Resource for $ty {
            type Id = $id;
            const ID_PREFIX: char = $prefix;
            $(
                const UPDATABLE: &'static [&'static str] = &[$(stringify!($field)),*];
                fn copy_field(dst: &mut Self::Wire, src: &Self::Wire, path: &str) {
                    match path {
                        $(stringify!($field) => dst.$field = src.$field.clone(),)*
                        _ => {}
                    }
                }
            )?
            fn name(wire: &Self::Wire) -> &str {
                &wire.name
            }
            fn set_name(wire: &mut Self::Wire, name: String) {
                wire.name = name;
            }
            fn etag(wire: &Self::Wire) -> &str {
                &wire.etag
            }
        }
    };
}
pub(super) use resource;

/// The record `name` names, with its metadata; NOT_FOUND when there is none.
pub(super) async fn get<T: Resource>(store: &Store, name: &str) -> Result<T::Wire> {
    let id: T::Id = parse_name("name", name)?;
    let stored = store
        .get::<T>(id.id())
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("{}/{}", T::COLLECTION, id.id())))?;
    Ok(to_wire_with_meta(&stored))
}

/// Wire forms, with metadata.
pub(super) fn wires<T: Record>(items: &[Stored<T>]) -> Vec<T::Wire> {
    items.iter().map(to_wire_with_meta).collect()
}

/// The idempotency key of a create request: none without a request id; a request id that
/// is not a UUID is a violation.
pub(super) fn idempotency(
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

/// Creates a resource whose creation changes nothing else: the request id and the
/// resource are read (INVALID_ARGUMENT with every violation), then written once per
/// request id.
pub(super) async fn create<T: Resource>(
    store: &Store,
    method: &'static str,
    request: &impl Message,
    request_id: &str,
    resource: Option<&T::Wire>,
    requested_id: &str,
) -> Result<T::Wire> {
    let mut v = Violations::new();
    let idem = idempotency(method, request, request_id, &mut v);
    let value = new_resource::<T>(&mut v, resource, requested_id);
    let value = accepted(v, value, T::FIELD, "is invalid")?;
    Ok(to_wire_with_meta(
        &store.create(value, idem.as_ref()).await?,
    ))
}

/// A generated id: a prefix letter and a UUIDv7 in simple hex (AIP-122 compliant).
fn generate_id(prefix: char) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

/// Converts the resource of a create request: the id comes from the request's id field
/// (`{field}_id`, or is generated); `name` and output-only fields are ignored.
pub(super) fn new_resource<T: Resource>(
    v: &mut Violations,
    wire: Option<&T::Wire>,
    requested_id: &str,
) -> Option<T> {
    let Some(wire) = wire else {
        v.push(T::FIELD, "is required");
        return None;
    };
    let id = if requested_id.is_empty() {
        generate_id(T::ID_PREFIX)
    } else {
        match autointel_domain::check_resource_id(requested_id) {
            Ok(()) => requested_id.to_owned(),
            Err(e) => {
                v.push(format!("{}_id", T::FIELD), e.description());
                // Keep converting with a placeholder to report every other violation too.
                generate_id(T::ID_PREFIX)
            }
        }
    };
    let mut wire = wire.clone();
    T::set_name(&mut wire, format!("{}/{id}", T::COLLECTION));
    v.check_nested(T::FIELD, T::from_wire(&wire))
}

/// An update request, read: the resource to update, the masked paths and the patch.
#[derive(Debug)]
pub(super) struct Update<'r, T: Resource> {
    /// The resource to update.
    pub id: T::Id,
    /// The masked paths, each updatable.
    pub paths: Vec<String>,
    /// The values of the masked fields.
    pub patch: &'r T::Wire,
}

impl<'r, T: Resource> Update<'r, T> {
    /// Reads the resource's name and the mask (required, every path updatable); `check`
    /// adds the resource's own violations of the patch. INVALID_ARGUMENT with every one.
    pub(super) fn read(
        resource: Option<&'r T::Wire>,
        mask: Option<&prost_types::FieldMask>,
        check: impl FnOnce(&mut Violations, &T::Wire, &[String]),
    ) -> Result<Self> {
        let mut v = Violations::new();
        let id = match resource {
            None => {
                v.push(T::FIELD, "is required");
                None
            }
            Some(wire) => v.check(
                format!("{}.name", T::FIELD),
                T::Id::from_resource_name(T::name(wire)),
            ),
        };
        let paths = mask_paths(&mut v, mask, T::UPDATABLE);
        if let Some(patch) = resource {
            check(&mut v, patch, &paths);
        }
        finish(v)?;
        let (Some(id), Some(patch)) = (id, resource) else {
            return Err(RegistryError::invalid(T::FIELD, "is required"));
        };
        Ok(Self { id, paths, patch })
    }

    /// True when the mask names `path`.
    pub(super) fn touches(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p == path)
    }

    /// Writes the masked fields over the stored value (ABORTED on a stale etag); the merged
    /// value is validated, then `check` sees the current and the merged value.
    pub(super) async fn apply(
        self,
        store: &Store,
        check: impl FnOnce(&T, T) -> Result<T>,
    ) -> Result<T::Wire> {
        let Self { id, paths, patch } = self;
        let stored = store
            .update::<T>(id.id(), etag_opt(T::etag(patch)), |current| {
                check(current, merge(current, patch, &paths)?)
            })
            .await?;
        Ok(to_wire_with_meta(&stored))
    }
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
fn merge<T: Resource>(current: &T, patch: &T::Wire, paths: &[String]) -> Result<T> {
    let mut merged = current.to_wire();
    for path in paths {
        T::copy_field(&mut merged, patch, path);
    }
    T::from_wire(&merged).map_err(|e| prefixed(T::FIELD, e))
}

/// NOT_FOUND unless the resource `id` names exists.
pub(super) async fn must_exist<T: Resource>(store: &Store, id: &T::Id) -> Result<()> {
    if store.exists::<T>(id.id()).await? {
        Ok(())
    } else {
        Err(RegistryError::NotFound(id.resource_name()))
    }
}
