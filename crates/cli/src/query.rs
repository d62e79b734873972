//! The stats commands: build the request, call, print.

use autointel_domain::{Date, Dimension, OrganizationId, RollupMode, SeriesKey};
use autointel_proto::convert::types::{date_to_wire, month_range_to_wire, series_key_to_wire};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::stats as wire;
use autointel_proto::types as twire;

use crate::args::{
    BreakdownArgs, CompareArgs, DestinationsArgs, ForecastAccuracyArgs, Override, RankArgs,
    RevisionsArgs, RollupArgs, Series, SeriesArgs, ShareArgs, TargetProgressArgs, TotalArgs,
};
use crate::client::Stats;
use crate::failure::Failure;
use crate::output::{Format, Table, print, signed_thousands, thousands};

mod coverage;
mod destinations;
mod vintages;

use coverage::Spans;
pub use destinations::destinations;
pub use vintages::{diff, measures, releases, watch};

type Outcome = Result<(), anyhow::Error>;

fn org_id(id: &str, flag: &str) -> Result<OrganizationId, Failure> {
    OrganizationId::parse(id).map_err(|e| Failure::invalid(format!("error: --{flag}: {e}")))
}

/// The series key the flags name.
pub(crate) fn series_key(s: &Series) -> Result<SeriesKey, Failure> {
    Ok(SeriesKey {
        organization: s
            .organization
            .as_deref()
            .map(|o| org_id(o, "organization"))
            .transpose()?,
        basis: s.basis,
        flow: s.flow,
        market: s.market.clone(),
        scope: s.scope,
        powertrain: s.powertrain,
        destination: None,
    })
}

/// The series key the flags name, on the wire.
pub(crate) fn wire_series(s: &Series) -> Result<twire::SeriesKey, Failure> {
    Ok(series_key_to_wire(&series_key(s)?))
}

fn as_of(d: Option<Date>) -> Option<autointel_proto::google::r#type::Date> {
    d.map(date_to_wire)
}

/// `2023-01..2023-11` from the wire.
pub fn range_text(r: Option<&twire::MonthRange>) -> String {
    let ym = |m: Option<&twire::YearMonth>| {
        m.map(|m| format!("{:04}-{:02}", m.year, m.month))
            .unwrap_or_default()
    };
    match r {
        Some(r) if r.start == r.end => ym(r.start.as_ref()),
        Some(r) => format!("{}..{}", ym(r.start.as_ref()), ym(r.end.as_ref())),
        None => String::new(),
    }
}

fn series_text(k: Option<&twire::SeriesKey>) -> String {
    let Some(k) = k else { return String::new() };
    let token = |n: i32, f: fn(i32) -> Option<&'static str>| f(n).unwrap_or("?").to_owned();
    format!(
        "{} {} {} {} {} {}",
        k.organization
            .strip_prefix("organizations/")
            .unwrap_or("(whole market)"),
        token(k.basis, |n| autointel_domain::MeasureBasis::lookup(n)
            .map(|v| v.as_str())),
        token(k.flow, |n| autointel_domain::Flow::lookup(n)
            .map(|v| v.as_str())),
        k.market,
        token(k.scope, |n| autointel_domain::VehicleScope::lookup(n)
            .map(|v| v.as_str())),
        token(k.powertrain, |n| autointel_domain::Powertrain::lookup(n)
            .map(|v| v.as_str())),
    )
}

/// Units of a total, or which months lack a figure.
fn total_text(t: Option<&wire::Total>) -> String {
    Spans::default().total_text(t)
}

/// True when `t` has no number.
fn incomplete(t: Option<&wire::Total>) -> bool {
    t.is_some_and(|t| t.units.is_none())
}

fn percent(r: Option<&twire::Ratio>) -> String {
    r.map(|r| format!("{}%", r.percent))
        .unwrap_or_else(|| "n/a".to_owned())
}

fn provenance_notes(table: &mut Table, p: Option<&wire::Provenance>) {
    let Some(p) = p else { return };
    let figures = p.figures.len();
    if figures > 0 {
        table.note(format!("Figures used: {figures}"));
    }
    for s in &p.sources {
        table.note(format!(
            "Source: {} — {} [{}]",
            s.publisher, s.title, s.name
        ));
    }
}

/// `autointel total`.
pub async fn total(mut client: Stats, args: TotalArgs, format: Format) -> Outcome {
    let request = wire::ComputeTotalRequest {
        source: args.when.source_name(),
        series: Some(wire_series(&args.series)?),
        period: Some(month_range_to_wire(args.when.period)),
        as_of_date: as_of(args.when.as_of_date),
    };
    let response = client.compute_total(request.clone()).await?.into_inner();
    let spans = Spans::of(
        &mut client,
        incomplete(response.total.as_ref()),
        request.series.as_ref(),
        request.period.as_ref(),
        request.as_of_date,
    )
    .await;
    print(
        format,
        &response,
        "autointel.stats.v1.ComputeTotalResponse",
        |r| {
            let mut t = Table::new(&["series", "period", "units"]);
            let key = series_key(&args.series)
                .map(|k| k.to_string())
                .unwrap_or_default();
            t.row(vec![
                key,
                range_text(r.total.as_ref().and_then(|t| t.period.as_ref())),
                spans.total_text(r.total.as_ref()),
            ]);
            provenance_notes(&mut t, r.provenance.as_ref());
            t
        },
    )
}

fn change_row(label: &str, c: &twire::Change) -> Vec<String> {
    vec![
        label.to_owned(),
        thousands(c.current_units),
        thousands(c.prior_units),
        signed_thousands(c.absolute_change),
        percent(c.relative_change.as_ref()),
    ]
}

/// `autointel compare`.
pub async fn compare(mut client: Stats, args: CompareArgs, format: Format) -> Outcome {
    let request = wire::ComputeChangeRequest {
        source: args.when.source_name(),
        series: Some(wire_series(&args.series)?),
        period: Some(month_range_to_wire(args.when.period)),
        comparison: args.comparison.to_wire(),
        prior_period: args.prior_period.map(month_range_to_wire),
        as_of_date: as_of(args.when.as_of_date),
        percent_decimals: Some(args.percent_decimals),
    };
    let response = client.compute_change(request).await?.into_inner();
    print(
        format,
        &response,
        "autointel.stats.v1.ComputeChangeResponse",
        |r| {
            let mut t = Table::new(&["change", "current", "prior", "absolute", "percent"]);
            t.title = Some(format!(
                "{}: {} vs {}",
                series_key(&args.series)
                    .map(|k| k.to_string())
                    .unwrap_or_default(),
                range_text(r.current.as_ref().and_then(|c| c.period.as_ref())),
                range_text(r.prior.as_ref().and_then(|c| c.period.as_ref())),
            ));
            match &r.change {
                Some(c) => t.row(change_row("reported", c)),
                None => {
                    t.note(format!("current: {}", total_text(r.current.as_ref())));
                    t.note(format!("prior: {}", total_text(r.prior.as_ref())));
                }
            }
            if let Some(c) = &r.like_for_like_change {
                t.row(change_row("like-for-like", c));
            }
            provenance_notes(&mut t, r.provenance.as_ref());
            t
        },
    )
}

/// `autointel series`.
pub async fn series(mut client: Stats, args: SeriesArgs, format: Format) -> Outcome {
    let request = wire::ComputeSeriesRequest {
        source: args.when.source_name(),
        series: Some(wire_series(&args.series)?),
        period: Some(month_range_to_wire(args.when.period)),
        granularity: args.granularity.to_wire(),
        cumulative_within_year: args.cumulative_within_year,
        include_events: args.include_events,
        as_of_date: as_of(args.when.as_of_date),
    };
    let response = client.compute_series(request.clone()).await?.into_inner();
    let spans = Spans::of(
        &mut client,
        response.points.iter().any(|p| incomplete(Some(p))),
        request.series.as_ref(),
        request.period.as_ref(),
        request.as_of_date,
    )
    .await;
    print(
        format,
        &response,
        "autointel.stats.v1.ComputeSeriesResponse",
        |r| {
            let mut t = Table::new(&["period", "units"]);
            for p in &r.points {
                t.row(vec![
                    range_text(p.period.as_ref()),
                    spans.total_text(Some(p)),
                ]);
            }
            for e in &r.events {
                t.note(format!(
                    "Event: {} — {} [{}]",
                    crate::registry::date_text(e),
                    e.title,
                    e.name
                ));
            }
            provenance_notes(&mut t, r.provenance.as_ref());
            t
        },
    )
}

/// `rank` compares organisations: the series names none.
pub(crate) fn refuse_rank_organization(args: &RankArgs) -> Result<(), Failure> {
    if args.series.organization.is_some() {
        return Err(Failure::invalid(
            "error: rank compares organisations: leave out --organization",
        ));
    }
    Ok(())
}

/// `autointel rank`.
pub async fn rank(mut client: Stats, args: RankArgs, format: Format) -> Outcome {
    refuse_rank_organization(&args)?;
    let request = wire::ComputeRankingRequest {
        source: args.when.source_name(),
        series: Some(wire_series(&args.series)?),
        period: Some(month_range_to_wire(args.when.period)),
        limit: args.limit,
        as_of_date: as_of(args.when.as_of_date),
        percent_decimals: Some(args.percent_decimals),
        group_mode: args.mode.map_or(0, WireEnum::to_wire),
    };
    let response = client.compute_ranking(request).await?.into_inner();
    print(
        format,
        &response,
        "autointel.stats.v1.ComputeRankingResponse",
        |r| ranking_table(r, args.mode),
    )
}

/// A ranking as a table: of organisations, or (with the `mode` it was asked in) of groups
/// with their exact equity-share values and the rollups' assumptions under it.
fn ranking_table(r: &wire::ComputeRankingResponse, mode: Option<RollupMode>) -> Table {
    let ranked = if mode.is_some() {
        "groups"
    } else {
        "organisations"
    };
    let mut t = Table::new(&["rank", "organization", "units", "share", "yoy"]);
    for e in &r.entries {
        t.row(vec![
            e.rank.to_string(),
            e.organization
                .trim_start_matches("organizations/")
                .to_owned(),
            thousands(e.units),
            percent(e.share.as_ref()),
            yoy_text(e.year_over_year.as_ref()),
        ]);
    }
    t.note(format!(
        "Total: {} ({})",
        thousands(r.total_units),
        if r.total_is_market {
            "whole market".to_owned()
        } else {
            format!("sum of ranked {ranked}")
        }
    ));
    if let Some(mode) = mode {
        t.note(format!("Groups ranked by their {mode} rollup"));
        for e in &r.entries {
            if let Some(exact) = &e.exact_units
                && exact.denominator != 1
            {
                t.note(format!(
                    "{}: exactly {}/{}",
                    e.organization.trim_start_matches("organizations/"),
                    exact.numerator,
                    exact.denominator
                ));
            }
        }
        for assumption in &r.assumptions {
            t.note(format!("Assumed: {assumption}"));
        }
    }
    if r.incomplete_count > 0 {
        t.note(format!(
            "{} {ranked} left out: their figures do not cover the period",
            r.incomplete_count
        ));
    }
    provenance_notes(&mut t, r.provenance.as_ref());
    t
}

/// A year-on-year change as its percentage, `n/a` when last year is not covered.
fn yoy_text(c: Option<&twire::Change>) -> String {
    c.map(|c| percent(c.relative_change.as_ref()))
        .unwrap_or_else(|| "n/a".to_owned())
}

fn apply(base: &Series, overrides: &[Override]) -> Result<Series, Failure> {
    let mut s = base.clone();
    for o in overrides {
        let bad = |e: autointel_domain::ValueError| {
            Failure::invalid(format!("error: {}={}: {e}", o.dimension, o.value))
        };
        match o.dimension.as_str() {
            "organization" => s.organization = Some(o.value.clone()),
            "basis" => s.basis = o.value.parse().map_err(bad)?,
            "flow" => s.flow = o.value.parse().map_err(bad)?,
            "market" => s.market = o.value.parse().map_err(bad)?,
            "scope" => s.scope = o.value.parse().map_err(bad)?,
            "powertrain" => s.powertrain = o.value.parse().map_err(bad)?,
            other => {
                return Err(Failure::invalid(format!(
                    "error: unknown dimension {other}"
                )));
            }
        }
    }
    Ok(s)
}

/// `autointel share`.
pub async fn share(mut client: Stats, args: ShareArgs, format: Format) -> Outcome {
    let (numerator, denominator) = share_sides(&args)?;
    share_request(&mut client, &args, numerator, denominator, format).await
}

/// The numerator and denominator series of `share`'s flags.
pub(crate) fn share_sides(args: &ShareArgs) -> Result<(Series, Series), Failure> {
    let numerator = apply(&args.series, &args.numerator)?;
    let mut denominator_base = args.series.clone();
    // An organisation's share is of the whole market unless --denominator names another.
    if args.numerator.iter().any(|o| o.dimension == "organization") {
        denominator_base.organization = None;
    }
    let denominator = apply(&denominator_base, &args.denominator)?;
    Ok((numerator, denominator))
}

async fn share_request(
    client: &mut Stats,
    args: &ShareArgs,
    numerator: Series,
    denominator: Series,
    format: Format,
) -> Outcome {
    let request = wire::ComputeShareRequest {
        source: args.when.source_name(),
        numerator: Some(wire_series(&numerator)?),
        denominator: Some(wire_series(&denominator)?),
        period: Some(month_range_to_wire(args.when.period)),
        granularity: args.granularity.to_wire(),
        as_of_date: as_of(args.when.as_of_date),
        percent_decimals: Some(args.percent_decimals),
    };
    let response = client.compute_share(request.clone()).await?.into_inner();
    let numerator_spans = Spans::of(
        client,
        response
            .points
            .iter()
            .any(|p| incomplete(p.numerator.as_ref())),
        request.numerator.as_ref(),
        request.period.as_ref(),
        request.as_of_date,
    )
    .await;
    let denominator_spans = Spans::of(
        client,
        response
            .points
            .iter()
            .any(|p| incomplete(p.denominator.as_ref())),
        request.denominator.as_ref(),
        request.period.as_ref(),
        request.as_of_date,
    )
    .await;
    print(
        format,
        &response,
        "autointel.stats.v1.ComputeShareResponse",
        |r| {
            let mut t = Table::new(&["period", "numerator", "denominator", "share"]);
            t.title = Some(format!(
                "{} over {}",
                series_key(&numerator)
                    .map(|k| k.to_string())
                    .unwrap_or_default(),
                series_key(&denominator)
                    .map(|k| k.to_string())
                    .unwrap_or_default()
            ));
            for p in &r.points {
                t.row(vec![
                    range_text(p.numerator.as_ref().and_then(|n| n.period.as_ref())),
                    numerator_spans.total_text(p.numerator.as_ref()),
                    denominator_spans.total_text(p.denominator.as_ref()),
                    percent(p.share.as_ref()),
                ]);
            }
            if r.points.iter().any(|p| incomplete(p.denominator.as_ref())) {
                t.note(format!(
                    "Only a figure of {} itself answers the denominator where it is incomplete: \
                     its flows, markets or organisations are never summed into it",
                    series_key(&denominator)
                        .map(|k| k.to_string())
                        .unwrap_or_default()
                ));
            }
            provenance_notes(&mut t, r.provenance.as_ref());
            t
        },
    )
}

/// `autointel breakdown`.
pub async fn breakdown(mut client: Stats, args: BreakdownArgs, format: Format) -> Outcome {
    let mut series = wire_series(&args.series)?;
    let mut group_by = Vec::new();
    for d in &args.group_by {
        match d {
            Dimension::Organization => series.organization.clear(),
            Dimension::Basis => series.basis = 0,
            Dimension::Flow => series.flow = 0,
            Dimension::Market => series.market.clear(),
            Dimension::Scope => series.scope = 0,
            Dimension::Powertrain => series.powertrain = 0,
        }
        group_by.push(d.to_wire());
    }
    let request = wire::ComputeBreakdownRequest {
        source: args.when.source_name(),
        series: Some(series),
        group_by,
        period: Some(month_range_to_wire(args.when.period)),
        as_of_date: as_of(args.when.as_of_date),
    };
    let response = client.compute_breakdown(request).await?.into_inner();
    print(
        format,
        &response,
        "autointel.stats.v1.ComputeBreakdownResponse",
        |r| {
            let mut t = Table::new(&["series", "units"]);
            for row in &r.rows {
                t.row(vec![
                    series_text(row.series.as_ref()),
                    total_text(row.total.as_ref()),
                ]);
            }
            provenance_notes(&mut t, r.provenance.as_ref());
            t
        },
    )
}

/// `autointel rollup`.
pub async fn rollup(mut client: Stats, args: RollupArgs, format: Format) -> Outcome {
    if args.series.organization.is_none() {
        return Err(Failure::invalid(
            "error: rollup needs --organization, the organisation at the top",
        )
        .into());
    }
    let request = wire::ComputeRollupRequest {
        source: args.when.source_name(),
        series: Some(wire_series(&args.series)?),
        period: Some(month_range_to_wire(args.when.period)),
        hierarchy_date: as_of(args.hierarchy_date),
        as_of_date: as_of(args.when.as_of_date),
        mode: args.mode.to_wire(),
    };
    let response = client.compute_rollup(request).await?.into_inner();
    let mode = args.mode;
    print(
        format,
        &response,
        "autointel.stats.v1.ComputeRollupResponse",
        |r| {
            let mut t = Table::new(&["organization", "units", "stake", "counted", "why"]);
            for c in &r.contributions {
                t.row(vec![
                    c.organization
                        .trim_start_matches("organizations/")
                        .to_owned(),
                    c.units.map(thousands).unwrap_or_else(|| "-".to_owned()),
                    c.stake
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), |s| format!("{}%", s.percent)),
                    if c.counted { "yes" } else { "no" }.to_owned(),
                    c.reason.clone(),
                ]);
            }
            let label = match mode {
                RollupMode::Gross => "Rollup".to_owned(),
                other => format!("Rollup ({other})"),
            };
            t.note(format!("{label}: {}", total_text(r.total.as_ref())));
            for s in &r.segments {
                let months = range_text(s.period.as_ref());
                let on = s.hierarchy_date.as_ref().map_or_else(String::new, |d| {
                    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
                });
                t.note(format!(
                    "  {months} (hierarchy of {on}): {}",
                    total_text(s.total.as_ref())
                ));
            }
            if let Some(exact) = &r.exact_units
                && exact.denominator != 1
            {
                t.note(format!(
                    "Exactly {}/{} units (rounded above for display)",
                    exact.numerator, exact.denominator
                ));
            }
            for assumption in &r.assumptions {
                t.note(format!("Assumed: {assumption}"));
            }
            provenance_notes(&mut t, r.provenance.as_ref());
            t
        },
    )
}

/// `autointel target-progress`.
pub async fn target_progress(
    mut client: Stats,
    args: TargetProgressArgs,
    format: Format,
) -> Outcome {
    let id = autointel_domain::TargetId::parse(&args.target)
        .map_err(|e| Failure::invalid(format!("error: target: {e}")))?;
    let request = wire::ComputeTargetProgressRequest {
        source: args
            .source
            .as_ref()
            .map(ResourceId::resource_name)
            .unwrap_or_default(),
        target: id.resource_name(),
        as_of_date: as_of(args.as_of_date),
        percent_decimals: Some(1),
    };
    let response = client.compute_target_progress(request).await?.into_inner();
    print(
        format,
        &response,
        "autointel.stats.v1.ComputeTargetProgressResponse",
        |r| {
            let mut t = Table::new(&[
                "target",
                "period",
                "actual",
                "threshold",
                "reached",
                "status",
            ]);
            let status = wire::TargetProgressStatus::try_from(r.status)
                .map(|s| {
                    s.as_str_name()
                        .trim_start_matches("TARGET_PROGRESS_STATUS_")
                        .to_lowercase()
                })
                .unwrap_or_default();
            t.row(vec![
                args.target.clone(),
                range_text(r.target.as_ref().and_then(|t| t.period.as_ref())),
                total_text(r.actual.as_ref()),
                thousands(r.threshold_units),
                percent(r.progress.as_ref()),
                status.replace('_', " "),
            ]);
            if let Some(target) = &r.target {
                t.note(target.description.clone());
            }
            provenance_notes(&mut t, r.provenance.as_ref());
            // A plan is shown beside the actual, never counted in it.
            if let Some(plan) = &r.plan {
                t.note(format!(
                    "Plan or forecast for the period (not counted above): {} over {}",
                    total_text(Some(plan)),
                    range_text(plan.period.as_ref())
                ));
                for s in r.plan_provenance.iter().flat_map(|p| &p.sources) {
                    t.note(format!(
                        "Plan source: {} — {} [{}]",
                        s.publisher, s.title, s.name
                    ));
                }
            }
            t
        },
    )
}

/// `autointel forecast-accuracy`.
pub async fn forecast_accuracy(
    mut client: Stats,
    args: ForecastAccuracyArgs,
    format: Format,
) -> Outcome {
    let source = args.when.source_name();
    let request = wire::ComputeForecastAccuracyRequest {
        series: Some(wire_series(&args.series)?),
        period: Some(month_range_to_wire(args.when.period)),
        source,
        as_of_date: as_of(args.when.as_of_date),
        percent_decimals: Some(args.percent_decimals),
    };
    let response = client
        .compute_forecast_accuracy(request)
        .await?
        .into_inner();
    print(
        format,
        &response,
        "autointel.stats.v1.ComputeForecastAccuracyResponse",
        |r| {
            let mut t = Table::new(&["source", "as of", "forecast", "error", "error %"]);
            for f in &r.forecasts {
                let as_of = f
                    .as_of_date
                    .as_ref()
                    .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
                    .unwrap_or_default();
                t.row(vec![
                    f.source
                        .strip_prefix("sources/")
                        .unwrap_or(&f.source)
                        .to_owned(),
                    as_of,
                    thousands(f.units),
                    f.error_units
                        .map(signed_thousands)
                        .unwrap_or_else(|| "n/a".to_owned()),
                    percent(f.error.as_ref()),
                ]);
            }
            t.note(format!(
                "Actual over {}: {}",
                range_text(r.actual.as_ref().and_then(|a| a.period.as_ref())),
                total_text(r.actual.as_ref())
            ));
            if r.forecasts.is_empty() {
                t.note("No forecast for exactly this period.".to_owned());
            }
            provenance_notes(&mut t, r.provenance.as_ref());
            t
        },
    )
}

/// `autointel revisions`: every revision, following the service's pages.
pub async fn revisions(mut client: Stats, args: RevisionsArgs, format: Format) -> Outcome {
    let mut request = wire::GetRevisionHistoryRequest {
        series: Some(wire_series(&args.series)?),
        period: Some(month_range_to_wire(args.period)),
        page_size: 1000,
        page_token: String::new(),
    };
    let mut response = wire::GetRevisionHistoryResponse::default();
    loop {
        let page = client
            .get_revision_history(request.clone())
            .await?
            .into_inner();
        response.revisions.extend(page.revisions);
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    print(
        format,
        &response,
        "autointel.stats.v1.GetRevisionHistoryResponse",
        |r| {
            let mut t = Table::new(&["stage", "as of", "units", "change", "source", "figure"]);
            for rev in &r.revisions {
                let Some(f) = &rev.figure else { continue };
                let stage = wire::ReleaseStage::try_from(f.stage)
                    .map(|s| {
                        s.as_str_name()
                            .trim_start_matches("RELEASE_STAGE_")
                            .to_lowercase()
                    })
                    .unwrap_or_default();
                let units = match f.quantity {
                    Some(wire::sales_figure::Quantity::Units(u)) => thousands(u),
                    _ => String::new(),
                };
                t.row(vec![
                    stage,
                    f.as_of_date
                        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
                        .unwrap_or_default(),
                    units,
                    rev.change_from_previous_units
                        .map(signed_thousands)
                        .unwrap_or_default(),
                    f.source.trim_start_matches("sources/").to_owned(),
                    f.name.trim_start_matches("salesFigures/").to_owned(),
                ]);
            }
            t
        },
    )
}
