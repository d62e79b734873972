//! Entries to domain values, through the domain constructors and each entity's own
//! validation; every violation with its path in the file (`events[2].occurred_date`).

use std::str::FromStr;

use autointel_domain::{
    Date, Event, EventId, LanguageTag, Market, MonthRange, Organization, OrganizationId,
    PartialDate, Participant, ParticipantRef, Partnership, PartnershipId, Party, Person, PersonId,
    Quote, Relationship, RelationshipId, SeriesKey, Source, SourceId, Stake, Target, TargetId,
    Units, ValidationError, ValueError, Violations,
};

use super::entries::{
    Event as EventEntry, Organization as OrganizationEntry, Partnership as PartnershipEntry,
    Person as PersonEntry, Relationship as RelationshipEntry, Source as SourceEntry,
    Target as TargetEntry,
};

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

pub(super) fn source(v: &mut Violations, p: &str, s: &SourceEntry) -> Option<Source> {
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

pub(super) fn organization(
    v: &mut Violations,
    p: &str,
    s: &OrganizationEntry,
) -> Option<Organization> {
    let id = parse::<OrganizationId>(v, &format!("{p}.id"), &s.id);
    let kind = parse(v, &format!("{p}.kind"), &s.kind);
    let country_code = parse_opt(v, &format!("{p}.country_code"), s.country_code.as_ref());
    autointel_domain::check_distinct_aliases(v, &format!("{p}.aliases"), &s.aliases);
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

pub(super) fn relationship(
    v: &mut Violations,
    p: &str,
    s: &RelationshipEntry,
) -> Option<Relationship> {
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
            controls: s.controls,
        })
    })();
    validated(v, p, value, Relationship::validate)
}

pub(super) fn person(v: &mut Violations, p: &str, s: &PersonEntry) -> Option<Person> {
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

pub(super) fn partnership(
    v: &mut Violations,
    p: &str,
    s: &PartnershipEntry,
) -> Option<Partnership> {
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

pub(super) fn event(v: &mut Violations, p: &str, s: &EventEntry) -> Option<Event> {
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
    let market = match &s.market {
        None => Some(None),
        Some(m) => v.check(format!("{p}.market"), Market::parse(m)).map(Some),
    };
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
            market: market?,
        })
    })();
    validated(v, p, value, Event::validate)
}

pub(super) fn target(v: &mut Violations, p: &str, s: &TargetEntry) -> Option<Target> {
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
    let destination = match &m.destination {
        None => Some(None),
        Some(d) => v
            .check(format!("{p}.metric.destination"), Market::parse(d))
            .map(Some),
    };
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
                destination: destination?,
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

pub(super) fn convert_all<S, T>(
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
