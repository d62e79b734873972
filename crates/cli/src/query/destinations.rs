//! `autointel destinations`: an origin's exports by destination, or a destination's
//! suppliers.

use super::*;

/// `autointel destinations`: an origin's exports by destination, or with `--destination`
/// that destination's suppliers ranked.
pub async fn destinations(mut client: Stats, args: DestinationsArgs, format: Format) -> Outcome {
    let origin = Series {
        organization: args.organization.clone(),
        basis: args.basis,
        flow: autointel_domain::Flow::Export,
        market: args.market.clone(),
        scope: args.scope,
        powertrain: args.powertrain,
    };
    let mut series = wire_series(&origin)?;
    if let Some(to) = &args.destination {
        series.destination = to.as_str().to_owned();
        let request = wire::ComputeRankingRequest {
            source: args.when.source_name(),
            series: Some(series),
            period: Some(month_range_to_wire(args.when.period)),
            limit: args.limit.unwrap_or(0),
            as_of_date: as_of(args.when.as_of_date),
            percent_decimals: Some(args.percent_decimals),
            group_mode: 0,
        };
        let response = client.compute_ranking(request).await?.into_inner();
        return print(
            format,
            &response,
            "autointel.stats.v1.ComputeRankingResponse",
            |r| {
                let mut t = ranking_table(r, None);
                t.title = Some(format!(
                    "Suppliers of {} exports to {to}, {}",
                    args.market,
                    range_text(Some(&month_range_to_wire(args.when.period)))
                ));
                t
            },
        );
    }
    let request = wire::ComputeDestinationsRequest {
        source: args.when.source_name(),
        series: Some(series),
        period: Some(month_range_to_wire(args.when.period)),
        limit: args.limit.unwrap_or(0),
        include_months: args.include_months,
        as_of_date: as_of(args.when.as_of_date),
        percent_decimals: Some(args.percent_decimals),
    };
    let response = client.compute_destinations(request).await?.into_inner();
    let title = format!(
        "Exports of {} by destination, {}",
        series_key(&origin)
            .map(|k| k.to_string())
            .unwrap_or_default(),
        range_text(Some(&month_range_to_wire(args.when.period)))
    );
    print(
        format,
        &response,
        "autointel.stats.v1.ComputeDestinationsResponse",
        |r| {
            let mut t = if args.include_months {
                destination_matrix(r)
            } else {
                destination_table(r)
            };
            t.title = Some(title.clone());
            destination_notes(&mut t, r);
            t
        },
    )
}

/// A destination's code, marked when it is a region.
fn destination_text(d: &wire::DestinationRow) -> String {
    if d.region {
        format!("{} (region)", d.destination)
    } else {
        d.destination.clone()
    }
}

/// One row per destination: rank, units, share of the stated countries, year on year.
fn destination_table(r: &wire::ComputeDestinationsResponse) -> Table {
    let mut t = Table::new(&["rank", "destination", "units", "share", "yoy"]);
    for d in &r.destinations {
        t.row(vec![
            if d.rank > 0 {
                d.rank.to_string()
            } else {
                "-".to_owned()
            },
            destination_text(d),
            total_text(d.total.as_ref()),
            if d.region {
                "(not summed)".to_owned()
            } else {
                percent(d.share.as_ref())
            },
            yoy_text(d.year_over_year.as_ref()),
        ]);
    }
    t
}

/// Destinations by month: a column per month, a cell with no monthly figure shown as `-`.
fn destination_matrix(r: &wire::ComputeDestinationsResponse) -> Table {
    let months: Vec<String> = r
        .destinations
        .first()
        .map(|d| d.months.as_slice())
        .unwrap_or(r.all_destinations_months.as_slice())
        .iter()
        .map(|m| range_text(m.period.as_ref()))
        .collect();
    let mut headers = vec!["destination".to_owned()];
    headers.extend(months);
    headers.push("total".to_owned());
    let mut t = Table::new(&[]);
    t.headers = headers;
    let cell = |m: &wire::Total| m.units.map(thousands).unwrap_or_else(|| "-".to_owned());
    for d in &r.destinations {
        let mut row = vec![destination_text(d)];
        row.extend(d.months.iter().map(cell));
        row.push(
            d.total
                .as_ref()
                .and_then(|t| t.units)
                .map(thousands)
                .unwrap_or_else(|| "-".to_owned()),
        );
        t.row(row);
    }
    if r.all_destinations_months.iter().any(|m| m.units.is_some()) {
        let mut row = vec!["(all destinations)".to_owned()];
        row.extend(r.all_destinations_months.iter().map(cell));
        row.push(
            r.all_destinations
                .as_ref()
                .and_then(|t| t.units)
                .map(thousands)
                .unwrap_or_else(|| "-".to_owned()),
        );
        t.row(row);
    }
    t
}

/// The sums beside the rows: stated countries, the origin's own total, what no destination
/// states (and whether the sources disagree), what the limit left out.
fn destination_notes(t: &mut Table, r: &wire::ComputeDestinationsResponse) {
    t.note(format!(
        "Stated destinations (countries): {}",
        thousands(r.stated_units)
    ));
    match r.all_destinations.as_ref() {
        Some(all) if all.units.is_some() => {
            t.note(format!("All destinations: {}", total_text(Some(all))));
        }
        Some(all) if all.coverage.as_ref().is_some_and(|c| !c.covered.is_empty()) => {
            t.note(format!("All destinations: {}", total_text(Some(all))));
        }
        _ => t.note("All destinations: not published for this origin"),
    }
    match r.not_stated_units {
        Some(n) if r.inconsistent => t.note(format!(
            "Not stated: {} (inconsistent: the stated destinations exceed the total for all \
             destinations)",
            signed_thousands(n)
        )),
        Some(n) => t.note(format!("Not stated: {}", thousands(n))),
        None if r
            .all_destinations
            .as_ref()
            .is_some_and(|a| a.units.is_some()) =>
        {
            t.note("Not stated: unknown while a country destination does not cover the period");
        }
        None => {}
    }
    match r.incomplete_count {
        0 => {}
        1 => t.note("1 destination has figures that do not cover the period (no units, not zero)"),
        n => t.note(format!(
            "{n} destinations have figures that do not cover the period (no units, not zero)"
        )),
    }
    let shown = i32::try_from(r.destinations.len()).unwrap_or(i32::MAX);
    if r.destination_count > shown {
        t.note(format!(
            "{} more destinations not shown",
            r.destination_count - shown
        ));
    }
    if r.destinations.iter().any(|d| d.region) {
        t.note("A region may contain the countries listed: it is never added to them.");
    }
    provenance_notes(t, r.provenance.as_ref());
}
