//! Every resource and RPC round-trips; the seed facts; event supersession; partners; a
//! SQLite file across restarts.

use std::time::Duration;

use autointel_proto::google::r#type::Date as WireDate;
use autointel_proto::registry::{self as wire, event_participant::Participant as P};
use tonic::Code;

use crate::fixtures::{
    all_event_names, all_org_names, create_event, create_org, create_plan, create_source, day,
    event, event_names, fields, lookup, month, months, target,
};
use crate::harness::{Db, spawn_app, spawn_app_with};
use autointel_proto::types;

async fn seed_facts_are_retrievable_with_their_sources(db: &Db) {
    let app = spawn_app_with(db, true).await;
    let mut c = app.client.clone();
    let article = "sources/article-nissan-china-exports-2023";

    // The Nissan–Tsinghua research centre and its 2016 predecessor.
    let centre = c
        .get_partnership(wire::GetPartnershipRequest {
            name: "partnerships/nissan-tsinghua-research-centre-2023".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(centre.announced_date, Some(day(2023, 12, 17)));
    assert_eq!(
        centre.focus_areas,
        [
            "EV development",
            "charging infrastructure",
            "battery recycling"
        ]
    );
    assert_eq!(centre.sources, [article]);
    let predecessor = c
        .get_partnership(wire::GetPartnershipRequest {
            name: centre.predecessor.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        predecessor.name,
        "partnerships/nissan-tsinghua-collaboration-2016"
    );
    assert!(predecessor.predecessor.is_empty());
    assert!(!predecessor.sources.is_empty());

    // DPCA's export base, Dongfeng Nissan's export division, Dongfeng's EV platform.
    for name in [
        "events/dpca-export-base-announced",
        "events/dongfeng-nissan-export-division",
        "events/nissan-tsinghua-research-centre-announced",
    ] {
        let e = c
            .get_event(wire::GetEventRequest {
                name: name.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(e.sources, [article], "{name}");
    }
    let platform = c
        .get_partnership(wire::GetPartnershipRequest {
            name: "partnerships/dongfeng-ev-platform-for-nissan-2023".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(platform.kind, wire::PartnershipKind::PlatformSharing as i32);
    assert_eq!(platform.sources, [article]);

    // Kia Yancheng's target: more than 200,000 exports a year by 2026.
    let targets = c
        .list_targets(wire::ListTargetsRequest {
            organization: "organizations/kia-yancheng-plant".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .targets;
    assert_eq!(targets.len(), 1);
    let kia = &targets[0];
    assert_eq!(kia.threshold_units, 200_000);
    assert_eq!(kia.comparator, wire::Comparator::GreaterThan as i32);
    assert_eq!(kia.period, Some(months(2026, 1, 2026, 12)));
    assert_eq!(kia.sources, [article]);
    let metric = kia.metric.clone().unwrap();
    assert_eq!(metric.organization, "organizations/kia-yancheng-plant");
    let kia_event = c
        .get_event(wire::GetEventRequest {
            name: "events/kia-yancheng-export-base".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kia_event.targets, std::slice::from_ref(&kia.name));

    // Ownership as of a date.
    let ancestors = |date: WireDate| wire::ListAncestorsRequest {
        organization: "organizations/dongfeng-nissan".to_owned(),
        as_of_date: Some(date),
        max_depth: 0,
    };
    let now = c
        .list_ancestors(ancestors(WireDate {
            year: 2023,
            month: 6,
            day: 1,
        }))
        .await
        .unwrap()
        .into_inner()
        .ancestors;
    let got: Vec<(String, i32, Option<i32>)> = now
        .iter()
        .map(|n| {
            (
                n.organization.clone(),
                n.depth,
                n.relationship.as_ref().unwrap().stake_basis_points,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "organizations/dongfeng-motor-group".to_owned(),
                1,
                Some(5000)
            ),
            ("organizations/nissan".to_owned(), 1, Some(5000)),
        ]
    );
    let before = c
        .list_ancestors(ancestors(WireDate {
            year: 2002,
            month: 1,
            day: 1,
        }))
        .await
        .unwrap()
        .into_inner()
        .ancestors;
    assert!(before.is_empty());
    let below = c
        .list_descendants(wire::ListDescendantsRequest {
            organization: "organizations/nissan".to_owned(),
            as_of_date: Some(WireDate {
                year: 2023,
                month: 6,
                day: 1,
            }),
            max_depth: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .descendants;
    let below: Vec<&str> = below.iter().map(|n| n.organization.as_str()).collect();
    // Same depth: in relationship-id order.
    assert_eq!(
        below,
        [
            "organizations/nissan-china",
            "organizations/dongfeng-nissan"
        ]
    );

    // Look-up by name or alias, any case, English or Chinese.
    for query in [
        "nissan china",
        " 日产中国 ",
        "NISSAN CHINA INVESTMENT CO., LTD.",
    ] {
        let found = lookup(&mut c, query).await;
        assert_eq!(found.len(), 1, "{query}");
        assert_eq!(found[0].name, "organizations/nissan-china");
    }

    // Loading the seed again changes nothing.
    let events_before = all_event_names(&mut c).await;
    let orgs_before = all_org_names(&mut c).await;
    drop(app);
    let app = spawn_app_with(db, true).await;
    let mut c = app.client.clone();
    if db.is_postgres() {
        assert_eq!(all_event_names(&mut c).await, events_before);
        assert_eq!(all_org_names(&mut c).await, orgs_before);
    }
    drop(app);
}

async fn every_other_rpc_round_trips(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_org(&mut c, "acme-plant", "Acme plant").await;
    let s = create_source(&mut c, "s1").await;
    assert_eq!(
        c.get_source(wire::GetSourceRequest {
            name: s.name.clone()
        })
        .await
        .unwrap()
        .into_inner(),
        s
    );
    let sources = c
        .list_sources(wire::ListSourcesRequest {
            kind: wire::SourceKind::News as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .sources;
    assert_eq!(sources, [s]);
    let person = c
        .create_person(wire::CreatePersonRequest {
            person: Some(wire::Person {
                display_name: "Jane Doe".to_owned(),
                title: "CEO".to_owned(),
                organization: "organizations/acme".to_owned(),
                ..Default::default()
            }),
            person_id: "jane-doe".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        c.get_person(wire::GetPersonRequest {
            name: person.name.clone()
        })
        .await
        .unwrap()
        .into_inner(),
        person
    );
    let people = c
        .list_people(wire::ListPeopleRequest {
            organization: "organizations/acme".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .people;
    assert_eq!(people, [person]);

    let rel = c
        .create_relationship(wire::CreateRelationshipRequest {
            relationship: Some(wire::Relationship {
                kind: wire::RelationshipKind::OperatesPlant as i32,
                parent: "organizations/acme".to_owned(),
                child: "organizations/acme-plant".to_owned(),
                valid_from_date: Some(month(2020, 1)),
                sources: vec!["sources/s1".to_owned()],
                ..Default::default()
            }),
            relationship_id: String::new(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        c.get_relationship(wire::GetRelationshipRequest {
            name: rel.name.clone()
        })
        .await
        .unwrap()
        .into_inner(),
        rel
    );
    assert!(!rel.controls, "control follows the kind unless stated");
    let ended = c
        .update_relationship(wire::UpdateRelationshipRequest {
            relationship: Some(wire::Relationship {
                valid_to_date: Some(month(2022, 12)),
                controls: true,
                ..rel.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["valid_to_date".to_owned(), "controls".to_owned()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ended.valid_to_date, Some(month(2022, 12)));
    assert!(ended.controls, "the control flag is kept");
    let rels = c
        .list_relationships(wire::ListRelationshipsRequest {
            organization: "organizations/acme-plant".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .relationships;
    assert_eq!(rels, std::slice::from_ref(&ended));
    let ancestors = |y| wire::ListAncestorsRequest {
        organization: "organizations/acme-plant".to_owned(),
        as_of_date: Some(WireDate {
            year: y,
            month: 6,
            day: 1,
        }),
        max_depth: 0,
    };
    assert_eq!(
        c.list_ancestors(ancestors(2021))
            .await
            .unwrap()
            .into_inner()
            .ancestors
            .len(),
        1
    );
    assert!(
        c.list_ancestors(ancestors(2023))
            .await
            .unwrap()
            .into_inner()
            .ancestors
            .is_empty()
    );
    c.delete_relationship(wire::DeleteRelationshipRequest {
        name: rel.name.clone(),
        etag: ended.etag,
    })
    .await
    .unwrap();
    let err = c
        .get_relationship(wire::GetRelationshipRequest { name: rel.name })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let e = create_plan(&mut c).await;
    let target = c
        .create_target(wire::CreateTargetRequest {
            target: Some(target(
                "organizations/acme",
                &e.name,
                "Export 1,000 a year by 2026",
                (
                    "organizations/acme-plant",
                    types::MeasureBasis::CompanyReported,
                    types::Flow::Export,
                ),
            )),
            target_id: String::new(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(target.name.starts_with("targets/t"));
    assert_eq!(
        c.get_target(wire::GetTargetRequest {
            name: target.name.clone()
        })
        .await
        .unwrap()
        .into_inner(),
        target
    );
    let withdrawn = c
        .update_target(wire::UpdateTargetRequest {
            target: Some(wire::Target {
                status: wire::TargetStatus::Withdrawn as i32,
                ..target.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["status".to_owned()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let open = c
        .list_targets(wire::ListTargetsRequest {
            status: wire::TargetStatus::Open as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .targets;
    assert!(open.is_empty());
    let listed = c
        .list_targets(wire::ListTargetsRequest {
            status: wire::TargetStatus::Withdrawn as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .targets;
    assert_eq!(listed, [withdrawn]);
    let e = c
        .get_event(wire::GetEventRequest { name: e.name })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(e.targets, [target.name]);
}

async fn clarification_supersedes_report_and_both_stay_readable(db: &Db) {
    let app = spawn_app_with(db, true).await;
    let mut c = app.client.clone();
    let report = create_event(
        &mut c,
        "nissan-evs-on-dongfeng-platform-report",
        wire::Event {
            kind: wire::EventKind::PartnershipAnnounced as i32,
            participants: vec![
                wire::EventParticipant {
                    participant: Some(P::Organization("organizations/nissan".to_owned())),
                    role: String::new(),
                },
                wire::EventParticipant {
                    participant: Some(P::Organization(
                        "organizations/dongfeng-motor-group".to_owned(),
                    )),
                    role: String::new(),
                },
            ],
            sources: vec!["sources/article-nissan-china-exports-2023".to_owned()],
            ..event(
                "Nissan-brand EVs to use Dongfeng's platform",
                "organizations/nissan",
                month(2023, 8),
                wire::EventStatus::Reported,
            )
        },
    )
    .await;
    let clarification = create_event(
        &mut c,
        "venucia-on-dongfeng-platform-clarified",
        wire::Event {
            supersedes: report.name.clone(),
            sources: vec!["sources/article-nissan-china-exports-2023".to_owned()],
            summary: "The platform is for the joint venture's Venucia brand, not Nissan-brand EVs."
                .to_owned(),
            ..event(
                "It is the JV's Venucia brand",
                "organizations/dongfeng-nissan",
                month(2023, 8),
                wire::EventStatus::Clarified,
            )
        },
    )
    .await;
    assert_eq!(clarification.supersedes, report.name);
    let old = c
        .get_event(wire::GetEventRequest {
            name: report.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(old.status, wire::EventStatus::Superseded as i32);
    assert_eq!(old.superseded_by, clarification.name);
    assert_eq!(old.title, report.title);
    assert_ne!(old.etag, report.etag);

    // It cannot be superseded twice.
    let err = c
        .create_event(wire::CreateEventRequest {
            event: Some(wire::Event {
                supersedes: report.name.clone(),
                sources: vec!["sources/article-nissan-china-exports-2023".to_owned()],
                ..event(
                    "Another take",
                    "organizations/nissan",
                    month(2023, 8),
                    wire::EventStatus::Clarified,
                )
            }),
            event_id: String::new(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // Both listed; `exclude_superseded` leaves the report out; status filter finds it.
    let aug = |exclude: bool| wire::ListEventsRequest {
        occurred_within: Some(months(2023, 8, 2023, 8)),
        text: "platform".to_owned(),
        exclude_superseded: exclude,
        ..Default::default()
    };
    let names =
        |r: wire::ListEventsResponse| r.events.into_iter().map(|e| e.name).collect::<Vec<_>>();
    let all = names(c.list_events(aug(false)).await.unwrap().into_inner());
    assert!(
        all.contains(&report.name) && all.contains(&clarification.name),
        "{all:?}"
    );
    let current = names(c.list_events(aug(true)).await.unwrap().into_inner());
    assert!(!current.contains(&report.name));
    let superseded = names(
        c.list_events(wire::ListEventsRequest {
            status: wire::EventStatus::Superseded as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner(),
    );
    assert_eq!(superseded, [report.name]);
}

async fn partners_are_found_directly_and_through_hops(db: &Db) {
    let app = spawn_app_with(db, true).await;
    let mut c = app.client.clone();
    let partners = |hops: i32| wire::ListPartnersRequest {
        organization: "organizations/nissan-china".to_owned(),
        max_hops: hops,
        ..Default::default()
    };
    let direct = c
        .list_partners(partners(0))
        .await
        .unwrap()
        .into_inner()
        .partners;
    let names: Vec<&str> = direct.iter().map(|p| p.organization.as_str()).collect();
    assert_eq!(names, ["organizations/tsinghua-university"]);
    assert_eq!(
        direct[0].path,
        ["partnerships/nissan-tsinghua-research-centre-2023"]
    );
    let far = c
        .list_partners(partners(3))
        .await
        .unwrap()
        .into_inner()
        .partners;
    let got: Vec<(&str, i32)> = far
        .iter()
        .map(|p| (p.organization.as_str(), p.hops))
        .collect();
    assert_eq!(
        got,
        [
            ("organizations/tsinghua-university", 1),
            ("organizations/nissan", 2),
            ("organizations/dongfeng-motor-group", 3),
        ]
    );
    let by_kind = c
        .list_partnerships(wire::ListPartnershipsRequest {
            organization: "organizations/nissan".to_owned(),
            status: wire::PartnershipStatus::Announced as i32,
            announced_within: Some(months(2023, 1, 2023, 12)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .partnerships;
    let names: Vec<&str> = by_kind.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["partnerships/dongfeng-ev-platform-for-nissan-2023"]);
    let err = c.list_partners(partners(9)).await.unwrap_err();
    assert_eq!(fields(&err), ["max_hops"]);
}

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    seed_facts_are_retrievable_with_their_sources,
    every_other_rpc_round_trips,
    clarification_supersedes_report_and_both_stay_readable,
    partners_are_found_directly_and_through_hops,
    trade_policy_events_concern_a_market,
);

/// A tariff concerns a market, with or without participants; events are listed by market;
/// a market must be a valid code, and an event needs a participant or a market.
async fn trade_policy_events_concern_a_market(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_source(&mut c, "s1").await;
    let tariff = wire::Event {
        kind: wire::EventKind::Tariff as i32,
        title: "Provisional duties on imported battery-electric cars".to_owned(),
        occurred_date: Some(month(2024, 7)),
        status: wire::EventStatus::Confirmed as i32,
        sources: vec!["sources/s1".to_owned()],
        market: "DE".to_owned(),
        ..Default::default()
    };
    let created = create_event(&mut c, "de-tariff", tariff.clone()).await;
    assert_eq!(created.market, "DE");
    assert_eq!(created.kind, wire::EventKind::Tariff as i32);
    let by_market = |market: &str| wire::ListEventsRequest {
        market: market.to_owned(),
        ..Default::default()
    };
    assert_eq!(
        event_names(&mut c, by_market("DE")).await,
        ["events/de-tariff"]
    );
    assert!(event_names(&mut c, by_market("FR")).await.is_empty());
    let err = c.list_events(by_market("not a market")).await.unwrap_err();
    assert_eq!(
        (err.code(), fields(&err)),
        (Code::InvalidArgument, vec!["market".to_owned()])
    );
    let err = c
        .create_event(wire::CreateEventRequest {
            event: Some(wire::Event {
                market: String::new(),
                ..tariff
            }),
            event_id: "nowhere".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["event.participants"]);
}

#[tokio::test]
async fn sqlite_file_keeps_data_across_restarts_and_seed_reload_changes_nothing() {
    let path = std::env::temp_dir().join(format!("registry-{}.db", uuid::Uuid::new_v4().simple()));
    let db = format!("sqlite://{}?mode=rwc", path.display());
    let app = spawn_app_with(&db, true).await;
    let mut c = app.client.clone();
    let orgs = all_org_names(&mut c).await;
    let events = all_event_names(&mut c).await;
    drop(c);
    drop(app);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let app = spawn_app_with(&db, true).await;
    let mut c = app.client.clone();
    assert_eq!(all_org_names(&mut c).await, orgs);
    assert_eq!(all_event_names(&mut c).await, events);
    drop(app);
    tokio::time::sleep(Duration::from_millis(200)).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
