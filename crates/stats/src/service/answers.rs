//! Answers → wire, in one place.
//!
//! The engine's answers name the figures they used by [`FigureRef`], a handle only the
//! engine resolves, so their conversion lives here beside the engine rather than in
//! `autointel-proto` (which knows no engine). The domain values inside answers (month
//! ranges, series keys, changes, ratios, sales figures, sources) go through proto's
//! conversions; nothing else in the service builds a wire answer.

use autointel_domain::{Change, Ratio, Units};
use autointel_proto::convert::stats::sales_figure_to_wire;
use autointel_proto::convert::types::{
    change_to_wire, date_to_wire, month_range_to_wire, ratio_to_wire, series_key_to_wire,
};
use autointel_proto::convert::{ResourceId, WireEnum, optional_resource_name};
use autointel_proto::registry as rwire;
use autointel_proto::stats as wire;
use autointel_proto::types as twire;

use super::state::WireFigures;
use crate::engine::{
    BreakdownAnswer, ChangeAnswer, Contribution, DestinationsAnswer, Engine, FigureRef,
    ForecastAccuracyAnswer, RankingAnswer, RevisionPage, RollupAnswer, SeriesAnswer, ShareAnswer,
    TargetProgressAnswer, Total, TotalAnswer,
};
use crate::error::StatsError;

/// What an answer's provenance is built from: the engine its figures live in and the cache
/// of their wire forms.
pub(super) struct Cited<'a> {
    engine: &'a Engine,
    figures: &'a WireFigures,
}

impl<'a> Cited<'a> {
    /// Figures of `engine`, their wire forms kept in `figures`.
    pub(super) fn new(engine: &'a Engine, figures: &'a WireFigures) -> Self {
        Self { engine, figures }
    }

    /// Every figure used, then every source those figures cite (each once; a source without
    /// a recorded snapshot by name only).
    pub(super) fn provenance(
        &self,
        figures: &[FigureRef],
    ) -> Result<Option<wire::Provenance>, StatsError> {
        let wire_figures = figures
            .iter()
            .map(|&f| self.figures.get(self.engine, f))
            .collect::<Result<Vec<_>, _>>()?;
        let sources = self
            .engine
            .sources_of(figures)
            .into_iter()
            .map(|c| match &c.details {
                Some(details) => rwire::Source::from(details),
                None => rwire::Source {
                    name: c.id.resource_name(),
                    ..Default::default()
                },
            })
            .collect();
        Ok(Some(wire::Provenance {
            figures: wire_figures,
            sources,
        }))
    }
}

/// Whole vehicles as the wire's `int64` (the domain bound, 10^12, always fits).
pub(super) fn units(units: u64) -> i64 {
    i64::try_from(units).unwrap_or(i64::MAX)
}

/// A count as the wire's `int32`.
fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn change(change: Option<&Change>, decimals: u32) -> Option<twire::Change> {
    change.and_then(|c| change_to_wire(c, decimals))
}

pub(super) fn ratio(ratio: Option<&Ratio>, decimals: u32) -> Option<twire::Ratio> {
    ratio.and_then(|r| ratio_to_wire(r, decimals))
}

pub(super) fn total(t: &Total) -> wire::Total {
    wire::Total {
        period: Some(month_range_to_wire(t.period)),
        units: t.units.map(units),
        coverage: Some(wire::Coverage {
            complete: t.coverage.complete,
            covered: t
                .coverage
                .covered
                .iter()
                .copied()
                .map(month_range_to_wire)
                .collect(),
            uncovered: t
                .coverage
                .uncovered
                .iter()
                .copied()
                .map(month_range_to_wire)
                .collect(),
        }),
    }
}

/// `ComputeTotal`'s answer.
pub(super) fn total_response(
    a: &TotalAnswer,
    cited: &Cited<'_>,
) -> Result<wire::ComputeTotalResponse, StatsError> {
    Ok(wire::ComputeTotalResponse {
        total: Some(total(&a.total)),
        provenance: cited.provenance(&a.figures)?,
    })
}

/// `ComputeChange`'s answer, percentages to `decimals` places.
pub(super) fn change_response(
    a: &ChangeAnswer,
    decimals: u32,
    cited: &Cited<'_>,
) -> Result<wire::ComputeChangeResponse, StatsError> {
    Ok(wire::ComputeChangeResponse {
        current: Some(total(&a.current)),
        prior: Some(total(&a.prior)),
        change: change(a.change.as_ref(), decimals),
        like_for_like_change: change(a.like_for_like.as_ref(), decimals),
        provenance: cited.provenance(&a.figures)?,
    })
}

/// `ComputeSeries`'s answer, without events (the registry's, added by the handler).
pub(super) fn series_response(
    a: &SeriesAnswer,
    cited: &Cited<'_>,
) -> Result<wire::ComputeSeriesResponse, StatsError> {
    Ok(wire::ComputeSeriesResponse {
        points: a.points.iter().map(total).collect(),
        events: Vec::new(),
        provenance: cited.provenance(&a.figures)?,
    })
}

/// `ComputeRanking`'s answer, percentages to `decimals` places.
pub(super) fn ranking_response(
    a: &RankingAnswer,
    decimals: u32,
    cited: &Cited<'_>,
) -> Result<wire::ComputeRankingResponse, StatsError> {
    Ok(wire::ComputeRankingResponse {
        entries: a
            .entries
            .iter()
            .map(|e| wire::RankingEntry {
                rank: count(e.rank),
                organization: e.organization.resource_name(),
                units: units(e.units),
                share: ratio(e.share.as_ref(), decimals),
                year_over_year: change(e.year_over_year.as_ref(), decimals),
                exact_units: e.exact.and_then(exact_units),
            })
            .collect(),
        total_units: units(a.total_units),
        total_is_market: a.total_is_market,
        incomplete_count: count(a.incomplete_count),
        provenance: cited.provenance(&a.figures)?,
        group_mode: a.mode.map_or(0, WireEnum::to_wire),
        assumptions: a.assumptions.clone(),
    })
}

/// An exact number of units on the wire (none past 64 bits).
fn exact_units(e: Ratio) -> Option<wire::ExactUnits> {
    Some(wire::ExactUnits {
        numerator: i64::try_from(e.numerator()).ok()?,
        denominator: i64::try_from(e.denominator()).ok()?,
    })
}

/// `ComputeShare`'s answer, percentages to `decimals` places.
pub(super) fn share_response(
    a: &ShareAnswer,
    decimals: u32,
    cited: &Cited<'_>,
) -> Result<wire::ComputeShareResponse, StatsError> {
    Ok(wire::ComputeShareResponse {
        points: a
            .points
            .iter()
            .map(|p| wire::SharePoint {
                numerator: Some(total(&p.numerator)),
                denominator: Some(total(&p.denominator)),
                share: ratio(p.share.as_ref(), decimals),
            })
            .collect(),
        provenance: cited.provenance(&a.figures)?,
    })
}

/// `ComputeBreakdown`'s answer.
pub(super) fn breakdown_response(
    a: &BreakdownAnswer,
    cited: &Cited<'_>,
) -> Result<wire::ComputeBreakdownResponse, StatsError> {
    Ok(wire::ComputeBreakdownResponse {
        rows: a
            .rows
            .iter()
            .map(|(k, t)| wire::BreakdownRow {
                series: Some(series_key_to_wire(k)),
                total: Some(total(t)),
            })
            .collect(),
        provenance: cited.provenance(&a.figures)?,
    })
}

/// `ComputeDestinations`' answer, percentages to `decimals` places.
pub(super) fn destinations_response(
    a: &DestinationsAnswer,
    decimals: u32,
    cited: &Cited<'_>,
) -> Result<wire::ComputeDestinationsResponse, StatsError> {
    Ok(wire::ComputeDestinationsResponse {
        destinations: a
            .entries
            .iter()
            .map(|e| wire::DestinationRow {
                destination: e.destination.as_str().to_owned(),
                region: e.region,
                rank: count(e.rank),
                total: Some(total(&e.total)),
                share: ratio(e.share.as_ref(), decimals),
                year_over_year: change(e.year_over_year.as_ref(), decimals),
                months: e.months.iter().map(total).collect(),
            })
            .collect(),
        destination_count: count(a.destination_count),
        stated_units: units(a.stated_units),
        incomplete_count: count(a.incomplete_count),
        all_destinations: Some(total(&a.all_destinations)),
        not_stated_units: a.not_stated_units,
        inconsistent: a.inconsistent(),
        all_destinations_months: a.all_destinations_months.iter().map(total).collect(),
        provenance: cited.provenance(&a.figures)?,
    })
}

/// `ComputeRollup`'s answer.
pub(super) fn rollup_response(
    a: &RollupAnswer,
    cited: &Cited<'_>,
) -> Result<wire::ComputeRollupResponse, StatsError> {
    Ok(wire::ComputeRollupResponse {
        total: Some(total(&a.total)),
        contributions: contributions(&a.contributions),
        provenance: cited.provenance(&a.figures)?,
        mode: a.mode.to_wire(),
        exact_units: a.exact.and_then(exact_units),
        assumptions: a.assumptions.clone(),
        segments: a
            .segments
            .iter()
            .map(|s| wire::RollupSegment {
                period: Some(month_range_to_wire(s.months)),
                hierarchy_date: Some(date_to_wire(s.hierarchy_date)),
                total: Some(total(&s.answer.total)),
                contributions: contributions(&s.answer.contributions),
                exact_units: s.answer.exact.and_then(exact_units),
            })
            .collect(),
    })
}

fn contributions(contributions: &[Contribution]) -> Vec<wire::RollupContribution> {
    contributions
        .iter()
        .map(|c| wire::RollupContribution {
            organization: c.organization.resource_name(),
            units: c.units.map(units),
            counted: c.counted,
            reason: c.reason.clone(),
            stake: ratio(c.stake.as_ref(), 1),
        })
        .collect()
}

/// `ComputeTargetProgress`'s answer for `target` (as the registry holds it) with its
/// `threshold`, percentages to `decimals` places.
pub(super) fn target_progress_response(
    a: &TargetProgressAnswer,
    target: rwire::Target,
    threshold: Units,
    decimals: u32,
    cited: &Cited<'_>,
) -> Result<wire::ComputeTargetProgressResponse, StatsError> {
    Ok(wire::ComputeTargetProgressResponse {
        target: Some(target),
        actual: Some(total(&a.actual)),
        threshold_units: units(threshold.get()),
        progress: ratio(a.progress.as_ref(), decimals),
        status: a.status.to_wire(),
        provenance: cited.provenance(&a.figures)?,
        plan: a.plan.as_ref().map(total),
        plan_provenance: if a.plan.is_some() {
            cited.provenance(&a.plan_figures)?
        } else {
            None
        },
    })
}

/// `ComputeForecastAccuracy`'s answer, percentages to `decimals` places.
pub(super) fn forecast_accuracy_response(
    a: &ForecastAccuracyAnswer,
    decimals: u32,
    cited: &Cited<'_>,
) -> Result<wire::ComputeForecastAccuracyResponse, StatsError> {
    let forecasts = a
        .forecasts
        .iter()
        .map(|f| {
            let figure = cited
                .engine
                .figure_id(f.figure)
                .ok_or_else(|| StatsError::Internal("a forecast without its id".to_owned()))?;
            Ok(wire::ForecastError {
                figure: figure.resource_name(),
                source: f.source.resource_name(),
                as_of_date: Some(date_to_wire(f.as_of)),
                units: units(f.units),
                // |error| ≤ 10^12 (both sides are), so it fits.
                error_units: f.error_units.map(|e| i64::try_from(e).unwrap_or(i64::MAX)),
                error: ratio(f.error.as_ref(), decimals),
            })
        })
        .collect::<Result<Vec<_>, StatsError>>()?;
    Ok(wire::ComputeForecastAccuracyResponse {
        actual: Some(total(&a.actual)),
        forecasts,
        provenance: cited.provenance(&a.figures)?,
    })
}

pub(super) fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    }
}

/// A stored figure with its chain links and import time.
pub(super) fn figure(engine: &Engine, f: FigureRef) -> Result<wire::SalesFigure, StatsError> {
    let figure = engine
        .figure(f)
        .ok_or_else(|| StatsError::Internal("figure missing from the engine".to_owned()))?;
    let superseded_by = engine.superseded_by(f).and_then(|s| engine.figure_id(s));
    let mut w = sales_figure_to_wire(&figure, superseded_by.as_ref());
    w.create_time = Some(timestamp(engine.create_time_micros(f)));
    Ok(w)
}

/// A figure as it was when the engine held exactly the figures stored up to sequence
/// number `mark`: its `supersedes` and `superseded_by` name only figures stored by then.
pub(super) fn figure_at(
    engine: &Engine,
    f: FigureRef,
    mark: i64,
) -> Result<wire::SalesFigure, StatsError> {
    let mut w = figure(engine, f)?;
    if engine.holds_later_than(mark) {
        let (previous, next) = engine.neighbours_at_mark(f, mark);
        w.supersedes = optional_resource_name(previous.and_then(|p| engine.figure_id(p)).as_ref());
        w.superseded_by = optional_resource_name(next.and_then(|n| engine.figure_id(n)).as_ref());
    }
    Ok(w)
}

/// A page of a revision history, each revision with its change from the revision it follows
/// in its own source's chain.
pub(super) fn revisions(
    engine: &Engine,
    page: &RevisionPage,
) -> Result<Vec<wire::Revision>, StatsError> {
    // A revision's change is against the revision it follows in its own source's chain
    // (its `supersedes`), never against another source's figure that happens to precede
    // it in the history's order.
    let mut revisions = Vec::with_capacity(page.revisions.len());
    for &f in &page.revisions {
        let previous = engine
            .neighbours(f)
            .0
            .and_then(|p| engine.units(p))
            .map(units);
        let figure = figure(engine, f)?;
        let units = match figure.quantity {
            Some(wire::sales_figure::Quantity::Units(u)) => u,
            _ => 0,
        };
        revisions.push(wire::Revision {
            figure: Some(figure),
            change_from_previous_units: previous.map(|p| units - p),
        });
    }
    Ok(revisions)
}

/// `ImportSalesFigures`' answer: figures written and, of those, revisions.
pub(super) fn import_response(imported: i64, revisions: i64) -> wire::ImportSalesFiguresResponse {
    wire::ImportSalesFiguresResponse {
        imported_count: imported,
        revision_count: revisions,
    }
}
