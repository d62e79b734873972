//! Quantitative targets: "export 200,000 units a year by 2026".
//!
//! The metric is a sales-statistics series, so a target can be checked against figures.

use crate::date::PartialDate;
use crate::enums::{Comparator, TargetStatus};
use crate::ids::{EventId, OrganizationId, SourceId, TargetId};
use crate::period::MonthRange;
use crate::series::SeriesKey;
use crate::units::Units;
use crate::validation::{
    TEXT_MAX_CHARS, ValidationError, Violations, check_long_text, check_sources,
};

/// A goal an organisation set itself, expressed as a comparison on a sales series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Stable id.
    pub id: TargetId,
    /// The event at which the target was announced.
    pub event: Option<EventId>,
    /// The organisation that set the target.
    pub organization: OrganizationId,
    /// The target in words, as reported.
    pub description: String,
    /// The series the target is measured on (must name an organisation).
    pub metric: SeriesKey,
    /// The months whose total is compared with the threshold (e.g. one year).
    pub period: MonthRange,
    /// By when the target should be reached, as reported.
    pub deadline: Option<PartialDate>,
    /// The threshold in vehicles.
    pub threshold: Units,
    /// How the actual total is compared with the threshold.
    pub comparator: Comparator,
    /// Whether it has been reached.
    pub status: TargetStatus,
    /// The sources that report it.
    pub sources: Vec<SourceId>,
}

impl Target {
    /// Checks cross-field invariants, reporting every violation.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Violations::new();
        check_long_text(&mut v, "description", &self.description, TEXT_MAX_CHARS);
        if self.metric.organization.is_none() {
            v.push(
                "metric.organization",
                "a target's metric must name an organisation",
            );
        }
        if let Some(deadline) = &self.deadline {
            v.check("deadline", deadline.check());
        }
        check_sources(&mut v, &self.sources);
        v.finish()
    }

    /// True when `actual` (the total over `period`) meets the threshold.
    pub fn is_met_by(&self, actual: Units) -> bool {
        self.comparator.holds(actual.get(), self.threshold.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::{Flow, MeasureBasis, Powertrain, VehicleScope};
    use crate::series::Market;

    fn kia_exports() -> Target {
        let kia = OrganizationId::parse("kia-yancheng").unwrap();
        Target {
            id: TargetId::parse("kia-china-exports-2026").unwrap(),
            event: Some(EventId::parse("kia-export-base").unwrap()),
            organization: kia.clone(),
            description: "Export 200,000 vehicles a year from China by 2026".to_owned(),
            metric: SeriesKey {
                organization: Some(kia),
                basis: MeasureBasis::Production,
                flow: Flow::Export,
                market: Market::parse("CN").unwrap(),
                scope: VehicleScope::All,
                powertrain: Powertrain::All,
                destination: None,
            },
            period: MonthRange::year(2026).unwrap(),
            deadline: Some(PartialDate::year(2026).unwrap()),
            threshold: Units::new(200_000).unwrap(),
            comparator: Comparator::GreaterOrEqual,
            status: TargetStatus::Open,
            sources: vec![SourceId::parse("article").unwrap()],
        }
    }

    #[test]
    fn valid_target_passes_and_is_met_at_threshold() {
        let t = kia_exports();
        assert_eq!(t.validate(), Ok(()));
        assert!(t.is_met_by(Units::new(200_000).unwrap()));
        assert!(!t.is_met_by(Units::new(199_999).unwrap()));
    }

    #[test]
    fn target_reports_missing_organisation_and_sources_together() {
        let mut t = kia_exports();
        t.metric.organization = None;
        t.sources.clear();
        t.description = String::new();
        assert_eq!(
            t.validate().unwrap_err().fields(),
            ["description", "metric.organization", "sources"]
        );
    }
}
