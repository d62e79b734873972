//! Typed, directed, dated links between organisations (ownership, subsidiaries, brands,
//! plants, joint-venture shareholders).
//!
//! Ownership is recorded, never inferred from a partnership or a supply deal.

use crate::date::{Date, PartialDate};
use crate::enums::RelationshipKind;
use crate::ids::{OrganizationId, RelationshipId, SourceId};
use crate::units::Stake;
use crate::validation::{ValidationError, Violations, check_sources};

/// A directed link from `parent` to `child`, e.g. Nissan —joint_venture_partner 50%→
/// Dongfeng Nissan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relationship {
    /// Stable id.
    pub id: RelationshipId,
    /// What the link means (see [`RelationshipKind`] for the direction of each kind).
    pub kind: RelationshipKind,
    /// The owning, parent or operating organisation.
    pub parent: OrganizationId,
    /// The owned, subsidiary, brand or plant organisation.
    pub child: OrganizationId,
    /// The parent's stake in the child; only for kinds that carry one.
    pub stake: Option<Stake>,
    /// When the link began; `None` means "since before we know".
    pub valid_from_date: Option<PartialDate>,
    /// When the link ended (inclusive of its whole span); `None` means still in effect.
    pub valid_to_date: Option<PartialDate>,
    /// The sources that report the link.
    pub sources: Vec<SourceId>,
    /// The parent controls the child whatever its stake (board majority, golden share);
    /// otherwise control follows from the stake or the kind.
    pub controls: bool,
}

impl Relationship {
    /// Checks cross-field invariants, reporting every violation.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Violations::new();
        if self.parent == self.child {
            v.push("child", "an organisation cannot be related to itself");
        }
        if self.stake.is_some() && !self.kind.carries_stake() {
            v.push(
                "stake_basis_points",
                format!("a {} relationship carries no stake", self.kind),
            );
        }
        if let Some(from) = &self.valid_from_date {
            v.check("valid_from_date", from.check());
        }
        if let Some(to) = &self.valid_to_date {
            v.check("valid_to_date", to.check());
        }
        if let (Some(from), Some(to)) = (&self.valid_from_date, &self.valid_to_date)
            && from.first_day() > to.last_day()
        {
            v.push(
                "valid_to_date",
                format!("ends ({to}) before it starts ({from})"),
            );
        }
        check_sources(&mut v, &self.sources);
        v.finish()
    }

    /// True when the link was in effect on `date`; both bounds include their whole span.
    pub fn is_valid_on(&self, date: Date) -> bool {
        let started = self
            .valid_from_date
            .is_none_or(|from| from.first_day() <= date);
        let not_ended = self.valid_to_date.is_none_or(|to| date <= to.last_day());
        started && not_ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: &str) -> OrganizationId {
        OrganizationId::parse(id).unwrap()
    }

    fn jv_partner() -> Relationship {
        Relationship {
            id: RelationshipId::parse("nissan-dongfeng-nissan").unwrap(),
            kind: RelationshipKind::JointVenturePartner,
            parent: org("nissan"),
            child: org("dongfeng-nissan"),
            stake: Some(Stake::from_percent_str("50").unwrap()),
            valid_from_date: Some("2003".parse().unwrap()),
            valid_to_date: None,
            sources: vec![SourceId::parse("article").unwrap()],
            controls: false,
        }
    }

    #[test]
    fn valid_relationship_passes() {
        assert_eq!(jv_partner().validate(), Ok(()));
    }

    #[test]
    fn relationship_reports_every_broken_invariant_with_its_field() {
        let r = Relationship {
            kind: RelationshipKind::BrandOf,
            child: org("nissan"),
            valid_from_date: Some("2023-06".parse().unwrap()),
            valid_to_date: Some("2023-Q1".parse().unwrap()),
            sources: vec![],
            ..jv_partner()
        };
        let err = r.validate().unwrap_err();
        assert_eq!(
            err.fields(),
            ["child", "stake_basis_points", "valid_to_date", "sources"]
        );
    }

    #[test]
    fn relationship_rejects_duplicate_sources() {
        let source = SourceId::parse("article").unwrap();
        let r = Relationship {
            sources: vec![source.clone(), source],
            ..jv_partner()
        };
        assert_eq!(r.validate().unwrap_err().fields(), ["sources[1]"]);
    }

    #[test]
    fn relationship_may_start_and_end_in_the_same_span() {
        let r = Relationship {
            valid_from_date: Some("2023-03-01".parse().unwrap()),
            valid_to_date: Some("2023-Q1".parse().unwrap()),
            ..jv_partner()
        };
        assert_eq!(r.validate(), Ok(()));
    }

    #[test]
    fn validity_bounds_include_their_whole_span() {
        let r = Relationship {
            valid_from_date: Some("2016-05".parse().unwrap()),
            valid_to_date: Some("2022".parse().unwrap()),
            ..jv_partner()
        };
        let day = |s: &str| s.parse::<Date>().unwrap();
        assert!(!r.is_valid_on(day("2016-04-30")));
        assert!(r.is_valid_on(day("2016-05-01")));
        assert!(r.is_valid_on(day("2022-12-31")));
        assert!(!r.is_valid_on(day("2023-01-01")));
        let open = Relationship {
            valid_from_date: None,
            valid_to_date: None,
            ..jv_partner()
        };
        assert!(open.is_valid_on(day("1900-01-01")));
    }
}
