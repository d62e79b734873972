//! Vintages and sources side by side: `ListReleases`, `DiffVintages` (both paged by
//! [`CursorPage`]) and `ComputeMeasures`.

use autointel_domain::{Date, MeasuresQuery, ReleaseFilter, VintageDiffQuery};
use autointel_proto::convert::types::{date_to_wire, series_key_to_wire};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::stats as wire;

use super::answers::{self, Cited};
use super::paging::cursor_request;
use super::query;
use super::state::State;
use crate::engine::{ListKey, MeasuresAnswer, Release, VintageChangeKind};
use crate::error::StatsError;

/// The cursor text of a release: its date, then its source id (the listing's order is the
/// date descending, then the source ascending).
fn release_cursor(r: &Release) -> String {
    format!("{}|{}", r.as_of, r.source)
}

/// True when release `r` comes after the release of cursor text `after`.
fn after_cursor(r: &Release, after: &str) -> bool {
    let Some((date, source)) = after.split_once('|') else {
        return true;
    };
    let date = date.parse::<Date>().ok();
    match date {
        Some(d) if r.as_of != d => r.as_of < d,
        Some(_) => r.source.as_str() > source,
        None => true,
    }
}

/// `ListReleases`: one page of the releases a filter selects, newest first.
pub(super) fn list_releases(
    state: &State,
    r: &wire::ListReleasesRequest,
) -> Result<wire::ListReleasesResponse, StatsError> {
    let (filter, page): (ReleaseFilter, _) = cursor_request(r)?;
    let releases = state.read()?.releases(&filter);
    let mut rest = releases
        .iter()
        .filter(|x| page.after.as_deref().is_none_or(|a| after_cursor(x, a)));
    let chosen: Vec<&Release> = rest.by_ref().take(page.size).collect();
    let more = rest.next().is_some();
    Ok(wire::ListReleasesResponse {
        next_page_token: page.next_token(chosen.last().map(|x| release_cursor(x)), more),
        releases: chosen.into_iter().map(release).collect(),
    })
}

fn release(r: &Release) -> wire::Release {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    wire::Release {
        source: r.source.resource_name(),
        as_of_date: Some(date_to_wire(r.as_of)),
        figure_count: count(r.figure_count),
        revision_count: count(r.revision_count),
        series_count: count(r.series_count),
        first_import_time: Some(answers::timestamp(r.first_import_micros)),
        last_import_time: Some(answers::timestamp(r.last_import_micros)),
    }
}

/// `DiffVintages`: one page of the changes between two vintages, in listing order.
pub(super) fn diff(
    state: &State,
    r: &wire::DiffVintagesRequest,
) -> Result<wire::DiffVintagesResponse, StatsError> {
    let (q, page): (VintageDiffQuery, _) = cursor_request(r)?;
    let after =
        match &page.after {
            Some(text) => Some(ListKey::decode(text).ok_or_else(|| {
                StatsError::invalid("page_token", "names no figure of this listing")
            })?),
            None => None,
        };
    let engine = state.read()?;
    let (changes, more) = engine.vintage_diff(&q, after.as_ref(), page.size);
    let last = changes.last().and_then(|c| engine.list_key(c.figure));
    let next_page_token = page.next_token(last.map(|k| k.encode()), more);
    let changes = changes
        .iter()
        .map(|c| {
            let figure = answers::figure(&engine, c.figure)?;
            let previous = c
                .previous
                .map(|p| answers::figure(&engine, p))
                .transpose()?;
            let delta_units = c
                .previous_units
                .map(|p| answers::units(c.units) - answers::units(p));
            Ok(wire::VintageChange {
                kind: match c.kind {
                    VintageChangeKind::Added => wire::VintageChangeKind::Added,
                    VintageChangeKind::Revised => wire::VintageChangeKind::Revised,
                    VintageChangeKind::Superseded => wire::VintageChangeKind::Superseded,
                } as i32,
                figure: Some(figure),
                previous,
                delta_units,
            })
        })
        .collect::<Result<Vec<_>, StatsError>>()?;
    Ok(wire::DiffVintagesResponse {
        changes,
        next_page_token,
    })
}

/// `ComputeMeasures`.
pub(super) fn measures(
    state: &State,
    r: &wire::ComputeMeasuresRequest,
) -> Result<wire::ComputeMeasuresResponse, StatsError> {
    let q: MeasuresQuery = query(r)?;
    let engine = state.read()?;
    let answer = engine.measures(&q);
    let cited = Cited::new(&engine, &state.wire_figures);
    measures_response(&answer, q.percent_decimals, &cited)
}

fn measures_response(
    a: &MeasuresAnswer,
    decimals: u32,
    cited: &Cited<'_>,
) -> Result<wire::ComputeMeasuresResponse, StatsError> {
    let index = |i: usize| i32::try_from(i).unwrap_or(i32::MAX);
    Ok(wire::ComputeMeasuresResponse {
        measures: a
            .measures
            .iter()
            .map(|m| wire::Measure {
                series: Some(series_key_to_wire(&m.series)),
                source: m.source.resource_name(),
                total: Some(answers::total(&m.total)),
                stages: m.stages.iter().map(|s| s.to_wire()).collect(),
            })
            .collect(),
        divergences: a
            .divergences
            .iter()
            .map(|d| wire::Divergence {
                first: index(d.first),
                second: index(d.second),
                same_basis: d.same_basis,
                ratio: answers::ratio(Some(&d.ratio), decimals),
                flagged: d.flagged,
            })
            .collect(),
        provenance: cited.provenance(&a.figures)?,
    })
}
