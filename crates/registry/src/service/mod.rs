//! The gRPC adapter, a module per resource. Each handler converts the request into domain
//! values once (collecting every field violation, paths prefixed by the request field),
//! calls the store, and converts the result back; the trait impl below only dispatches.
//!
//! `request` reads request fields, `resource` holds what every resource's handlers share
//! (get, create conversion, update masks), `paging` the page tokens and watch cursors.

mod events;
mod organizations;
mod paging;
mod partnerships;
mod people;
mod relationships;
mod request;
mod resource;
mod sources;
mod targets;

use std::sync::Arc;

use autointel_domain::{Event, Organization, Person, Relationship, Source, Target};
use autointel_proto::registry::{self as wire, registry_service_server::RegistryService};
use autointel_server::fanout::Fanout;
use tonic::{Request, Response, Status};

use crate::error::RegistryError;
use crate::store::Store;

pub use events::EventFeed;
pub use paging::{
    DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_cursor, decode_page_token, encode_cursor,
    encode_page_token,
};
pub use partnerships::MAX_HOPS;
pub use relationships::MAX_DEPTH;

type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// What a tonic handler answers.
type Reply<T> = std::result::Result<Response<T>, Status>;

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

/// A handler's result as tonic answers it: the one mapping of errors to statuses.
fn ok<T>(r: Result<T>) -> Reply<T> {
    r.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl RegistryService for RegistryApi {
    async fn create_organization(
        &self,
        request: Request<wire::CreateOrganizationRequest>,
    ) -> Reply<wire::Organization> {
        ok(organizations::create(&self.store, request.into_inner()).await)
    }

    async fn get_organization(
        &self,
        request: Request<wire::GetOrganizationRequest>,
    ) -> Reply<wire::Organization> {
        ok(resource::get::<Organization>(&self.store, &request.get_ref().name).await)
    }

    async fn list_organizations(
        &self,
        request: Request<wire::ListOrganizationsRequest>,
    ) -> Reply<wire::ListOrganizationsResponse> {
        ok(organizations::list(&self.store, request.into_inner()).await)
    }

    async fn update_organization(
        &self,
        request: Request<wire::UpdateOrganizationRequest>,
    ) -> Reply<wire::Organization> {
        ok(organizations::update(&self.store, request.into_inner()).await)
    }

    async fn delete_organization(
        &self,
        request: Request<wire::DeleteOrganizationRequest>,
    ) -> Reply<()> {
        ok(organizations::delete(&self.store, request.into_inner()).await)
    }

    async fn lookup_organizations(
        &self,
        request: Request<wire::LookupOrganizationsRequest>,
    ) -> Reply<wire::LookupOrganizationsResponse> {
        ok(organizations::lookup(&self.store, request.into_inner()).await)
    }

    async fn batch_get_organizations(
        &self,
        request: Request<wire::BatchGetOrganizationsRequest>,
    ) -> Reply<wire::BatchGetOrganizationsResponse> {
        ok(organizations::batch_get(&self.store, request.into_inner()).await)
    }

    async fn create_relationship(
        &self,
        request: Request<wire::CreateRelationshipRequest>,
    ) -> Reply<wire::Relationship> {
        ok(relationships::create(&self.store, request.into_inner()).await)
    }

    async fn get_relationship(
        &self,
        request: Request<wire::GetRelationshipRequest>,
    ) -> Reply<wire::Relationship> {
        ok(resource::get::<Relationship>(&self.store, &request.get_ref().name).await)
    }

    async fn list_relationships(
        &self,
        request: Request<wire::ListRelationshipsRequest>,
    ) -> Reply<wire::ListRelationshipsResponse> {
        ok(relationships::list(&self.store, request.into_inner()).await)
    }

    async fn update_relationship(
        &self,
        request: Request<wire::UpdateRelationshipRequest>,
    ) -> Reply<wire::Relationship> {
        ok(relationships::update(&self.store, request.into_inner()).await)
    }

    async fn delete_relationship(
        &self,
        request: Request<wire::DeleteRelationshipRequest>,
    ) -> Reply<()> {
        ok(relationships::delete(&self.store, request.into_inner()).await)
    }

    async fn list_ancestors(
        &self,
        request: Request<wire::ListAncestorsRequest>,
    ) -> Reply<wire::ListAncestorsResponse> {
        ok(relationships::ancestors(&self.store, request.into_inner()).await)
    }

    async fn list_descendants(
        &self,
        request: Request<wire::ListDescendantsRequest>,
    ) -> Reply<wire::ListDescendantsResponse> {
        ok(relationships::descendants(&self.store, request.into_inner()).await)
    }

    async fn create_partnership(
        &self,
        request: Request<wire::CreatePartnershipRequest>,
    ) -> Reply<wire::Partnership> {
        ok(partnerships::create(&self.store, request.into_inner()).await)
    }

    async fn get_partnership(
        &self,
        request: Request<wire::GetPartnershipRequest>,
    ) -> Reply<wire::Partnership> {
        ok(partnerships::get(&self.store, request.get_ref()).await)
    }

    async fn list_partnerships(
        &self,
        request: Request<wire::ListPartnershipsRequest>,
    ) -> Reply<wire::ListPartnershipsResponse> {
        ok(partnerships::list(&self.store, request.into_inner()).await)
    }

    async fn update_partnership(
        &self,
        request: Request<wire::UpdatePartnershipRequest>,
    ) -> Reply<wire::Partnership> {
        ok(partnerships::update(&self.store, request.into_inner()).await)
    }

    async fn delete_partnership(
        &self,
        request: Request<wire::DeletePartnershipRequest>,
    ) -> Reply<()> {
        ok(partnerships::delete(&self.store, request.into_inner()).await)
    }

    async fn list_partners(
        &self,
        request: Request<wire::ListPartnersRequest>,
    ) -> Reply<wire::ListPartnersResponse> {
        ok(partnerships::partners(&self.store, request.into_inner()).await)
    }

    async fn create_event(&self, request: Request<wire::CreateEventRequest>) -> Reply<wire::Event> {
        ok(events::create(&self.store, request.into_inner()).await)
    }

    async fn get_event(&self, request: Request<wire::GetEventRequest>) -> Reply<wire::Event> {
        ok(resource::get::<Event>(&self.store, &request.get_ref().name).await)
    }

    async fn list_events(
        &self,
        request: Request<wire::ListEventsRequest>,
    ) -> Reply<wire::ListEventsResponse> {
        ok(events::list(&self.store, request.into_inner()).await)
    }

    async fn update_event(&self, request: Request<wire::UpdateEventRequest>) -> Reply<wire::Event> {
        ok(events::update(&self.store, request.into_inner()).await)
    }

    async fn delete_event(&self, request: Request<wire::DeleteEventRequest>) -> Reply<()> {
        ok(events::delete(&self.store, request.into_inner()).await)
    }

    type WatchEventsStream = events::WatchStream;

    async fn watch_events(
        &self,
        request: Request<wire::WatchEventsRequest>,
    ) -> Reply<Self::WatchEventsStream> {
        events::watch(&self.watch, request.get_ref())
            .await
            .map(Response::new)
    }

    async fn create_target(
        &self,
        request: Request<wire::CreateTargetRequest>,
    ) -> Reply<wire::Target> {
        ok(targets::create(&self.store, request.into_inner()).await)
    }

    async fn get_target(&self, request: Request<wire::GetTargetRequest>) -> Reply<wire::Target> {
        ok(resource::get::<Target>(&self.store, &request.get_ref().name).await)
    }

    async fn list_targets(
        &self,
        request: Request<wire::ListTargetsRequest>,
    ) -> Reply<wire::ListTargetsResponse> {
        ok(targets::list(&self.store, request.into_inner()).await)
    }

    async fn update_target(
        &self,
        request: Request<wire::UpdateTargetRequest>,
    ) -> Reply<wire::Target> {
        ok(targets::update(&self.store, request.into_inner()).await)
    }

    async fn delete_target(&self, request: Request<wire::DeleteTargetRequest>) -> Reply<()> {
        ok(targets::delete(&self.store, request.into_inner()).await)
    }

    async fn create_person(
        &self,
        request: Request<wire::CreatePersonRequest>,
    ) -> Reply<wire::Person> {
        ok(people::create(&self.store, request.into_inner()).await)
    }

    async fn get_person(&self, request: Request<wire::GetPersonRequest>) -> Reply<wire::Person> {
        ok(resource::get::<Person>(&self.store, &request.get_ref().name).await)
    }

    async fn list_people(
        &self,
        request: Request<wire::ListPeopleRequest>,
    ) -> Reply<wire::ListPeopleResponse> {
        ok(people::list(&self.store, request.into_inner()).await)
    }

    async fn update_person(
        &self,
        request: Request<wire::UpdatePersonRequest>,
    ) -> Reply<wire::Person> {
        ok(people::update(&self.store, request.into_inner()).await)
    }

    async fn delete_person(&self, request: Request<wire::DeletePersonRequest>) -> Reply<()> {
        ok(people::delete(&self.store, request.into_inner()).await)
    }

    async fn create_source(
        &self,
        request: Request<wire::CreateSourceRequest>,
    ) -> Reply<wire::Source> {
        ok(sources::create(&self.store, request.into_inner()).await)
    }

    async fn get_source(&self, request: Request<wire::GetSourceRequest>) -> Reply<wire::Source> {
        ok(resource::get::<Source>(&self.store, &request.get_ref().name).await)
    }

    async fn list_sources(
        &self,
        request: Request<wire::ListSourcesRequest>,
    ) -> Reply<wire::ListSourcesResponse> {
        ok(sources::list(&self.store, request.into_inner()).await)
    }

    async fn update_source(
        &self,
        request: Request<wire::UpdateSourceRequest>,
    ) -> Reply<wire::Source> {
        ok(sources::update(&self.store, request.into_inner()).await)
    }

    async fn delete_source(&self, request: Request<wire::DeleteSourceRequest>) -> Reply<()> {
        ok(sources::delete(&self.store, request.into_inner()).await)
    }
}
