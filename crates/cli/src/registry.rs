//! The registry commands: organisations, partnerships, events, targets.

use autointel_domain::{EventKind, OrganizationKind, PartnershipKind, PartnershipStatus};
use autointel_proto::convert::types::{date_to_wire, month_range_to_wire};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::registry as wire;
use autointel_proto::types as twire;

use crate::args::{
    EventsCommand, OrganizationsCommand, PartnershipsCommand, TargetsCommand, TimelineArgs,
};
use crate::client::Registry;
use crate::failure::Failure;
use crate::output::{Format, Table, print};
use crate::query::range_text;

type Outcome = Result<(), anyhow::Error>;

fn id_arg<R: ResourceId>(value: &str, what: &str) -> Result<String, Failure> {
    R::parse_id(value)
        .map(|id| id.resource_name())
        .map_err(|e| Failure::invalid(format!("error: {what}: {e}")))
}

fn filter<T: WireEnum + std::str::FromStr<Err = autointel_domain::ValueError>>(
    value: Option<&String>,
    flag: &str,
) -> Result<i32, Failure> {
    match value {
        None => Ok(0),
        Some(v) => v
            .parse::<T>()
            .map(WireEnum::to_wire)
            .map_err(|e| Failure::invalid(format!("error: --{flag}: {e}"))),
    }
}

fn short(name: &str) -> &str {
    name.split_once('/').map_or(name, |(_, id)| id)
}

fn enum_text(name: Option<&str>, prefix: &str) -> String {
    name.map(|n| n.trim_start_matches(prefix).to_lowercase())
        .unwrap_or_default()
}

/// A partial date as written: `2023-12-17`, `2023-08`, `2023-Q4`, `2016`.
pub fn partial_date_text(d: Option<&twire::PartialDate>) -> String {
    let Some(d) = d else { return String::new() };
    match twire::DatePrecision::try_from(d.precision) {
        Ok(twire::DatePrecision::Day) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        Ok(twire::DatePrecision::Month) => format!("{:04}-{:02}", d.year, d.month),
        Ok(twire::DatePrecision::Quarter) => format!("{:04}-Q{}", d.year, d.quarter),
        Ok(twire::DatePrecision::Year) => format!("{:04}", d.year),
        _ => String::new(),
    }
}

/// The date an event sits at on a timeline.
pub fn date_text(e: &wire::Event) -> String {
    partial_date_text(e.occurred_date.as_ref().or(e.announced_date.as_ref()))
}

/// Fetches pages until `limit` items or the last page.
pub(crate) async fn collect_pages<T, F, Fut>(
    limit: Option<usize>,
    mut fetch: F,
) -> Result<Vec<T>, anyhow::Error>
where
    F: FnMut(String, i32) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, String), tonic::Status>>,
{
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let want = limit.map_or(1000, |l| l.saturating_sub(items.len()).clamp(1, 1000));
        let (page, next) = fetch(token, i32::try_from(want).unwrap_or(1000)).await?;
        items.extend(page);
        if next.is_empty() || limit.is_some_and(|l| items.len() >= l) {
            break;
        }
        token = next;
    }
    if let Some(l) = limit {
        items.truncate(l);
    }
    Ok(items)
}

fn organizations_table(orgs: &[wire::Organization]) -> Table {
    let mut t = Table::new(&["id", "kind", "name", "chinese name", "country"]);
    for o in orgs {
        t.row(vec![
            short(&o.name).to_owned(),
            enum_text(
                wire::OrganizationKind::try_from(o.kind)
                    .ok()
                    .map(|k| k.as_str_name()),
                "ORGANIZATION_KIND_",
            ),
            o.english_name.clone(),
            o.chinese_name.clone(),
            o.country_code.clone(),
        ]);
    }
    t
}

fn hierarchy_table(nodes: &[wire::HierarchyNode]) -> Table {
    let mut t = Table::new(&["organization", "depth", "link", "stake", "from", "to"]);
    for n in nodes {
        let r = n.relationship.clone().unwrap_or_default();
        t.row(vec![
            short(&n.organization).to_owned(),
            n.depth.to_string(),
            enum_text(
                wire::RelationshipKind::try_from(r.kind)
                    .ok()
                    .map(|k| k.as_str_name()),
                "RELATIONSHIP_KIND_",
            ),
            r.stake_basis_points
                .map(|bp| format!("{}%", f64::from(bp) / 100.0))
                .unwrap_or_default(),
            partial_date_text(r.valid_from_date.as_ref()),
            partial_date_text(r.valid_to_date.as_ref()),
        ]);
    }
    t
}

/// `autointel organizations …`.
pub async fn organizations(
    mut client: Registry,
    command: OrganizationsCommand,
    format: Format,
) -> Outcome {
    match command {
        OrganizationsCommand::List {
            kind,
            country_code,
            text,
            paging,
        } => {
            let kind = filter::<OrganizationKind>(kind.as_ref(), "kind")?;
            let country_code = country_code.unwrap_or_default();
            let text = text.unwrap_or_default();
            let orgs = collect_pages(paging.limit, |page_token, page_size| {
                let mut c = client.clone();
                let request = wire::ListOrganizationsRequest {
                    page_size,
                    page_token,
                    kind,
                    country_code: country_code.clone(),
                    text: text.clone(),
                };
                async move {
                    let r = c.list_organizations(request).await?.into_inner();
                    Ok((r.organizations, r.next_page_token))
                }
            })
            .await?;
            let response = wire::ListOrganizationsResponse {
                organizations: orgs,
                next_page_token: String::new(),
            };
            print(
                format,
                &response,
                "autointel.registry.v1.ListOrganizationsResponse",
                |r| organizations_table(&r.organizations),
            )
        }
        OrganizationsCommand::Get { id } => {
            let name = id_arg::<autointel_domain::OrganizationId>(&id, "organization")?;
            let org = client
                .get_organization(wire::GetOrganizationRequest { name })
                .await?
                .into_inner();
            print(format, &org, "autointel.registry.v1.Organization", |o| {
                let mut t = organizations_table(std::slice::from_ref(o));
                if !o.aliases.is_empty() {
                    t.note(format!("Also known as: {}", o.aliases.join(", ")));
                }
                t
            })
        }
        OrganizationsCommand::Lookup { query } => {
            let r = client
                .lookup_organizations(wire::LookupOrganizationsRequest { query })
                .await?
                .into_inner();
            print(
                format,
                &r,
                "autointel.registry.v1.LookupOrganizationsResponse",
                |r| organizations_table(&r.organizations),
            )
        }
        OrganizationsCommand::Ancestors { id, as_of_date } => {
            let organization = id_arg::<autointel_domain::OrganizationId>(&id, "organization")?;
            let r = client
                .list_ancestors(wire::ListAncestorsRequest {
                    organization,
                    as_of_date: as_of_date.map(date_to_wire),
                    max_depth: 0,
                })
                .await?
                .into_inner();
            print(
                format,
                &r,
                "autointel.registry.v1.ListAncestorsResponse",
                |r| hierarchy_table(&r.ancestors),
            )
        }
        OrganizationsCommand::Descendants { id, as_of_date } => {
            let organization = id_arg::<autointel_domain::OrganizationId>(&id, "organization")?;
            let r = client
                .list_descendants(wire::ListDescendantsRequest {
                    organization,
                    as_of_date: as_of_date.map(date_to_wire),
                    max_depth: 0,
                })
                .await?
                .into_inner();
            print(
                format,
                &r,
                "autointel.registry.v1.ListDescendantsResponse",
                |r| hierarchy_table(&r.descendants),
            )
        }
    }
}

fn partnerships_table(ps: &[wire::Partnership]) -> Table {
    let mut t = Table::new(&[
        "id",
        "kind",
        "status",
        "announced",
        "parties",
        "title",
        "continued by",
    ]);
    for p in ps {
        t.row(vec![
            short(&p.name).to_owned(),
            enum_text(
                wire::PartnershipKind::try_from(p.kind)
                    .ok()
                    .map(|k| k.as_str_name()),
                "PARTNERSHIP_KIND_",
            ),
            enum_text(
                wire::PartnershipStatus::try_from(p.status)
                    .ok()
                    .map(|k| k.as_str_name()),
                "PARTNERSHIP_STATUS_",
            ),
            partial_date_text(p.announced_date.as_ref().or(p.started_date.as_ref())),
            p.parties
                .iter()
                .map(|x| short(&x.organization))
                .collect::<Vec<_>>()
                .join(", "),
            p.title.clone(),
            p.successors
                .iter()
                .map(|x| short(x))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    t
}

/// `autointel partnerships …`.
pub async fn partnerships(
    mut client: Registry,
    command: PartnershipsCommand,
    format: Format,
) -> Outcome {
    match command {
        PartnershipsCommand::List {
            organization,
            kind,
            status,
            paging,
        } => {
            let organization = organization
                .as_deref()
                .map(|o| id_arg::<autointel_domain::OrganizationId>(o, "--organization"))
                .transpose()?
                .unwrap_or_default();
            let kind = filter::<PartnershipKind>(kind.as_ref(), "kind")?;
            let status = filter::<PartnershipStatus>(status.as_ref(), "status")?;
            let items = collect_pages(paging.limit, |page_token, page_size| {
                let mut c = client.clone();
                let request = wire::ListPartnershipsRequest {
                    page_size,
                    page_token,
                    organization: organization.clone(),
                    kind,
                    status,
                    announced_within: None,
                };
                async move {
                    let r = c.list_partnerships(request).await?.into_inner();
                    Ok((r.partnerships, r.next_page_token))
                }
            })
            .await?;
            let response = wire::ListPartnershipsResponse {
                partnerships: items,
                next_page_token: String::new(),
            };
            print(
                format,
                &response,
                "autointel.registry.v1.ListPartnershipsResponse",
                |r| partnerships_table(&r.partnerships),
            )
        }
        PartnershipsCommand::Get { id } => {
            let name = id_arg::<autointel_domain::PartnershipId>(&id, "partnership")?;
            let p = client
                .get_partnership(wire::GetPartnershipRequest { name })
                .await?
                .into_inner();
            print(format, &p, "autointel.registry.v1.Partnership", |p| {
                let mut t = partnerships_table(std::slice::from_ref(p));
                if !p.focus_areas.is_empty() {
                    t.note(format!("Focus: {}", p.focus_areas.join(", ")));
                }
                for party in &p.parties {
                    t.note(format!(
                        "Party: {} ({})",
                        short(&party.organization),
                        party.role
                    ));
                }
                if !p.predecessor.is_empty() {
                    t.note(format!("Continues: {}", short(&p.predecessor)));
                }
                t.note(format!(
                    "Sources: {}",
                    p.sources
                        .iter()
                        .map(|s| short(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                t
            })
        }
        PartnershipsCommand::Partners {
            organization,
            max_hops,
        } => {
            let organization =
                id_arg::<autointel_domain::OrganizationId>(&organization, "organization")?;
            let r = client
                .list_partners(wire::ListPartnersRequest {
                    organization,
                    max_hops,
                    kind: 0,
                    status: 0,
                })
                .await?
                .into_inner();
            print(
                format,
                &r,
                "autointel.registry.v1.ListPartnersResponse",
                |r| {
                    let mut t = Table::new(&["partner", "hops", "via"]);
                    for p in &r.partners {
                        t.row(vec![
                            short(&p.organization).to_owned(),
                            p.hops.to_string(),
                            p.path
                                .iter()
                                .map(|s| short(s))
                                .collect::<Vec<_>>()
                                .join(" > "),
                        ]);
                    }
                    t
                },
            )
        }
    }
}

fn events_table(events: &[wire::Event]) -> Table {
    let mut t = Table::new(&["date", "id", "kind", "status", "title"]);
    for e in events {
        t.row(vec![
            date_text(e),
            short(&e.name).to_owned(),
            enum_text(
                wire::EventKind::try_from(e.kind)
                    .ok()
                    .map(|k| k.as_str_name()),
                "EVENT_KIND_",
            ),
            enum_text(
                wire::EventStatus::try_from(e.status)
                    .ok()
                    .map(|k| k.as_str_name()),
                "EVENT_STATUS_",
            ),
            e.title.clone(),
        ]);
    }
    t
}

/// Every event `filter` selects (its paging fields are set here), up to `limit`.
async fn list_events(
    client: &Registry,
    filter: wire::ListEventsRequest,
    limit: Option<usize>,
    format: Format,
) -> Outcome {
    let events = collect_pages(limit, |page_token, page_size| {
        let mut c = client.clone();
        let request = wire::ListEventsRequest {
            page_size,
            page_token,
            ..filter.clone()
        };
        async move {
            let r = c.list_events(request).await?.into_inner();
            Ok((r.events, r.next_page_token))
        }
    })
    .await?;
    let response = wire::ListEventsResponse {
        events,
        ..Default::default()
    };
    print(
        format,
        &response,
        "autointel.registry.v1.ListEventsResponse",
        |r| events_table(&r.events),
    )
}

/// `autointel events …`.
pub async fn events(mut client: Registry, command: EventsCommand, format: Format) -> Outcome {
    match command {
        EventsCommand::List {
            kind,
            text,
            occurred_within,
            market,
            paging,
        } => {
            let kind = filter::<EventKind>(kind.as_ref(), "kind")?;
            let request = wire::ListEventsRequest {
                kind,
                text: text.unwrap_or_default(),
                occurred_within: occurred_within.map(month_range_to_wire),
                market: market.unwrap_or_default(),
                ..Default::default()
            };
            list_events(&client, request, paging.limit, format).await
        }
        EventsCommand::Get { id } => {
            let name = id_arg::<autointel_domain::EventId>(&id, "event")?;
            let e = client
                .get_event(wire::GetEventRequest { name })
                .await?
                .into_inner();
            print(format, &e, "autointel.registry.v1.Event", |e| {
                let mut t = events_table(std::slice::from_ref(e));
                if !e.summary.is_empty() {
                    t.note(e.summary.clone());
                }
                for p in &e.participants {
                    let who = match &p.participant {
                        Some(wire::event_participant::Participant::Organization(o)) => short(o),
                        Some(wire::event_participant::Participant::Person(p)) => short(p),
                        None => "",
                    };
                    t.note(format!("Participant: {who} ({})", p.role));
                }
                for q in &e.quotes {
                    t.note(format!(
                        "Quote: {} ({}): \"{}\"",
                        short(&q.speaker),
                        q.speaker_title,
                        q.text
                    ));
                }
                if !e.supersedes.is_empty() {
                    t.note(format!("Corrects: {}", short(&e.supersedes)));
                }
                if !e.superseded_by.is_empty() {
                    t.note(format!("Corrected by: {}", short(&e.superseded_by)));
                }
                t.note(format!(
                    "Sources: {}",
                    e.sources
                        .iter()
                        .map(|s| short(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                t
            })
        }
    }
}

/// `autointel timeline ORG`.
pub async fn timeline(client: Registry, args: TimelineArgs, format: Format) -> Outcome {
    let participant =
        id_arg::<autointel_domain::OrganizationId>(&args.organization, "organization")?;
    let request = wire::ListEventsRequest {
        participant,
        ..Default::default()
    };
    list_events(&client, request, args.paging.limit, format).await
}

fn targets_table(targets: &[wire::Target]) -> Table {
    let mut t = Table::new(&[
        "id",
        "organization",
        "period",
        "comparator",
        "threshold",
        "status",
    ]);
    for x in targets {
        t.row(vec![
            short(&x.name).to_owned(),
            short(&x.organization).to_owned(),
            range_text(x.period.as_ref()),
            enum_text(
                wire::Comparator::try_from(x.comparator)
                    .ok()
                    .map(|k| k.as_str_name()),
                "COMPARATOR_",
            ),
            crate::output::thousands(x.threshold_units),
            enum_text(
                wire::TargetStatus::try_from(x.status)
                    .ok()
                    .map(|k| k.as_str_name()),
                "TARGET_STATUS_",
            ),
        ]);
    }
    t
}

/// `autointel targets …`.
pub async fn targets(mut client: Registry, command: TargetsCommand, format: Format) -> Outcome {
    match command {
        TargetsCommand::List {
            organization,
            paging,
        } => {
            let organization = organization
                .as_deref()
                .map(|o| id_arg::<autointel_domain::OrganizationId>(o, "--organization"))
                .transpose()?
                .unwrap_or_default();
            let items = collect_pages(paging.limit, |page_token, page_size| {
                let mut c = client.clone();
                let request = wire::ListTargetsRequest {
                    page_size,
                    page_token,
                    organization: organization.clone(),
                    status: 0,
                };
                async move {
                    let r = c.list_targets(request).await?.into_inner();
                    Ok((r.targets, r.next_page_token))
                }
            })
            .await?;
            let response = wire::ListTargetsResponse {
                targets: items,
                next_page_token: String::new(),
            };
            print(
                format,
                &response,
                "autointel.registry.v1.ListTargetsResponse",
                |r| targets_table(&r.targets),
            )
        }
        TargetsCommand::Get { id } => {
            let name = id_arg::<autointel_domain::TargetId>(&id, "target")?;
            let x = client
                .get_target(wire::GetTargetRequest { name })
                .await?
                .into_inner();
            print(format, &x, "autointel.registry.v1.Target", |x| {
                let mut t = targets_table(std::slice::from_ref(x));
                t.note(x.description.clone());
                t
            })
        }
    }
}
