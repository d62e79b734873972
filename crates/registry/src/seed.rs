//! The bundled seed dataset (`data/seed/registry.toml`) and its idempotent loader.
//!
//! The file is parsed into seed structs with serde, converted to domain values through the
//! domain constructors (reporting every bad entry with its path, e.g.
//! `events[2].occurred_date`), then created in dependency order. Records whose id already
//! exists are left as they are, so loading twice changes nothing.

use std::future::Future;
use std::str::FromStr;

use autointel_domain::{
    Date, Event, EventId, LanguageTag, Market, MonthRange, Organization, OrganizationId,
    PartialDate, Participant, ParticipantRef, Partnership, PartnershipId, Party, Person, PersonId,
    Quote, Relationship, RelationshipId, SeriesKey, Source, SourceId, Stake, Target, TargetId,
    Units, ValidationError, ValueError, Violations,
};
use serde::Deserialize;

use crate::error::RegistryError;
use crate::store::{Record, Store};

/// The seed dataset shipped with the project.
pub const SEED_TOML: &str = include_str!("../../../data/seed/registry.toml");

/// Why the seed could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file is not valid TOML of the expected shape.
    #[error("seed file: {0}")]
    Parse(#[from] toml::de::Error),
    /// Entries break domain rules; every violation with its path.
    #[error("seed entries are invalid: {0}")]
    Invalid(ValidationError),
    /// The store refused an entry.
    #[error("seed entry {entry}: {source}")]
    Store {
        /// Resource name of the entry.
        entry: String,
        /// The cause.
        source: RegistryError,
    },
}

/// What a load did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Records created.
    pub created: usize,
    /// Records that already existed and were left alone.
    pub existing: usize,
}

/// The parsed seed dataset, as domain values.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Sources.
    pub sources: Vec<Source>,
    /// Organisations.
    pub organizations: Vec<Organization>,
    /// Relationships.
    pub relationships: Vec<Relationship>,
    /// People.
    pub people: Vec<Person>,
    /// Partnerships.
    pub partnerships: Vec<Partnership>,
    /// Events.
    pub events: Vec<Event>,
    /// Targets.
    pub targets: Vec<Target>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    #[serde(default)]
    sources: Vec<SeedSource>,
    #[serde(default)]
    organizations: Vec<SeedOrganization>,
    #[serde(default)]
    relationships: Vec<SeedRelationship>,
    #[serde(default)]
    people: Vec<SeedPerson>,
    #[serde(default)]
    partnerships: Vec<SeedPartnership>,
    #[serde(default)]
    events: Vec<SeedEvent>,
    #[serde(default)]
    targets: Vec<SeedTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedSource {
    id: String,
    kind: String,
    publisher: String,
    title: String,
    uri: Option<String>,
    published_date: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedOrganization {
    id: String,
    kind: String,
    english_name: String,
    chinese_name: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    country_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRelationship {
    id: String,
    kind: String,
    parent: String,
    child: String,
    stake_percent: Option<String>,
    valid_from_date: Option<String>,
    valid_to_date: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedPerson {
    id: String,
    display_name: String,
    chinese_name: Option<String>,
    title: Option<String>,
    organization: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedParty {
    organization: String,
    #[serde(default)]
    role: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedPartnership {
    id: String,
    kind: String,
    title: String,
    description: Option<String>,
    #[serde(default)]
    parties: Vec<SeedParty>,
    #[serde(default)]
    focus_areas: Vec<String>,
    status: String,
    announced_date: Option<String>,
    started_date: Option<String>,
    ended_date: Option<String>,
    predecessor: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedParticipant {
    organization: Option<String>,
    person: Option<String>,
    #[serde(default)]
    role: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedQuote {
    speaker: String,
    speaker_title: Option<String>,
    text: String,
    language_code: String,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedEvent {
    id: String,
    kind: String,
    title: String,
    summary: Option<String>,
    #[serde(default)]
    participants: Vec<SeedParticipant>,
    occurred_date: Option<String>,
    announced_date: Option<String>,
    status: String,
    supersedes: Option<String>,
    partnership: Option<String>,
    #[serde(default)]
    quotes: Vec<SeedQuote>,
    #[serde(default)]
    sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedMetric {
    organization: Option<String>,
    basis: String,
    flow: String,
    market: String,
    scope: String,
    powertrain: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedTarget {
    id: String,
    organization: String,
    event: Option<String>,
    description: String,
    metric: SeedMetric,
    period: String,
    deadline: Option<String>,
    threshold_units: i64,
    comparator: String,
    status: String,
    #[serde(default)]
    sources: Vec<String>,
}

/// Parses a value with `FromStr`, recording a violation at `path`.
fn parse<T: FromStr<Err = ValueError>>(v: &mut Violations, path: &str, s: &str) -> Option<T> {
    v.check(path, s.parse())
}

fn parse_opt<T: FromStr<Err = ValueError>>(
    v: &mut Violations,
    path: &str,
    s: Option<&String>,
) -> Option<Option<T>> {
    match s {
        None => Some(None),
        Some(s) => parse(v, path, s).map(Some),
    }
}

fn parse_all<T: FromStr<Err = ValueError>>(
    v: &mut Violations,
    path: &str,
    items: &[String],
) -> Option<Vec<T>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, s) in items.iter().enumerate() {
        match parse(v, &format!("{path}[{i}]"), s) {
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Runs the entity's own validation, with paths under `path`.
fn validated<T>(
    v: &mut Violations,
    path: &str,
    value: Option<T>,
    validate: impl FnOnce(&T) -> Result<(), ValidationError>,
) -> Option<T> {
    let value = value?;
    v.check_nested(path, validate(&value)).map(|()| value)
}

fn source(v: &mut Violations, p: &str, s: &SeedSource) -> Option<Source> {
    let id = parse::<SourceId>(v, &format!("{p}.id"), &s.id);
    let kind = parse(v, &format!("{p}.kind"), &s.kind);
    let published_date =
        parse_opt::<Date>(v, &format!("{p}.published_date"), s.published_date.as_ref());
    let value = (|| {
        Some(Source {
            id: id?,
            kind: kind?,
            publisher: s.publisher.trim().to_owned(),
            title: s.title.trim().to_owned(),
            uri: s.uri.clone(),
            published_date: published_date?,
        })
    })();
    validated(v, p, value, Source::validate)
}

fn organization(v: &mut Violations, p: &str, s: &SeedOrganization) -> Option<Organization> {
    let id = parse::<OrganizationId>(v, &format!("{p}.id"), &s.id);
    let kind = parse(v, &format!("{p}.kind"), &s.kind);
    let country_code = parse_opt(v, &format!("{p}.country_code"), s.country_code.as_ref());
    let value = (|| {
        Some(Organization {
            id: id?,
            kind: kind?,
            english_name: s.english_name.trim().to_owned(),
            chinese_name: s.chinese_name.as_ref().map(|n| n.trim().to_owned()),
            aliases: s.aliases.iter().map(|a| a.trim().to_owned()).collect(),
            country_code: country_code?,
        })
    })();
    validated(v, p, value, Organization::validate)
}

fn relationship(v: &mut Violations, p: &str, s: &SeedRelationship) -> Option<Relationship> {
    let id = parse::<RelationshipId>(v, &format!("{p}.id"), &s.id);
    let kind = parse(v, &format!("{p}.kind"), &s.kind);
    let parent = parse(v, &format!("{p}.parent"), &s.parent);
    let child = parse(v, &format!("{p}.child"), &s.child);
    let stake = match &s.stake_percent {
        None => Some(None),
        Some(pct) => v
            .check(format!("{p}.stake_percent"), Stake::from_percent_str(pct))
            .map(Some),
    };
    let from = parse_opt::<PartialDate>(
        v,
        &format!("{p}.valid_from_date"),
        s.valid_from_date.as_ref(),
    );
    let to = parse_opt::<PartialDate>(v, &format!("{p}.valid_to_date"), s.valid_to_date.as_ref());
    let sources = parse_all(v, &format!("{p}.sources"), &s.sources);
    let value = (|| {
        Some(Relationship {
            id: id?,
            kind: kind?,
            parent: parent?,
            child: child?,
            stake: stake?,
            valid_from_date: from?,
            valid_to_date: to?,
            sources: sources?,
        })
    })();
    validated(v, p, value, Relationship::validate)
}

fn person(v: &mut Violations, p: &str, s: &SeedPerson) -> Option<Person> {
    let id = parse::<PersonId>(v, &format!("{p}.id"), &s.id);
    let organization = parse_opt(v, &format!("{p}.organization"), s.organization.as_ref());
    let value = (|| {
        Some(Person {
            id: id?,
            display_name: s.display_name.trim().to_owned(),
            chinese_name: s.chinese_name.clone(),
            title: s.title.clone(),
            organization: organization?,
        })
    })();
    validated(v, p, value, Person::validate)
}

fn partnership(v: &mut Violations, p: &str, s: &SeedPartnership) -> Option<Partnership> {
    let id = parse::<PartnershipId>(v, &format!("{p}.id"), &s.id);
    let kind = parse(v, &format!("{p}.kind"), &s.kind);
    let status = parse(v, &format!("{p}.status"), &s.status);
    let mut parties = Some(Vec::new());
    for (i, party) in s.parties.iter().enumerate() {
        let org = parse(
            v,
            &format!("{p}.parties[{i}].organization"),
            &party.organization,
        );
        match (org, parties.as_mut()) {
            (Some(organization), Some(list)) => list.push(Party {
                organization,
                role: party.role.clone(),
            }),
            _ => parties = None,
        }
    }
    let announced =
        parse_opt::<PartialDate>(v, &format!("{p}.announced_date"), s.announced_date.as_ref());
    let started =
        parse_opt::<PartialDate>(v, &format!("{p}.started_date"), s.started_date.as_ref());
    let ended = parse_opt::<PartialDate>(v, &format!("{p}.ended_date"), s.ended_date.as_ref());
    let predecessor = parse_opt(v, &format!("{p}.predecessor"), s.predecessor.as_ref());
    let sources = parse_all(v, &format!("{p}.sources"), &s.sources);
    let value = (|| {
        Some(Partnership {
            id: id?,
            kind: kind?,
            title: s.title.trim().to_owned(),
            description: s.description.clone(),
            parties: parties?,
            focus_areas: s.focus_areas.clone(),
            status: status?,
            announced_date: announced?,
            started_date: started?,
            ended_date: ended?,
            predecessor: predecessor?,
            sources: sources?,
        })
    })();
    validated(v, p, value, Partnership::validate)
}

fn event(v: &mut Violations, p: &str, s: &SeedEvent) -> Option<Event> {
    let id = parse::<EventId>(v, &format!("{p}.id"), &s.id);
    let kind = parse(v, &format!("{p}.kind"), &s.kind);
    let status = parse(v, &format!("{p}.status"), &s.status);
    let mut participants = Some(Vec::new());
    for (i, part) in s.participants.iter().enumerate() {
        let path = format!("{p}.participants[{i}]");
        let party = match (&part.organization, &part.person) {
            (Some(o), None) => {
                parse(v, &format!("{path}.organization"), o).map(ParticipantRef::Organization)
            }
            (None, Some(h)) => parse(v, &format!("{path}.person"), h).map(ParticipantRef::Person),
            _ => {
                v.push(path, "exactly one of organization and person is required");
                None
            }
        };
        match (party, participants.as_mut()) {
            (Some(party), Some(list)) => list.push(Participant {
                party,
                role: part.role.clone(),
            }),
            _ => participants = None,
        }
    }
    let mut quotes = Some(Vec::new());
    for (i, q) in s.quotes.iter().enumerate() {
        let path = format!("{p}.quotes[{i}]");
        let speaker = parse(v, &format!("{path}.speaker"), &q.speaker);
        let language_code = v.check(
            format!("{path}.language_code"),
            LanguageTag::parse(&q.language_code),
        );
        let source = parse(v, &format!("{path}.source"), &q.source);
        match (speaker, language_code, source, quotes.as_mut()) {
            (Some(speaker), Some(language_code), Some(source), Some(list)) => list.push(Quote {
                speaker,
                speaker_title: q.speaker_title.clone(),
                text: q.text.clone(),
                language_code,
                source,
            }),
            _ => quotes = None,
        }
    }
    let occurred =
        parse_opt::<PartialDate>(v, &format!("{p}.occurred_date"), s.occurred_date.as_ref());
    let announced =
        parse_opt::<PartialDate>(v, &format!("{p}.announced_date"), s.announced_date.as_ref());
    let supersedes = parse_opt(v, &format!("{p}.supersedes"), s.supersedes.as_ref());
    let partnership = parse_opt(v, &format!("{p}.partnership"), s.partnership.as_ref());
    let sources = parse_all(v, &format!("{p}.sources"), &s.sources);
    let value = (|| {
        Some(Event {
            id: id?,
            kind: kind?,
            title: s.title.trim().to_owned(),
            summary: s.summary.clone(),
            participants: participants?,
            occurred_date: occurred?,
            announced_date: announced?,
            status: status?,
            supersedes: supersedes?,
            superseded_by: None,
            partnership: partnership?,
            quotes: quotes?,
            targets: Vec::new(),
            sources: sources?,
        })
    })();
    validated(v, p, value, Event::validate)
}

fn target(v: &mut Violations, p: &str, s: &SeedTarget) -> Option<Target> {
    let id = parse::<TargetId>(v, &format!("{p}.id"), &s.id);
    let organization = parse(v, &format!("{p}.organization"), &s.organization);
    let event = parse_opt(v, &format!("{p}.event"), s.event.as_ref());
    let m = &s.metric;
    let metric_org = parse_opt(
        v,
        &format!("{p}.metric.organization"),
        m.organization.as_ref(),
    );
    let basis = parse(v, &format!("{p}.metric.basis"), &m.basis);
    let flow = parse(v, &format!("{p}.metric.flow"), &m.flow);
    let market = v.check(format!("{p}.metric.market"), Market::parse(&m.market));
    let scope = parse(v, &format!("{p}.metric.scope"), &m.scope);
    let powertrain = parse(v, &format!("{p}.metric.powertrain"), &m.powertrain);
    let period = parse::<MonthRange>(v, &format!("{p}.period"), &s.period);
    let deadline = parse_opt::<PartialDate>(v, &format!("{p}.deadline"), s.deadline.as_ref());
    let threshold = v.check(
        format!("{p}.threshold_units"),
        Units::new(s.threshold_units),
    );
    let comparator = parse(v, &format!("{p}.comparator"), &s.comparator);
    let status = parse(v, &format!("{p}.status"), &s.status);
    let sources = parse_all(v, &format!("{p}.sources"), &s.sources);
    let value = (|| {
        Some(Target {
            id: id?,
            event: event?,
            organization: organization?,
            description: s.description.clone(),
            metric: SeriesKey {
                organization: metric_org?,
                basis: basis?,
                flow: flow?,
                market: market?,
                scope: scope?,
                powertrain: powertrain?,
                destination: None,
            },
            period: period?,
            deadline: deadline?,
            threshold: threshold?,
            comparator: comparator?,
            status: status?,
            sources: sources?,
        })
    })();
    validated(v, p, value, Target::validate)
}

fn convert_all<S, T>(
    v: &mut Violations,
    section: &str,
    items: &[S],
    convert: fn(&mut Violations, &str, &S) -> Option<T>,
) -> Vec<T> {
    items
        .iter()
        .enumerate()
        .filter_map(|(i, s)| convert(v, &format!("{section}[{i}]"), s))
        .collect()
}

/// Parses and validates a seed file; every bad entry is reported with its path.
pub fn parse_dataset(text: &str) -> Result<Dataset, SeedError> {
    let file: SeedFile = toml::from_str(text)?;
    let mut v = Violations::new();
    let dataset = Dataset {
        sources: convert_all(&mut v, "sources", &file.sources, source),
        organizations: convert_all(&mut v, "organizations", &file.organizations, organization),
        relationships: convert_all(&mut v, "relationships", &file.relationships, relationship),
        people: convert_all(&mut v, "people", &file.people, person),
        partnerships: convert_all(&mut v, "partnerships", &file.partnerships, partnership),
        events: convert_all(&mut v, "events", &file.events, event),
        targets: convert_all(&mut v, "targets", &file.targets, target),
    };
    v.finish().map_err(SeedError::Invalid)?;
    Ok(dataset)
}

/// Loads the bundled seed dataset; idempotent.
pub async fn load(store: &Store) -> Result<SeedReport, SeedError> {
    load_str(store, SEED_TOML).await
}

/// Loads a seed dataset from TOML text; records whose id exists are left alone.
pub async fn load_str(store: &Store, text: &str) -> Result<SeedReport, SeedError> {
    let mut data = parse_dataset(text)?;
    let mut report = SeedReport::default();
    create_missing(store, &mut report, data.sources, |s, v| async move {
        s.create(v, None).await
    })
    .await?;
    create_missing(store, &mut report, data.organizations, |s, v| async move {
        s.create(v, None).await
    })
    .await?;
    create_missing(store, &mut report, data.relationships, |s, v| async move {
        s.create(v, None).await
    })
    .await?;
    create_missing(store, &mut report, data.people, |s, v| async move {
        s.create(v, None).await
    })
    .await?;
    // Predecessors first (a stable sort keeps file order otherwise).
    data.partnerships.sort_by_key(|p| p.predecessor.is_some());
    create_missing(store, &mut report, data.partnerships, |s, v| async move {
        s.create(v, None).await
    })
    .await?;
    data.events.sort_by_key(|e| e.supersedes.is_some());
    create_missing(store, &mut report, data.events, |s, v| async move {
        s.create_event(v, None).await
    })
    .await?;
    create_missing(store, &mut report, data.targets, |s, v| async move {
        s.create_target(v, None).await
    })
    .await?;
    Ok(report)
}

async fn create_missing<T, F, Fut>(
    store: &Store,
    report: &mut SeedReport,
    items: Vec<T>,
    create: F,
) -> Result<(), SeedError>
where
    T: Record,
    F: Fn(Store, T) -> Fut,
    Fut: Future<Output = Result<crate::store::Stored<T>, RegistryError>>,
{
    for item in items {
        let entry = item.resource_name();
        let exists = store
            .exists::<T>(item.id())
            .await
            .map_err(|source| SeedError::Store {
                entry: entry.clone(),
                source,
            })?;
        if exists {
            report.existing += 1;
            continue;
        }
        match create(store.clone(), item).await {
            Ok(_) => report.created += 1,
            // Another loader won the race: still idempotent.
            Err(RegistryError::AlreadyExists(_)) => report.existing += 1,
            Err(source) => return Err(SeedError::Store { entry, source }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_seed_parses_and_validates() {
        let data = parse_dataset(SEED_TOML).map_err(|e| e.to_string());
        assert!(data.is_ok(), "{data:?}");
    }

    #[test]
    fn bad_seed_entries_are_reported_with_their_paths() {
        let text = r#"
[[organizations]]
id = "Bad Id"
kind = "automaker"
english_name = "X"
country_code = "jp"

[[relationships]]
id = "r"
kind = "owns"
parent = "a"
child = "b"
stake_percent = "150"
sources = []
"#;
        let Err(SeedError::Invalid(err)) = parse_dataset(text) else {
            panic!("expected invalid");
        };
        assert_eq!(
            err.fields(),
            [
                "organizations[0].id",
                "organizations[0].country_code",
                "relationships[0].stake_percent",
            ]
        );
    }
}
