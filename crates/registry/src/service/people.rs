//! People: create and list.

use autointel_domain::{Person, PersonId, Violations};
use autointel_proto::registry as wire;

use super::Result;
use super::paging::list_page;
use super::request::{accepted, organization_filter};
use super::resource::{idempotency, new_resource, resource};
use crate::store::{PersonFilter, Store, to_wire_with_meta};

resource!(Person, PersonId, 'h');

/// `CreatePerson`.
pub(super) async fn create(store: &Store, req: wire::CreatePersonRequest) -> Result<wire::Person> {
    let mut v = Violations::new();
    let idem = idempotency("CreatePerson", &req, &req.request_id, &mut v);
    let value = new_resource::<Person>(&mut v, req.person.as_ref(), &req.person_id);
    let value = accepted(v, value, "person", "is invalid")?;
    Ok(to_wire_with_meta(
        &store.create(value, idem.as_ref()).await?,
    ))
}

/// `ListPeople`: by organisation.
pub(super) async fn list(
    store: &Store,
    req: wire::ListPeopleRequest,
) -> Result<wire::ListPeopleResponse> {
    let mut v = Violations::new();
    let filter = PersonFilter {
        organization: organization_filter(&mut v, &req.organization),
    };
    let (people, next_page_token) = list_page(store, &req, v, &filter).await?;
    Ok(wire::ListPeopleResponse {
        people,
        next_page_token,
    })
}
