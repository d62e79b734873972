//! People: create and list.

use autointel_domain::{Person, PersonId, Violations};
use autointel_proto::registry as wire;

use super::Result;
use super::paging::list_page;
use super::request::organization_filter;
use super::resource::{self, resource};
use crate::store::{PersonFilter, Store};

resource!(Person, PersonId, 'h');

/// `CreatePerson`.
pub(super) async fn create(store: &Store, req: wire::CreatePersonRequest) -> Result<wire::Person> {
    resource::create::<Person>(
        store,
        "CreatePerson",
        &req,
        &req.request_id,
        req.person.as_ref(),
        &req.person_id,
    )
    .await
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
