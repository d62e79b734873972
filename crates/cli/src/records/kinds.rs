//! The seven kinds of registry record as `apply` and `records export` handle them alike:
//! their wire message, the fields an update may change, and the standard methods.

use autointel_domain::ValidationError;
use autointel_proto::registry as wire;
use tonic::Status;

use crate::client::Registry;

/// A page of records and the token of the next (empty on the last page).
pub(crate) type Page<W> = (Vec<W>, String);

/// One kind of registry record.
pub(crate) trait Kind {
    /// Its domain value (what the file holds).
    type Domain;
    /// Its wire message.
    type Wire: prost::Message + Default + Clone + PartialEq + 'static;
    /// Full name of its wire message (for comparing fields by name).
    const MESSAGE: &'static str;
    /// The fields its `Update…` method may change (the service's mask).
    const UPDATABLE: &'static [&'static str];
    /// Fields the file does not hold: set by the service.
    const OUTPUT_ONLY: &'static [&'static str] = &["name", "etag", "create_time", "update_time"];
    /// Whether its updates go before its creates: creating an event that supersedes
    /// another changes that one (its etag, its status), so updates of events go first.
    const UPDATES_FIRST: bool = false;

    /// Domain → wire (without metadata).
    fn to_wire(value: &Self::Domain) -> Self::Wire;
    /// Wire → domain, validated.
    fn to_domain(wire: &Self::Wire) -> Result<Self::Domain, ValidationError>;
    /// The resource name.
    fn name(wire: &Self::Wire) -> &str;
    /// The etag.
    fn etag(wire: &Self::Wire) -> &str;
    /// Sets the etag (to guard an update against a concurrent one).
    fn set_etag(wire: &mut Self::Wire, etag: &str);
    /// The record of the same kind this one names and needs first (a partnership's
    /// predecessor, the event an event supersedes).
    fn depends_on(_wire: &Self::Wire) -> Option<&str> {
        None
    }
    /// Fields of a stored record that the service owns for now (a superseded event's status).
    fn service_owned(_stored: &Self::Wire) -> &'static [&'static str] {
        &[]
    }

    /// One page of the list method.
    async fn list(
        c: &mut Registry,
        page_token: String,
        page_size: i32,
    ) -> Result<Page<Self::Wire>, Status>;
    /// The get method.
    async fn get(c: &mut Registry, name: String) -> Result<Self::Wire, Status>;
    /// The create method, with the record's id and a request id.
    async fn create(
        c: &mut Registry,
        id: String,
        wire: Self::Wire,
        request_id: String,
    ) -> Result<Self::Wire, Status>;
    /// The update method with a field mask.
    async fn update(
        c: &mut Registry,
        wire: Self::Wire,
        paths: Vec<String>,
    ) -> Result<Self::Wire, Status>;
    /// The delete method, guarded by an etag.
    async fn delete(c: &mut Registry, name: String, etag: String) -> Result<(), Status>;
}

/// Implements [`Kind`] for one record kind from its generated client methods.
macro_rules! kind {
    (
        $kind:ident, $domain:ty, $wire:ident, $collection:literal,
        updatable [$($path:literal),* $(,)?],
        list $list:ident $list_req:ident . $items:ident,
        get $get:ident $get_req:ident,
        create $create:ident $create_req:ident . $field:ident / $id_field:ident,
        update $update:ident $update_req:ident,
        delete $delete:ident $delete_req:ident
        $(, { $($extra:item)* })?
    ) => {
        #[doc = concat!("`", $collection, "`.")]
        #[derive(Debug)]
        pub(crate) struct $kind;

        impl Kind for $kind {
            type Domain = $domain;
            type Wire = wire::$wire;
            const MESSAGE: &'static str = concat!("autointel.registry.v1.", stringify!($wire));
            const UPDATABLE: &'static [&'static str] = &[$($path),*];
            $($($extra)*)?

            fn to_wire(value: &Self::Domain) -> Self::Wire {
                value.into()
            }
            fn to_domain(wire: &Self::Wire) -> Result<Self::Domain, ValidationError> {
                wire.try_into()
            }
            fn name(wire: &Self::Wire) -> &str {
                &wire.name
            }
            fn etag(wire: &Self::Wire) -> &str {
                &wire.etag
            }
            fn set_etag(wire: &mut Self::Wire, etag: &str) {
                etag.clone_into(&mut wire.etag);
            }
            async fn list(
                c: &mut Registry,
                page_token: String,
                page_size: i32,
            ) -> Result<Page<Self::Wire>, Status> {
                let r = c
                    .$list(wire::$list_req {
                        page_token,
                        page_size,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                Ok((r.$items, r.next_page_token))
            }
            async fn get(c: &mut Registry, name: String) -> Result<Self::Wire, Status> {
                Ok(c.$get(wire::$get_req { name }).await?.into_inner())
            }
            async fn create(
                c: &mut Registry,
                id: String,
                wire: Self::Wire,
                request_id: String,
            ) -> Result<Self::Wire, Status> {
                Ok(c
                    .$create(wire::$create_req {
                        $field: Some(wire),
                        $id_field: id,
                        request_id,
                    })
                    .await?
                    .into_inner())
            }
            async fn update(
                c: &mut Registry,
                wire: Self::Wire,
                paths: Vec<String>,
            ) -> Result<Self::Wire, Status> {
                Ok(c
                    .$update(wire::$update_req {
                        $field: Some(wire),
                        update_mask: Some(prost_types::FieldMask { paths }),
                    })
                    .await?
                    .into_inner())
            }
            async fn delete(c: &mut Registry, name: String, etag: String) -> Result<(), Status> {
                c.$delete(wire::$delete_req { name, etag }).await?;
                Ok(())
            }
        }
    };
}

kind!(
    Sources, autointel_domain::Source, Source, "sources",
    updatable ["kind", "publisher", "title", "uri", "published_date"],
    list list_sources ListSourcesRequest.sources,
    get get_source GetSourceRequest,
    create create_source CreateSourceRequest.source / source_id,
    update update_source UpdateSourceRequest,
    delete delete_source DeleteSourceRequest
);

kind!(
    Organizations, autointel_domain::Organization, Organization, "organizations",
    updatable ["kind", "english_name", "chinese_name", "aliases", "country_code"],
    list list_organizations ListOrganizationsRequest.organizations,
    get get_organization GetOrganizationRequest,
    create create_organization CreateOrganizationRequest.organization / organization_id,
    update update_organization UpdateOrganizationRequest,
    delete delete_organization DeleteOrganizationRequest
);

kind!(
    Relationships, autointel_domain::Relationship, Relationship, "relationships",
    updatable [
        "stake_basis_points", "valid_from_date", "valid_to_date", "sources", "controls",
    ],
    list list_relationships ListRelationshipsRequest.relationships,
    get get_relationship GetRelationshipRequest,
    create create_relationship CreateRelationshipRequest.relationship / relationship_id,
    update update_relationship UpdateRelationshipRequest,
    delete delete_relationship DeleteRelationshipRequest
);

kind!(
    People, autointel_domain::Person, Person, "people",
    updatable ["display_name", "chinese_name", "title", "organization"],
    list list_people ListPeopleRequest.people,
    get get_person GetPersonRequest,
    create create_person CreatePersonRequest.person / person_id,
    update update_person UpdatePersonRequest,
    delete delete_person DeletePersonRequest
);

kind!(
    Partnerships, autointel_domain::Partnership, Partnership, "partnerships",
    updatable [
        "title", "description", "parties", "focus_areas", "status", "announced_date",
        "started_date", "ended_date", "predecessor", "sources",
    ],
    list list_partnerships ListPartnershipsRequest.partnerships,
    get get_partnership GetPartnershipRequest,
    create create_partnership CreatePartnershipRequest.partnership / partnership_id,
    update update_partnership UpdatePartnershipRequest,
    delete delete_partnership DeletePartnershipRequest,
    {
        const OUTPUT_ONLY: &'static [&'static str] = &[
            "name", "etag", "create_time", "update_time", "successors",
        ];
        fn depends_on(wire: &Self::Wire) -> Option<&str> {
            Some(wire.predecessor.as_str()).filter(|p| !p.is_empty())
        }
    }
);

kind!(
    Events, autointel_domain::Event, Event, "events",
    updatable [
        "kind", "title", "summary", "participants", "occurred_date", "announced_date",
        "status", "partnership", "quotes", "sources", "market",
    ],
    list list_events ListEventsRequest.events,
    get get_event GetEventRequest,
    create create_event CreateEventRequest.event / event_id,
    update update_event UpdateEventRequest,
    delete delete_event DeleteEventRequest,
    {
        const OUTPUT_ONLY: &'static [&'static str] = &[
            "name", "etag", "create_time", "update_time", "superseded_by", "targets",
        ];
        const UPDATES_FIRST: bool = true;
        fn depends_on(wire: &Self::Wire) -> Option<&str> {
            Some(wire.supersedes.as_str()).filter(|e| !e.is_empty())
        }
        fn service_owned(stored: &Self::Wire) -> &'static [&'static str] {
            if stored.superseded_by.is_empty() { &[] } else { &["status"] }
        }
    }
);

kind!(
    Targets, autointel_domain::Target, Target, "targets",
    updatable [
        "description", "metric", "period", "deadline", "threshold_units", "comparator",
        "status", "sources",
    ],
    list list_targets ListTargetsRequest.targets,
    get get_target GetTargetRequest,
    create create_target CreateTargetRequest.target / target_id,
    update update_target UpdateTargetRequest,
    delete delete_target DeleteTargetRequest
);
