//! People: create, list, update and delete.

use autointel_domain::{Person, PersonId, Violations};
use autointel_proto::registry as wire;

use super::Result;
use super::paging::list_page;
use super::request::{etag_opt, organization_filter, parse_name};
use super::resource::{self, Update, resource};
use crate::store::{PersonFilter, Store};

resource!(
    Person,
    PersonId,
    'h',
    updatable [display_name, chinese_name, title, organization]
);

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

/// `UpdatePerson`.
pub(super) async fn update(store: &Store, req: wire::UpdatePersonRequest) -> Result<wire::Person> {
    Update::<Person>::read(req.person.as_ref(), req.update_mask.as_ref(), |_, _, _| {})?
        .apply(store, |_, next| Ok(next))
        .await
}

/// `DeletePerson`: refused while an event has them as a participant or quotes them.
pub(super) async fn delete(store: &Store, req: wire::DeletePersonRequest) -> Result<()> {
    let id: PersonId = parse_name("name", &req.name)?;
    store
        .delete::<Person>(id.as_str(), etag_opt(&req.etag))
        .await
}
