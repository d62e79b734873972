//! Bad input over the real binaries, table-driven: for every RPC of both services (the
//! table must name each method of the descriptor set at least once), requests with missing
//! required fields, UNSPECIFIED and unknown enum numbers, inverted and malformed ranges,
//! negative and overflowing units, over-long strings, control characters, tampered page
//! tokens and oversized messages; each case asserts the exact status code and the exact
//! set of `google.rpc.BadRequest` field violations, and after the whole table nothing was
//! written (every collection listed before and after). Then malformed CSV files through
//! `autointel import` (wrong columns, invalid UTF-8, unbalanced quotes).

use std::collections::BTreeSet;
use std::io::Write as _;

use autointel_proto::google::r#type::Date;
use autointel_proto::registry as rwire;
use autointel_proto::stats as swire;
use autointel_proto::types as twire;
use prost::Message;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::faults::{nissan_china, seed_period};
use crate::flows::{HEADER, SOURCE};
use crate::harness::{Backend, Options, Stack, channel, on_each_backend};
use crate::raw::{call, method, methods};

on_each_backend!(
    every_rpc_rejects_bad_input_exactly_and_writes_nothing,
    malformed_csv_files_are_rejected_and_write_nothing,
);

/// `server.max_message_bytes` of stats in this test (and `import.max_message_bytes`).
const STATS_MAX_MESSAGE: usize = 1 << 20;
/// The registry's default `server.max_message_bytes`.
const REGISTRY_MAX_MESSAGE: usize = 4 << 20;

/// One row of the table.
struct Case {
    name: String,
    method: &'static str,
    body: Vec<u8>,
    code: Code,
    fields: Vec<&'static str>,
}

fn case(
    name: &str,
    method: &'static str,
    message: &impl Message,
    code: Code,
    fields: &[&'static str],
) -> Case {
    Case {
        name: name.to_owned(),
        method,
        body: message.encode_to_vec(),
        code,
        fields: fields.to_vec(),
    }
}

fn invalid(
    name: &str,
    method: &'static str,
    message: &impl Message,
    fields: &[&'static str],
) -> Case {
    case(name, method, message, Code::InvalidArgument, fields)
}

fn ym(year: i32, month: i32) -> Option<twire::YearMonth> {
    Some(twire::YearMonth { year, month })
}

fn range(start: (i32, i32), end: (i32, i32)) -> Option<twire::MonthRange> {
    Some(twire::MonthRange {
        start: ym(start.0, start.1),
        end: ym(end.0, end.1),
    })
}

fn org(kind: i32, english_name: &str) -> Option<rwire::Organization> {
    Some(rwire::Organization {
        kind,
        english_name: english_name.to_owned(),
        country_code: "CN".to_owned(),
        ..Default::default()
    })
}

fn create_org(organization: Option<rwire::Organization>) -> rwire::CreateOrganizationRequest {
    rwire::CreateOrganizationRequest {
        organization,
        organization_id: "bad-input-org".to_owned(),
        request_id: uuid::Uuid::new_v4().to_string(),
    }
}

fn good_figure() -> swire::SalesFigure {
    swire::SalesFigure {
        series: Some(twire::SeriesKey {
            market: "BADINPUT".to_owned(),
            ..nissan_china()
        }),
        period: range((2021, 1), (2021, 1)),
        quantity: Some(swire::sales_figure::Quantity::Units(10)),
        source: SOURCE.to_owned(),
        stage: swire::ReleaseStage::Final as i32,
        as_of_date: Some(Date {
            year: 2021,
            month: 2,
            day: 1,
        }),
        ..Default::default()
    }
}

/// An import of `good_figure()` and then `bad` (so the bad row is `figures[1]`).
fn import(bad: swire::SalesFigure) -> swire::ImportSalesFiguresRequest {
    swire::ImportSalesFiguresRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        figures: vec![good_figure(), bad],
    }
}

fn total(
    series: Option<twire::SeriesKey>,
    period: Option<twire::MonthRange>,
) -> swire::ComputeTotalRequest {
    swire::ComputeTotalRequest {
        source: String::new(),
        series,
        period,
        as_of_date: None,
    }
}

fn gdate(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

fn with_series(f: impl FnOnce(&mut twire::SeriesKey)) -> Option<twire::SeriesKey> {
    let mut s = nissan_china();
    f(&mut s);
    Some(s)
}

/// Changes one character early in a token, where both services keep the fingerprint of
/// the query the token belongs to (a tampered token of the right shape and alphabet).
/// The position the token resumes after is not signed: editing that part yields another
/// valid position of the same listing, which reveals nothing a caller cannot list anyway.
fn tamper(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let c = chars.get_mut(5).expect("a token of more than 5 characters");
    *c = if *c == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// A request the service accepts by design (and that writes nothing).
fn accepted(name: &str, method: &'static str, message: &impl Message) -> Case {
    case(name, method, message, Code::Ok, &[])
}

fn table(org_token: &str, figure_token: &str) -> Vec<Case> {
    use Code::OutOfRange;
    let long = "x".repeat(10_000);
    let nul = "bad\u{0}name";
    let bell = "ring\u{7}bell";
    let mut cases = vec![
        // ---- registry: organisations
        invalid(
            "create org: missing organization",
            "CreateOrganization",
            &create_org(None),
            &["organization"],
        ),
        invalid(
            "create org: UNSPECIFIED kind",
            "CreateOrganization",
            &create_org(org(0, "Bad Input")),
            &["organization.kind"],
        ),
        invalid(
            "create org: unknown kind 99",
            "CreateOrganization",
            &create_org(org(99, "Bad Input")),
            &["organization.kind"],
        ),
        invalid(
            "create org: over-long name",
            "CreateOrganization",
            &create_org(org(1, &long)),
            &["organization.english_name"],
        ),
        invalid(
            "create org: NUL in name",
            "CreateOrganization",
            &create_org(org(1, nul)),
            &["organization.english_name"],
        ),
        invalid(
            "create org: BEL in name",
            "CreateOrganization",
            &create_org(org(1, bell)),
            &["organization.english_name"],
        ),
        invalid(
            "create org: bad id",
            "CreateOrganization",
            &rwire::CreateOrganizationRequest {
                organization_id: "Bad_ID!".to_owned(),
                ..create_org(org(1, "Bad Input"))
            },
            &["organization_id"],
        ),
        case(
            "create org: oversized message",
            "CreateOrganization",
            &create_org(org(1, &"y".repeat(REGISTRY_MAX_MESSAGE + 1024))),
            OutOfRange,
            &[],
        ),
        invalid(
            "get org: empty name",
            "GetOrganization",
            &rwire::GetOrganizationRequest::default(),
            &["name"],
        ),
        invalid(
            "get org: wrong collection",
            "GetOrganization",
            &rwire::GetOrganizationRequest {
                name: "people/nissan-china".to_owned(),
            },
            &["name"],
        ),
        invalid(
            "list orgs: negative page size",
            "ListOrganizations",
            &rwire::ListOrganizationsRequest {
                page_size: -1,
                ..Default::default()
            },
            &["page_size"],
        ),
        invalid(
            "list orgs: unknown kind",
            "ListOrganizations",
            &rwire::ListOrganizationsRequest {
                kind: 99,
                ..Default::default()
            },
            &["kind"],
        ),
        invalid(
            "list orgs: garbage page token",
            "ListOrganizations",
            &rwire::ListOrganizationsRequest {
                page_token: "garbage".to_owned(),
                ..Default::default()
            },
            &["page_token"],
        ),
        invalid(
            "list orgs: tampered page token",
            "ListOrganizations",
            &rwire::ListOrganizationsRequest {
                page_size: 2,
                page_token: tamper(org_token),
                ..Default::default()
            },
            &["page_token"],
        ),
        invalid(
            "list orgs: token of other filters",
            "ListOrganizations",
            &rwire::ListOrganizationsRequest {
                page_size: 2,
                page_token: org_token.to_owned(),
                kind: rwire::OrganizationKind::Automaker as i32,
                ..Default::default()
            },
            &["page_token"],
        ),
        invalid(
            "list orgs: malformed country",
            "ListOrganizations",
            &rwire::ListOrganizationsRequest {
                country_code: "china".to_owned(),
                ..Default::default()
            },
            &["country_code"],
        ),
        invalid(
            "list orgs: over-long text",
            "ListOrganizations",
            &rwire::ListOrganizationsRequest {
                text: long.clone(),
                ..Default::default()
            },
            &["text"],
        ),
        invalid(
            "update org: empty",
            "UpdateOrganization",
            &rwire::UpdateOrganizationRequest::default(),
            &["organization", "update_mask"],
        ),
        invalid(
            "delete org: empty name",
            "DeleteOrganization",
            &rwire::DeleteOrganizationRequest::default(),
            &["name"],
        ),
        invalid(
            "lookup: empty query",
            "LookupOrganizations",
            &rwire::LookupOrganizationsRequest::default(),
            &["query"],
        ),
        // Was "nothing found" on SQLite and UNAVAILABLE on PostgreSQL (which refuses a NUL).
        invalid(
            "lookup: control character",
            "LookupOrganizations",
            &rwire::LookupOrganizationsRequest {
                query: nul.to_owned(),
            },
            &["query"],
        ),
        invalid(
            "batch get organizations: no names",
            "BatchGetOrganizations",
            &rwire::BatchGetOrganizationsRequest::default(),
            &["names"],
        ),
        invalid(
            "batch get organizations: malformed names",
            "BatchGetOrganizations",
            &rwire::BatchGetOrganizationsRequest {
                names: vec![
                    "organizations/nissan".to_owned(),
                    "nissan".to_owned(),
                    "organizations/Not Valid".to_owned(),
                ],
            },
            &["names[1]", "names[2]"],
        ),
        invalid(
            "batch get organizations: over 1,000 names",
            "BatchGetOrganizations",
            &rwire::BatchGetOrganizationsRequest {
                names: (0..1_001).map(|i| format!("organizations/o{i}")).collect(),
            },
            &["names"],
        ),
        invalid(
            "list events: NUL in text",
            "ListEvents",
            &rwire::ListEventsRequest {
                text: nul.to_owned(),
                ..Default::default()
            },
            &["text"],
        ),
        invalid(
            "list events: malformed market",
            "ListEvents",
            &rwire::ListEventsRequest {
                market: "not a market".to_owned(),
                ..Default::default()
            },
            &["market"],
        ),
        // ---- relationships and hierarchy
        invalid(
            "create relationship: missing",
            "CreateRelationship",
            &rwire::CreateRelationshipRequest::default(),
            &["relationship"],
        ),
        invalid(
            "create relationship: UNSPECIFIED kind, self link, zero stake",
            "CreateRelationship",
            &rwire::CreateRelationshipRequest {
                relationship: Some(rwire::Relationship {
                    kind: 0,
                    parent: "organizations/nissan-china".to_owned(),
                    child: "organizations/nissan-china".to_owned(),
                    stake_basis_points: Some(0),
                    sources: vec![SOURCE.to_owned()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["relationship.kind", "relationship.stake_basis_points"],
        ),
        invalid(
            "get relationship: empty name",
            "GetRelationship",
            &rwire::GetRelationshipRequest::default(),
            &["name"],
        ),
        invalid(
            "list relationships: unknown kind",
            "ListRelationships",
            &rwire::ListRelationshipsRequest {
                kind: 77,
                ..Default::default()
            },
            &["kind"],
        ),
        invalid(
            "update relationship: empty",
            "UpdateRelationship",
            &rwire::UpdateRelationshipRequest::default(),
            &["relationship", "update_mask"],
        ),
        invalid(
            "delete relationship: empty name",
            "DeleteRelationship",
            &rwire::DeleteRelationshipRequest::default(),
            &["name"],
        ),
        invalid(
            "ancestors: missing organisation, depth 17, month 13",
            "ListAncestors",
            &rwire::ListAncestorsRequest {
                organization: String::new(),
                as_of_date: Some(Date {
                    year: 2023,
                    month: 13,
                    day: 1,
                }),
                max_depth: 17,
            },
            &["organization", "as_of_date.month", "max_depth"],
        ),
        invalid(
            "descendants: negative depth",
            "ListDescendants",
            &rwire::ListDescendantsRequest {
                organization: "organizations/nissan-china".to_owned(),
                as_of_date: None,
                max_depth: -1,
            },
            &["max_depth"],
        ),
        // ---- partnerships
        invalid(
            "create partnership: missing",
            "CreatePartnership",
            &rwire::CreatePartnershipRequest::default(),
            &["partnership"],
        ),
        invalid(
            "get partnership: empty name",
            "GetPartnership",
            &rwire::GetPartnershipRequest::default(),
            &["name"],
        ),
        invalid(
            "list partnerships: inverted range, unknown status",
            "ListPartnerships",
            &rwire::ListPartnershipsRequest {
                announced_within: range((2024, 5), (2023, 1)),
                status: 99,
                ..Default::default()
            },
            &["status", "announced_within.end"],
        ),
        invalid(
            "update partnership: empty",
            "UpdatePartnership",
            &rwire::UpdatePartnershipRequest::default(),
            &["partnership", "update_mask"],
        ),
        invalid(
            "delete partnership: empty name",
            "DeletePartnership",
            &rwire::DeletePartnershipRequest::default(),
            &["name"],
        ),
        invalid(
            "delete partnership: wrong collection",
            "DeletePartnership",
            &rwire::DeletePartnershipRequest {
                name: "events/nissan-china".to_owned(),
                etag: String::new(),
            },
            &["name"],
        ),
        invalid(
            "partners: 5 hops",
            "ListPartners",
            &rwire::ListPartnersRequest {
                organization: "organizations/nissan-china".to_owned(),
                max_hops: 5,
                ..Default::default()
            },
            &["max_hops"],
        ),
        // ---- events
        invalid(
            "create event: missing",
            "CreateEvent",
            &rwire::CreateEventRequest::default(),
            &["event"],
        ),
        invalid(
            "get event: empty name",
            "GetEvent",
            &rwire::GetEventRequest::default(),
            &["name"],
        ),
        invalid(
            "list events: month 13, unknown kind",
            "ListEvents",
            &rwire::ListEventsRequest {
                occurred_within: range((2023, 13), (2024, 1)),
                kind: 99,
                ..Default::default()
            },
            &["kind", "occurred_within.start.month"],
        ),
        invalid(
            "update event: empty",
            "UpdateEvent",
            &rwire::UpdateEventRequest::default(),
            &["event", "update_mask"],
        ),
        invalid(
            "delete event: empty name",
            "DeleteEvent",
            &rwire::DeleteEventRequest::default(),
            &["name"],
        ),
        invalid(
            "watch events: garbage cursor",
            "WatchEvents",
            &rwire::WatchEventsRequest {
                cursor: "garbage".to_owned(),
            },
            &["cursor"],
        ),
        invalid(
            "watch events: negative cursor",
            "WatchEvents",
            &rwire::WatchEventsRequest {
                cursor: "-5".to_owned(),
            },
            &["cursor"],
        ),
        // ---- targets
        invalid(
            "create target: missing",
            "CreateTarget",
            &rwire::CreateTargetRequest::default(),
            &["target"],
        ),
        invalid(
            "create target: negative threshold, UNSPECIFIED comparator",
            "CreateTarget",
            &rwire::CreateTargetRequest {
                target: Some(rwire::Target {
                    organization: "organizations/nissan-china".to_owned(),
                    description: "bad".to_owned(),
                    metric: Some(nissan_china()),
                    period: range((2025, 1), (2025, 12)),
                    threshold_units: -5,
                    comparator: 0,
                    status: 1,
                    sources: vec![SOURCE.to_owned()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["target.threshold_units", "target.comparator"],
        ),
        invalid(
            "get target: empty name",
            "GetTarget",
            &rwire::GetTargetRequest::default(),
            &["name"],
        ),
        invalid(
            "list targets: unknown status",
            "ListTargets",
            &rwire::ListTargetsRequest {
                status: 99,
                ..Default::default()
            },
            &["status"],
        ),
        invalid(
            "update target: empty",
            "UpdateTarget",
            &rwire::UpdateTargetRequest::default(),
            &["target", "update_mask"],
        ),
        invalid(
            "delete target: empty name",
            "DeleteTarget",
            &rwire::DeleteTargetRequest::default(),
            &["name"],
        ),
        // ---- people and sources
        invalid(
            "create person: missing",
            "CreatePerson",
            &rwire::CreatePersonRequest::default(),
            &["person"],
        ),
        invalid(
            "get person: empty name",
            "GetPerson",
            &rwire::GetPersonRequest::default(),
            &["name"],
        ),
        // AIP-158: a page size above the maximum is coerced down to 1000, not refused.
        accepted(
            "list people: page size 1001",
            "ListPeople",
            &rwire::ListPeopleRequest {
                page_size: 1001,
                ..Default::default()
            },
        ),
        invalid(
            "list people: negative page size",
            "ListPeople",
            &rwire::ListPeopleRequest {
                page_size: -7,
                ..Default::default()
            },
            &["page_size"],
        ),
        invalid(
            "update person: empty",
            "UpdatePerson",
            &rwire::UpdatePersonRequest::default(),
            &["person", "update_mask"],
        ),
        invalid(
            "update person: output-only path in the mask",
            "UpdatePerson",
            &rwire::UpdatePersonRequest {
                person: Some(rwire::Person {
                    name: "people/nobody".to_owned(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["create_time".to_owned()],
                }),
            },
            &["update_mask"],
        ),
        invalid(
            "delete person: malformed name",
            "DeletePerson",
            &rwire::DeletePersonRequest {
                name: "people/Not Valid".to_owned(),
                etag: String::new(),
            },
            &["name"],
        ),
        invalid(
            "create source: missing",
            "CreateSource",
            &rwire::CreateSourceRequest::default(),
            &["source"],
        ),
        invalid(
            "get source: empty name",
            "GetSource",
            &rwire::GetSourceRequest::default(),
            &["name"],
        ),
        invalid(
            "list sources: unknown kind",
            "ListSources",
            &rwire::ListSourcesRequest {
                kind: 99,
                ..Default::default()
            },
            &["kind"],
        ),
        invalid(
            "update source: empty",
            "UpdateSource",
            &rwire::UpdateSourceRequest::default(),
            &["source", "update_mask"],
        ),
        invalid(
            "update source: a URI that is not http(s)",
            "UpdateSource",
            &rwire::UpdateSourceRequest {
                source: Some(rwire::Source {
                    name: SOURCE.to_owned(),
                    uri: "ftp://example.com/a".to_owned(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["uri".to_owned()],
                }),
            },
            &["source.uri"],
        ),
        invalid(
            "delete source: empty name",
            "DeleteSource",
            &rwire::DeleteSourceRequest::default(),
            &["name"],
        ),
        case(
            "delete source: stale etag",
            "DeleteSource",
            &rwire::DeleteSourceRequest {
                name: SOURCE.to_owned(),
                etag: "W/\"999\"".to_owned(),
            },
            Code::Aborted,
            &[],
        ),
        case(
            "delete source: still cited",
            "DeleteSource",
            &rwire::DeleteSourceRequest {
                name: SOURCE.to_owned(),
                etag: String::new(),
            },
            Code::FailedPrecondition,
            &[],
        ),
        // ---- stats: imports
        invalid(
            "import: missing request id",
            "ImportSalesFigures",
            &swire::ImportSalesFiguresRequest {
                request_id: String::new(),
                figures: vec![good_figure()],
            },
            &["request_id"],
        ),
        invalid(
            "import: negative units",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                quantity: Some(swire::sales_figure::Quantity::Units(-5)),
                ..good_figure()
            }),
            &["figures[1].units"],
        ),
        invalid(
            "import: overflowing units",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                quantity: Some(swire::sales_figure::Quantity::Units(i64::MAX)),
                ..good_figure()
            }),
            &["figures[1].units"],
        ),
        invalid(
            "import: malformed 10k units",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                quantity: Some(swire::sales_figure::Quantity::TenThousandUnits(
                    "1e9999".to_owned(),
                )),
                ..good_figure()
            }),
            &["figures[1].ten_thousand_units"],
        ),
        invalid(
            "import: UNSPECIFIED basis, unknown powertrain",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                series: with_series(|s| {
                    s.basis = 0;
                    s.powertrain = 99;
                }),
                ..good_figure()
            }),
            &["figures[1].series.basis", "figures[1].series.powertrain"],
        ),
        invalid(
            "import: a destination on a non-export flow",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                series: with_series(|s| s.destination = "DE".to_owned()),
                ..good_figure()
            }),
            &["figures[1].series.destination"],
        ),
        invalid(
            "import: an invalid destination code",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                series: with_series(|s| {
                    s.flow = twire::Flow::Export as i32;
                    s.destination = "de".to_owned();
                }),
                ..good_figure()
            }),
            &["figures[1].series.destination"],
        ),
        invalid(
            "import: unknown nature",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                nature: 9,
                ..good_figure()
            }),
            &["figures[1].nature"],
        ),
        invalid(
            "import: inverted period",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                period: range((2021, 6), (2021, 1)),
                ..good_figure()
            }),
            &["figures[1].period.end"],
        ),
        invalid(
            "import: UNSPECIFIED stage",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                stage: 0,
                ..good_figure()
            }),
            &["figures[1].stage"],
        ),
        invalid(
            "import: control character in note",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                note: nul.to_owned(),
                ..good_figure()
            }),
            &["figures[1].note"],
        ),
        invalid(
            "import: over-long note",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                note: "n".repeat(100_000),
                ..good_figure()
            }),
            &["figures[1].note"],
        ),
        case(
            "import: oversized message",
            "ImportSalesFigures",
            &import(swire::SalesFigure {
                note: "o".repeat(STATS_MAX_MESSAGE + 1024),
                ..good_figure()
            }),
            OutOfRange,
            &[],
        ),
        // ---- stats: reads and queries
        invalid(
            "get figure: empty name",
            "GetSalesFigure",
            &swire::GetSalesFigureRequest::default(),
            &["name"],
        ),
        invalid(
            "get figure: path traversal",
            "GetSalesFigure",
            &swire::GetSalesFigureRequest {
                name: "salesFigures/../x".to_owned(),
            },
            &["name"],
        ),
        invalid(
            "list figures: unknown basis, lower-case market, inverted range",
            "ListSalesFigures",
            &swire::ListSalesFiguresRequest {
                basis: 42,
                market: "cn".to_owned(),
                overlapping: range((2023, 5), (2023, 1)),
                ..Default::default()
            },
            &["basis", "market", "overlapping.end"],
        ),
        invalid(
            "list figures: garbage token",
            "ListSalesFigures",
            &swire::ListSalesFiguresRequest {
                page_token: "garbage".to_owned(),
                ..Default::default()
            },
            &["page_token"],
        ),
        invalid(
            "list figures: tampered token",
            "ListSalesFigures",
            &swire::ListSalesFiguresRequest {
                page_size: 1,
                page_token: tamper(figure_token),
                ..Default::default()
            },
            &["page_token"],
        ),
        invalid(
            "list figures: token of other filters",
            "ListSalesFigures",
            &swire::ListSalesFiguresRequest {
                page_size: 1,
                page_token: figure_token.to_owned(),
                market: "CN".to_owned(),
                ..Default::default()
            },
            &["page_token"],
        ),
        invalid(
            "revision history: empty",
            "GetRevisionHistory",
            &swire::GetRevisionHistoryRequest::default(),
            &["series", "period"],
        ),
        invalid(
            "total: empty",
            "ComputeTotal",
            &total(None, None),
            &["series", "period"],
        ),
        invalid(
            "total: UNSPECIFIED basis",
            "ComputeTotal",
            &total(with_series(|s| s.basis = 0), Some(seed_period())),
            &["series.basis"],
        ),
        invalid(
            "total: a destination on a non-export flow",
            "ComputeTotal",
            &total(
                with_series(|s| s.destination = "DE".to_owned()),
                Some(seed_period()),
            ),
            &["series.destination"],
        ),
        invalid(
            "total: month 0 and 13",
            "ComputeTotal",
            &total(Some(nissan_china()), range((2023, 0), (2023, 13))),
            &["period.start.month", "period.end.month"],
        ),
        invalid(
            "total: inverted range",
            "ComputeTotal",
            &total(Some(nissan_china()), range((2024, 1), (2023, 1))),
            &["period.end"],
        ),
        invalid(
            "total: unknown organisation name form",
            "ComputeTotal",
            &total(
                with_series(|s| s.organization = "nissan-china".to_owned()),
                Some(seed_period()),
            ),
            &["series.organization"],
        ),
        invalid(
            "change: unknown comparison, 99 decimals",
            "ComputeChange",
            &swire::ComputeChangeRequest {
                series: Some(nissan_china()),
                period: Some(seed_period()),
                comparison: 99,
                percent_decimals: Some(99),
                ..Default::default()
            },
            &["comparison", "percent_decimals"],
        ),
        invalid(
            "total: a source that is not a resource name",
            "ComputeTotal",
            &swire::ComputeTotalRequest {
                source: "cpca".to_owned(),
                ..total(Some(nissan_china()), Some(seed_period()))
            },
            &["source"],
        ),
        invalid(
            "series: a source that is not a resource name, and unknown granularity",
            "ComputeSeries",
            &swire::ComputeSeriesRequest {
                series: Some(nissan_china()),
                period: Some(seed_period()),
                granularity: 99,
                source: "sources/".to_owned(),
                ..Default::default()
            },
            &["granularity", "source"],
        ),
        invalid(
            "rollup: a bad source beside an empty request",
            "ComputeRollup",
            &swire::ComputeRollupRequest {
                source: "organizations/byd".to_owned(),
                ..Default::default()
            },
            &["series", "period", "source"],
        ),
        invalid(
            "list releases: bad source, inverted dates, negative page size, garbage token",
            "ListReleases",
            &swire::ListReleasesRequest {
                page_size: -1,
                page_token: "garbage".to_owned(),
                source: "cpca".to_owned(),
                from_as_of_date: gdate(2024, 3, 1),
                to_as_of_date: gdate(2024, 2, 1),
            },
            &["page_size", "page_token", "source", "to_as_of_date"],
        ),
        invalid(
            "diff vintages: empty",
            "DiffVintages",
            &swire::DiffVintagesRequest::default(),
            &["from_as_of_date", "to_as_of_date"],
        ),
        invalid(
            "diff vintages: the later vintage first, a bad month and a bad organisation",
            "DiffVintages",
            &swire::DiffVintagesRequest {
                from_as_of_date: gdate(2024, 3, 1),
                to_as_of_date: gdate(2024, 2, 1),
                organization: "nissan-china".to_owned(),
                overlapping: range((2024, 13), (2024, 1)),
                ..Default::default()
            },
            &["to_as_of_date", "organization", "overlapping.start.month"],
        ),
        invalid(
            "watch releases: garbage cursor and a bad market",
            "WatchReleases",
            &swire::WatchReleasesRequest {
                cursor: "garbage".to_owned(),
                market: "china".to_owned(),
                ..Default::default()
            },
            &["cursor", "market"],
        ),
        invalid(
            "measures: empty",
            "ComputeMeasures",
            &swire::ComputeMeasuresRequest::default(),
            &["market", "period"],
        ),
        invalid(
            "measures: threshold out of range and too many decimals",
            "ComputeMeasures",
            &swire::ComputeMeasuresRequest {
                market: "CN".to_owned(),
                period: Some(seed_period()),
                divergence_threshold_basis_points: 1_000_001,
                percent_decimals: Some(9),
                ..Default::default()
            },
            &["divergence_threshold_basis_points", "percent_decimals"],
        ),
        invalid(
            "series: unknown granularity",
            "ComputeSeries",
            &swire::ComputeSeriesRequest {
                series: Some(nissan_china()),
                period: Some(seed_period()),
                granularity: 99,
                ..Default::default()
            },
            &["granularity"],
        ),
        invalid(
            "ranking: negative limit",
            "ComputeRanking",
            &swire::ComputeRankingRequest {
                series: with_series(|s| s.organization.clear()),
                period: Some(seed_period()),
                limit: -1,
                ..Default::default()
            },
            &["limit"],
        ),
        invalid(
            "ranking: unknown group mode",
            "ComputeRanking",
            &swire::ComputeRankingRequest {
                group_mode: 42,
                ..swire::ComputeRankingRequest::default()
            },
            &["series", "period", "group_mode"],
        ),
        invalid(
            "share: empty",
            "ComputeShare",
            &swire::ComputeShareRequest::default(),
            &["numerator", "denominator", "period", "granularity"],
        ),
        invalid(
            "breakdown: unknown dimension",
            "ComputeBreakdown",
            &swire::ComputeBreakdownRequest {
                source: String::new(),
                series: Some(nissan_china()),
                group_by: vec![99],
                period: Some(seed_period()),
                as_of_date: None,
            },
            &["group_by[0]"],
        ),
        invalid(
            "destinations: empty",
            "ComputeDestinations",
            &swire::ComputeDestinationsRequest::default(),
            &["series", "period"],
        ),
        invalid(
            "destinations: a domestic origin, a limit over 1000, 7 decimals",
            "ComputeDestinations",
            &swire::ComputeDestinationsRequest {
                series: with_series(|s| s.flow = twire::Flow::Domestic as i32),
                period: Some(seed_period()),
                limit: 1001,
                percent_decimals: Some(7),
                ..Default::default()
            },
            &["series.flow", "limit", "percent_decimals"],
        ),
        invalid(
            "destinations: an origin naming a destination, an inverted range",
            "ComputeDestinations",
            &swire::ComputeDestinationsRequest {
                series: with_series(|s| {
                    s.flow = twire::Flow::Export as i32;
                    s.destination = "DE".to_owned();
                }),
                period: range((2024, 3), (2024, 1)),
                ..Default::default()
            },
            &["series.destination", "period.end"],
        ),
        invalid(
            "destinations: a malformed destination code, UNSPECIFIED flow",
            "ComputeDestinations",
            &swire::ComputeDestinationsRequest {
                series: with_series(|s| {
                    s.flow = 0;
                    s.destination = "de".to_owned();
                }),
                period: Some(seed_period()),
                ..Default::default()
            },
            &["series.destination", "series.flow"],
        ),
        invalid(
            "rollup: empty",
            "ComputeRollup",
            &swire::ComputeRollupRequest::default(),
            &["series", "period"],
        ),
        invalid(
            "rollup: unknown mode",
            "ComputeRollup",
            &swire::ComputeRollupRequest {
                mode: 42,
                ..swire::ComputeRollupRequest::default()
            },
            &["series", "period", "mode"],
        ),
        invalid(
            "target progress: empty target",
            "ComputeTargetProgress",
            &swire::ComputeTargetProgressRequest::default(),
            &["target"],
        ),
        invalid(
            "forecast accuracy: empty",
            "ComputeForecastAccuracy",
            &swire::ComputeForecastAccuracyRequest::default(),
            &["series", "period"],
        ),
        invalid(
            "forecast accuracy: month 0, a malformed source, 9 decimals",
            "ComputeForecastAccuracy",
            &swire::ComputeForecastAccuracyRequest {
                series: Some(nissan_china()),
                period: range((2024, 0), (2024, 12)),
                source: "publishers/cpca".to_owned(),
                percent_decimals: Some(9),
                ..Default::default()
            },
            &["period.start.month", "source", "percent_decimals"],
        ),
        invalid(
            "forecast accuracy: end before start",
            "ComputeForecastAccuracy",
            &swire::ComputeForecastAccuracyRequest {
                series: Some(nissan_china()),
                period: range((2024, 12), (2024, 1)),
                ..Default::default()
            },
            &["period.end"],
        ),
    ];
    cases.extend(flight_cases());
    for c in &mut cases {
        c.name = format!("{} ({})", c.name, c.method);
    }
    cases
}

/// A Flight query, encoded (a descriptor's command or a ticket).
fn flight_query(query: Option<swire::flight_query::Query>, sequence_mark: i64) -> Vec<u8> {
    swire::FlightQuery {
        query,
        sequence_mark,
    }
    .encode_to_vec()
}

/// Arrow Flight: queries are checked like their `StatsService` requests (violations under
/// `cmd` or `ticket`); the methods that would write are UNIMPLEMENTED.
fn flight_cases() -> Vec<Case> {
    use arrow_flight::{
        Action, Criteria, Empty, FlightData, FlightDescriptor, HandshakeRequest, Ticket,
    };
    use swire::flight_query::Query;
    let cmd = |bytes: Vec<u8>| FlightDescriptor::new_cmd(bytes);
    let bad_series = Query::Series(swire::ComputeSeriesRequest {
        series: Some(nissan_china()),
        period: Some(seed_period()),
        granularity: 99,
        ..Default::default()
    });
    let paged = Query::Figures(swire::ListSalesFiguresRequest {
        page_size: 5,
        ..Default::default()
    });
    let unimplemented = |name: &str, method: &'static str, message: &dyn Fn() -> Vec<u8>| Case {
        name: name.to_owned(),
        method,
        body: message(),
        code: Code::Unimplemented,
        fields: Vec::new(),
    };
    vec![
        invalid(
            "flight info: no query",
            "GetFlightInfo",
            &cmd(Vec::new()),
            &["cmd.query"],
        ),
        invalid(
            "flight info: not a FlightQuery",
            "GetFlightInfo",
            &cmd(b"\xff\xff\xff".to_vec()),
            &["cmd"],
        ),
        invalid(
            "flight info: a series of granularity 99, a negative mark",
            "GetFlightInfo",
            &cmd(flight_query(Some(bad_series.clone()), -1)),
            &["cmd.sequence_mark"],
        ),
        invalid(
            "flight info: a series of granularity 99",
            "GetFlightInfo",
            &cmd(flight_query(Some(bad_series.clone()), 0)),
            &["cmd.series.granularity"],
        ),
        invalid(
            "poll flight info: figures with a page size",
            "PollFlightInfo",
            &cmd(flight_query(Some(paged.clone()), 0)),
            &["cmd.figures.page_size"],
        ),
        invalid(
            "schema: no query",
            "GetSchema",
            &cmd(Vec::new()),
            &["cmd.query"],
        ),
        invalid(
            "do get: not a FlightQuery",
            "DoGet",
            &Ticket::new(b"\x0a\xff".to_vec()),
            &["ticket"],
        ),
        invalid(
            "do get: a series of granularity 99",
            "DoGet",
            &Ticket::new(flight_query(Some(bad_series), 0)),
            &["ticket.series.granularity"],
        ),
        invalid(
            "do get: figures with a page size",
            "DoGet",
            &Ticket::new(flight_query(Some(paged), 0)),
            &["ticket.figures.page_size"],
        ),
        accepted(
            "list flights: none stored",
            "ListFlights",
            &Criteria::default(),
        ),
        accepted("list actions: none", "ListActions", &Empty::default()),
        unimplemented("handshake: tokens are headers", "Handshake", &|| {
            HandshakeRequest::default().encode_to_vec()
        }),
        unimplemented("do put: read-only", "DoPut", &|| {
            FlightData::default().encode_to_vec()
        }),
        unimplemented("do exchange: read-only", "DoExchange", &|| {
            FlightData::default().encode_to_vec()
        }),
        unimplemented("do action: read-only", "DoAction", &|| {
            Action::new("drop", Vec::<u8>::new()).encode_to_vec()
        }),
    ]
}

/// Everything either service stores, as names (figures: names), for before/after.
async fn snapshot(stack: &Stack) -> Vec<BTreeSet<String>> {
    let mut r = stack.registry_client().await;
    let mut s = stack.stats_client().await;
    let big = 1000;
    vec![
        r.list_organizations(rwire::ListOrganizationsRequest {
            page_size: big,
            ..Default::default()
        })
        .await
        .expect("orgs")
        .into_inner()
        .organizations
        .into_iter()
        .map(|o| format!("{}@{}", o.name, o.etag))
        .collect(),
        r.list_relationships(rwire::ListRelationshipsRequest {
            page_size: big,
            ..Default::default()
        })
        .await
        .expect("relationships")
        .into_inner()
        .relationships
        .into_iter()
        .map(|o| format!("{}@{}", o.name, o.etag))
        .collect(),
        r.list_partnerships(rwire::ListPartnershipsRequest {
            page_size: big,
            ..Default::default()
        })
        .await
        .expect("partnerships")
        .into_inner()
        .partnerships
        .into_iter()
        .map(|o| format!("{}@{}", o.name, o.etag))
        .collect(),
        r.list_events(rwire::ListEventsRequest {
            page_size: big,
            ..Default::default()
        })
        .await
        .expect("events")
        .into_inner()
        .events
        .into_iter()
        .map(|o| format!("{}@{}", o.name, o.etag))
        .collect(),
        r.list_targets(rwire::ListTargetsRequest {
            page_size: big,
            ..Default::default()
        })
        .await
        .expect("targets")
        .into_inner()
        .targets
        .into_iter()
        .map(|o| format!("{}@{}", o.name, o.etag))
        .collect(),
        r.list_people(rwire::ListPeopleRequest {
            page_size: big,
            ..Default::default()
        })
        .await
        .expect("people")
        .into_inner()
        .people
        .into_iter()
        .map(|o| format!("{}@{}", o.name, o.etag))
        .collect(),
        r.list_sources(rwire::ListSourcesRequest {
            page_size: big,
            ..Default::default()
        })
        .await
        .expect("sources")
        .into_inner()
        .sources
        .into_iter()
        .map(|o| format!("{}@{}", o.name, o.etag))
        .collect(),
        s.list_sales_figures(swire::ListSalesFiguresRequest {
            page_size: big,
            include_superseded: true,
            ..Default::default()
        })
        .await
        .expect("figures")
        .into_inner()
        .sales_figures
        .into_iter()
        .map(|f| f.name)
        .collect(),
    ]
}

async fn every_rpc_rejects_bad_input_exactly_and_writes_nothing(backend: Backend) {
    let options = Options::default()
        .stats_env(
            "AUTOINTEL_SERVER__MAX_MESSAGE_BYTES",
            &STATS_MAX_MESSAGE.to_string(),
        )
        .stats_env(
            "AUTOINTEL_IMPORT__MAX_MESSAGE_BYTES",
            &STATS_MAX_MESSAGE.to_string(),
        );
    let stack = Stack::start_with(&backend, true, options).await;
    let registry = channel(&stack.registry.url()).await.expect("registry");
    let stats = channel(&stack.stats.url()).await.expect("stats");

    // Real page tokens, to tamper with.
    let org_token = stack
        .registry_client()
        .await
        .list_organizations(rwire::ListOrganizationsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .next_page_token;
    let figure_token = stack
        .stats_client()
        .await
        .list_sales_figures(swire::ListSalesFiguresRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .next_page_token;
    assert!(!org_token.is_empty() && !figure_token.is_empty());

    let before = snapshot(&stack).await;
    let cases = table(&org_token, &figure_token);
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.method).collect();
    let all: BTreeSet<String> = methods().into_iter().map(|m| m.name).collect();
    let missing: Vec<&String> = all
        .iter()
        .filter(|m| !covered.contains(m.as_str()))
        .collect();
    assert!(missing.is_empty(), "the table has no case for {missing:?}");

    let mut problems = Vec::new();
    for c in &cases {
        let m = method(c.method);
        let channel = if m.service.contains("registry") {
            &registry
        } else {
            &stats
        };
        let status = match call(channel, &m, c.body.clone(), None).await {
            Ok(()) if c.code == Code::Ok => continue,
            Ok(()) => {
                problems.push(format!("{}: succeeded, want {:?}", c.name, c.code));
                continue;
            }
            Err(status) => status,
        };
        let mut fields: Vec<String> = status
            .get_details_bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default();
        fields.sort();
        let mut want: Vec<String> = c.fields.iter().map(|f| (*f).to_owned()).collect();
        want.sort();
        if status.code() != c.code || fields != want {
            problems.push(format!(
                "{}: got {:?} {fields:?} ({}), want {:?} {want:?}",
                c.name,
                status.code(),
                status.message().chars().take(200).collect::<String>(),
                c.code
            ));
        }
        if let Some(bad) = status.get_details_bad_request() {
            for v in &bad.field_violations {
                if v.description.is_empty() || v.description.len() > 500 {
                    problems.push(format!(
                        "{}: violation {v:?} lacks a short description",
                        c.name
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases wrong:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
    assert_eq!(snapshot(&stack).await, before, "bad input wrote nothing");
    let _ = writeln!(
        std::io::stderr(),
        "bad_input: {} cases over {} methods",
        cases.len(),
        all.len()
    );
}

async fn malformed_csv_files_are_rejected_and_write_nothing(backend: Backend) {
    let stack = Stack::start(&backend, true).await;
    let before = snapshot(&stack).await;
    let good = "nissan-china,retail,total,CN,all,all,2023-05,50000,,,article-nissan-china-exports-2023,final,2023-06-10,";
    let files: Vec<(&str, Vec<u8>, i32, &[&str])> = vec![
        (
            "missing column",
            format!("{}\n{good}\n", HEADER.trim_end().replace(",note", "")).into_bytes(),
            3,
            &["note"],
        ),
        (
            "extra column",
            format!("{},extra\n{good},x\n", HEADER.trim_end()).into_bytes(),
            3,
            &["extra"],
        ),
        (
            "wrong column count in a row",
            format!("{HEADER}{good}\nnissan-china,retail,total\n").into_bytes(),
            3,
            &["line 3"],
        ),
        (
            "invalid UTF-8",
            [
                HEADER.as_bytes(),
                good.as_bytes(),
                b"\n",
                &good.as_bytes()[..good.len() - 1],
                b"\xff\xfe\n",
            ]
            .concat(),
            3,
            &["line 3"],
        ),
        (
            "unbalanced quote",
            // Before the fix the rows after it vanished into the note and the import succeeded.
            format!("{HEADER}{good}\n{good}\"unterminated note\n{good}\n{good}\n").into_bytes(),
            3,
            &["line 3"],
        ),
    ];
    let mut problems = Vec::new();
    for (name, bytes, code, needles) in &files {
        let path = stack.dir.path().join("malformed.csv");
        std::fs::write(&path, bytes).expect("write");
        let out = stack.cli().run(&["import", &path.to_string_lossy()]);
        if out.code != *code
            || !needles.iter().all(|n| out.stderr.contains(n))
            || !out.stderr.contains("nothing imported")
        {
            problems.push(format!(
                "{name}: want exit {code} mentioning {needles:?} and \"nothing imported\"\n{out}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        snapshot(&stack).await,
        before,
        "malformed files wrote nothing"
    );
}
