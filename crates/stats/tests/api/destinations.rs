//! Export destinations over gRPC: an origin's exports broken down by destination and
//! ranked, with shares, year-on-year change, the not-stated remainder and its
//! inconsistency, missing never zero, the month matrix, `as_of`, and a destination's
//! suppliers ranked by `ComputeRanking`.

use autointel_figure_file::read_sales_figures;
use autointel_proto::stats::{self as wire};
use autointel_proto::types::{self as twire};
use tonic::Code;

use crate::fixtures::{date, import, months, new_id, violated_fields};
use crate::harness::spawn_stack;

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    destinations_are_ranked_with_shares_and_missing_is_not_zero,
    exports_to_a_destination_are_annotated_with_its_events,
);

const HEADER: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note,nature,destination\n";
const SOURCE: &str = "article-nissan-china-exports-2023";

/// An export figure: `organization` (empty: the whole market) to `to` (empty: all
/// destinations).
fn row(organization: &str, period: &str, units: u32, stage: (&str, &str), to: &str) -> String {
    let (stage, as_of) = stage;
    format!(
        "{organization},wholesale,export,CN,passenger,all,{period},{units},,,{SOURCE},{stage},{as_of},,,{to}"
    )
}

fn exports(organization: &str, destination: &str) -> twire::SeriesKey {
    twire::SeriesKey {
        organization: organization.to_owned(),
        basis: twire::MeasureBasis::Wholesale as i32,
        flow: twire::Flow::Export as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::Passenger as i32,
        powertrain: twire::Powertrain::All as i32,
        destination: destination.to_owned(),
    }
}

fn request(start: (i32, i32), end: (i32, i32)) -> wire::ComputeDestinationsRequest {
    wire::ComputeDestinationsRequest {
        series: Some(exports("organizations/byd", "")),
        period: Some(months(start, end)),
        ..Default::default()
    }
}

fn units(row: &wire::DestinationRow) -> Option<i64> {
    row.total.as_ref().and_then(|t| t.units)
}

fn percent(ratio: Option<&twire::Ratio>) -> Option<&str> {
    ratio.map(|r| r.percent.as_str())
}

async fn destinations_are_ranked_with_shares_and_missing_is_not_zero(db: &str) {
    let mut stack = spawn_stack(db).await;
    let final_ = ("final", "2024-04-10");
    let lines = [
        row("byd", "2023-01", 10, final_, "DE"),
        row("byd", "2024-01", 38, ("preliminary", "2024-02-02"), "DE"),
        row("byd", "2024-01", 40, ("final", "2024-02-10"), "DE"),
        row("byd", "2024-01", 30, final_, "BR"),
        row("byd", "2024-01", 50, final_, "EU"),
        row("byd", "2024-01", 100, final_, ""),
        row("byd", "2024-02", 45, final_, "DE"),
        row("byd", "2024-03", 20, final_, "DE"),
        row("byd", "2024-03", 10, final_, ""),
        row("great-wall-motors", "2024-01", 60, final_, "DE"),
        row("", "2024-01", 500, final_, "DE"),
    ];
    let text = format!("{HEADER}{}\n", lines.join("\n"));
    import(
        &mut stack.stats,
        &new_id(),
        vec![read_sales_figures(text.as_bytes()).unwrap()],
    )
    .await
    .unwrap();

    // January: the region ranked but never summed, shares of the stated countries, the
    // remainder beside the destination-less total, year-on-year only where 2023 tiles.
    let answer = stack
        .stats
        .compute_destinations(request((2024, 1), (2024, 1)))
        .await
        .unwrap()
        .into_inner();
    let rows = &answer.destinations;
    let listed: Vec<_> = rows
        .iter()
        .map(|r| (r.destination.as_str(), r.rank, r.region, units(r)))
        .collect();
    assert_eq!(
        listed,
        [
            ("EU", 1, true, Some(50)),
            ("DE", 2, false, Some(40)),
            ("BR", 3, false, Some(30))
        ]
    );
    assert_eq!(answer.stated_units, 70);
    assert_eq!(percent(rows[0].share.as_ref()), None);
    assert_eq!(percent(rows[1].share.as_ref()), Some("57.1"));
    let de_share = rows[1].share.as_ref().unwrap();
    assert_eq!((de_share.numerator, de_share.denominator), (4, 7));
    let yoy = rows[1].year_over_year.as_ref().unwrap();
    assert_eq!((yoy.current_units, yoy.prior_units), (40, 10));
    assert!(rows[2].year_over_year.is_none());
    assert_eq!(answer.all_destinations.unwrap().units, Some(100));
    assert_eq!(answer.not_stated_units, Some(30));
    assert!(!answer.inconsistent);
    assert!(rows.iter().all(|r| r.months.is_empty()));
    let provenance = answer.provenance.unwrap();
    // EU, DE (2024 final and 2023), BR and the destination-less total.
    assert_eq!(provenance.figures.len(), 5);
    assert_eq!(provenance.sources.len(), 1);
    assert!(
        provenance
            .figures
            .iter()
            .all(|f| f.series.as_ref().unwrap().organization == "organizations/byd")
    );

    // As known before the final release.
    let early = stack
        .stats
        .compute_destinations(wire::ComputeDestinationsRequest {
            as_of_date: Some(date(2024, 2, 5)),
            ..request((2024, 1), (2024, 1))
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(early.destinations.len(), 1);
    assert_eq!(units(&early.destinations[0]), Some(38));

    // January to February: BR's February is missing, so BR has no units and no rank, and
    // the remainder is unknown; the matrix shows each month.
    let answer = stack
        .stats
        .compute_destinations(wire::ComputeDestinationsRequest {
            include_months: true,
            ..request((2024, 1), (2024, 2))
        })
        .await
        .unwrap()
        .into_inner();
    let rows = &answer.destinations;
    let listed: Vec<_> = rows
        .iter()
        .map(|r| (r.destination.as_str(), r.rank, units(r)))
        .collect();
    assert_eq!(
        listed,
        [("DE", 1, Some(85)), ("BR", 0, None), ("EU", 0, None)]
    );
    assert_eq!(answer.incomplete_count, 2);
    assert_eq!(answer.not_stated_units, None);
    assert!(!answer.inconsistent);
    let cells = |totals: &[wire::Total]| totals.iter().map(|t| t.units).collect::<Vec<_>>();
    assert_eq!(cells(&rows[0].months), [Some(40), Some(45)]);
    assert_eq!(cells(&rows[1].months), [Some(30), None]);
    assert_eq!(cells(&answer.all_destinations_months), [Some(100), None]);

    // The top one only; the sums still cover every destination.
    let top = stack
        .stats
        .compute_destinations(wire::ComputeDestinationsRequest {
            limit: 1,
            ..request((2024, 1), (2024, 1))
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(top.destinations.len(), 1);
    assert_eq!((top.destination_count, top.stated_units), (3, 70));

    // March: the destinations add up to more than the total, reported, not clipped.
    let march = stack
        .stats
        .compute_destinations(request((2024, 3), (2024, 3)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(march.not_stated_units, Some(-10));
    assert!(march.inconsistent);

    // The whole market's destinations are its own.
    let market = stack
        .stats
        .compute_destinations(wire::ComputeDestinationsRequest {
            series: Some(exports("", "")),
            ..request((2024, 1), (2024, 1))
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(market.destinations.len(), 1);
    assert_eq!(units(&market.destinations[0]), Some(500));
    assert_eq!(market.not_stated_units, None);

    // DE's suppliers, ranked, with shares of the market's exports to DE.
    let suppliers = stack
        .stats
        .compute_ranking(wire::ComputeRankingRequest {
            series: Some(exports("", "DE")),
            period: Some(months((2024, 1), (2024, 1))),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let ranked: Vec<_> = suppliers
        .entries
        .iter()
        .map(|e| (e.organization.as_str(), e.units, percent(e.share.as_ref())))
        .collect();
    assert_eq!(
        ranked,
        [
            ("organizations/great-wall-motors", 60, Some("12.0")),
            ("organizations/byd", 40, Some("8.0"))
        ]
    );
    assert!(suppliers.total_is_market);

    // Only an export origin without a destination has destinations.
    let status = stack
        .stats
        .compute_destinations(wire::ComputeDestinationsRequest {
            series: Some(twire::SeriesKey {
                flow: twire::Flow::Domestic as i32,
                ..exports("organizations/byd", "")
            }),
            limit: -1,
            ..request((2024, 1), (2024, 1))
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["series.flow", "limit"]);
}

/// A series of exports to DE, asked with its events, carries the events concerning DE (a
/// tariff with no participant) besides the exporter's own; exports to all destinations do
/// not.
async fn exports_to_a_destination_are_annotated_with_its_events(db: &str) {
    use autointel_proto::registry as rwire;
    let mut stack = spawn_stack(db).await;
    let text = format!(
        "{HEADER}{}\n",
        row("byd", "2024-07", 40, ("final", "2024-08-10"), "DE")
    );
    import(
        &mut stack.stats,
        &new_id(),
        vec![read_sales_figures(text.as_bytes()).unwrap()],
    )
    .await
    .unwrap();
    stack
        .registry
        .create_event(rwire::CreateEventRequest {
            event: Some(rwire::Event {
                kind: rwire::EventKind::Tariff as i32,
                title: "Provisional duties on imported battery-electric cars".to_owned(),
                occurred_date: Some(twire::PartialDate {
                    year: 2024,
                    month: 7,
                    precision: twire::DatePrecision::Month as i32,
                    ..Default::default()
                }),
                status: rwire::EventStatus::Confirmed as i32,
                sources: vec![format!("sources/{SOURCE}")],
                market: "DE".to_owned(),
                ..Default::default()
            }),
            event_id: "de-tariff".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let events_of = |destination: &str| wire::ComputeSeriesRequest {
        series: Some(exports("organizations/byd", destination)),
        period: Some(months((2024, 7), (2024, 7))),
        granularity: wire::Granularity::Month as i32,
        include_events: true,
        ..Default::default()
    };
    let to_de = stack
        .stats
        .compute_series(events_of("DE"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(to_de.points[0].units, Some(40));
    let names: Vec<&str> = to_de.events.iter().map(|e| e.name.as_str()).collect();
    assert!(names.contains(&"events/de-tariff"), "{names:?}");
    let to_all = stack
        .stats
        .compute_series(events_of(""))
        .await
        .unwrap()
        .into_inner();
    assert!(
        to_all.events.iter().all(|e| e.name != "events/de-tariff"),
        "{:?}",
        to_all.events
    );
}
