//! Events: what happened when, who took part, what was said, and how sure we are.
//!
//! Corrections never destroy history: a clarified or corrected report stays, marked
//! `superseded`, linked to the event that replaces it.

use std::fmt;
use std::str::FromStr;

use crate::date::PartialDate;
use crate::enums::{EventKind, EventStatus};
use crate::ids::{EventId, OrganizationId, PartnershipId, PersonId, SourceId, TargetId};
use crate::series::Market;
use crate::validation::{
    NAME_MAX_CHARS, TEXT_MAX_CHARS, ValidationError, ValueError, Violations, check_list,
    check_long_text, check_required_text, check_sources,
};

/// A BCP 47 language_code tag such as `en`, `zh`, `zh-Hans` or `en-US`, in canonical case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// Longest accepted tag.
    pub const MAX_LEN: usize = 35;

    /// Parses a tag: a 2–3 letter language_code, then 1–8 character alphanumeric subtags.
    ///
    /// Case is normalised the BCP 47 way: `zh-hans-cn` becomes `zh-Hans-CN`.
    pub fn parse(tag: &str) -> Result<Self, ValueError> {
        let invalid = || {
            ValueError(format!(
                "language_code must be a BCP 47 tag such as en, zh or zh-Hans (got {})",
                crate::validation::Shown(tag)
            ))
        };
        if tag.len() > Self::MAX_LEN {
            return Err(invalid());
        }
        let mut subtags = tag.split('-');
        let language_code = subtags.next().unwrap_or("");
        if !(2..=3).contains(&language_code.len())
            || !language_code.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(invalid());
        }
        let mut canonical = language_code.to_ascii_lowercase();
        for subtag in subtags {
            if !(1..=8).contains(&subtag.len())
                || !subtag.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(invalid());
            }
            canonical.push('-');
            let all_alpha = subtag.bytes().all(|b| b.is_ascii_alphabetic());
            match subtag.len() {
                // Script subtag: title case.
                4 if all_alpha => {
                    let lower = subtag.to_ascii_lowercase();
                    let (first, rest) = lower.split_at(1);
                    canonical.push_str(&first.to_ascii_uppercase());
                    canonical.push_str(rest);
                }
                // Region subtag: upper case.
                2 if all_alpha => canonical.push_str(&subtag.to_ascii_uppercase()),
                _ => canonical.push_str(&subtag.to_ascii_lowercase()),
            }
        }
        Ok(Self(canonical))
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for LanguageTag {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Who took part in an event: an organisation or a person.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParticipantRef {
    /// An organisation.
    Organization(OrganizationId),
    /// A person.
    Person(PersonId),
}

impl fmt::Display for ParticipantRef {
    /// The resource name, e.g. `organizations/nissan` or `people/makoto-uchida`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Organization(id) => write!(f, "organizations/{id}"),
            Self::Person(id) => write!(f, "people/{id}"),
        }
    }
}

/// A participant in an event, with its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// The organisation or person.
    pub party: ParticipantRef,
    /// Its role, e.g. `announcer`; empty when not stated.
    pub role: String,
}

/// Something a person said, as reported by a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    /// Who said it.
    pub speaker: PersonId,
    /// The speaker's title when speaking, e.g. `Chairman of Nissan China`.
    pub speaker_title: Option<String>,
    /// The words, as reported.
    pub text: String,
    /// Language of `text`.
    pub language_code: LanguageTag,
    /// Where the quote was reported.
    pub source: SourceId,
}

/// Something that happened (or was reported to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Stable id.
    pub id: EventId,
    /// What kind of thing happened.
    pub kind: EventKind,
    /// Short title.
    pub title: String,
    /// Longer summary.
    pub summary: Option<String>,
    /// Organisations and people involved (at least one).
    pub participants: Vec<Participant>,
    /// When it happened, as precisely as known.
    pub occurred_date: Option<PartialDate>,
    /// When it was announced (not the news article's date: that is the source's).
    pub announced_date: Option<PartialDate>,
    /// How reliable the report is.
    pub status: EventStatus,
    /// The earlier event this one corrects.
    pub supersedes: Option<EventId>,
    /// The later event that corrects this one; set exactly when status is superseded.
    pub superseded_by: Option<EventId>,
    /// The partnership this event concerns.
    pub partnership: Option<PartnershipId>,
    /// Statements made.
    pub quotes: Vec<Quote>,
    /// Targets announced with it.
    pub targets: Vec<TargetId>,
    /// The sources that report it.
    pub sources: Vec<SourceId>,
    /// The market it concerns (the importing market of a tariff, quota or ban).
    pub market: Option<Market>,
}

impl Event {
    /// Checks cross-field invariants, reporting every violation.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Violations::new();
        check_required_text(&mut v, "title", &self.title, NAME_MAX_CHARS);
        if let Some(summary) = &self.summary {
            check_long_text(&mut v, "summary", summary, TEXT_MAX_CHARS);
        }
        if self.participants.is_empty() && self.market.is_none() {
            v.push(
                "participants",
                "an event needs at least one participant, or a market",
            );
        }
        for (i, participant) in self.participants.iter().enumerate() {
            if !participant.role.is_empty() {
                check_required_text(
                    &mut v,
                    &format!("participants[{i}].role"),
                    &participant.role,
                    NAME_MAX_CHARS,
                );
            }
        }
        for (field, date) in [
            ("occurred_date", &self.occurred_date),
            ("announced_date", &self.announced_date),
        ] {
            if let Some(date) = date {
                v.check(field, date.check());
            }
        }
        if self.supersedes.as_ref() == Some(&self.id) {
            v.push("supersedes", "an event cannot supersede itself");
        }
        if self.superseded_by.as_ref() == Some(&self.id) {
            v.push("superseded_by", "an event cannot be superseded by itself");
        }
        match (self.status, &self.superseded_by) {
            (EventStatus::Superseded, None) => {
                v.push(
                    "status",
                    "a superseded event must name the event that supersedes it",
                );
            }
            (status, Some(_)) if status != EventStatus::Superseded => {
                v.push(
                    "status",
                    format!("an event with superseded_by must be superseded (status is {status})"),
                );
            }
            _ => {}
        }
        for (i, quote) in self.quotes.iter().enumerate() {
            if let Some(title) = &quote.speaker_title {
                check_required_text(
                    &mut v,
                    &format!("quotes[{i}].speaker_title"),
                    title,
                    NAME_MAX_CHARS,
                );
            }
            check_long_text(
                &mut v,
                &format!("quotes[{i}].text"),
                &quote.text,
                TEXT_MAX_CHARS,
            );
        }
        check_list(&mut v, "targets", &self.targets, false);
        check_sources(&mut v, &self.sources);
        v.finish()
    }

    /// The date to place the event on a timeline: when it occurred, else when announced.
    pub fn timeline_date(&self) -> Option<&PartialDate> {
        self.occurred_date.as_ref().or(self.announced_date.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> Event {
        Event {
            market: None,
            id: EventId::parse("dpca-export-base").unwrap(),
            kind: EventKind::ExportBaseDesignated,
            title: "DPCA becomes Stellantis export base".to_owned(),
            summary: Some("Dongfeng Peugeot-Citroën will build cars for export.".to_owned()),
            participants: vec![Participant {
                party: ParticipantRef::Organization(OrganizationId::parse("dpca").unwrap()),
                role: "export base".to_owned(),
            }],
            occurred_date: None,
            announced_date: Some("2023-12".parse().unwrap()),
            status: EventStatus::Reported,
            supersedes: None,
            superseded_by: None,
            partnership: None,
            quotes: vec![Quote {
                speaker: PersonId::parse("masashi-matsumura").unwrap(),
                speaker_title: Some("Chairman, Nissan China".to_owned()),
                text: "China is an important export base.".to_owned(),
                language_code: LanguageTag::parse("en").unwrap(),
                source: SourceId::parse("article").unwrap(),
            }],
            targets: vec![],
            sources: vec![SourceId::parse("article").unwrap()],
        }
    }

    #[test]
    fn valid_event_passes() {
        assert_eq!(statement().validate(), Ok(()));
    }

    #[test]
    fn event_reports_every_broken_invariant_together() {
        let e = Event {
            participants: vec![],
            supersedes: Some(statement().id),
            status: EventStatus::Superseded,
            sources: vec![],
            ..statement()
        };
        assert_eq!(
            e.validate().unwrap_err().fields(),
            ["participants", "supersedes", "status", "sources"]
        );
    }

    #[test]
    fn superseded_by_requires_superseded_status() {
        let e = Event {
            superseded_by: Some(EventId::parse("dpca-export-base-clarified").unwrap()),
            ..statement()
        };
        assert_eq!(e.validate().unwrap_err().fields(), ["status"]);
        let e = Event {
            status: EventStatus::Superseded,
            ..e
        };
        assert_eq!(e.validate(), Ok(()));
    }

    #[test]
    fn event_checks_quotes_and_roles() {
        let mut e = statement();
        e.quotes[0].text = " ".to_owned();
        e.quotes[0].speaker_title = Some(String::new());
        e.participants[0].role = "x\u{1}".to_owned();
        assert_eq!(
            e.validate().unwrap_err().fields(),
            [
                "participants[0].role",
                "quotes[0].speaker_title",
                "quotes[0].text"
            ]
        );
    }

    #[test]
    fn timeline_date_prefers_occurrence_over_announcement() {
        let mut e = statement();
        assert_eq!(
            e.timeline_date().map(ToString::to_string).as_deref(),
            Some("2023-12")
        );
        e.occurred_date = Some("2023-11-30".parse().unwrap());
        assert_eq!(
            e.timeline_date().map(ToString::to_string).as_deref(),
            Some("2023-11-30")
        );
        e.occurred_date = None;
        e.announced_date = None;
        assert_eq!(e.timeline_date(), None);
    }

    #[test]
    fn language_tags_are_checked_and_canonicalised() {
        for (input, canonical) in [
            ("en", "en"),
            ("zh", "zh"),
            ("zh-hans", "zh-Hans"),
            ("EN-us", "en-US"),
            ("zh-Hant-TW", "zh-Hant-TW"),
            ("es-419", "es-419"),
        ] {
            assert_eq!(LanguageTag::parse(input).unwrap().as_str(), canonical);
        }
        for bad in [
            "",
            "e",
            "english",
            "en_US",
            "en-",
            "zh--Hans",
            "1a",
            "en-toolongsubtag",
        ] {
            assert!(LanguageTag::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
