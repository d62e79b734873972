//! The registry over real gRPC: a server on 127.0.0.1:0 per test, driven by the generated
//! client, against SQLite and (when `AUTOINTEL_TEST_POSTGRES_URL` is set) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write as _;
use std::time::Duration;

use autointel_proto::google::r#type::Date as WireDate;
use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_proto::registry::{self as wire, event_participant::Participant as P};
use autointel_proto::types::{DatePrecision, MonthRange, PartialDate, YearMonth};
use autointel_registry::{Application, Settings};
use sqlx::Connection as _;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

type Client = RegistryServiceClient<Channel>;

/// A database for one test: SQLite in memory or a fresh PostgreSQL schema.
#[derive(Clone, Debug)]
struct Db {
    url: String,
    pg: Option<(String, String)>,
}

impl Db {
    fn sqlite() -> Self {
        Self {
            url: "sqlite::memory:".to_owned(),
            pg: None,
        }
    }

    async fn postgres() -> Option<Self> {
        let Ok(base) = std::env::var("AUTOINTEL_TEST_POSTGRES_URL") else {
            // Written to the stderr handle, not via eprintln!, so libtest does not capture it.
            let _ = writeln!(
                std::io::stderr(),
                "skipping: AUTOINTEL_TEST_POSTGRES_URL not set"
            );
            return None;
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::postgres::PgConnection::connect(&base)
            .await
            .expect("AUTOINTEL_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(Self {
            url: format!("{base}{sep}options=-csearch_path%3D{schema}"),
            pg: Some((base, schema)),
        })
    }

    async fn cleanup(&self) {
        if let Some((base, schema)) = &self.pg {
            let mut conn = sqlx::postgres::PgConnection::connect(base).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
        }
    }
}

/// A running server; dropping it stops the server.
struct TestApp {
    client: Client,
    _stop: oneshot::Sender<()>,
}

async fn spawn_app_with(db: &Db, seed: bool) -> TestApp {
    let mut settings = Settings::default();
    settings.auth.disabled = true;
    settings.server.listen_address = "127.0.0.1:0".parse().unwrap();
    settings.database.url = db.url.clone();
    settings.seed.load = seed;
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.serve_until(async {
        let _ = stopped.await;
    }));
    let client = RegistryServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("client connects");
    TestApp {
        client,
        _stop: stop,
    }
}

/// Starts the real server on 127.0.0.1:0 over `db` and returns a connected client.
async fn spawn_app(db: &Db) -> TestApp {
    spawn_app_with(db, false).await
}

// ------------------------------------------------------------------ helpers

fn fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

fn reason(status: &Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

fn day(y: i32, m: i32, d: i32) -> PartialDate {
    PartialDate {
        precision: DatePrecision::Day as i32,
        year: y,
        month: m,
        day: d,
        quarter: 0,
    }
}

fn month(y: i32, m: i32) -> PartialDate {
    PartialDate {
        precision: DatePrecision::Month as i32,
        year: y,
        month: m,
        day: 0,
        quarter: 0,
    }
}

fn months(y1: i32, m1: i32, y2: i32, m2: i32) -> MonthRange {
    MonthRange {
        start: Some(YearMonth {
            year: y1,
            month: m1,
        }),
        end: Some(YearMonth {
            year: y2,
            month: m2,
        }),
    }
}

fn org(name: &str) -> wire::Organization {
    wire::Organization {
        kind: wire::OrganizationKind::Automaker as i32,
        english_name: name.to_owned(),
        country_code: "CN".to_owned(),
        ..Default::default()
    }
}

async fn create_org(c: &mut Client, id: &str, name: &str) -> wire::Organization {
    c.create_organization(wire::CreateOrganizationRequest {
        organization: Some(org(name)),
        organization_id: id.to_owned(),
        request_id: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
}

async fn create_source(c: &mut Client, id: &str) -> wire::Source {
    c.create_source(wire::CreateSourceRequest {
        source: Some(wire::Source {
            kind: wire::SourceKind::News as i32,
            publisher: "Trade press".to_owned(),
            title: format!("Article {id}"),
            uri: "https://example.com/a".to_owned(),
            ..Default::default()
        }),
        source_id: id.to_owned(),
        request_id: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
}

fn event(
    title: &str,
    participant: &str,
    occurred: PartialDate,
    status: wire::EventStatus,
) -> wire::Event {
    wire::Event {
        kind: wire::EventKind::Other as i32,
        title: title.to_owned(),
        participants: vec![wire::EventParticipant {
            participant: Some(P::Organization(participant.to_owned())),
            role: "subject".to_owned(),
        }],
        occurred_date: Some(occurred),
        status: status as i32,
        sources: vec!["sources/s1".to_owned()],
        ..Default::default()
    }
}

async fn create_event(c: &mut Client, id: &str, e: wire::Event) -> wire::Event {
    c.create_event(wire::CreateEventRequest {
        event: Some(e),
        event_id: id.to_owned(),
        request_id: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
}

async fn all_org_names(c: &mut Client) -> Vec<String> {
    c.list_organizations(wire::ListOrganizationsRequest {
        page_size: 1000,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .organizations
    .into_iter()
    .map(|o| o.name)
    .collect()
}

async fn all_event_names(c: &mut Client) -> Vec<String> {
    c.list_events(wire::ListEventsRequest {
        page_size: 1000,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .events
    .into_iter()
    .map(|o| o.name)
    .collect()
}

// ------------------------------------------------------------------ suites

async fn seed_facts_are_retrievable_with_their_sources(db: Db) {
    let app = spawn_app_with(&db, true).await;
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
        let found = c
            .lookup_organizations(wire::LookupOrganizationsRequest {
                query: query.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
            .organizations;
        assert_eq!(found.len(), 1, "{query}");
        assert_eq!(found[0].name, "organizations/nissan-china");
    }

    // Loading the seed again changes nothing.
    let events_before = all_event_names(&mut c).await;
    let orgs_before = all_org_names(&mut c).await;
    drop(app);
    let app = spawn_app_with(&db, true).await;
    let mut c = app.client.clone();
    if db.pg.is_some() {
        assert_eq!(all_event_names(&mut c).await, events_before);
        assert_eq!(all_org_names(&mut c).await, orgs_before);
    }
    drop(app);
}

async fn pagination_pages_by_size_and_rejects_foreign_tokens(db: Db) {
    let app = spawn_app_with(&db, true).await;
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

async fn create_retry_with_same_request_id_returns_first_result_and_writes_nothing(db: Db) {
    let app = spawn_app(&db).await;
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

async fn update_honours_field_mask_and_etag(db: Db) {
    let app = spawn_app(&db).await;
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
            partnership: Some(wire::Partnership {
                kind: wire::PartnershipKind::Supply as i32,
                title: "Supply".to_owned(),
                parties: vec![
                    wire::PartnershipParty {
                        organization: "organizations/acme".to_owned(),
                        role: String::new(),
                    },
                    wire::PartnershipParty {
                        organization: "organizations/beta".to_owned(),
                        role: String::new(),
                    },
                ],
                status: wire::PartnershipStatus::Cancelled as i32,
                sources: vec!["sources/s1".to_owned()],
                ..Default::default()
            }),
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

async fn bad_input_reports_every_field_violation_and_writes_nothing(db: Db) {
    let app = spawn_app(&db).await;
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
            "organization.country_code"
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
        partnership: Some(wire::Partnership {
            kind: wire::PartnershipKind::Supply as i32,
            title: "Supply".to_owned(),
            parties: vec![
                wire::PartnershipParty {
                    organization: "organizations/acme".to_owned(),
                    role: String::new(),
                },
                wire::PartnershipParty {
                    organization: second.to_owned(),
                    role: String::new(),
                },
            ],
            status: wire::PartnershipStatus::Active as i32,
            sources: vec![source.to_owned()],
            ..Default::default()
        }),
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

async fn clarification_supersedes_report_and_both_stay_readable(db: Db) {
    let app = spawn_app_with(&db, true).await;
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

async fn timeline_orders_by_occurred_date_coarser_first(db: Db) {
    let app = spawn_app(&db).await;
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

    let timeline: Vec<String> = c
        .list_events(wire::ListEventsRequest {
            participant: "organizations/acme".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.name)
        .collect();
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

async fn partners_are_found_directly_and_through_hops(db: Db) {
    let app = spawn_app_with(&db, true).await;
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

async fn watch_resumes_after_reconnect_without_missing_or_repeating(db: Db) {
    let app = spawn_app(&db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_source(&mut c, "s1").await;
    let cursor = c
        .list_events(wire::ListEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .watch_cursor;
    let mut stream = c
        .watch_events(wire::WatchEventsRequest {
            cursor: cursor.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let ev = |t: &str| {
        event(
            t,
            "organizations/acme",
            month(2023, 1),
            wire::EventStatus::Reported,
        )
    };
    create_event(&mut c, "a", ev("a")).await;
    create_event(&mut c, "b", ev("b")).await;
    let first = next(&mut stream).await;
    let second = next(&mut stream).await;
    assert_eq!(first.event.as_ref().unwrap().name, "events/a");
    assert_eq!(first.change_type, wire::EventChangeType::Created as i32);
    assert_eq!(second.event.as_ref().unwrap().name, "events/b");
    drop(stream);

    // While disconnected: a new event and a change to an existing one.
    create_event(&mut c, "c", ev("c")).await;
    let b = c
        .get_event(wire::GetEventRequest {
            name: "events/b".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    c.update_event(wire::UpdateEventRequest {
        event: Some(wire::Event {
            title: "b, confirmed".to_owned(),
            status: wire::EventStatus::Confirmed as i32,
            ..b
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".to_owned(), "status".to_owned()],
        }),
    })
    .await
    .unwrap();

    let mut stream = c
        .watch_events(wire::WatchEventsRequest {
            cursor: second.cursor.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let third = next(&mut stream).await;
    let fourth = next(&mut stream).await;
    assert_eq!(third.event.as_ref().unwrap().name, "events/c");
    assert_eq!(fourth.event.as_ref().unwrap().name, "events/b");
    assert_eq!(fourth.change_type, wire::EventChangeType::Updated as i32);
    assert_eq!(fourth.event.as_ref().unwrap().title, "b, confirmed");
    create_event(&mut c, "d", ev("d")).await;
    let fifth = next(&mut stream).await;
    assert_eq!(fifth.event.as_ref().unwrap().name, "events/d");

    // From the original listing cursor everything is replayed once, in order.
    let mut replay = c
        .watch_events(wire::WatchEventsRequest { cursor })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let m = next(&mut replay).await;
        seen.push((m.event.unwrap().name, m.change_type));
    }
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["events/a", "events/b", "events/c", "events/b", "events/d"]
    );

    let err = c
        .watch_events(wire::WatchEventsRequest {
            cursor: "garbage".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), fields(&err)),
        (Code::InvalidArgument, vec!["cursor".to_owned()])
    );
}

async fn every_other_rpc_round_trips(db: Db) {
    let app = spawn_app(&db).await;
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
    let ended = c
        .update_relationship(wire::UpdateRelationshipRequest {
            relationship: Some(wire::Relationship {
                valid_to_date: Some(month(2022, 12)),
                ..rel.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["valid_to_date".to_owned()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ended.valid_to_date, Some(month(2022, 12)));
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

    let e = create_event(
        &mut c,
        "plan",
        event(
            "Plan",
            "organizations/acme",
            month(2024, 1),
            wire::EventStatus::Confirmed,
        ),
    )
    .await;
    let target = c
        .create_target(wire::CreateTargetRequest {
            target: Some(wire::Target {
                organization: "organizations/acme".to_owned(),
                event: e.name.clone(),
                description: "Export 1,000 a year by 2026".to_owned(),
                metric: Some(autointel_proto::types::SeriesKey {
                    organization: "organizations/acme-plant".to_owned(),
                    basis: autointel_proto::types::MeasureBasis::CompanyReported as i32,
                    flow: autointel_proto::types::Flow::Export as i32,
                    market: "CN".to_owned(),
                    scope: autointel_proto::types::VehicleScope::All as i32,
                    powertrain: autointel_proto::types::Powertrain::All as i32,
                }),
                period: Some(months(2026, 1, 2026, 12)),
                threshold_units: 1000,
                comparator: wire::Comparator::GreaterOrEqual as i32,
                status: wire::TargetStatus::Open as i32,
                sources: vec!["sources/s1".to_owned()],
                ..Default::default()
            }),
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

async fn next(s: &mut tonic::Streaming<wire::WatchEventsResponse>) -> wire::WatchEventsResponse {
    tokio::time::timeout(Duration::from_secs(10), s.message())
        .await
        .expect("a change arrives")
        .unwrap()
        .unwrap()
}

macro_rules! suites {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Db::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = super::Db::postgres().await else { return };
                    super::$name(db.clone()).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

/// Pages are bounded by bytes as well as by count: large records come in several pages,
/// each under the byte bound, and paging returns every one exactly once. Aliases are capped
/// on writes.
async fn pages_are_bounded_by_bytes_and_aliases_by_count(db: Db) {
    let app = spawn_app(&db).await;
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

/// Names are stored in NFC and found by one match key: composed and decomposed forms,
/// full-width letters, case and inner whitespace make no difference; invisible and
/// direction-override characters are refused on write.
async fn names_are_normalised_and_matched_by_one_key(db: Db) {
    let app = spawn_app(&db).await;
    let mut c = app.client.clone();
    let decomposed = "Citroe\u{0308}n  Motors";
    let created = c
        .create_organization(wire::CreateOrganizationRequest {
            organization: Some(wire::Organization {
                kind: wire::OrganizationKind::Automaker as i32,
                english_name: decomposed.to_owned(),
                aliases: vec!["DPCA".to_owned()],
                ..Default::default()
            }),
            organization_id: "citroen".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        created.english_name, "Citro\u{00EB}n  Motors",
        "stored in NFC"
    );
    for query in [
        "citro\u{00EB}n motors",
        "CITROE\u{0308}N   MOTORS",
        "ＤＰＣＡ",
        " dpca ",
    ] {
        let found = c
            .lookup_organizations(wire::LookupOrganizationsRequest {
                query: query.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
            .organizations;
        let names: Vec<&str> = found.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["organizations/citroen"], "{query:?}");
    }
    for (name, alias) in [("Nis\u{200B}san", "ok"), ("Nissan", "\u{202E}nassiN")] {
        let err = c
            .create_organization(wire::CreateOrganizationRequest {
                organization: Some(wire::Organization {
                    kind: wire::OrganizationKind::Automaker as i32,
                    english_name: name.to_owned(),
                    aliases: vec![alias.to_owned()],
                    ..Default::default()
                }),
                organization_id: "hidden".to_owned(),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let field = if alias == "ok" {
            "organization.english_name"
        } else {
            "organization.aliases[0]"
        };
        assert_eq!(fields(&err), [field]);
    }
    let err = c
        .create_organization(wire::CreateOrganizationRequest {
            organization: Some(wire::Organization {
                kind: wire::OrganizationKind::Automaker as i32,
                english_name: "Peugeot".to_owned(),
                aliases: vec!["Citro\u{00EB}n".to_owned(), "Citroe\u{0308}n".to_owned()],
                ..Default::default()
            }),
            organization_id: "peugeot".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&err),
        ["organization.aliases[1]"],
        "one name in two forms"
    );
}

/// Keys written by an older binary (trimmed and lower-cased only) are recomputed at
/// start-up, and lookups find them meanwhile.
#[tokio::test]
async fn legacy_match_keys_are_recomputed_and_found_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("registry.db").display()
    );
    let store = autointel_registry::store::Store::connect(&url)
        .await
        .unwrap();
    let org = autointel_domain::Organization {
        id: autointel_domain::OrganizationId::parse("dfn").unwrap(),
        kind: autointel_domain::OrganizationKind::JointVenture,
        english_name: "Dongfeng  Nissan".to_owned(),
        chinese_name: None,
        aliases: Vec::new(),
        country_code: None,
    };
    store.create(org, None).await.unwrap();
    // what an older binary wrote
    sqlx::query("UPDATE organization_names SET name_folded = 'dongfeng  nissan'")
        .execute(store.pool())
        .await
        .unwrap();
    let found = store
        .lookup_organizations(&[
            autointel_domain::match_key("Dongfeng  Nissan"),
            autointel_domain::text::legacy_match_key("Dongfeng  Nissan"),
        ])
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "found by the legacy key meanwhile");
    let report = store.refresh_match_keys().await.unwrap();
    assert_eq!(report.recomputed, 1);
    assert_eq!(
        store.refresh_match_keys().await.unwrap().recomputed,
        0,
        "idempotent"
    );
    let found = store
        .lookup_organizations(&[autointel_domain::match_key("dongfeng nissan")])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

suites!(
    names_are_normalised_and_matched_by_one_key,
    pages_are_bounded_by_bytes_and_aliases_by_count,
    seed_facts_are_retrievable_with_their_sources,
    pagination_pages_by_size_and_rejects_foreign_tokens,
    create_retry_with_same_request_id_returns_first_result_and_writes_nothing,
    update_honours_field_mask_and_etag,
    bad_input_reports_every_field_violation_and_writes_nothing,
    clarification_supersedes_report_and_both_stay_readable,
    timeline_orders_by_occurred_date_coarser_first,
    partners_are_found_directly_and_through_hops,
    watch_resumes_after_reconnect_without_missing_or_repeating,
    every_other_rpc_round_trips,
);

#[tokio::test]
async fn sqlite_file_keeps_data_across_restarts_and_seed_reload_changes_nothing() {
    let path = std::env::temp_dir().join(format!("registry-{}.db", uuid::Uuid::new_v4().simple()));
    let db = Db {
        url: format!("sqlite://{}?mode=rwc", path.display()),
        pg: None,
    };
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

/// Three replicas on one PostgreSQL database receive the same create at once (a client
/// retrying against other pods): one organisation is written and every caller gets it.
#[tokio::test]
async fn concurrent_creates_with_one_request_id_on_replicas_write_once() {
    let Some(db) = Db::postgres().await else {
        return;
    };
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
    db.cleanup().await;
}

// ------------------------------------------------------------------ operations
//
// Auth, TLS, health on shutdown and metrics: the server plumbing from autointel-server as
// the registry wires it.

mod operations {
    use std::net::SocketAddr;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use autointel_proto::registry::registry_service_client::RegistryServiceClient;
    use autointel_proto::registry::{self as wire};
    use autointel_registry::{Application, Settings};
    use autointel_server::settings::Secret;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;
    use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
    use tonic::{Code, Request};
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    const HEALTH_NAME: &str = "autointel.registry.v1.RegistryService";

    struct Running {
        addr: SocketAddr,
        metrics: Option<SocketAddr>,
        health: Option<SocketAddr>,
        stop: Option<oneshot::Sender<()>>,
        task: JoinHandle<()>,
    }

    fn settings() -> Settings {
        let mut settings = Settings::default();
        settings.auth.disabled = true;
        settings.server.listen_address = "127.0.0.1:0".parse().unwrap();
        settings.database.url = "sqlite::memory:".to_owned();
        settings
    }

    async fn start(settings: Settings) -> Running {
        let app = Application::build(settings).await.expect("registry builds");
        let addr = app.local_addr();
        let metrics = app.metrics_addr();
        let health = app.health_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.serve_until(async {
                let _ = stopped.await;
            })
            .await
            .expect("registry serves and stops cleanly");
        });
        Running {
            addr,
            metrics,
            health,
            stop: Some(stop),
            task,
        }
    }

    async fn channel(addr: SocketAddr) -> Channel {
        Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    fn with_token(
        request: wire::ListOrganizationsRequest,
        token: Option<&str>,
    ) -> Request<wire::ListOrganizationsRequest> {
        let mut request = Request::new(request);
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        request
    }

    fn create(id: &str, token: &str) -> Request<wire::CreateOrganizationRequest> {
        let mut request = Request::new(wire::CreateOrganizationRequest {
            organization: Some(super::org(&format!("Organisation {id}"))),
            organization_id: id.to_owned(),
            request_id: String::new(),
        });
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        request
    }

    async fn health_of(channel: Channel, service: &str) -> ServingStatus {
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("health answers without a token")
            .into_inner();
        ServingStatus::try_from(response.status).unwrap()
    }

    #[tokio::test]
    async fn reader_cannot_write_no_token_is_unauthenticated_and_health_needs_none() {
        let mut settings = settings();
        settings.auth.disabled = false;
        settings.auth.tokens = Some(Secret(
            "reader:reader-secret,writer:writer-secret".to_owned(),
        ));
        let server = start(settings).await;
        let channel = channel(server.addr).await;
        let mut client = RegistryServiceClient::new(channel.clone());

        let none = client
            .list_organizations(with_token(Default::default(), None))
            .await
            .unwrap_err();
        assert_eq!(none.code(), Code::Unauthenticated, "{none:?}");
        let wrong = client
            .list_organizations(with_token(Default::default(), Some("reader-secre")))
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");
        assert!(!wrong.message().contains("reader-secre"));

        client
            .list_organizations(with_token(Default::default(), Some("reader-secret")))
            .await
            .expect("a reader may query");
        let denied = client
            .create_organization(create("reader-made", "reader-secret"))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
        client
            .create_organization(create("writer-made", "writer-secret"))
            .await
            .expect("a writer may create");
        let listed = client
            .list_organizations(with_token(Default::default(), Some("writer-secret")))
            .await
            .expect("a writer may also read")
            .into_inner();
        assert_eq!(listed.organizations.len(), 1);

        assert_eq!(health_of(channel.clone(), "").await, ServingStatus::Serving);
        assert_eq!(
            health_of(channel, HEALTH_NAME).await,
            ServingStatus::Serving
        );
    }

    #[tokio::test]
    async fn health_turns_not_serving_on_shutdown_before_connections_drain() {
        let mut settings = settings();
        settings.server.drain_delay_ms = 1_500;
        let mut server = start(settings).await;
        let channel = channel(server.addr).await;
        assert_eq!(health_of(channel.clone(), "").await, ServingStatus::Serving);

        let _ = server.stop.take().unwrap().send(());
        // Within the drain delay the server still accepts and answers, reporting NOT_SERVING.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        loop {
            if health_of(channel.clone(), "").await == ServingStatus::NotServing {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "still SERVING");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            health_of(channel.clone(), HEALTH_NAME).await,
            ServingStatus::NotServing
        );
        let fresh = Endpoint::from_shared(format!("http://{}", server.addr))
            .unwrap()
            .connect()
            .await
            .expect("new connections are still accepted while draining");
        assert_eq!(health_of(fresh, "").await, ServingStatus::NotServing);
        assert!(!server.task.is_finished(), "stopped before the drain delay");

        tokio::time::timeout(Duration::from_secs(10), &mut server.task)
            .await
            .expect("stops after the drain delay")
            .unwrap();
        assert!(
            Endpoint::from_shared(format!("http://{}", server.addr))
                .unwrap()
                .connect()
                .await
                .is_err(),
            "a stopped server refuses connections"
        );
    }

    /// GET /metrics over plain HTTP/1.1.
    pub(super) async fn scrape(addr: SocketAddr) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        text
    }

    /// The value of the first sample of `metric` whose line contains every fragment.
    pub(super) fn sample(text: &str, metric: &str, fragments: &[&str]) -> f64 {
        text.lines()
            .filter(|line| line.starts_with(metric))
            .find(|line| fragments.iter().all(|f| line.contains(f)))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    #[tokio::test]
    async fn metrics_endpoint_counts_requests_by_method_and_code() {
        let mut settings = settings();
        settings.server.metrics_address = Some("127.0.0.1:0".parse().unwrap());
        let server = start(settings).await;
        let metrics = server.metrics.expect("metrics are served");
        let mut client = RegistryServiceClient::new(channel(server.addr).await);
        let ok = [r#"method="ListOrganizations""#, r#"code="OK""#];
        let not_found = [r#"method="GetOrganization""#, r#"code="NOT_FOUND""#];

        let before = scrape(metrics).await;
        assert!(
            before
                .to_ascii_lowercase()
                .contains("content-type: application/openmetrics-text"),
            "the content type says OpenMetrics, as the body is:\n{before}"
        );
        assert!(before.trim_end().ends_with("# EOF"), "{before}");
        for (metric, at_least) in [
            ("process_resident_memory_bytes", 1_000_000.0),
            ("process_open_fds", 3.0),
            ("process_cpu_seconds_total", 0.0),
            ("process_start_time_seconds", 1.0),
            ("autointel_db_pool_max_connections", 1.0),
            ("autointel_store_writable", 1.0),
        ] {
            let value = sample(&before, metric, &[]);
            assert!(
                before.lines().any(|l| l.starts_with(metric)) && value >= at_least,
                "{metric} = {value}:\n{before}"
            );
        }
        assert!(
            before.contains("autointel_build_info{version=\"")
                && before.contains(&format!("revision=\"{}\"", autointel_server::GIT_REVISION)),
            "{before}"
        );

        for _ in 0..3 {
            client
                .list_organizations(wire::ListOrganizationsRequest::default())
                .await
                .unwrap();
        }
        let missing = client
            .get_organization(wire::GetOrganizationRequest {
                name: "organizations/nobody".to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NotFound);
        let after = scrape(metrics).await;
        assert!(
            after.contains("le=\"0.0001\""),
            "latency buckets resolve sub-millisecond answers: {after}"
        );

        assert_eq!(
            sample(&after, "grpc_requests_total", &ok)
                - sample(&before, "grpc_requests_total", &ok),
            3.0,
            "{after}"
        );
        assert_eq!(
            sample(&after, "grpc_requests_total", &not_found)
                - sample(&before, "grpc_requests_total", &not_found),
            1.0,
            "{after}"
        );
        assert!(
            sample(
                &after,
                "grpc_request_duration_seconds_count",
                &[r#"method="ListOrganizations""#]
            ) >= 3.0,
            "{after}"
        );
        assert!(after.contains("grpc_requests_in_flight"), "{after}");
    }

    /// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, as PEM
    /// files in a fresh directory.
    pub(super) struct Pki {
        pub dir: PathBuf,
    }

    impl Pki {
        pub fn generate() -> Self {
            use rcgen::{
                BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
                KeyPair, KeyUsagePurpose,
            };
            let dir = std::env::temp_dir().join(format!("autointel-pki-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            let ca_key = KeyPair::generate().unwrap();
            let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            ca.distinguished_name
                .push(DnType::CommonName, "autointel test CA");
            let ca_cert = ca.self_signed(&ca_key).unwrap();
            std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
            let issuer = Issuer::new(ca, ca_key);
            for (name, sans, usage) in [
                (
                    "server",
                    vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
                    ExtendedKeyUsagePurpose::ServerAuth,
                ),
                (
                    "client",
                    vec!["autointel-stats".to_owned()],
                    ExtendedKeyUsagePurpose::ClientAuth,
                ),
            ] {
                let key = KeyPair::generate().unwrap();
                let mut params = CertificateParams::new(sans).unwrap();
                params.distinguished_name.push(DnType::CommonName, name);
                params.extended_key_usages = vec![usage];
                let cert = params.signed_by(&key, &issuer).unwrap();
                std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
                std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
            }
            Self { dir }
        }

        pub fn path(&self, file: &str) -> PathBuf {
            self.dir.join(file)
        }

        pub fn read(&self, file: &str) -> Vec<u8> {
            std::fs::read(self.path(file)).unwrap()
        }
    }

    impl Drop for Pki {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn pem(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    #[tokio::test]
    async fn mutual_tls_serves_clients_with_a_certificate_and_refuses_others() {
        let pki = Pki::generate();
        let mut settings = settings();
        settings.tls.cert_file = Some(pki.path("server.pem"));
        settings.tls.key_file = Some(pki.path("server.key"));
        settings.tls.client_ca_file = Some(pki.path("ca.pem"));
        let server = start(settings).await;
        let url = format!("https://localhost:{}", server.addr.port());
        let ca = Certificate::from_pem(pem(&pki.path("ca.pem")));

        let channel = Endpoint::from_shared(url.clone())
            .unwrap()
            .tls_config(
                ClientTlsConfig::new()
                    .ca_certificate(ca.clone())
                    .identity(Identity::from_pem(
                        pki.read("client.pem"),
                        pki.read("client.key"),
                    ))
                    .domain_name("localhost"),
            )
            .unwrap()
            .connect()
            .await
            .expect("a client with a certificate connects over TLS");
        let mut client = RegistryServiceClient::new(channel.clone());
        client
            .list_organizations(wire::ListOrganizationsRequest::default())
            .await
            .expect("queries work over mutual TLS");
        assert_eq!(health_of(channel, "").await, ServingStatus::Serving);

        // No client certificate: the handshake (or the first call) fails.
        let anonymous = async {
            let channel = Endpoint::from_shared(url.clone())
                .unwrap()
                .tls_config(
                    ClientTlsConfig::new()
                        .ca_certificate(ca)
                        .domain_name("localhost"),
                )
                .unwrap()
                .connect()
                .await?;
            RegistryServiceClient::new(channel)
                .list_organizations(wire::ListOrganizationsRequest::default())
                .await
                .map_err(|s| -> Box<dyn std::error::Error> { Box::new(s) })?;
            Ok::<_, Box<dyn std::error::Error>>(())
        };
        assert!(
            anonymous.await.is_err(),
            "mutual TLS admits no anonymous client"
        );

        // Plain text to a TLS port fails too.
        let plain = async {
            let channel = Endpoint::from_shared(format!("http://{}", server.addr))
                .unwrap()
                .connect()
                .await?;
            RegistryServiceClient::new(channel)
                .list_organizations(wire::ListOrganizationsRequest::default())
                .await
                .map_err(|s| -> Box<dyn std::error::Error> { Box::new(s) })?;
            Ok::<_, Box<dyn std::error::Error>>(())
        };
        assert!(plain.await.is_err());
    }

    /// Watch streams: a cap on open streams, a cursor past the end refused (naming the
    /// end), and every open stream ended with UNAVAILABLE as soon as draining starts, so
    /// that shutdown does not wait out the grace period for them.
    #[tokio::test]
    async fn watch_streams_are_capped_checked_and_end_when_draining_starts() {
        let mut settings = settings();
        settings.watch.max_subscribers = 2;
        settings.server.shutdown_grace_seconds = 20;
        let mut server = start(settings).await;
        let mut client = RegistryServiceClient::new(channel(server.addr).await);
        let watch = |cursor: String| wire::WatchEventsRequest { cursor };
        let mut first = client
            .watch_events(watch(String::new()))
            .await
            .expect("first stream")
            .into_inner();
        let second = client
            .watch_events(watch(String::new()))
            .await
            .expect("second stream")
            .into_inner();
        let refused = client
            .watch_events(watch(String::new()))
            .await
            .expect_err("over the cap");
        assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
        assert!(refused.message().contains("limit 2"), "{refused:?}");

        drop(second);
        let past_end = autointel_registry::service::encode_cursor(1_000_000);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let refused = loop {
            match client.watch_events(watch(past_end.clone())).await {
                Err(status) if status.code() == Code::ResourceExhausted => {
                    assert!(tokio::time::Instant::now() < deadline, "slot not freed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(status) => break status,
                Ok(_) => panic!("a cursor past the end was accepted"),
            }
        };
        assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
        let end = autointel_registry::service::encode_cursor(0);
        assert!(
            refused.message().contains(&end),
            "names the end: {refused:?}"
        );

        let stopping = std::time::Instant::now();
        let _ = server.stop.take().expect("running").send(());
        let ended = tokio::time::timeout(Duration::from_secs(5), first.message())
            .await
            .expect("the stream ends when draining starts");
        let status = ended.expect_err("ended with a status");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        tokio::time::timeout(Duration::from_secs(5), &mut server.task)
            .await
            .expect("shutdown does not wait for watch streams")
            .expect("clean stop");
        assert!(stopping.elapsed() < Duration::from_secs(5));
    }

    /// A rotated tokens file is put in force without a restart; a broken one keeps the
    /// tokens in force.
    #[tokio::test]
    async fn rotated_tokens_are_picked_up_and_a_broken_rotation_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        let file = |token: &str| format!("[[tokens]]\ntoken = \"{token}\"\nrole = \"reader\"\n");
        std::fs::write(&path, file("old-token")).unwrap();
        let mut settings = settings();
        settings.auth.disabled = false;
        settings.auth.tokens_file = Some(path.clone());
        settings.auth.reload_interval_seconds = 1;
        let server = start(settings).await;
        let mut client = RegistryServiceClient::new(channel(server.addr).await);
        let list = |token: &str| with_token(wire::ListOrganizationsRequest::default(), Some(token));
        client
            .list_organizations(list("old-token"))
            .await
            .expect("old token");

        std::fs::write(&path, file("new-token")).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while client.list_organizations(list("new-token")).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the new token was not picked up"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let old = client
            .list_organizations(list("old-token"))
            .await
            .unwrap_err();
        assert_eq!(
            old.code(),
            Code::Unauthenticated,
            "the old token is retired"
        );

        std::fs::write(&path, "this is not toml [[").unwrap();
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        client
            .list_organizations(list("new-token"))
            .await
            .expect("a broken file keeps the tokens in force");
    }

    /// A renewed certificate (here: one from another CA, with the client CA renewed too)
    /// is served to new connections without a restart; a half-written renewal keeps the
    /// configuration in force.
    #[tokio::test]
    async fn renewed_certificates_are_served_without_a_restart() {
        let (old, new) = (Pki::generate(), Pki::generate());
        let live = Pki::generate(); // the files the server reads, overwritten in place
        for file in ["server.pem", "server.key", "ca.pem"] {
            std::fs::write(live.path(file), old.read(file)).unwrap();
        }
        let mut settings = settings();
        settings.tls.cert_file = Some(live.path("server.pem"));
        settings.tls.key_file = Some(live.path("server.key"));
        settings.tls.client_ca_file = Some(live.path("ca.pem"));
        settings.tls.reload_interval_seconds = 1;
        let server = start(settings).await;
        let url = format!("https://localhost:{}", server.addr.port());
        let connect = |pki: &Pki| {
            let tls = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(pki.read("ca.pem")))
                .identity(Identity::from_pem(
                    pki.read("client.pem"),
                    pki.read("client.key"),
                ))
                .domain_name("localhost");
            let endpoint = Endpoint::from_shared(url.clone())
                .unwrap()
                .tls_config(tls)
                .unwrap();
            async move {
                let channel = endpoint.connect().await?;
                RegistryServiceClient::new(channel)
                    .list_organizations(wire::ListOrganizationsRequest::default())
                    .await
                    .map_err(|s| -> Box<dyn std::error::Error> { Box::new(s) })?;
                Ok::<_, Box<dyn std::error::Error>>(())
            }
        };
        connect(&old)
            .await
            .expect("the first certificate is served");
        assert!(connect(&new).await.is_err(), "not yet renewed");

        // a half-written renewal: the key is missing its end
        std::fs::write(live.path("server.key"), &new.read("server.key")[..40]).unwrap();
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        connect(&old)
            .await
            .expect("a broken renewal keeps the configuration in force");

        for file in ["server.pem", "server.key", "ca.pem"] {
            std::fs::write(live.path(file), new.read(file)).unwrap();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while connect(&new).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the renewal was not picked up"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            connect(&old).await.is_err(),
            "the old certificate is retired"
        );
    }

    /// Under mutual TLS the kubelet's plaintext gRPC probes use the health-only port: it
    /// answers without TLS, certificate or token, and serves nothing but health.
    #[tokio::test]
    async fn the_plaintext_health_port_answers_probes_under_mutual_tls() {
        let pki = Pki::generate();
        let mut settings = settings();
        settings.tls.cert_file = Some(pki.path("server.pem"));
        settings.tls.key_file = Some(pki.path("server.key"));
        settings.tls.client_ca_file = Some(pki.path("ca.pem"));
        settings.server.health_address = Some("127.0.0.1:0".parse().unwrap());
        let server = start(settings).await;
        let health = server.health.expect("a health port is bound");
        assert_ne!(health, server.addr);
        let plain = channel(health).await;
        for name in ["", HEALTH_NAME, autointel_server::LIVENESS] {
            assert_eq!(
                health_of(plain.clone(), name).await,
                ServingStatus::Serving,
                "{name:?}"
            );
        }
        let refused = RegistryServiceClient::new(plain)
            .list_organizations(wire::ListOrganizationsRequest::default())
            .await
            .expect_err("the health port serves health only");
        assert_eq!(refused.code(), Code::Unimplemented, "{refused:?}");
    }
}
