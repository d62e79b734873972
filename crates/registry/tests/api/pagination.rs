//! List pages: sizes, tokens bound to their query, timeline order, byte bounds.

use autointel_proto::registry as wire;
use autointel_proto::types::{DatePrecision, PartialDate};
use tonic::Code;

use crate::fixtures::{
    all_event_names, all_org_names, create_event, create_org, create_source, day, event,
    event_names, fields, month,
};
use crate::harness::{Db, spawn_app, spawn_app_with};

async fn pagination_pages_by_size_and_rejects_foreign_tokens(db: &Db) {
    let app = spawn_app_with(db, true).await;
    let mut c = app.client.clone();
    let everything = all_org_names(&mut c).await;
    assert_eq!(everything.len(), 14);
    let mut sorted = everything.clone();
    sorted.sort();
    assert_eq!(everything, sorted, "ordered by id");

    // Page size 1: every organisation once, in order, last token empty.
    let mut token = String::new();
    let mut seen = Vec::new();
    loop {
        let page = c
            .list_organizations(wire::ListOrganizationsRequest {
                page_size: 1,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.organizations.len(), 1);
        seen.push(page.organizations[0].name.clone());
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, everything);

    // Default and maximum (and above maximum, coerced) return everything on one page.
    for size in [0, 1000, 5000] {
        let page = c
            .list_organizations(wire::ListOrganizationsRequest {
                page_size: size,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.organizations.len(), 14, "page_size {size}");
        assert!(page.next_page_token.is_empty());
    }

    // Timeline pages: events in timeline order across pages of 2.
    let mut token = String::new();
    let mut paged = Vec::new();
    loop {
        let page = c
            .list_events(wire::ListEventsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        paged.extend(page.events.into_iter().map(|e| e.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, all_event_names(&mut c).await);
    assert_eq!(paged.len(), 6);

    // A token of another query, a garbage token and a negative size are rejected.
    let filtered = c
        .list_organizations(wire::ListOrganizationsRequest {
            page_size: 1,
            kind: wire::OrganizationKind::Automaker as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!filtered.next_page_token.is_empty());
    let err = c
        .list_organizations(wire::ListOrganizationsRequest {
            page_size: 1,
            page_token: filtered.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["page_token"]);
    let err = c
        .list_events(wire::ListEventsRequest {
            page_token: filtered.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["page_token"]);
    let err = c
        .list_organizations(wire::ListOrganizationsRequest {
            page_token: "not a token!".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), fields(&err)),
        (Code::InvalidArgument, vec!["page_token".to_owned()])
    );
    let err = c
        .list_organizations(wire::ListOrganizationsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["page_size"]);

    // Filters: kind, country, text over names and aliases.
    let cn_groups = c
        .list_organizations(wire::ListOrganizationsRequest {
            kind: wire::OrganizationKind::Group as i32,
            country_code: "CN".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .organizations;
    assert_eq!(cn_groups.len(), 1);
    assert_eq!(cn_groups[0].name, "organizations/dongfeng-motor-group");
    let text = c
        .list_organizations(wire::ListOrganizationsRequest {
            text: "东风".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .organizations;
    let names: Vec<&str> = text.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "organizations/dongfeng-motor-group",
            "organizations/dongfeng-nissan"
        ]
    );
}

async fn timeline_orders_by_occurred_date_coarser_first(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_org(&mut c, "beta", "Beta").await;
    create_source(&mut c, "s1").await;
    let year = PartialDate {
        precision: DatePrecision::Year as i32,
        year: 2023,
        ..Default::default()
    };
    create_event(
        &mut c,
        "d-day",
        event(
            "day",
            "organizations/acme",
            day(2023, 1, 1),
            wire::EventStatus::Reported,
        ),
    )
    .await;
    create_event(
        &mut c,
        "c-month",
        event(
            "month",
            "organizations/acme",
            month(2023, 1),
            wire::EventStatus::Reported,
        ),
    )
    .await;
    create_event(
        &mut c,
        "b-year",
        event(
            "year",
            "organizations/acme",
            year,
            wire::EventStatus::Reported,
        ),
    )
    .await;
    create_event(
        &mut c,
        "a-late",
        event(
            "late",
            "organizations/acme",
            day(2023, 12, 31),
            wire::EventStatus::Reported,
        ),
    )
    .await;
    let mut undated = event(
        "undated",
        "organizations/acme",
        month(2020, 1),
        wire::EventStatus::Reported,
    );
    undated.occurred_date = None;
    create_event(&mut c, "e-undated", undated).await;
    let mut announced = event(
        "announced only",
        "organizations/acme",
        month(2020, 1),
        wire::EventStatus::Reported,
    );
    announced.occurred_date = None;
    announced.announced_date = Some(month(2022, 6));
    create_event(&mut c, "f-announced", announced).await;
    create_event(
        &mut c,
        "g-other",
        event(
            "other org",
            "organizations/beta",
            month(2021, 1),
            wire::EventStatus::Confirmed,
        ),
    )
    .await;

    let timeline = event_names(
        &mut c,
        wire::ListEventsRequest {
            participant: "organizations/acme".to_owned(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        timeline,
        [
            "events/f-announced",
            "events/b-year",
            "events/c-month",
            "events/d-day",
            "events/a-late",
            "events/e-undated"
        ]
    );
    let confirmed = c
        .list_events(wire::ListEventsRequest {
            status: wire::EventStatus::Confirmed as i32,
            kind: wire::EventKind::Other as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(confirmed.len(), 1);
    let err = c
        .list_events(wire::ListEventsRequest {
            participant: "acme".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["participant"]);
}

/// Pages are bounded by bytes as well as by count: large records come in several pages,
/// each under the byte bound, and paging returns every one exactly once. Aliases are capped
/// on writes.
async fn pages_are_bounded_by_bytes_and_aliases_by_count(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_source(&mut c, "s1").await;
    let summary = "long summary ".repeat(750); // ~9.7 KB per event
    for i in 0..130 {
        let mut e = event(
            &format!("event {i}"),
            "organizations/acme",
            month(2023, 1),
            wire::EventStatus::Reported,
        );
        e.summary = summary.clone();
        create_event(&mut c, &format!("e{i:03}"), e).await;
    }
    let mut names = Vec::new();
    let mut pages = 0;
    let mut token = String::new();
    loop {
        let page = c
            .list_events(wire::ListEventsRequest {
                page_size: 1000,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        let bytes: usize = page.events.iter().map(prost::Message::encoded_len).sum();
        assert!(bytes <= 1_100_000, "page {pages} has {bytes} bytes");
        names.extend(page.events.into_iter().map(|e| e.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert!(pages >= 2, "1.2 MB of events came in {pages} page(s)");
    let unique: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!((names.len(), unique.len()), (130, 130));

    let err = c
        .create_organization(wire::CreateOrganizationRequest {
            organization: Some(wire::Organization {
                kind: wire::OrganizationKind::Automaker as i32,
                english_name: "Many Names".to_owned(),
                aliases: (0..=autointel_domain::MAX_ALIASES)
                    .map(|i| format!("Name {i}"))
                    .collect(),
                ..Default::default()
            }),
            organization_id: "many-names".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["organization.aliases"]);
}

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    pagination_pages_by_size_and_rejects_foreign_tokens,
    timeline_orders_by_occurred_date_coarser_first,
    pages_are_bounded_by_bytes_and_aliases_by_count,
);
