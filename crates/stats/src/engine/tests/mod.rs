//! Engine tests with hand-computed expectations: the fixtures here, the cases by concern
//! in the submodules.

use autointel_domain::{
    Comparator, Date, Flow, HierarchyLink, Market, MeasureBasis, MonthRange, OrganizationId,
    Powertrain, Provenance, RelationshipKind, ReleaseStage, RollupMode, SalesFigure, SalesFigureId,
    SeriesKey, SourceId, Units, VehicleScope,
};

use super::*;

mod destinations;
mod natures;
mod queries;
mod revisions;
mod rollup;
mod rollup_over_time;
mod sources;
mod storage;
mod totals;
mod vintages;

pub(super) fn range(s: &str) -> MonthRange {
    s.parse().unwrap()
}

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

pub(super) fn org(s: &str) -> OrganizationId {
    OrganizationId::parse(s).unwrap()
}

pub(super) fn key(organization: Option<&str>, powertrain: Powertrain) -> SeriesKey {
    SeriesKey {
        organization: organization.map(org),
        basis: MeasureBasis::Wholesale,
        flow: Flow::Total,
        market: Market::parse("CN").unwrap(),
        scope: VehicleScope::All,
        powertrain,
        destination: None,
    }
}

fn nissan() -> SeriesKey {
    SeriesKey {
        organization: Some(org("nissan-china")),
        basis: MeasureBasis::CompanyReported,
        flow: Flow::Total,
        market: Market::parse("CN").unwrap(),
        scope: VehicleScope::All,
        powertrain: Powertrain::All,
        destination: None,
    }
}

pub(super) struct Fixture {
    pub(super) engine: Engine,
    next: u128,
}

impl Fixture {
    pub(super) fn new() -> Self {
        Self {
            engine: Engine::new(),
            next: 1,
        }
    }

    fn add_full(
        &mut self,
        key: &SeriesKey,
        period: &str,
        units: u64,
        stage: ReleaseStage,
        as_of: &str,
        comparable_prior: Option<u64>,
    ) -> FigureRef {
        let mut figure = SalesFigure {
            id: figure_id(self.next).unwrap(),
            key: key.clone(),
            period: range(period),
            units: Units::from_u64(units).unwrap(),
            nature: autointel_domain::FigureNature::Actual,
            comparable_prior: comparable_prior.map(|u| Units::from_u64(u).unwrap()),
            provenance: Provenance {
                source: SourceId::parse("article").unwrap(),
                stage,
                as_of: date(as_of),
                supersedes: None,
            },
            note: None,
        };
        figure.provenance.supersedes = self
            .engine
            .predecessor_of(&figure)
            .and_then(|p| self.engine.figure_id(p));
        self.next += 1;
        self.engine.insert(&figure, 0).unwrap()
    }

    pub(super) fn add(&mut self, key: &SeriesKey, period: &str, units: u64) -> FigureRef {
        self.add_full(key, period, units, ReleaseStage::Final, "2024-01-15", None)
    }
}

pub(super) fn all() -> Powertrain {
    Powertrain::All
}

/// A subsidiary link without a stake.
pub(super) fn subsidiary(parent: &str, child: &str) -> HierarchyLink {
    HierarchyLink {
        parent: org(parent),
        child: org(child),
        kind: RelationshipKind::SubsidiaryOf,
        stake_basis_points: None,
        controls: false,
    }
}

/// A figure of `source` and `nature`, linked as an import links it.
fn add_from(
    f: &mut Fixture,
    key: &SeriesKey,
    period: &str,
    units: u64,
    source: &str,
    nature: autointel_domain::FigureNature,
    (stage, as_of): (ReleaseStage, &str),
) -> FigureRef {
    let mut figures = vec![SalesFigure {
        id: figure_id(f.next).unwrap(),
        key: key.clone(),
        period: range(period),
        units: Units::from_u64(units).unwrap(),
        nature,
        comparable_prior: None,
        provenance: Provenance {
            source: SourceId::parse(source).unwrap(),
            stage,
            as_of: date(as_of),
            supersedes: None,
        },
        note: None,
    }];
    f.engine.link_revisions(&mut figures);
    f.next += 1;
    f.engine.insert(&figures[0], 0).unwrap()
}

impl Fixture {
    fn add_from_(
        &mut self,
        key: &SeriesKey,
        period: &str,
        units: u64,
        source: &str,
        nature: autointel_domain::FigureNature,
        order: (ReleaseStage, &str),
    ) -> FigureRef {
        add_from(self, key, period, units, source, nature, order)
    }
}
