//! `autointel releases`, `diff`, `watch` and `measures`: vintages and sources side by side.

use std::io::Write as _;

use super::*;
use crate::args::{DiffArgs, FigureFilter, MeasuresArgs, ReleasesArgs, WatchArgs};
use crate::export::filter_request;
use crate::output::to_json;

/// A source id as a resource name, empty when none.
fn source_name(source: Option<&autointel_domain::SourceId>) -> String {
    source.map(ResourceId::resource_name).unwrap_or_default()
}

/// `2024-03-01` from the wire.
fn date_text(d: Option<&autointel_proto::google::r#type::Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

/// A figure's units as text (`-` when it has none in whole units).
fn figure_units(f: Option<&wire::SalesFigure>) -> String {
    match f.and_then(|f| f.quantity.as_ref()) {
        Some(wire::sales_figure::Quantity::Units(u)) => thousands(*u),
        Some(wire::sales_figure::Quantity::TenThousandUnits(t)) => format!("{t} ×10k"),
        None => "-".to_owned(),
    }
}

/// `autointel releases`: the release log, newest first, up to `--limit`.
pub async fn releases(mut client: Stats, args: ReleasesArgs, format: Format) -> Outcome {
    let mut all = wire::ListReleasesResponse::default();
    loop {
        let page_size = i32::try_from(args.limit - all.releases.len().min(args.limit))
            .unwrap_or(1000)
            .clamp(1, 1000);
        let page = client
            .list_releases(wire::ListReleasesRequest {
                page_size,
                page_token: std::mem::take(&mut all.next_page_token),
                source: source_name(args.source.as_ref()),
                from_as_of_date: as_of(args.from),
                to_as_of_date: as_of(args.to),
            })
            .await?
            .into_inner();
        all.releases.extend(page.releases);
        all.next_page_token = page.next_page_token;
        if all.next_page_token.is_empty() || all.releases.len() >= args.limit {
            break;
        }
    }
    all.releases.truncate(args.limit);
    print(
        format,
        &all,
        "autointel.stats.v1.ListReleasesResponse",
        |r| {
            let mut t = Table::new(&[
                "as of",
                "source",
                "figures",
                "revisions",
                "series",
                "last imported",
            ]);
            for x in &r.releases {
                t.row(vec![
                    date_text(x.as_of_date.as_ref()),
                    x.source.trim_start_matches("sources/").to_owned(),
                    thousands(x.figure_count),
                    thousands(x.revision_count),
                    thousands(x.series_count),
                    x.last_import_time
                        .as_ref()
                        .and_then(|ts| day_text(ts.seconds))
                        .unwrap_or_default(),
                ]);
            }
            t.title = Some("Releases".to_owned());
            if !r.next_page_token.is_empty() {
                t.note(format!(
                    "More releases follow; raise --limit (now {}).",
                    args.limit
                ));
            }
            t
        },
    )
}

/// The UTC date of Unix seconds.
fn day_text(seconds: i64) -> Option<String> {
    let days = i32::try_from(seconds.div_euclid(86_400)).ok()?;
    Date::from_days_since_epoch(days)
        .ok()
        .map(|d| d.to_string())
}

/// The `DiffVintages` filter fields of `--organization` … `--overlapping`.
fn diff_request(args: &DiffArgs) -> Result<wire::DiffVintagesRequest, Failure> {
    let f = filter_request(&args.filter)?;
    Ok(wire::DiffVintagesRequest {
        page_size: 0,
        page_token: String::new(),
        from_as_of_date: Some(date_to_wire(args.from)),
        to_as_of_date: Some(date_to_wire(args.to)),
        organization: f.organization,
        basis: f.basis,
        flow: f.flow,
        market: f.market,
        scope: f.scope,
        powertrain: f.powertrain,
        overlapping: f.overlapping,
        source: source_name(args.source.as_ref()),
    })
}

/// `autointel diff`: what changed between two vintages, up to `--limit` changes.
pub async fn diff(mut client: Stats, args: DiffArgs, format: Format) -> Outcome {
    let request = diff_request(&args)?;
    let mut all = wire::DiffVintagesResponse::default();
    loop {
        let page = client
            .diff_vintages(wire::DiffVintagesRequest {
                page_size: 1000,
                page_token: std::mem::take(&mut all.next_page_token),
                ..request.clone()
            })
            .await?
            .into_inner();
        all.changes.extend(page.changes);
        all.next_page_token = page.next_page_token;
        if all.next_page_token.is_empty() || all.changes.len() >= args.limit {
            break;
        }
    }
    all.changes.truncate(args.limit);
    print(
        format,
        &all,
        "autointel.stats.v1.DiffVintagesResponse",
        |r| {
            let mut t = Table::new(&[
                "change", "series", "period", "source", "before", "after", "delta", "as of",
            ]);
            for c in &r.changes {
                let f = c.figure.as_ref();
                let kind = match wire::VintageChangeKind::try_from(c.kind) {
                    Ok(wire::VintageChangeKind::Added) => "added",
                    Ok(wire::VintageChangeKind::Revised) => "revised",
                    Ok(wire::VintageChangeKind::Superseded) => "superseded",
                    _ => "?",
                };
                t.row(vec![
                    kind.to_owned(),
                    series_text(f.and_then(|f| f.series.as_ref())),
                    range_text(f.and_then(|f| f.period.as_ref())),
                    f.map(|f| f.source.trim_start_matches("sources/").to_owned())
                        .unwrap_or_default(),
                    c.previous
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), |p| figure_units(Some(p))),
                    figure_units(f),
                    c.delta_units
                        .map_or_else(|| "-".to_owned(), signed_thousands),
                    date_text(f.and_then(|f| f.as_of_date.as_ref())),
                ]);
            }
            t.title = Some(format!("Changes from {} to {}", args.from, args.to));
            if r.changes.is_empty() {
                t.note("Nothing changed between these dates.");
            }
            if !r.next_page_token.is_empty() {
                t.note(format!(
                    "More changes follow; raise --limit (now {}).",
                    args.limit
                ));
            }
            t
        },
    )
}

/// `autointel watch`: one line per figure as releases arrive (one JSON object a line with
/// `-o json`), each with the cursor to resume after it; until interrupted or `--count`.
pub async fn watch(mut client: Stats, args: WatchArgs, format: Format) -> Outcome {
    let f = filter_request(&FigureFilter {
        organization: args.organization.clone(),
        basis: args.basis,
        flow: args.flow,
        market: args.market.clone(),
        scope: None,
        powertrain: None,
        overlapping: None,
    })?;
    let request = wire::WatchReleasesRequest {
        cursor: args.cursor.clone().unwrap_or_default(),
        organization: f.organization,
        basis: f.basis,
        flow: f.flow,
        market: f.market,
        source: source_name(args.source.as_ref()),
        from_start: args.from_start,
    };
    let mut stream = client.watch_releases(request).await?.into_inner();
    let mut seen = 0u64;
    while args.count.is_none_or(|n| seen < n) {
        let Some(item) = stream.message().await? else {
            break;
        };
        seen += 1;
        let line = match format {
            Format::Json => {
                to_json(&item, "autointel.stats.v1.WatchReleasesResponse")?.replace('\n', "")
            }
            Format::Table | Format::Csv => {
                let f = item.figure.as_ref();
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    item.cursor,
                    series_text(f.and_then(|f| f.series.as_ref())),
                    range_text(f.and_then(|f| f.period.as_ref())),
                    figure_units(f),
                    item.delta_units
                        .map_or_else(|| "new".to_owned(), signed_thousands),
                    f.map(|f| f.source.trim_start_matches("sources/").to_owned())
                        .unwrap_or_default(),
                    date_text(f.and_then(|f| f.as_of_date.as_ref())),
                )
            }
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(())
}

/// `autointel measures`: every basis and source side by side, and their divergences.
pub async fn measures(mut client: Stats, args: MeasuresArgs, format: Format) -> Outcome {
    let organization = match &args.organization {
        Some(id) => org_id(id, "organization")?.resource_name(),
        None => String::new(),
    };
    if !(args.threshold_percent.is_finite() && (0.0..=10_000.0).contains(&args.threshold_percent)) {
        return Err(Failure::invalid("error: --threshold-percent: must be 0 to 10000").into());
    }
    // Whole basis points, 1 to 1,000,000 (checked above); 0 would ask for the service's
    // default, so 0% is sent as the least.
    #[allow(clippy::cast_possible_truncation)]
    let threshold = (args.threshold_percent * 100.0).round().max(1.0) as i32;
    let request = wire::ComputeMeasuresRequest {
        organization,
        market: args.market.as_str().to_owned(),
        scope: args.scope.to_wire(),
        powertrain: args.powertrain.to_wire(),
        period: Some(month_range_to_wire(args.period)),
        as_of_date: as_of(args.as_of_date),
        divergence_threshold_basis_points: threshold,
        percent_decimals: Some(args.percent_decimals),
    };
    let response = client.compute_measures(request).await?.into_inner();
    print(
        format,
        &response,
        "autointel.stats.v1.ComputeMeasuresResponse",
        |r| {
            let mut t = Table::new(&["#", "basis", "flow", "source", "units", "stages"]);
            for (i, m) in r.measures.iter().enumerate() {
                let k = m.series.as_ref();
                let token = |n: Option<&'static str>| n.unwrap_or("?").to_owned();
                t.row(vec![
                    (i + 1).to_string(),
                    token(
                        k.and_then(|k| autointel_domain::MeasureBasis::lookup(k.basis))
                            .map(|b| b.as_str()),
                    ),
                    token(
                        k.and_then(|k| autointel_domain::Flow::lookup(k.flow))
                            .map(|f| f.as_str()),
                    ),
                    m.source.trim_start_matches("sources/").to_owned(),
                    total_text(m.total.as_ref()),
                    m.stages
                        .iter()
                        .filter_map(|&s| wire::ReleaseStage::try_from(s).ok())
                        .map(|s| {
                            s.as_str_name()
                                .trim_start_matches("RELEASE_STAGE_")
                                .to_lowercase()
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                ]);
            }
            t.title = Some(format!(
                "Measures of {} in {}, {}",
                args.organization.as_deref().unwrap_or("the whole market"),
                args.market,
                range_text(Some(&month_range_to_wire(args.period)))
            ));
            for d in &r.divergences {
                t.note(format!(
                    "#{} / #{} = {}{}{}",
                    d.first + 1,
                    d.second + 1,
                    percent(d.ratio.as_ref()),
                    if d.same_basis {
                        " (same basis, different sources)"
                    } else {
                        " (different bases)"
                    },
                    if d.flagged {
                        "  ⚠ past the threshold"
                    } else {
                        ""
                    },
                ));
            }
            if r.measures.is_empty() {
                t.note("No figures measure it in this period.");
            }
            provenance_notes(&mut t, r.provenance.as_ref());
            t
        },
    )
}
