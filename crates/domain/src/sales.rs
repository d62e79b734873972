//! Sales figures: one observation of a series over a month range, with its provenance.
//!
//! Revisions add figures; nothing is overwritten. The latest known figure for a
//! (series, period) is chosen by release stage, then as-of date.

use std::cmp::Ordering;

use crate::date::Date;
use crate::enums::{FigureNature, ReleaseStage};
use crate::ids::{SalesFigureId, SourceId};
use crate::period::MonthRange;
use crate::series::SeriesKey;
use crate::units::Units;
use crate::validation::{TEXT_MAX_CHARS, ValidationError, Violations, check_long_text};

/// Where a figure comes from and which revision it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The document that published the figure.
    pub source: SourceId,
    /// Estimate, preliminary, final or restated.
    pub stage: ReleaseStage,
    /// The date the figure became known (publication of this revision).
    pub as_of: Date,
    /// The earlier figure this revision replaces, if any.
    pub supersedes: Option<SalesFigureId>,
}

/// A number of vehicles for one series over one month range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SalesFigure {
    /// Stable id of this revision.
    pub id: SalesFigureId,
    /// Which series.
    pub key: SeriesKey,
    /// Which months (one month, a quarter, a cumulative range, a year).
    pub period: MonthRange,
    /// How many vehicles.
    pub units: Units,
    /// Actual (what happened) or forecast. Queries answer from actuals; a figure revises
    /// only figures of its own nature (and source).
    pub nature: FigureNature,
    /// The same months one year earlier restated on this figure's scope (a like-for-like
    /// base), when the publisher gives one: Nissan's 2022 base included light-commercial
    /// volumes it later dropped.
    pub comparable_prior: Option<Units>,
    /// Source and revision.
    pub provenance: Provenance,
    /// Remarks from the source (scope notes, footnotes).
    pub note: Option<String>,
}

impl SalesFigure {
    /// Checks cross-field invariants, reporting every violation.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Violations::new();
        if self.provenance.supersedes.as_ref() == Some(&self.id) {
            v.push("provenance.supersedes", "a figure cannot supersede itself");
        }
        if let Err(e) = self.key.validate() {
            v.extend_prefixed("key", e);
        }
        if let Some(note) = &self.note {
            check_long_text(&mut v, "note", note, TEXT_MAX_CHARS);
        }
        v.finish()
    }

    /// Revision order: a later release stage, then a later as-of date, supersedes.
    pub fn revision_order(&self, other: &Self) -> Ordering {
        (self.provenance.stage, self.provenance.as_of)
            .cmp(&(other.provenance.stage, other.provenance.as_of))
    }

    /// Revision order made total: on equal (stage, as-of), a figure that names the other in
    /// `supersedes` wins; otherwise the larger id, so the choice never depends on input order.
    fn latest_order(&self, other: &Self) -> Ordering {
        self.revision_order(other).then_with(|| {
            if self.provenance.supersedes.as_ref() == Some(&other.id) {
                Ordering::Greater
            } else if other.provenance.supersedes.as_ref() == Some(&self.id) {
                Ordering::Less
            } else {
                self.id.cmp(&other.id)
            }
        })
    }
}

/// The revision that was the latest known on `as_of` (or now, when `None`); `None` when no
/// revision was known yet.
///
/// `revisions` are figures for one (series, period); a figure is known on a date when its
/// provenance as-of date is on or before it.
pub fn latest_known<'a>(
    revisions: impl IntoIterator<Item = &'a SalesFigure>,
    as_of: Option<Date>,
) -> Option<&'a SalesFigure> {
    revisions
        .into_iter()
        .filter(|f| as_of.is_none_or(|date| f.provenance.as_of <= date))
        .max_by(|a, b| a.latest_order(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::{Flow, MeasureBasis, Powertrain, VehicleScope};
    use crate::ids::OrganizationId;
    use crate::series::Market;

    fn figure(id: &str, stage: ReleaseStage, as_of: &str, units: i64) -> SalesFigure {
        SalesFigure {
            id: SalesFigureId::parse(id).unwrap(),
            key: SeriesKey {
                organization: Some(OrganizationId::parse("nissan-china").unwrap()),
                basis: MeasureBasis::CompanyReported,
                flow: Flow::Total,
                market: Market::parse("CN").unwrap(),
                scope: VehicleScope::All,
                powertrain: Powertrain::All,
                destination: None,
            },
            period: "2023-01..2023-11".parse().unwrap(),
            units: Units::new(units).unwrap(),
            nature: FigureNature::Actual,
            comparable_prior: None,
            provenance: Provenance {
                source: SourceId::parse("article").unwrap(),
                stage,
                as_of: as_of.parse().unwrap(),
                supersedes: None,
            },
            note: None,
        }
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn figure_cannot_supersede_itself() {
        let mut f = figure("a", ReleaseStage::Final, "2023-12-10", 694_900);
        assert_eq!(f.validate(), Ok(()));
        f.provenance.supersedes = Some(f.id.clone());
        f.note = Some(String::new());
        assert_eq!(
            f.validate().unwrap_err().fields(),
            ["provenance.supersedes", "note"]
        );
    }

    #[test]
    fn later_stage_supersedes_even_with_earlier_as_of() {
        let final_ = figure("final", ReleaseStage::Final, "2023-12-01", 767_000);
        let estimate = figure("estimate", ReleaseStage::Estimate, "2023-12-05", 750_000);
        assert_eq!(final_.revision_order(&estimate), Ordering::Greater);
        assert_eq!(latest_known([&estimate, &final_], None), Some(&final_));
    }

    #[test]
    fn later_as_of_supersedes_within_a_stage() {
        let a = figure("a", ReleaseStage::Restated, "2024-01-10", 1);
        let b = figure("b", ReleaseStage::Restated, "2024-03-10", 2);
        assert_eq!(latest_known([&b, &a], None), Some(&b));
    }

    #[test]
    fn as_of_answers_what_was_known_then() {
        let estimate = figure("estimate", ReleaseStage::Estimate, "2023-10-31", 750_000);
        let preliminary = figure(
            "preliminary",
            ReleaseStage::Preliminary,
            "2023-11-02",
            765_000,
        );
        let final_ = figure("final", ReleaseStage::Final, "2023-11-09", 767_000);
        let all = [estimate.clone(), preliminary.clone(), final_.clone()];
        assert_eq!(latest_known(&all, Some(date("2023-10-30"))), None);
        assert_eq!(
            latest_known(&all, Some(date("2023-10-31"))),
            Some(&estimate)
        );
        assert_eq!(
            latest_known(&all, Some(date("2023-11-08"))),
            Some(&preliminary)
        );
        assert_eq!(latest_known(&all, Some(date("2023-11-09"))), Some(&final_));
        assert_eq!(latest_known(&all, None), Some(&final_));
        assert_eq!(latest_known(&[], None), None);
    }

    #[test]
    fn ties_go_to_the_explicit_superseder_regardless_of_order() {
        let old = figure("z-old", ReleaseStage::Final, "2023-12-10", 1);
        let mut new = figure("a-new", ReleaseStage::Final, "2023-12-10", 2);
        new.provenance.supersedes = Some(old.id.clone());
        assert_eq!(latest_known([&old, &new], None), Some(&new));
        assert_eq!(latest_known([&new, &old], None), Some(&new));
    }
}
