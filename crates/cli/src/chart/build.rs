//! A chart's model built from the services' answers: the grain's periods zipped with the
//! points, the figures over several months picked for the gaps, the events placed, the
//! title, notes and sources written. Pure: no I/O, so it is tested from in-memory answers.

use std::collections::HashSet;

use anyhow::{Context, anyhow, bail};
use autointel_domain::{Date, Granularity, MonthRange, PartialDate, SeriesKey, grain_periods};
use autointel_proto::convert::types::{
    month_range_from_wire, partial_date_from_wire, series_key_to_wire,
};
use autointel_proto::registry as rwire;
use autointel_proto::stats as swire;
use autointel_proto::types as twire;

use super::model::{Bar, BarChart, Body, Chart, EventMark, Measure, Point, Span, TimeChart};
use crate::output::thousands;

/// At most this many events are marked; more are counted in a note.
pub const MAX_EVENTS: usize = 12;
/// At most this many sources are listed; more are counted.
pub const MAX_SOURCES: usize = 4;

fn range(w: Option<&twire::MonthRange>, what: &str) -> anyhow::Result<MonthRange> {
    let w = w.ok_or_else(|| anyhow!("the service answered {what} without a period"))?;
    month_range_from_wire(w)
        .map_err(|e| anyhow!("the service answered {what} with a bad period: {e}"))
}

fn grain_word(g: Granularity) -> &'static str {
    match g {
        Granularity::Month => "month",
        Granularity::Quarter => "quarter",
        Granularity::Year => "year",
    }
}

/// `Nissan China Investment Co., Ltd. · 日产（中国）投资有限公司`.
pub fn organization_names(o: &rwire::Organization) -> String {
    match o.chinese_name.trim() {
        "" => o.english_name.clone(),
        chinese => format!("{} · {chinese}", o.english_name),
    }
}

fn as_of_line(as_of: Option<Date>) -> Option<String> {
    as_of.map(|d| format!("As known on {d}"))
}

/// `publisher — title [sources/id]` for each source, each once, at most [`MAX_SOURCES`].
fn source_lines<'a>(sources: impl IntoIterator<Item = &'a rwire::Source>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut lines = Vec::new();
    let mut more = 0usize;
    for s in sources {
        if !seen.insert(s.name.as_str()) {
            continue;
        }
        if lines.len() < MAX_SOURCES {
            lines.push(format!(
                "Source: {} — {} [{}]",
                s.publisher, s.title, s.name
            ));
        } else {
            more += 1;
        }
    }
    if more > 0 {
        lines.push(format!("… and {more} more sources"));
    }
    lines
}

/// The events as marks, in date order, superseded ones left out, at most [`MAX_EVENTS`];
/// the count of those left out for lack of room.
fn event_marks(
    events: &[rwire::Event],
    axis: MonthRange,
) -> anyhow::Result<(Vec<EventMark>, usize)> {
    let mut marks = Vec::new();
    for e in events {
        if !e.superseded_by.is_empty() {
            continue;
        }
        let Some(date) = e.occurred_date.as_ref().or(e.announced_date.as_ref()) else {
            continue;
        };
        let date: PartialDate = partial_date_from_wire(date)
            .with_context(|| format!("the registry answered {} with a bad date", e.name))?;
        let (first, last) = (date.first_day(), date.last_day());
        let (start, end) = (Date::first_of(axis.start()), Date::last_of(axis.end()));
        if last < start || first > end {
            continue;
        }
        marks.push((
            date,
            EventMark {
                first: first.max(start),
                last: last.min(end),
                when: date.to_string(),
                title: e.title.clone(),
            },
        ));
    }
    marks.sort_by(|a, b| a.0.timeline_cmp(&b.0));
    let left_out = marks.len().saturating_sub(MAX_EVENTS);
    Ok((
        marks.into_iter().take(MAX_EVENTS).map(|(_, m)| m).collect(),
        left_out,
    ))
}

/// The smallest range holding every point without a value: where figures spanning several
/// periods may say what the points cannot. `None` when every point has a value.
pub fn gap_hull(points: &[swire::Total]) -> anyhow::Result<Option<MonthRange>> {
    let mut hull: Option<(autointel_domain::YearMonth, autointel_domain::YearMonth)> = None;
    for p in points.iter().filter(|p| p.units.is_none()) {
        let r = range(p.period.as_ref(), "a point")?;
        hull = Some(match hull {
            None => (r.start(), r.end()),
            Some((a, b)) => (a.min(r.start()), b.max(r.end())),
        });
    }
    hull.map(|(a, b)| MonthRange::new(a, b).map_err(|e| anyhow!("{e}")))
        .transpose()
}

/// The figures of exactly `key` that cover several months as one number and that no point
/// used, overlapping a point without a value: the latest (by stage, then as-of date) of each
/// period, in period order. Forecasts are left out (a chart shows actuals).
pub fn spanning_figures<'a>(
    key: &SeriesKey,
    points: &[Point],
    used: &HashSet<&str>,
    listed: &'a [swire::SalesFigure],
) -> anyhow::Result<Vec<(MonthRange, &'a swire::SalesFigure)>> {
    let key = series_key_to_wire(key);
    let mut picked: Vec<(MonthRange, &swire::SalesFigure)> = Vec::new();
    for f in listed {
        if f.series.as_ref() != Some(&key)
            || f.nature == swire::FigureNature::Forecast as i32
            || used.contains(f.name.as_str())
        {
            continue;
        }
        let period = range(f.period.as_ref(), &f.name)?;
        if period.is_single_month()
            || points
                .iter()
                .any(|p| p.period == period && p.value.is_some())
            || !points
                .iter()
                .any(|p| p.value.is_none() && p.period.overlaps(period))
        {
            continue;
        }
        let better = |other: &swire::SalesFigure| {
            let date = |f: &swire::SalesFigure| f.as_of_date.map(|d| (d.year, d.month, d.day));
            // Release stages are numbered in order (estimate < preliminary < final < restated).
            (f.stage, date(f)) > (other.stage, date(other))
        };
        match picked.iter_mut().find(|(p, _)| *p == period) {
            Some(slot) if better(slot.1) => slot.1 = f,
            Some(_) => {}
            None => picked.push((period, f)),
        }
    }
    picked.sort_by_key(|(p, _)| (p.start(), p.end()));
    Ok(picked)
}

/// What `chart series` draws, as the services answered it.
#[derive(Debug)]
pub struct SeriesInput<'a> {
    /// The series asked for.
    pub key: &'a SeriesKey,
    /// The months asked for.
    pub period: MonthRange,
    /// The grain asked for.
    pub granularity: Granularity,
    /// Whether points are year-to-date totals.
    pub cumulative: bool,
    /// The as-of date asked for.
    pub as_of: Option<Date>,
    /// `ComputeSeries`'s answer.
    pub answer: &'a swire::ComputeSeriesResponse,
    /// Figures of the series listed over the gaps (`ListSalesFigures`), if any.
    pub listed: &'a [swire::SalesFigure],
    /// The organisation's events over the period.
    pub events: &'a [rwire::Event],
    /// The organisation, for its names.
    pub organization: Option<&'a rwire::Organization>,
    /// Sources the listed figures cite that the answer's provenance does not hold.
    pub extra_sources: &'a [rwire::Source],
}

/// The points of `answer` placed on the grain's periods (a year-to-date point sits on the
/// period whose end it runs to).
fn placed_points(
    periods: &[MonthRange],
    totals: &[swire::Total],
    what: &str,
) -> anyhow::Result<Vec<Point>> {
    if periods.len() != totals.len() {
        bail!(
            "the service answered {} {what} points for {} periods",
            totals.len(),
            periods.len()
        );
    }
    Ok(periods
        .iter()
        .zip(totals)
        .map(|(&period, t)| Point {
            period,
            #[allow(clippy::cast_precision_loss)]
            value: t.units.map(|u| u as f64),
            text: t.units.map(thousands),
        })
        .collect())
}

/// The chart of a series.
pub fn series(input: SeriesInput<'_>) -> anyhow::Result<Chart> {
    let periods = grain_periods(input.period, input.granularity);
    let points = placed_points(&periods, &input.answer.points, "series")?;
    let used: HashSet<&str> = input
        .answer
        .provenance
        .iter()
        .flat_map(|p| &p.figures)
        .map(|f| f.name.as_str())
        .collect();
    let spans: Vec<Span> = if input.cumulative {
        Vec::new()
    } else {
        spanning_figures(input.key, &points, &used, input.listed)?
            .into_iter()
            .map(|(period, f)| {
                let units = match f.quantity {
                    Some(swire::sales_figure::Quantity::Units(u)) => u,
                    _ => 0,
                };
                Span {
                    period,
                    #[allow(clippy::cast_precision_loss)]
                    value: units as f64,
                    text: format!("{period}: {}", thousands(units)),
                }
            })
            .collect()
    };
    let (events, events_left_out) = event_marks(input.events, input.period)?;
    let grain = grain_word(input.granularity);
    let what = if input.cumulative {
        format!("year-to-date units by {grain}")
    } else {
        format!("units by {grain}")
    };
    let mut subtitle = Vec::new();
    if let Some(o) = input.organization {
        subtitle.push(organization_names(o));
    }
    subtitle.extend(as_of_line(input.as_of));
    let mut notes = Vec::new();
    if points.iter().any(|p| p.value.is_none()) {
        notes.push(format!(
            "Grey: no figure covers the {grain} (a gap in coverage, not zero); the line breaks there."
        ));
    }
    if !spans.is_empty() {
        notes.push(
            "A bar across several months is one figure for that whole span (e.g. January–November), \
             drawn at its total: it cannot be split into months."
                .to_owned(),
        );
    }
    if events_left_out > 0 {
        notes.push(format!(
            "{events_left_out} more events in the period are not marked."
        ));
    }
    let used_count = used.len() + spans.len();
    if used_count > 0 {
        notes.push(format!("Figures drawn: {used_count}"));
    }
    let sources = source_lines(
        input
            .answer
            .provenance
            .iter()
            .flat_map(|p| &p.sources)
            .chain(input.extra_sources),
    );
    Ok(Chart {
        title: format!("{} — {what}, {}", input.key, input.period),
        subtitle,
        body: Body::Time(TimeChart {
            range: input.period,
            measure: Measure::Units,
            line_label: what,
            points,
            spans,
            events,
        }),
        notes,
        sources,
    }
    .spelled())
}

/// What `chart share` draws, as the services answered it.
#[derive(Debug)]
pub struct ShareInput<'a> {
    /// The numerator's series.
    pub numerator: &'a SeriesKey,
    /// The denominator's series.
    pub denominator: &'a SeriesKey,
    /// The months asked for.
    pub period: MonthRange,
    /// The grain asked for.
    pub granularity: Granularity,
    /// The as-of date asked for.
    pub as_of: Option<Date>,
    /// `ComputeShare`'s answer.
    pub answer: &'a swire::ComputeShareResponse,
    /// The events of the numerator's organisation over the period.
    pub events: &'a [rwire::Event],
    /// The numerator's organisation, for its names.
    pub organization: Option<&'a rwire::Organization>,
}

/// Runs of consecutive periods (`2023-03..2023-05`) among `periods`, at most six, then a count.
fn runs_text(periods: &[MonthRange]) -> String {
    let mut runs: Vec<(MonthRange, MonthRange)> = Vec::new();
    for &p in periods {
        match runs.last_mut() {
            Some((_, last)) if last.end().succ() == Some(p.start()) => *last = p,
            _ => runs.push((p, p)),
        }
    }
    let mut texts: Vec<String> = runs
        .iter()
        .take(6)
        .map(|(a, b)| {
            MonthRange::new(a.start(), b.end()).map_or_else(|_| a.to_string(), |r| r.to_string())
        })
        .collect();
    if runs.len() > 6 {
        texts.push(format!("and {} more", runs.len() - 6));
    }
    texts.join(", ")
}

/// The chart of a share.
pub fn share(input: ShareInput<'_>) -> anyhow::Result<Chart> {
    let periods = grain_periods(input.period, input.granularity);
    if periods.len() != input.answer.points.len() {
        bail!(
            "the service answered {} share points for {} periods",
            input.answer.points.len(),
            periods.len()
        );
    }
    let mut points = Vec::with_capacity(periods.len());
    let (mut no_numerator, mut no_denominator) = (Vec::new(), Vec::new());
    for (&period, p) in periods.iter().zip(&input.answer.points) {
        if p.numerator.as_ref().and_then(|t| t.units).is_none() {
            no_numerator.push(period);
        }
        if p.denominator.as_ref().and_then(|t| t.units).is_none() {
            no_denominator.push(period);
        }
        let value = p.share.as_ref().and_then(|r| {
            #[allow(clippy::cast_precision_loss)]
            (r.denominator > 0).then(|| r.numerator as f64 / r.denominator as f64 * 100.0)
        });
        points.push(Point {
            period,
            value,
            text: p
                .share
                .as_ref()
                .filter(|_| value.is_some())
                .map(|r| format!("{}%", r.percent)),
        });
    }
    let (events, events_left_out) = event_marks(input.events, input.period)?;
    let grain = grain_word(input.granularity);
    let mut subtitle = vec![format!("Over {}", input.denominator)];
    if let Some(o) = input.organization {
        subtitle.push(organization_names(o));
    }
    subtitle.extend(as_of_line(input.as_of));
    let mut notes = Vec::new();
    if points.iter().any(|p| p.value.is_none()) {
        notes.push(format!(
            "Grey: no share for the {grain} (a gap, not zero); the line breaks there."
        ));
    }
    if !no_numerator.is_empty() {
        notes.push(format!(
            "No numerator figure tiles {}.",
            runs_text(&no_numerator)
        ));
    }
    if !no_denominator.is_empty() {
        notes.push(format!(
            "No denominator figure tiles {}.",
            runs_text(&no_denominator)
        ));
    }
    if events_left_out > 0 {
        notes.push(format!(
            "{events_left_out} more events in the period are not marked."
        ));
    }
    let used = input
        .answer
        .provenance
        .as_ref()
        .map_or(0, |p| p.figures.len());
    if used > 0 {
        notes.push(format!("Figures used: {used}"));
    }
    let what = format!("share by {grain}");
    Ok(Chart {
        title: format!("{} — {what}, {}", input.numerator, input.period),
        subtitle,
        body: Body::Time(TimeChart {
            range: input.period,
            measure: Measure::Percent,
            line_label: what,
            points,
            spans: Vec::new(),
            events,
        }),
        notes,
        sources: source_lines(input.answer.provenance.iter().flat_map(|p| &p.sources)),
    }
    .spelled())
}

/// What `chart rank` draws, as the services answered it.
#[derive(Debug)]
pub struct RankInput<'a> {
    /// The series every ranked organisation shares (no organisation).
    pub key: &'a SeriesKey,
    /// The months asked for.
    pub period: MonthRange,
    /// The as-of date asked for.
    pub as_of: Option<Date>,
    /// `ComputeRanking`'s answer.
    pub answer: &'a swire::ComputeRankingResponse,
    /// The ranked organisations, for their names (any missing is shown by its id).
    pub organizations: &'a [rwire::Organization],
}

/// The chart of a ranking.
pub fn ranking(input: RankInput<'_>) -> anyhow::Result<Chart> {
    let bars = input
        .answer
        .entries
        .iter()
        .map(|e| {
            let id = e.organization.trim_start_matches("organizations/");
            let label = input
                .organizations
                .iter()
                .find(|o| o.name == e.organization)
                .map_or_else(|| id.to_owned(), organization_names);
            let share = e
                .share
                .as_ref()
                .map(|r| format!(" ({}%)", r.percent))
                .unwrap_or_default();
            Bar {
                label: format!("{}. {label}", e.rank),
                #[allow(clippy::cast_precision_loss)]
                value: e.units as f64,
                text: format!("{}{share}", thousands(e.units)),
            }
        })
        .collect();
    let mut notes = vec![format!(
        "Total: {} ({}); shares are of it.",
        thousands(input.answer.total_units),
        if input.answer.total_is_market {
            "the whole market"
        } else {
            "the sum of the ranked organisations"
        }
    )];
    if input.answer.incomplete_count > 0 {
        notes.push(format!(
            "{} organisations left out: their figures do not cover the period.",
            input.answer.incomplete_count
        ));
    }
    let used = input
        .answer
        .provenance
        .as_ref()
        .map_or(0, |p| p.figures.len());
    if used > 0 {
        notes.push(format!("Figures used: {used}"));
    }
    Ok(Chart {
        title: format!("{} — ranking by units, {}", input.key, input.period),
        subtitle: as_of_line(input.as_of).into_iter().collect(),
        body: Body::Bars(BarChart { bars }),
        notes,
        sources: source_lines(input.answer.provenance.iter().flat_map(|p| &p.sources)),
    }
    .spelled())
}

/// The organisation of a series key as a resource name, if any.
pub fn organization_name(key: &SeriesKey) -> Option<String> {
    key.organization
        .as_ref()
        .map(autointel_proto::convert::ResourceId::resource_name)
}
