//! The update and delete methods of partnerships, events, targets, people and sources:
//! masks and etags, NOT_FOUND, INVALID_ARGUMENT, the referential rule (a record referenced
//! by another is not deleted; each referrer is named), supersession kept consistent, and a
//! deleted target taken off its event.

use autointel_proto::registry::{self as wire, event_participant::Participant as P};
use tonic::Code;

use crate::fixtures::{
    Client, create_event, create_org, create_plan, create_source, event, fields, month, next,
    reason, supply_partnership, target,
};
use crate::harness::{Db, spawn_app};
use autointel_proto::types;
use autointel_testkit::status::precondition_descriptions as preconditions;

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

async fn create_person(c: &mut Client, id: &str) -> wire::Person {
    c.create_person(wire::CreatePersonRequest {
        person: Some(wire::Person {
            display_name: "Jane Doe".to_owned(),
            title: "CEO".to_owned(),
            organization: "organizations/acme".to_owned(),
            ..Default::default()
        }),
        person_id: id.to_owned(),
        request_id: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
}

async fn get_event(c: &mut Client, name: &str) -> wire::Event {
    c.get_event(wire::GetEventRequest {
        name: name.to_owned(),
    })
    .await
    .unwrap()
    .into_inner()
}

async fn people_and_sources_update_with_mask_and_etag(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_org(&mut c, "beta", "Beta").await;
    let jane = create_person(&mut c, "jane").await;
    assert_eq!(jane.update_time, jane.create_time);

    let moved = c
        .update_person(wire::UpdatePersonRequest {
            person: Some(wire::Person {
                title: "Chair".to_owned(),
                organization: "organizations/beta".to_owned(),
                display_name: "not in the mask".to_owned(),
                ..jane.clone()
            }),
            update_mask: mask(&["title", "organization"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.title, "Chair");
    assert_eq!(moved.organization, "organizations/beta");
    assert_eq!(moved.display_name, "Jane Doe");
    assert_ne!(moved.etag, jane.etag);
    // The people of an organisation follow the update.
    let of_beta = c
        .list_people(wire::ListPeopleRequest {
            organization: "organizations/beta".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .people;
    assert_eq!(of_beta, std::slice::from_ref(&moved));

    // Stale etag: ABORTED, nothing changed.
    let err = c
        .update_person(wire::UpdatePersonRequest {
            person: Some(wire::Person {
                title: "Lost update".to_owned(),
                ..jane.clone()
            }),
            update_mask: mask(&["title"]),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "ETAG_MISMATCH");
    // Unknown organisation: FAILED_PRECONDITION; empty name: INVALID_ARGUMENT.
    let err = c
        .update_person(wire::UpdatePersonRequest {
            person: Some(wire::Person {
                organization: "organizations/nobody".to_owned(),
                etag: String::new(),
                ..moved.clone()
            }),
            update_mask: mask(&["organization"]),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = c
        .update_person(wire::UpdatePersonRequest {
            person: Some(wire::Person {
                display_name: " ".to_owned(),
                ..moved.clone()
            }),
            update_mask: mask(&["display_name", "etag"]),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["update_mask"]);
    let err = c
        .update_person(wire::UpdatePersonRequest {
            person: Some(wire::Person {
                name: "people/nobody".to_owned(),
                ..moved.clone()
            }),
            update_mask: mask(&["title"]),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let source = create_source(&mut c, "s1").await;
    let renamed = c
        .update_source(wire::UpdateSourceRequest {
            source: Some(wire::Source {
                title: "Renamed".to_owned(),
                uri: String::new(),
                ..source.clone()
            }),
            update_mask: mask(&["title", "uri"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.title, "Renamed");
    assert_eq!(renamed.uri, "");
    assert_eq!(renamed.publisher, source.publisher);
    let err = c
        .update_source(wire::UpdateSourceRequest {
            source: Some(wire::Source {
                uri: "ftp://example.com".to_owned(),
                ..renamed.clone()
            }),
            update_mask: mask(&["uri"]),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["source.uri"]);
    let err = c
        .update_source(wire::UpdateSourceRequest {
            source: Some(source.clone()),
            update_mask: mask(&["title"]),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let now = c
        .get_source(wire::GetSourceRequest {
            name: "sources/s1".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now, renamed);
}

async fn deletes_honour_etags_and_refuse_while_referenced(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_org(&mut c, "beta", "Beta").await;
    create_source(&mut c, "s1").await;
    create_source(&mut c, "s2").await;
    let jane = create_person(&mut c, "jane").await;
    let supply = c
        .create_partnership(wire::CreatePartnershipRequest {
            partnership: Some(supply_partnership(
                "organizations/beta",
                wire::PartnershipStatus::Active,
                "sources/s1",
            )),
            partnership_id: "supply".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut launch = event(
        "Launch",
        "organizations/acme",
        month(2023, 5),
        wire::EventStatus::Reported,
    );
    launch.partnership = supply.name.clone();
    launch.participants.push(wire::EventParticipant {
        participant: Some(P::Person("people/jane".to_owned())),
        role: "speaker".to_owned(),
    });
    launch.quotes.push(wire::Quote {
        speaker: "people/jane".to_owned(),
        text: "We launch.".to_owned(),
        language_code: "en".to_owned(),
        source: "sources/s2".to_owned(),
        ..Default::default()
    });
    let launch = create_event(&mut c, "launch", launch).await;

    // Referenced: refused, every referrer named with its path.
    let err = c
        .delete_partnership(wire::DeletePartnershipRequest {
            name: supply.name.clone(),
            etag: supply.etag.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "RESOURCE_IN_USE");
    assert_eq!(
        preconditions(&err),
        ["partnerships/supply is referenced by events/launch (event.partnership)"]
    );
    let err = c
        .delete_person(wire::DeletePersonRequest {
            name: jane.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        preconditions(&err),
        [
            "people/jane is referenced by events/launch (event.participants[1].person)",
            "people/jane is referenced by events/launch (event.quotes[0].speaker)",
        ]
    );
    let err = c
        .delete_source(wire::DeleteSourceRequest {
            name: "sources/s1".to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        preconditions(&err),
        [
            "sources/s1 is referenced by partnerships/supply (partnership.sources[0])",
            "sources/s1 is referenced by events/launch (event.sources[0])",
        ]
    );
    let err = c
        .delete_source(wire::DeleteSourceRequest {
            name: "sources/s2".to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        preconditions(&err),
        ["sources/s2 is referenced by events/launch (event.quotes[0].source)"]
    );

    // A stale etag: ABORTED before anything else; a malformed name: INVALID_ARGUMENT;
    // an unknown one: NOT_FOUND.
    let err = c
        .delete_event(wire::DeleteEventRequest {
            name: launch.name.clone(),
            etag: "W/\"99\"".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = c
        .delete_event(wire::DeleteEventRequest {
            name: "events/Bad Name".to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["name"]);
    for err in [
        c.delete_event(wire::DeleteEventRequest {
            name: "events/nothing".to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap_err(),
        c.delete_target(wire::DeleteTargetRequest {
            name: "targets/nothing".to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap_err(),
        c.delete_source(wire::DeleteSourceRequest {
            name: "sources/nothing".to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap_err(),
    ] {
        assert_eq!(err.code(), Code::NotFound);
    }

    // Referrers first, then what they referenced.
    c.delete_event(wire::DeleteEventRequest {
        name: launch.name.clone(),
        etag: launch.etag.clone(),
    })
    .await
    .unwrap();
    assert_eq!(
        c.get_event(wire::GetEventRequest {
            name: launch.name.clone()
        })
        .await
        .unwrap_err()
        .code(),
        Code::NotFound
    );
    c.delete_partnership(wire::DeletePartnershipRequest {
        name: supply.name.clone(),
        etag: supply.etag.clone(),
    })
    .await
    .unwrap();
    c.delete_person(wire::DeletePersonRequest {
        name: jane.name.clone(),
        etag: jane.etag.clone(),
    })
    .await
    .unwrap();
    for name in ["sources/s1", "sources/s2"] {
        c.delete_source(wire::DeleteSourceRequest {
            name: name.to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap();
    }
    let left = c
        .list_sources(wire::ListSourcesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .sources;
    assert!(left.is_empty());
    // Deleted twice: NOT_FOUND.
    let err = c
        .delete_person(wire::DeletePersonRequest {
            name: jane.name,
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

async fn deleting_a_correction_reinstates_what_it_superseded(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_source(&mut c, "s1").await;
    let ev = |t: &str, status| event(t, "organizations/acme", month(2023, 5), status);
    create_event(&mut c, "first", ev("First", wire::EventStatus::Confirmed)).await;
    let mut fix = ev("Fix", wire::EventStatus::Clarified);
    fix.supersedes = "events/first".to_owned();
    let fix = create_event(&mut c, "fix", fix).await;
    let first = get_event(&mut c, "events/first").await;
    assert_eq!(first.status, wire::EventStatus::Superseded as i32);

    // A superseded event keeps that status.
    let err = c
        .update_event(wire::UpdateEventRequest {
            event: Some(wire::Event {
                status: wire::EventStatus::Confirmed as i32,
                ..first.clone()
            }),
            update_mask: mask(&["status"]),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["event.status"]);
    // Its other fields may change.
    c.update_event(wire::UpdateEventRequest {
        event: Some(wire::Event {
            title: "First, as reported".to_owned(),
            ..first.clone()
        }),
        update_mask: mask(&["title"]),
    })
    .await
    .unwrap();
    // The corrected event cannot go while its correction names it.
    let err = c
        .delete_event(wire::DeleteEventRequest {
            name: "events/first".to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        preconditions(&err),
        ["events/first is referenced by events/fix (event.supersedes)"]
    );

    let cursor = c
        .list_events(wire::ListEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .watch_cursor;
    let mut stream = c
        .watch_events(wire::WatchEventsRequest { cursor })
        .await
        .unwrap()
        .into_inner();
    c.delete_event(wire::DeleteEventRequest {
        name: fix.name.clone(),
        etag: fix.etag.clone(),
    })
    .await
    .unwrap();
    let reinstated = get_event(&mut c, "events/first").await;
    assert_eq!(reinstated.status, wire::EventStatus::Confirmed as i32);
    assert_eq!(reinstated.superseded_by, "");
    assert_eq!(reinstated.title, "First, as reported");
    let updated = next(&mut stream).await;
    assert_eq!(updated.change_type, wire::EventChangeType::Updated as i32);
    assert_eq!(updated.event.as_ref().unwrap(), &reinstated);
    let deleted = next(&mut stream).await;
    assert_eq!(deleted.change_type, wire::EventChangeType::Deleted as i32);
    assert_eq!(deleted.event.as_ref().unwrap().name, "events/fix");

    c.delete_event(wire::DeleteEventRequest {
        name: "events/first".to_owned(),
        etag: reinstated.etag,
    })
    .await
    .unwrap();
}

async fn a_deleted_target_leaves_its_event(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_source(&mut c, "s1").await;
    let plan = create_plan(&mut c).await;
    let target = c
        .create_target(wire::CreateTargetRequest {
            target: Some(target(
                "organizations/acme",
                &plan.name,
                "Sell 1,000 in 2026",
                (
                    "organizations/acme",
                    types::MeasureBasis::Retail,
                    types::Flow::Total,
                ),
            )),
            target_id: "sell-1000".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        get_event(&mut c, &plan.name).await.targets,
        std::slice::from_ref(&target.name)
    );
    let err = c
        .delete_event(wire::DeleteEventRequest {
            name: plan.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        preconditions(&err),
        ["events/plan is referenced by targets/sell-1000 (target.event)"]
    );
    let err = c
        .delete_target(wire::DeleteTargetRequest {
            name: target.name.clone(),
            etag: "W/\"7\"".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    c.delete_target(wire::DeleteTargetRequest {
        name: target.name.clone(),
        etag: target.etag.clone(),
    })
    .await
    .unwrap();
    assert!(get_event(&mut c, &plan.name).await.targets.is_empty());
    c.delete_event(wire::DeleteEventRequest {
        name: plan.name,
        etag: String::new(),
    })
    .await
    .unwrap();
}

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    people_and_sources_update_with_mask_and_etag,
    deletes_honour_etags_and_refuse_while_referenced,
    deleting_a_correction_reinstates_what_it_superseded,
    a_deleted_target_leaves_its_event,
);
