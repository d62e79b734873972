//! Domain values to entries, in the text forms the reader parses back to equal values.

use autointel_domain::{
    Event, EventStatus, Organization, ParticipantRef, Partnership, Person, Relationship, Source,
    SourceId, Target,
};

use super::entries;

fn ids(sources: &[SourceId]) -> Vec<String> {
    sources.iter().map(|s| s.as_str().to_owned()).collect()
}

fn text<T: ToString>(value: Option<&T>) -> Option<String> {
    value.map(ToString::to_string)
}

pub(super) fn source(s: &Source) -> entries::Source {
    entries::Source {
        id: s.id.as_str().to_owned(),
        kind: s.kind.as_str().to_owned(),
        publisher: s.publisher.clone(),
        title: s.title.clone(),
        uri: s.uri.clone(),
        published_date: text(s.published_date.as_ref()),
    }
}

pub(super) fn organization(o: &Organization) -> entries::Organization {
    entries::Organization {
        id: o.id.as_str().to_owned(),
        kind: o.kind.as_str().to_owned(),
        english_name: o.english_name.clone(),
        chinese_name: o.chinese_name.clone(),
        aliases: o.aliases.clone(),
        country_code: o.country_code.as_ref().map(|c| c.as_str().to_owned()),
    }
}

pub(super) fn relationship(r: &Relationship) -> entries::Relationship {
    entries::Relationship {
        id: r.id.as_str().to_owned(),
        kind: r.kind.as_str().to_owned(),
        parent: r.parent.as_str().to_owned(),
        child: r.child.as_str().to_owned(),
        // `50%` as the file writes it: `50`.
        stake_percent: r
            .stake
            .map(|s| s.to_string().trim_end_matches('%').to_owned()),
        valid_from_date: text(r.valid_from_date.as_ref()),
        valid_to_date: text(r.valid_to_date.as_ref()),
        sources: ids(&r.sources),
        controls: r.controls,
    }
}

pub(super) fn person(p: &Person) -> entries::Person {
    entries::Person {
        id: p.id.as_str().to_owned(),
        display_name: p.display_name.clone(),
        chinese_name: p.chinese_name.clone(),
        title: p.title.clone(),
        organization: p.organization.as_ref().map(|o| o.as_str().to_owned()),
    }
}

pub(super) fn partnership(p: &Partnership) -> entries::Partnership {
    entries::Partnership {
        id: p.id.as_str().to_owned(),
        kind: p.kind.as_str().to_owned(),
        title: p.title.clone(),
        description: p.description.clone(),
        parties: p
            .parties
            .iter()
            .map(|party| entries::Party {
                organization: party.organization.as_str().to_owned(),
                role: party.role.clone(),
            })
            .collect(),
        focus_areas: p.focus_areas.clone(),
        status: p.status.as_str().to_owned(),
        announced_date: text(p.announced_date.as_ref()),
        started_date: text(p.started_date.as_ref()),
        ended_date: text(p.ended_date.as_ref()),
        predecessor: p.predecessor.as_ref().map(|x| x.as_str().to_owned()),
        sources: ids(&p.sources),
    }
}

/// An event as the file holds it: without `superseded_by` and `targets`, which the service
/// derives from the events that supersede it and the targets that name it. SUPERSEDED is
/// derived too (from the superseding event's `supersedes`, which the file holds): a
/// superseded event is written `reported`, the weakest claim, since the status it had
/// before is not part of the record.
pub(super) fn event(e: &Event) -> entries::Event {
    let status = match e.status {
        EventStatus::Superseded => EventStatus::Reported,
        other => other,
    };
    entries::Event {
        id: e.id.as_str().to_owned(),
        kind: e.kind.as_str().to_owned(),
        title: e.title.clone(),
        summary: e.summary.clone(),
        participants: e
            .participants
            .iter()
            .map(|p| {
                let (organization, person) = match &p.party {
                    ParticipantRef::Organization(o) => (Some(o.as_str().to_owned()), None),
                    ParticipantRef::Person(h) => (None, Some(h.as_str().to_owned())),
                };
                entries::Participant {
                    organization,
                    person,
                    role: p.role.clone(),
                }
            })
            .collect(),
        occurred_date: text(e.occurred_date.as_ref()),
        announced_date: text(e.announced_date.as_ref()),
        status: status.as_str().to_owned(),
        supersedes: e.supersedes.as_ref().map(|x| x.as_str().to_owned()),
        partnership: e.partnership.as_ref().map(|x| x.as_str().to_owned()),
        quotes: e
            .quotes
            .iter()
            .map(|q| entries::Quote {
                speaker: q.speaker.as_str().to_owned(),
                speaker_title: q.speaker_title.clone(),
                text: q.text.clone(),
                language_code: q.language_code.as_str().to_owned(),
                source: q.source.as_str().to_owned(),
            })
            .collect(),
        sources: ids(&e.sources),
        market: e.market.as_ref().map(|m| m.as_str().to_owned()),
    }
}

pub(super) fn target(t: &Target) -> entries::Target {
    let m = &t.metric;
    entries::Target {
        id: t.id.as_str().to_owned(),
        organization: t.organization.as_str().to_owned(),
        event: t.event.as_ref().map(|x| x.as_str().to_owned()),
        description: t.description.clone(),
        metric: entries::Metric {
            organization: m.organization.as_ref().map(|o| o.as_str().to_owned()),
            basis: m.basis.as_str().to_owned(),
            flow: m.flow.as_str().to_owned(),
            market: m.market.as_str().to_owned(),
            scope: m.scope.as_str().to_owned(),
            powertrain: m.powertrain.as_str().to_owned(),
            destination: m.destination.as_ref().map(|d| d.as_str().to_owned()),
        },
        period: t.period.to_string(),
        deadline: text(t.deadline.as_ref()),
        // At most 10^12 vehicles: always within i64.
        threshold_units: i64::try_from(t.threshold.get()).unwrap_or(i64::MAX),
        comparator: t.comparator.as_str().to_owned(),
        status: t.status.as_str().to_owned(),
        sources: ids(&t.sources),
    }
}
