//! Requests the suites share, and what they read from errors.

use std::time::Duration;

use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_proto::registry::{self as wire, event_participant::Participant as P};
use autointel_proto::types::{self, DatePrecision, MonthRange, PartialDate, YearMonth};
use tonic::transport::Channel;

pub(crate) use autointel_testkit::status::{fields, reason};

pub(crate) type Client = RegistryServiceClient<Channel>;

pub(crate) fn day(y: i32, m: i32, d: i32) -> PartialDate {
    PartialDate {
        precision: DatePrecision::Day as i32,
        year: y,
        month: m,
        day: d,
        quarter: 0,
    }
}

pub(crate) fn month(y: i32, m: i32) -> PartialDate {
    PartialDate {
        precision: DatePrecision::Month as i32,
        year: y,
        month: m,
        day: 0,
        quarter: 0,
    }
}

pub(crate) fn months(y1: i32, m1: i32, y2: i32, m2: i32) -> MonthRange {
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

pub(crate) fn org(name: &str) -> wire::Organization {
    wire::Organization {
        kind: wire::OrganizationKind::Automaker as i32,
        english_name: name.to_owned(),
        country_code: "CN".to_owned(),
        ..Default::default()
    }
}

pub(crate) async fn create_org(c: &mut Client, id: &str, name: &str) -> wire::Organization {
    c.create_organization(wire::CreateOrganizationRequest {
        organization: Some(org(name)),
        organization_id: id.to_owned(),
        request_id: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
}

pub(crate) async fn create_source(c: &mut Client, id: &str) -> wire::Source {
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

pub(crate) fn event(
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

/// An open target of `organization` tied to `event`: at least 1,000 units of `metric`'s
/// series (market CN, every scope and powertrain) in 2026, citing `sources/s1`.
pub(crate) fn target(
    organization: &str,
    event: &str,
    description: &str,
    metric: (&str, types::MeasureBasis, types::Flow),
) -> wire::Target {
    let (metric_organization, basis, flow) = metric;
    wire::Target {
        organization: organization.to_owned(),
        event: event.to_owned(),
        description: description.to_owned(),
        metric: Some(types::SeriesKey {
            organization: metric_organization.to_owned(),
            basis: basis as i32,
            flow: flow as i32,
            market: "CN".to_owned(),
            scope: types::VehicleScope::All as i32,
            powertrain: types::Powertrain::All as i32,
            destination: String::new(),
        }),
        period: Some(months(2026, 1, 2026, 12)),
        threshold_units: 1000,
        comparator: wire::Comparator::GreaterOrEqual as i32,
        status: wire::TargetStatus::Open as i32,
        sources: vec!["sources/s1".to_owned()],
        ..Default::default()
    }
}

pub(crate) async fn create_event(c: &mut Client, id: &str, e: wire::Event) -> wire::Event {
    c.create_event(wire::CreateEventRequest {
        event: Some(e),
        event_id: id.to_owned(),
        request_id: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
}

/// `events/plan`: Acme's confirmed plan of January 2024.
pub(crate) async fn create_plan(c: &mut Client) -> wire::Event {
    create_event(
        c,
        "plan",
        event(
            "Plan",
            "organizations/acme",
            month(2024, 1),
            wire::EventStatus::Confirmed,
        ),
    )
    .await
}

pub(crate) async fn all_org_names(c: &mut Client) -> Vec<String> {
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

pub(crate) async fn all_event_names(c: &mut Client) -> Vec<String> {
    event_names(
        c,
        wire::ListEventsRequest {
            page_size: 1000,
            ..Default::default()
        },
    )
    .await
}

/// The names of the events one `ListEvents` page answers with.
pub(crate) async fn event_names(c: &mut Client, request: wire::ListEventsRequest) -> Vec<String> {
    c.list_events(request)
        .await
        .unwrap()
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.name)
        .collect()
}

/// The organisations `LookupOrganizations` finds for `query`.
pub(crate) async fn lookup(c: &mut Client, query: &str) -> Vec<wire::Organization> {
    c.lookup_organizations(wire::LookupOrganizationsRequest {
        query: query.to_owned(),
    })
    .await
    .unwrap()
    .into_inner()
    .organizations
}

/// A supply partnership of `organizations/acme` and `second`, citing `source`.
pub(crate) fn supply_partnership(
    second: &str,
    status: wire::PartnershipStatus,
    source: &str,
) -> wire::Partnership {
    wire::Partnership {
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
        status: status as i32,
        sources: vec![source.to_owned()],
        ..Default::default()
    }
}

pub(crate) async fn next(
    s: &mut tonic::Streaming<wire::WatchEventsResponse>,
) -> wire::WatchEventsResponse {
    tokio::time::timeout(Duration::from_secs(10), s.message())
        .await
        .expect("a change arrives")
        .unwrap()
        .unwrap()
}
