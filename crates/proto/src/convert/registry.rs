//! `autointel.registry.v1` ↔ domain entities.
//!
//! Output-only and metadata fields (`create_time`, `update_time`, `etag`)
//! are ignored on input and left empty on output: the service owns them.

use autointel_domain::{
    Comparator, CountryCode, EventId, EventKind, EventStatus, LanguageTag, NAME_MAX_CHARS,
    Organization, OrganizationId, OrganizationKind, Participant, ParticipantRef, Partnership,
    PartnershipId, PartnershipKind, PartnershipStatus, Party, Person, PersonId, Quote,
    Relationship, RelationshipId, RelationshipKind, Source, SourceId, SourceKind, Stake,
    TEXT_MAX_CHARS, Target, TargetId, TargetStatus, ValidationError, Violations, long_text,
    optional_long_text, optional_text, required_text,
};

use super::types::{
    date_from_wire, date_to_wire, month_range_from_wire, month_range_to_wire,
    partial_date_from_wire, partial_date_to_wire, series_key_from_wire, series_key_to_wire,
};
use super::{
    ResourceId, WireEnum, each, each_value, optional_message, optional_resource_name,
    optional_value, rejected, required, units_from_wire, units_to_wire, wire_enum,
};
use crate::registry as wire;

wire_enum!(OrganizationKind, wire::OrganizationKind, {
    Group => Group, Automaker => Automaker, JointVenture => JointVenture, Brand => Brand,
    Plant => Plant, University => University, Government => Government,
    Supplier => Supplier, Other => Other,
});
wire_enum!(RelationshipKind, wire::RelationshipKind, {
    Owns => Owns, SubsidiaryOf => SubsidiaryOf, BrandOf => BrandOf,
    OperatesPlant => OperatesPlant, JointVenturePartner => JointVenturePartner,
});
wire_enum!(PartnershipKind, wire::PartnershipKind, {
    JointVenture => JointVenture, JointResearchCentre => JointResearchCentre,
    PlatformSharing => PlatformSharing, ExportBase => ExportBase,
    TechnologyLicensing => TechnologyLicensing, Supply => Supply,
    MemorandumOfUnderstanding => MemorandumOfUnderstanding, Other => Other,
});
wire_enum!(PartnershipStatus, wire::PartnershipStatus, {
    Announced => Announced, Active => Active, Ended => Ended, Cancelled => Cancelled,
});
wire_enum!(EventKind, wire::EventKind, {
    PartnershipAnnounced => PartnershipAnnounced, ExportBaseDesignated => ExportBaseDesignated,
    OrganizationChange => OrganizationChange, TargetAnnounced => TargetAnnounced,
    Statement => Statement, SalesReport => SalesReport, ProductLaunch => ProductLaunch,
    Investment => Investment, Other => Other, Tariff => Tariff, Quota => Quota,
    TradeBan => TradeBan, PlantOpening => PlantOpening,
});
wire_enum!(EventStatus, wire::EventStatus, {
    Reported => Reported, Confirmed => Confirmed, Clarified => Clarified,
    Cancelled => Cancelled, Superseded => Superseded,
});
wire_enum!(SourceKind, wire::SourceKind, {
    Association => Association, Customs => Customs, CompanyRelease => CompanyRelease,
    ExchangeFiling => ExchangeFiling, News => News, Other => Other,
});
wire_enum!(Comparator, wire::Comparator, {
    GreaterThan => GreaterThan, GreaterOrEqual => GreaterOrEqual,
    LessThan => LessThan, LessOrEqual => LessOrEqual,
});
wire_enum!(TargetStatus, wire::TargetStatus, {
    Open => Open, Met => Met, Missed => Missed, Withdrawn => Withdrawn,
});

/// Runs an entity's cross-field checks once every field has parsed.
fn validated<T>(
    entity: T,
    validate: impl FnOnce(&T) -> Result<(), ValidationError>,
) -> Result<T, ValidationError> {
    validate(&entity)?;
    Ok(entity)
}

fn names<R: ResourceId>(ids: &[R]) -> Vec<String> {
    ids.iter().map(ResourceId::resource_name).collect()
}

impl TryFrom<&wire::Organization> for Organization {
    type Error = ValidationError;

    fn try_from(w: &wire::Organization) -> Result<Self, Self::Error> {
        let mut v = Violations::new();
        let id = v.check("name", OrganizationId::from_resource_name(&w.name));
        let kind = v.check("kind", OrganizationKind::from_wire(w.kind));
        let english_name = v.check(
            "english_name",
            required_text(&w.english_name, NAME_MAX_CHARS),
        );
        let chinese_name = v.check(
            "chinese_name",
            optional_text(&w.chinese_name, NAME_MAX_CHARS),
        );
        let aliases = each_value(&mut v, "aliases", &w.aliases, |a| {
            required_text(a, NAME_MAX_CHARS)
        });
        let country_code = v.check(
            "country_code",
            optional_value(&w.country_code, CountryCode::parse),
        );
        let (
            Some(id),
            Some(kind),
            Some(english_name),
            Some(chinese_name),
            Some(aliases),
            Some(country_code),
        ) = (id, kind, english_name, chinese_name, aliases, country_code)
        else {
            return Err(rejected(v));
        };
        // names are stored in NFC, so composed and decomposed input are one name
        validated(
            Organization {
                id,
                kind,
                english_name: autointel_domain::nfc(&english_name),
                chinese_name: chinese_name.map(|n| autointel_domain::nfc(&n)),
                aliases: aliases.iter().map(|a| autointel_domain::nfc(a)).collect(),
                country_code,
            },
            Organization::validate,
        )
    }
}

impl From<&Organization> for wire::Organization {
    fn from(d: &Organization) -> Self {
        Self {
            name: d.id.resource_name(),
            kind: d.kind.to_wire(),
            english_name: d.english_name.clone(),
            chinese_name: d.chinese_name.clone().unwrap_or_default(),
            aliases: d.aliases.clone(),
            country_code: d
                .country_code
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            ..Default::default()
        }
    }
}

impl TryFrom<&wire::Person> for Person {
    type Error = ValidationError;

    fn try_from(w: &wire::Person) -> Result<Self, Self::Error> {
        let mut v = Violations::new();
        let id = v.check("name", PersonId::from_resource_name(&w.name));
        let display_name = v.check(
            "display_name",
            required_text(&w.display_name, NAME_MAX_CHARS),
        );
        let chinese_name = v.check(
            "chinese_name",
            optional_text(&w.chinese_name, NAME_MAX_CHARS),
        );
        let title = v.check("title", optional_text(&w.title, NAME_MAX_CHARS));
        let organization = v.check(
            "organization",
            OrganizationId::from_optional_resource_name(&w.organization),
        );
        let (Some(id), Some(display_name), Some(chinese_name), Some(title), Some(organization)) =
            (id, display_name, chinese_name, title, organization)
        else {
            return Err(rejected(v));
        };
        validated(
            Person {
                id,
                display_name,
                chinese_name,
                title,
                organization,
            },
            Person::validate,
        )
    }
}

impl From<&Person> for wire::Person {
    fn from(d: &Person) -> Self {
        Self {
            name: d.id.resource_name(),
            display_name: d.display_name.clone(),
            chinese_name: d.chinese_name.clone().unwrap_or_default(),
            title: d.title.clone().unwrap_or_default(),
            organization: optional_resource_name(d.organization.as_ref()),
            ..Default::default()
        }
    }
}

impl TryFrom<&wire::Source> for Source {
    type Error = ValidationError;

    fn try_from(w: &wire::Source) -> Result<Self, Self::Error> {
        let mut v = Violations::new();
        let id = v.check("name", SourceId::from_resource_name(&w.name));
        let kind = v.check("kind", SourceKind::from_wire(w.kind));
        let publisher = v.check("publisher", required_text(&w.publisher, NAME_MAX_CHARS));
        let title = v.check("title", required_text(&w.title, TEXT_MAX_CHARS));
        let uri = v.check(
            "uri",
            optional_value(&w.uri, |u| {
                autointel_domain::check_url(u).map(|()| u.to_owned())
            }),
        );
        let published_date = optional_message(
            &mut v,
            "published_date",
            w.published_date.as_ref(),
            date_from_wire,
        );
        let (Some(id), Some(kind), Some(publisher), Some(title), Some(uri), Some(published_date)) =
            (id, kind, publisher, title, uri, published_date)
        else {
            return Err(rejected(v));
        };
        validated(
            Source {
                id,
                kind,
                publisher,
                title,
                uri,
                published_date,
            },
            Source::validate,
        )
    }
}

impl From<&Source> for wire::Source {
    fn from(d: &Source) -> Self {
        Self {
            name: d.id.resource_name(),
            kind: d.kind.to_wire(),
            publisher: d.publisher.clone(),
            title: d.title.clone(),
            uri: d.uri.clone().unwrap_or_default(),
            published_date: d.published_date.map(date_to_wire),
            ..Default::default()
        }
    }
}

fn stake_from_wire(value: Option<i32>) -> Result<Option<Stake>, autointel_domain::ValueError> {
    match value {
        None => Ok(None),
        Some(bp) => u32::try_from(bp)
            .map_err(|_| autointel_domain::ValueError(format!("{bp} basis points is negative")))
            .and_then(Stake::from_basis_points)
            .map(Some),
    }
}

impl TryFrom<&wire::Relationship> for Relationship {
    type Error = ValidationError;

    fn try_from(w: &wire::Relationship) -> Result<Self, Self::Error> {
        let mut v = Violations::new();
        let id = v.check("name", RelationshipId::from_resource_name(&w.name));
        let kind = v.check("kind", RelationshipKind::from_wire(w.kind));
        let parent = v.check("parent", OrganizationId::from_resource_name(&w.parent));
        let child = v.check("child", OrganizationId::from_resource_name(&w.child));
        let stake = v.check("stake_basis_points", stake_from_wire(w.stake_basis_points));
        let valid_from_date = optional_message(
            &mut v,
            "valid_from_date",
            w.valid_from_date.as_ref(),
            partial_date_from_wire,
        );
        let valid_to_date = optional_message(
            &mut v,
            "valid_to_date",
            w.valid_to_date.as_ref(),
            partial_date_from_wire,
        );
        let sources = each_value(&mut v, "sources", &w.sources, |s| {
            SourceId::from_resource_name(s)
        });
        let (
            Some(id),
            Some(kind),
            Some(parent),
            Some(child),
            Some(stake),
            Some(valid_from_date),
            Some(valid_to_date),
            Some(sources),
        ) = (
            id,
            kind,
            parent,
            child,
            stake,
            valid_from_date,
            valid_to_date,
            sources,
        )
        else {
            return Err(rejected(v));
        };
        validated(
            Relationship {
                id,
                kind,
                parent,
                child,
                stake,
                valid_from_date,
                valid_to_date,
                sources,
                controls: w.controls,
            },
            Relationship::validate,
        )
    }
}

impl From<&Relationship> for wire::Relationship {
    fn from(d: &Relationship) -> Self {
        Self {
            name: d.id.resource_name(),
            kind: d.kind.to_wire(),
            parent: d.parent.resource_name(),
            child: d.child.resource_name(),
            stake_basis_points: d.stake.map(|s| i32::from(s.basis_points())),
            valid_from_date: d.valid_from_date.as_ref().map(partial_date_to_wire),
            valid_to_date: d.valid_to_date.as_ref().map(partial_date_to_wire),
            sources: names(&d.sources),
            controls: d.controls,
            ..Default::default()
        }
    }
}

fn party_from_wire(w: &wire::PartnershipParty) -> Result<Party, ValidationError> {
    let mut v = Violations::new();
    let organization = v.check(
        "organization",
        OrganizationId::from_resource_name(&w.organization),
    );
    let role = v.check("role", optional_text(&w.role, NAME_MAX_CHARS));
    let (Some(organization), Some(role)) = (organization, role) else {
        return Err(rejected(v));
    };
    Ok(Party {
        organization,
        role: role.unwrap_or_default(),
    })
}

impl TryFrom<&wire::Partnership> for Partnership {
    type Error = ValidationError;

    fn try_from(w: &wire::Partnership) -> Result<Self, Self::Error> {
        let mut v = Violations::new();
        let id = v.check("name", PartnershipId::from_resource_name(&w.name));
        let kind = v.check("kind", PartnershipKind::from_wire(w.kind));
        let title = v.check("title", required_text(&w.title, NAME_MAX_CHARS));
        let description = v.check(
            "description",
            optional_long_text(&w.description, TEXT_MAX_CHARS),
        );
        let parties = each(&mut v, "parties", &w.parties, party_from_wire);
        let focus_areas = each_value(&mut v, "focus_areas", &w.focus_areas, |f| {
            required_text(f, NAME_MAX_CHARS)
        });
        let status = v.check("status", PartnershipStatus::from_wire(w.status));
        let announced_date = optional_message(
            &mut v,
            "announced_date",
            w.announced_date.as_ref(),
            partial_date_from_wire,
        );
        let started_date = optional_message(
            &mut v,
            "started_date",
            w.started_date.as_ref(),
            partial_date_from_wire,
        );
        let ended_date = optional_message(
            &mut v,
            "ended_date",
            w.ended_date.as_ref(),
            partial_date_from_wire,
        );
        let predecessor = v.check(
            "predecessor",
            PartnershipId::from_optional_resource_name(&w.predecessor),
        );
        let sources = each_value(&mut v, "sources", &w.sources, |s| {
            SourceId::from_resource_name(s)
        });
        let (
            Some(id),
            Some(kind),
            Some(title),
            Some(description),
            Some(parties),
            Some(focus_areas),
            Some(status),
            Some(announced_date),
            Some(started_date),
            Some(ended_date),
            Some(predecessor),
            Some(sources),
        ) = (
            id,
            kind,
            title,
            description,
            parties,
            focus_areas,
            status,
            announced_date,
            started_date,
            ended_date,
            predecessor,
            sources,
        )
        else {
            return Err(rejected(v));
        };
        validated(
            Partnership {
                id,
                kind,
                title,
                description,
                parties,
                focus_areas,
                status,
                announced_date,
                started_date,
                ended_date,
                predecessor,
                sources,
            },
            Partnership::validate,
        )
    }
}

impl From<&Partnership> for wire::Partnership {
    fn from(d: &Partnership) -> Self {
        Self {
            name: d.id.resource_name(),
            kind: d.kind.to_wire(),
            title: d.title.clone(),
            description: d.description.clone().unwrap_or_default(),
            parties: d
                .parties
                .iter()
                .map(|p| wire::PartnershipParty {
                    organization: p.organization.resource_name(),
                    role: p.role.clone(),
                })
                .collect(),
            focus_areas: d.focus_areas.clone(),
            status: d.status.to_wire(),
            announced_date: d.announced_date.as_ref().map(partial_date_to_wire),
            started_date: d.started_date.as_ref().map(partial_date_to_wire),
            ended_date: d.ended_date.as_ref().map(partial_date_to_wire),
            predecessor: optional_resource_name(d.predecessor.as_ref()),
            sources: names(&d.sources),
            ..Default::default()
        }
    }
}

fn participant_from_wire(w: &wire::EventParticipant) -> Result<Participant, ValidationError> {
    use wire::event_participant::Participant as P;
    let mut v = Violations::new();
    let party = match &w.participant {
        Some(P::Organization(name)) => v
            .check("organization", OrganizationId::from_resource_name(name))
            .map(ParticipantRef::Organization),
        Some(P::Person(name)) => v
            .check("person", PersonId::from_resource_name(name))
            .map(ParticipantRef::Person),
        None => {
            v.push("participant", "an organization or a person is required");
            None
        }
    };
    let role = v.check("role", optional_text(&w.role, NAME_MAX_CHARS));
    let (Some(party), Some(role)) = (party, role) else {
        return Err(rejected(v));
    };
    Ok(Participant {
        party,
        role: role.unwrap_or_default(),
    })
}

fn participant_to_wire(d: &Participant) -> wire::EventParticipant {
    use wire::event_participant::Participant as P;
    wire::EventParticipant {
        participant: Some(match &d.party {
            ParticipantRef::Organization(id) => P::Organization(id.resource_name()),
            ParticipantRef::Person(id) => P::Person(id.resource_name()),
        }),
        role: d.role.clone(),
    }
}

fn quote_from_wire(w: &wire::Quote) -> Result<Quote, ValidationError> {
    let mut v = Violations::new();
    let speaker = v.check("speaker", PersonId::from_resource_name(&w.speaker));
    let speaker_title = v.check(
        "speaker_title",
        optional_text(&w.speaker_title, NAME_MAX_CHARS),
    );
    let text = v.check("text", long_text(&w.text, TEXT_MAX_CHARS));
    let language_code = v.check("language_code", LanguageTag::parse(&w.language_code));
    let source = v.check("source", SourceId::from_resource_name(&w.source));
    let (Some(speaker), Some(speaker_title), Some(text), Some(language_code), Some(source)) =
        (speaker, speaker_title, text, language_code, source)
    else {
        return Err(rejected(v));
    };
    Ok(Quote {
        speaker,
        speaker_title,
        text,
        language_code,
        source,
    })
}

fn quote_to_wire(d: &Quote) -> wire::Quote {
    wire::Quote {
        speaker: d.speaker.resource_name(),
        speaker_title: d.speaker_title.clone().unwrap_or_default(),
        text: d.text.clone(),
        language_code: d.language_code.as_str().to_owned(),
        source: d.source.resource_name(),
    }
}

impl TryFrom<&wire::Event> for autointel_domain::Event {
    type Error = ValidationError;

    fn try_from(w: &wire::Event) -> Result<Self, Self::Error> {
        let mut v = Violations::new();
        let id = v.check("name", EventId::from_resource_name(&w.name));
        let kind = v.check("kind", EventKind::from_wire(w.kind));
        let title = v.check("title", required_text(&w.title, NAME_MAX_CHARS));
        let summary = v.check("summary", optional_long_text(&w.summary, TEXT_MAX_CHARS));
        let participants = each(
            &mut v,
            "participants",
            &w.participants,
            participant_from_wire,
        );
        let occurred_date = optional_message(
            &mut v,
            "occurred_date",
            w.occurred_date.as_ref(),
            partial_date_from_wire,
        );
        let announced_date = optional_message(
            &mut v,
            "announced_date",
            w.announced_date.as_ref(),
            partial_date_from_wire,
        );
        let status = v.check("status", EventStatus::from_wire(w.status));
        let supersedes = v.check(
            "supersedes",
            EventId::from_optional_resource_name(&w.supersedes),
        );
        let superseded_by = v.check(
            "superseded_by",
            EventId::from_optional_resource_name(&w.superseded_by),
        );
        let partnership = v.check(
            "partnership",
            PartnershipId::from_optional_resource_name(&w.partnership),
        );
        let quotes = each(&mut v, "quotes", &w.quotes, quote_from_wire);
        let targets = each_value(&mut v, "targets", &w.targets, |t| {
            TargetId::from_resource_name(t)
        });
        let sources = each_value(&mut v, "sources", &w.sources, |s| {
            SourceId::from_resource_name(s)
        });
        let market = v.check(
            "market",
            if w.market.is_empty() {
                Ok(None)
            } else {
                autointel_domain::Market::parse(&w.market).map(Some)
            },
        );
        let (
            Some(market),
            Some(id),
            Some(kind),
            Some(title),
            Some(summary),
            Some(participants),
            Some(occurred_date),
            Some(announced_date),
            Some(status),
            Some(supersedes),
            Some(superseded_by),
            Some(partnership),
            Some(quotes),
            Some(targets),
            Some(sources),
        ) = (
            market,
            id,
            kind,
            title,
            summary,
            participants,
            occurred_date,
            announced_date,
            status,
            supersedes,
            superseded_by,
            partnership,
            quotes,
            targets,
            sources,
        )
        else {
            return Err(rejected(v));
        };
        validated(
            autointel_domain::Event {
                id,
                kind,
                title,
                summary,
                participants,
                occurred_date,
                announced_date,
                status,
                supersedes,
                superseded_by,
                partnership,
                quotes,
                targets,
                sources,
                market,
            },
            autointel_domain::Event::validate,
        )
    }
}

impl From<&autointel_domain::Event> for wire::Event {
    fn from(d: &autointel_domain::Event) -> Self {
        Self {
            name: d.id.resource_name(),
            kind: d.kind.to_wire(),
            title: d.title.clone(),
            summary: d.summary.clone().unwrap_or_default(),
            participants: d.participants.iter().map(participant_to_wire).collect(),
            occurred_date: d.occurred_date.as_ref().map(partial_date_to_wire),
            announced_date: d.announced_date.as_ref().map(partial_date_to_wire),
            status: d.status.to_wire(),
            supersedes: optional_resource_name(d.supersedes.as_ref()),
            superseded_by: optional_resource_name(d.superseded_by.as_ref()),
            partnership: optional_resource_name(d.partnership.as_ref()),
            quotes: d.quotes.iter().map(quote_to_wire).collect(),
            targets: names(&d.targets),
            sources: names(&d.sources),
            market: d
                .market
                .as_ref()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            ..Default::default()
        }
    }
}

impl TryFrom<&wire::Target> for Target {
    type Error = ValidationError;

    fn try_from(w: &wire::Target) -> Result<Self, Self::Error> {
        let mut v = Violations::new();
        let id = v.check("name", TargetId::from_resource_name(&w.name));
        let organization = v.check(
            "organization",
            OrganizationId::from_resource_name(&w.organization),
        );
        let event = v.check("event", EventId::from_optional_resource_name(&w.event));
        let description = v.check("description", long_text(&w.description, TEXT_MAX_CHARS));
        let metric = required(&mut v, "metric", w.metric.as_ref(), series_key_from_wire);
        let period = required(&mut v, "period", w.period.as_ref(), month_range_from_wire);
        let deadline = optional_message(
            &mut v,
            "deadline",
            w.deadline.as_ref(),
            partial_date_from_wire,
        );
        let threshold = v.check("threshold_units", units_from_wire(w.threshold_units));
        let comparator = v.check("comparator", Comparator::from_wire(w.comparator));
        let status = v.check("status", TargetStatus::from_wire(w.status));
        let sources = each_value(&mut v, "sources", &w.sources, |s| {
            SourceId::from_resource_name(s)
        });
        let (
            Some(id),
            Some(organization),
            Some(event),
            Some(description),
            Some(metric),
            Some(period),
            Some(deadline),
            Some(threshold),
            Some(comparator),
            Some(status),
            Some(sources),
        ) = (
            id,
            organization,
            event,
            description,
            metric,
            period,
            deadline,
            threshold,
            comparator,
            status,
            sources,
        )
        else {
            return Err(rejected(v));
        };
        validated(
            Target {
                id,
                event,
                organization,
                description,
                metric,
                period,
                deadline,
                threshold,
                comparator,
                status,
                sources,
            },
            Target::validate,
        )
    }
}

impl From<&Target> for wire::Target {
    fn from(d: &Target) -> Self {
        Self {
            name: d.id.resource_name(),
            organization: d.organization.resource_name(),
            event: optional_resource_name(d.event.as_ref()),
            description: d.description.clone(),
            metric: Some(series_key_to_wire(&d.metric)),
            period: Some(month_range_to_wire(d.period)),
            deadline: d.deadline.as_ref().map(partial_date_to_wire),
            threshold_units: units_to_wire(d.threshold),
            comparator: d.comparator.to_wire(),
            status: d.status.to_wire(),
            sources: names(&d.sources),
            ..Default::default()
        }
    }
}
