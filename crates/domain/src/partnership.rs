//! Partnerships between organisations: joint ventures, research centres, platform deals,
//! export bases, licences, supply deals, MoUs.
//!
//! Two collaborations of the same partners are two partnerships, linked by `predecessor`
//! (the 2016 Nissan–Tsinghua collaboration → the 2023 joint research centre).

use crate::date::PartialDate;
use crate::enums::{PartnershipKind, PartnershipStatus};
use crate::ids::{OrganizationId, PartnershipId, SourceId};
use crate::validation::{
    NAME_MAX_CHARS, TEXT_MAX_CHARS, ValidationError, Violations, check_list, check_long_text,
    check_required_text, check_sources,
};

/// An organisation taking part in a partnership, with its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    /// The participating organisation.
    pub organization: OrganizationId,
    /// Its role, e.g. `platform provider`; empty when not stated.
    pub role: String,
}

/// A collaboration between two or more organisations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partnership {
    /// Stable id.
    pub id: PartnershipId,
    /// What kind of collaboration.
    pub kind: PartnershipKind,
    /// Short title.
    pub title: String,
    /// Longer description.
    pub description: Option<String>,
    /// The organisations involved (at least two, each once).
    pub parties: Vec<Party>,
    /// What it works on, e.g. `electrification`, `intelligent connectivity`.
    pub focus_areas: Vec<String>,
    /// Life-cycle status.
    pub status: PartnershipStatus,
    /// When it was announced.
    pub announced_date: Option<PartialDate>,
    /// When it took effect.
    pub started_date: Option<PartialDate>,
    /// When it ended or was cancelled.
    pub ended_date: Option<PartialDate>,
    /// The earlier partnership this one continues.
    pub predecessor: Option<PartnershipId>,
    /// The sources that report it.
    pub sources: Vec<SourceId>,
}

impl Partnership {
    /// Checks cross-field invariants, reporting every violation.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Violations::new();
        check_required_text(&mut v, "title", &self.title, NAME_MAX_CHARS);
        if let Some(description) = &self.description {
            check_long_text(&mut v, "description", description, TEXT_MAX_CHARS);
        }
        if self.parties.len() < 2 {
            v.push("parties", "a partnership needs at least two parties");
        }
        for (i, party) in self.parties.iter().enumerate() {
            if let Some(first) = self.parties[..i]
                .iter()
                .position(|p| p.organization == party.organization)
            {
                v.push(
                    format!("parties[{i}].organization"),
                    format!("{} is already parties[{first}]", party.organization),
                );
            }
            if !party.role.is_empty() {
                check_required_text(
                    &mut v,
                    &format!("parties[{i}].role"),
                    &party.role,
                    NAME_MAX_CHARS,
                );
            }
        }
        for (i, area) in self.focus_areas.iter().enumerate() {
            check_required_text(&mut v, &format!("focus_areas[{i}]"), area, NAME_MAX_CHARS);
        }
        check_list(&mut v, "focus_areas", &self.focus_areas, false);
        for (field, date) in [
            ("announced_date", &self.announced_date),
            ("started_date", &self.started_date),
            ("ended_date", &self.ended_date),
        ] {
            if let Some(date) = date {
                v.check(field, date.check());
            }
        }
        if let Some(ended_date) = &self.ended_date {
            if !self.status.is_terminal() {
                v.push(
                    "ended_date",
                    format!(
                        "only an ended or cancelled partnership has an end date (status is {})",
                        self.status
                    ),
                );
            }
            if let Some(started_date) = &self.started_date
                && started_date.first_day() > ended_date.last_day()
            {
                v.push(
                    "ended_date",
                    format!("ends ({ended_date}) before it starts ({started_date})"),
                );
            }
        }
        if self.predecessor.as_ref() == Some(&self.id) {
            v.push("predecessor", "a partnership cannot be its own predecessor");
        }
        check_sources(&mut v, &self.sources);
        v.finish()
    }

    /// True when `organization` is one of the parties.
    pub fn involves(&self, organization: &OrganizationId) -> bool {
        self.parties.iter().any(|p| &p.organization == organization)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(id: &str, role: &str) -> Party {
        Party {
            organization: OrganizationId::parse(id).unwrap(),
            role: role.to_owned(),
        }
    }

    fn research_centre() -> Partnership {
        Partnership {
            id: PartnershipId::parse("nissan-tsinghua-research-centre").unwrap(),
            kind: PartnershipKind::JointResearchCentre,
            title: "Tsinghua University–Nissan Joint Research Center".to_owned(),
            description: None,
            parties: vec![
                party("nissan", "automaker"),
                party("tsinghua-university", ""),
            ],
            focus_areas: vec![
                "electrification".to_owned(),
                "intelligent mobility".to_owned(),
            ],
            status: PartnershipStatus::Active,
            announced_date: Some("2023-12-17".parse().unwrap()),
            started_date: Some("2023-12".parse().unwrap()),
            ended_date: None,
            predecessor: Some(PartnershipId::parse("nissan-tsinghua-2016").unwrap()),
            sources: vec![SourceId::parse("article").unwrap()],
        }
    }

    #[test]
    fn valid_partnership_passes() {
        assert_eq!(research_centre().validate(), Ok(()));
    }

    #[test]
    fn partnership_rejects_an_organisation_listed_twice() {
        let mut p = research_centre();
        p.parties.push(party("nissan", "partner"));
        let err = p.validate().unwrap_err();
        assert_eq!(err.fields(), ["parties[2].organization"]);
        assert_eq!(
            err.violations()[0].description,
            "nissan is already parties[0]"
        );
    }

    #[test]
    fn partnership_reports_every_broken_invariant_together() {
        let p = Partnership {
            parties: vec![party("nissan", "")],
            status: PartnershipStatus::Active,
            started_date: Some("2024".parse().unwrap()),
            ended_date: Some("2023-06".parse().unwrap()),
            predecessor: Some(research_centre().id),
            sources: vec![],
            ..research_centre()
        };
        let err = p.validate().unwrap_err();
        assert_eq!(
            err.fields(),
            [
                "parties",
                "ended_date",
                "ended_date",
                "predecessor",
                "sources"
            ]
        );
    }

    #[test]
    fn ended_partnership_may_have_an_end_date() {
        let p = Partnership {
            status: PartnershipStatus::Ended,
            ended_date: Some("2024".parse().unwrap()),
            ..research_centre()
        };
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn partnership_checks_texts_and_focus_areas() {
        let p = Partnership {
            title: String::new(),
            description: Some("line one\nline two".to_owned()),
            focus_areas: vec!["ev".to_owned(), " ".to_owned(), "ev".to_owned()],
            parties: vec![
                party("nissan", "bad\nrole"),
                party("tsinghua-university", ""),
            ],
            ..research_centre()
        };
        assert_eq!(
            p.validate().unwrap_err().fields(),
            [
                "title",
                "parties[0].role",
                "focus_areas[1]",
                "focus_areas[2]"
            ]
        );
    }

    #[test]
    fn involves_checks_parties() {
        let p = research_centre();
        assert!(p.involves(&OrganizationId::parse("tsinghua-university").unwrap()));
        assert!(!p.involves(&OrganizationId::parse("dongfeng").unwrap()));
    }
}
