//! The computations: each converts its request into a domain query (proto's `TryFrom`),
//! asks the engine (and, for rollups, target progress and events, the registry), and
//! converts the answer (`answers`).

use autointel_domain::{
    BreakdownQuery, ChangeQuery, Date, DestinationsQuery, ForecastAccuracyQuery, RankingQuery,
    RollupMode, RollupQuery, Segment, SeriesQuery, ShareQuery, TargetProgressQuery, TotalQuery,
    split_by,
};
use autointel_proto::convert::ResourceId;
use autointel_proto::stats as wire;

use super::answers::{self, Cited};
use super::query;
use super::state::State;
use crate::engine::{Engine, GroupHierarchy};
use crate::error::StatsError;
use crate::registry_client::EventsOf;

/// Asks the engine and converts its answer while the engine is held (answers cite its
/// figures).
fn answer<A, W>(
    state: &State,
    ask: impl FnOnce(&Engine) -> A,
    convert: impl FnOnce(&A, &Cited<'_>) -> Result<W, StatsError>,
) -> Result<W, StatsError> {
    let engine = state.read()?;
    let answer = ask(&engine);
    convert(&answer, &Cited::new(&engine, &state.wire_figures))
}

/// `ComputeTotal`.
pub(super) fn total(
    state: &State,
    r: &wire::ComputeTotalRequest,
) -> Result<wire::ComputeTotalResponse, StatsError> {
    let q: TotalQuery = query(r)?;
    answer(
        state,
        |engine| engine.total(&q.series, q.period, &q.reading),
        answers::total_response,
    )
}

/// `ComputeChange`.
pub(super) fn change(
    state: &State,
    r: &wire::ComputeChangeRequest,
) -> Result<wire::ComputeChangeResponse, StatsError> {
    let q: ChangeQuery = query(r)?;
    answer(
        state,
        |engine| engine.change(&q.series, q.period, q.prior_period, &q.reading),
        |a, cited| answers::change_response(a, q.percent_decimals, cited),
    )
}

/// `ComputeSeries`, with the organisation's events from the registry when asked for (after
/// the engine is released).
pub(super) async fn series(
    state: &State,
    r: &wire::ComputeSeriesRequest,
) -> Result<wire::ComputeSeriesResponse, StatsError> {
    let q: SeriesQuery = query(r)?;
    let mut response = answer(
        state,
        |engine| {
            let (grain, cumulative) = (q.granularity, q.cumulative_within_year);
            engine.series(&q.series, q.period, grain, cumulative, &q.reading)
        },
        answers::series_response,
    )?;
    if q.include_events {
        // the organisation's events, and for exports to one destination that market's
        if let Some(org) = &q.series.organization {
            response.events = state
                .registry
                .events(EventsOf::Organization(org), q.period)
                .await?;
        }
        if let Some(market) = &q.series.destination {
            for event in state
                .registry
                .events(EventsOf::Market(market), q.period)
                .await?
            {
                if !response.events.iter().any(|e| e.name == event.name) {
                    response.events.push(event);
                }
            }
            response.events.sort_by_key(timeline_key);
        }
    }
    Ok(response)
}

/// Where an event falls on a timeline: its occurrence (else announcement) date, then name.
fn timeline_key(e: &autointel_proto::registry::Event) -> (i32, i32, i32, String) {
    let date = e.occurred_date.as_ref().or(e.announced_date.as_ref());
    date.map_or((i32::MAX, 0, 0, e.name.clone()), |d| {
        (d.year, d.month, d.day, e.name.clone())
    })
}

/// `ComputeRanking`: organisations by their own figures, or groups by their rollups over
/// the ownership graph.
pub(super) async fn ranking(
    state: &State,
    r: &wire::ComputeRankingRequest,
) -> Result<wire::ComputeRankingResponse, StatsError> {
    let q: RankingQuery = query(r)?;
    let Some(mode) = q.group_mode else {
        return answer(
            state,
            |engine| engine.ranking(&q.series, q.period, q.limit, &q.reading),
            |a, cited| answers::ranking_response(a, q.percent_decimals, cited),
        );
    };
    let history = state.registry.ownership_history().await?;
    // gross: the hierarchy on the period's end, as before modes existed; the others follow
    // the stakes month by month
    let links = history.links_on(Date::last_of(q.period.end()));
    let hierarchy = match mode {
        RollupMode::Gross => GroupHierarchy::On(&links),
        _ => GroupHierarchy::Dated(&history),
    };
    answer(
        state,
        |engine| engine.group_ranking(&q.series, hierarchy, q.period, q.limit, &q.reading, mode),
        |a, cited| answers::ranking_response(a, q.percent_decimals, cited),
    )
}

/// `ComputeShare`.
pub(super) fn share(
    state: &State,
    r: &wire::ComputeShareRequest,
) -> Result<wire::ComputeShareResponse, StatsError> {
    let q: ShareQuery = query(r)?;
    answer(
        state,
        |engine| {
            let (part, whole) = (&q.numerator, &q.denominator);
            engine.share(part, whole, q.period, q.granularity, &q.reading)
        },
        |a, cited| answers::share_response(a, q.percent_decimals, cited),
    )
}

/// `ComputeBreakdown`.
pub(super) fn breakdown(
    state: &State,
    r: &wire::ComputeBreakdownRequest,
) -> Result<wire::ComputeBreakdownResponse, StatsError> {
    let q: BreakdownQuery = query(r)?;
    answer(
        state,
        |engine| engine.breakdown(&q.filter, q.period, &q.reading),
        answers::breakdown_response,
    )
}

/// `ComputeDestinations`.
pub(super) fn destinations(
    state: &State,
    r: &wire::ComputeDestinationsRequest,
) -> Result<wire::ComputeDestinationsResponse, StatsError> {
    let q: DestinationsQuery = query(r)?;
    answer(
        state,
        |engine| {
            let (limit, months) = (q.limit, q.include_months);
            engine.destinations(&q.origin, q.period, limit, months, &q.reading)
        },
        |a, cited| answers::destinations_response(a, q.percent_decimals, cited),
    )
}

/// `ComputeRollup`: the hierarchy below the root from the registry, then the engine. Gross
/// mode and an explicit hierarchy date read one hierarchy (the root's descendants on that
/// date); consolidated and equity share without one split the period where the stakes
/// below the root change.
pub(super) async fn rollup(
    state: &State,
    r: &wire::ComputeRollupRequest,
) -> Result<wire::ComputeRollupResponse, StatsError> {
    let q: RollupQuery = query(r)?;
    let root = q
        .root()
        .ok_or_else(|| StatsError::Internal("a rollup query without its root".to_owned()))?;
    let segments = if q.mode == RollupMode::Gross || q.hierarchy_date.is_some() {
        let date = q.hierarchy_on();
        let links = state.registry.hierarchy_links(root, date).await?;
        vec![Segment {
            months: q.period,
            date,
            value: links,
        }]
    } else {
        if !state
            .registry
            .missing_organizations(std::slice::from_ref(root))
            .await?
            .is_empty()
        {
            return Err(StatsError::NotFound(root.resource_name()));
        }
        let history = state.registry.ownership_history().await?;
        split_by(q.period, |date| history.links_below(root, date))
    };
    let engine = state.read()?;
    let answer = engine.rollup_over_time(&q.series, &segments, q.period, &q.reading, q.mode);
    answers::rollup_response(&answer, &Cited::new(&engine, &state.wire_figures))
}

/// `ComputeTargetProgress`: the target from the registry, then the engine.
pub(super) async fn target_progress(
    state: &State,
    r: &wire::ComputeTargetProgressRequest,
) -> Result<wire::ComputeTargetProgressResponse, StatsError> {
    let q: TargetProgressQuery = query(r)?;
    let (wire_target, target) = state.registry.target(&q.target).await?;
    answer(
        state,
        |engine| {
            let (metric, threshold) = (&target.metric, target.threshold.get());
            engine.target_progress(
                metric,
                target.period,
                threshold,
                target.comparator,
                &q.reading,
            )
        },
        |a, cited| {
            let decimals = q.percent_decimals;
            answers::target_progress_response(a, wire_target, target.threshold, decimals, cited)
        },
    )
}

/// `ComputeForecastAccuracy`.
pub(super) fn forecast_accuracy(
    state: &State,
    r: &wire::ComputeForecastAccuracyRequest,
) -> Result<wire::ComputeForecastAccuracyResponse, StatsError> {
    let q: ForecastAccuracyQuery = query(r)?;
    answer(
        state,
        |engine| engine.forecast_accuracy(&q.series, q.period, q.source.as_ref(), q.as_of),
        |a, cited| answers::forecast_accuracy_response(a, q.percent_decimals, cited),
    )
}
