//! Writes: idempotent creates (also across replicas), field masks and etags, every field
//! violation reported with nothing written.

use autointel_proto::registry as wire;
use tonic::Code;
use tonic_types::StatusExt;

use crate::fixtures::{
    all_event_names, all_org_names, create_event, create_org, create_source, event, fields, month,
    org, reason, supply_partnership,
};
use crate::harness::{Db, spawn_app};

async fn create_retry_with_same_request_id_returns_first_result_and_writes_nothing(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    let request_id = uuid::Uuid::new_v4().to_string();
    let req = wire::CreateOrganizationRequest {
        organization: Some(org("Generated Motors")),
        organization_id: String::new(),
        request_id: request_id.clone(),
    };
    let first = c
        .create_organization(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(first.name.starts_with("organizations/o"));
    let again = c
        .create_organization(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, first);
    assert_eq!(
        all_org_names(&mut c).await,
        std::slice::from_ref(&first.name)
    );

    // Same id, different payload: INVALID_ARGUMENT, nothing written.
    let mut other = req.clone();
    other.organization.as_mut().unwrap().english_name = "Other Motors".to_owned();
    let err = c.create_organization(other).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["request_id"]);
    // A request id that is not a UUID.
    let mut bad = req;
    bad.request_id = "retry-1".to_owned();
    let err = c.create_organization(bad).await.unwrap_err();
    assert_eq!(fields(&err), ["request_id"]);
    assert_eq!(all_org_names(&mut c).await, [first.name]);

    // Events too: the retry does not append a second change or event.
    create_org(&mut c, "acme", "Acme").await;
    create_source(&mut c, "s1").await;
    let ereq = wire::CreateEventRequest {
        event: Some(event(
            "Launch",
            "organizations/acme",
            month(2023, 5),
            wire::EventStatus::Reported,
        )),
        event_id: "launch".to_owned(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let e1 = c.create_event(ereq.clone()).await.unwrap().into_inner();
    let e2 = c.create_event(ereq).await.unwrap().into_inner();
    assert_eq!(e1, e2);
    assert_eq!(all_event_names(&mut c).await, ["events/launch"]);
}

async fn update_honours_field_mask_and_etag(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    let created = create_org(&mut c, "acme", "Acme").await;
    let mut patch = created.clone();
    patch.english_name = "Acme Motors".to_owned();
    patch.country_code = "JP".to_owned(); // not in the mask: unchanged
    let updated = c
        .update_organization(wire::UpdateOrganizationRequest {
            organization: Some(patch.clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["english_name".to_owned()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.english_name, "Acme Motors");
    assert_eq!(updated.country_code, "CN");
    assert_ne!(updated.etag, created.etag);

    // The old etag is stale now: ABORTED, nothing changed.
    let err = c
        .update_organization(wire::UpdateOrganizationRequest {
            organization: Some(wire::Organization {
                english_name: "Lost Update".to_owned(),
                ..patch.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["english_name".to_owned()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "ETAG_MISMATCH");
    let err = c
        .delete_organization(wire::DeleteOrganizationRequest {
            name: created.name.clone(),
            etag: created.etag.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let now = c
        .get_organization(wire::GetOrganizationRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now, updated);

    // Missing mask and immutable paths are INVALID_ARGUMENT on update_mask.
    for paths in [vec![], vec!["name".to_owned()]] {
        let err = c
            .update_organization(wire::UpdateOrganizationRequest {
                organization: Some(now.clone()),
                update_mask: Some(prost_types::FieldMask { paths }),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(fields(&err), ["update_mask"]);
    }
    // An invalid merged value names the request field.
    let err = c
        .update_organization(wire::UpdateOrganizationRequest {
            organization: Some(wire::Organization {
                english_name: " ".to_owned(),
                etag: String::new(),
                ..now.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["english_name".to_owned()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["organization.english_name"]);

    // Partnership status follows its lifecycle.
    create_org(&mut c, "beta", "Beta").await;
    create_source(&mut c, "s1").await;
    let p = c
        .create_partnership(wire::CreatePartnershipRequest {
            partnership: Some(supply_partnership(
                "organizations/beta",
                wire::PartnershipStatus::Cancelled,
                "sources/s1",
            )),
            partnership_id: "supply".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let err = c
        .update_partnership(wire::UpdatePartnershipRequest {
            partnership: Some(wire::Partnership {
                status: wire::PartnershipStatus::Active as i32,
                ..p
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["status".to_owned()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

async fn bad_input_reports_every_field_violation_and_writes_nothing(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_source(&mut c, "s1").await;
    let before = all_org_names(&mut c).await;

    let err = c
        .create_organization(wire::CreateOrganizationRequest {
            organization: Some(wire::Organization {
                kind: 0,
                english_name: String::new(),
                country_code: "china".to_owned(),
                aliases: vec!["A".to_owned(), "a".to_owned()],
                ..Default::default()
            }),
            organization_id: "Bad_Id".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err), "INVALID_ARGUMENT");
    assert_eq!(
        fields(&err),
        [
            "organization_id",
            "organization.kind",
            "organization.english_name",
            "organization.country_code",
            "organization.aliases[1]"
        ]
    );
    let err = c
        .create_organization(wire::CreateOrganizationRequest::default())
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["organization"]);
    assert_eq!(all_org_names(&mut c).await, before);

    // Already exists.
    let err = c
        .create_organization(wire::CreateOrganizationRequest {
            organization: Some(org("Acme again")),
            organization_id: "acme".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "RESOURCE_ALREADY_EXISTS");

    // Not found and malformed names.
    let err = c
        .get_organization(wire::GetOrganizationRequest {
            name: "organizations/nope".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::NotFound, "RESOURCE_NOT_FOUND".to_owned())
    );
    let err = c
        .get_event(wire::GetEventRequest {
            name: "organizations/acme".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), fields(&err)),
        (Code::InvalidArgument, vec!["name".to_owned()])
    );

    // Malformed party and unknown references.
    let partnership = |second: &str, source: &str| wire::CreatePartnershipRequest {
        partnership: Some(supply_partnership(
            second,
            wire::PartnershipStatus::Active,
            source,
        )),
        partnership_id: String::new(),
        request_id: String::new(),
    };
    let err = c
        .create_partnership(partnership("acme", "sources/s1"))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["partnership.parties[1].organization"]);
    let err = c
        .create_partnership(partnership("organizations/ghost", "sources/nowhere"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "REFERENCED_RESOURCE_NOT_FOUND");
    let subjects: Vec<String> = err
        .get_error_details()
        .precondition_failure()
        .unwrap()
        .violations
        .iter()
        .map(|v| v.subject.clone())
        .collect();
    assert_eq!(subjects, ["organizations/ghost", "sources/nowhere"]);
    let listed = c
        .list_partnerships(wire::ListPartnershipsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .partnerships;
    assert!(listed.is_empty());

    // An event without sources or participants, and one claiming SUPERSEDED.
    let err = c
        .create_event(wire::CreateEventRequest {
            event: Some(wire::Event {
                participants: vec![],
                sources: vec![],
                ..event(
                    "x",
                    "organizations/acme",
                    month(2023, 1),
                    wire::EventStatus::Superseded,
                )
            }),
            event_id: String::new(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&err),
        ["event.status", "event.participants", "event.sources"]
    );
    assert!(all_event_names(&mut c).await.is_empty());

    // Deleting a referenced organisation is refused; an unreferenced one goes.
    create_event(
        &mut c,
        "e1",
        event(
            "x",
            "organizations/acme",
            month(2023, 1),
            wire::EventStatus::Reported,
        ),
    )
    .await;
    let err = c
        .delete_organization(wire::DeleteOrganizationRequest {
            name: "organizations/acme".to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err)),
        (Code::FailedPrecondition, "RESOURCE_IN_USE".to_owned())
    );
    create_org(&mut c, "lonely", "Lonely").await;
    c.delete_organization(wire::DeleteOrganizationRequest {
        name: "organizations/lonely".to_owned(),
        etag: String::new(),
    })
    .await
    .unwrap();
    assert_eq!(all_org_names(&mut c).await, before);
}

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    create_retry_with_same_request_id_returns_first_result_and_writes_nothing,
    update_honours_field_mask_and_etag,
    bad_input_reports_every_field_violation_and_writes_nothing,
);

/// Three replicas on one PostgreSQL database receive the same create at once (a client
/// retrying against other pods): one organisation is written and every caller gets it.
#[tokio::test]
async fn concurrent_creates_with_one_request_id_on_replicas_write_once() {
    let Some(backend) = autointel_testkit::Backend::postgres() else {
        return;
    };
    let db = crate::harness::database(backend).await;
    let replicas = [
        spawn_app(&db).await,
        spawn_app(&db).await,
        spawn_app(&db).await,
    ];
    let mut written = Vec::new();
    for round in 0..20 {
        let req = wire::CreateOrganizationRequest {
            organization: Some(org(&format!("Raced Motors {round}"))),
            organization_id: String::new(),
            request_id: uuid::Uuid::new_v4().to_string(),
        };
        let calls = (0..12).map(|i| {
            let mut client = replicas[i % replicas.len()].client.clone();
            let req = req.clone();
            async move {
                client
                    .create_organization(req)
                    .await
                    .map(|r| r.into_inner())
            }
        });
        let results = futures_util::future::join_all(calls).await;
        let first = results[0].as_ref().unwrap().clone();
        for r in &results {
            assert_eq!(r.as_ref().unwrap(), &first, "round {round}");
        }
        written.push(first.name);
    }
    let mut c = replicas[0].client.clone();
    let mut names = all_org_names(&mut c).await;
    names.sort();
    written.sort();
    assert_eq!(names, written);
}
