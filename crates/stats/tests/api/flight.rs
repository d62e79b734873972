//! Arrow Flight: figures and answers as record batches with the numbers of the gRPC
//! answers; a ticket from `GetFlightInfo` reads the state it was issued at while imports
//! land; bad tickets are refused with every violation under the ticket's path.

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_flight::{FlightClient, FlightDescriptor, Ticket};
use autointel_proto::stats::{self as wire, flight_query::Query};
use autointel_proto::types as twire;
use futures_util::TryStreamExt as _;
use prost::Message as _;
use tonic::Code;

use crate::fixtures::{figures, import, list_all, months, new_id, violated_fields};
use crate::harness::{Stack, spawn_stack};

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    flight_streams_figures_and_answers_at_one_state,
);

const SOURCE: &str = "article-nissan-china-exports-2023";

/// A whole-market BEV retail figure of one month of 2023 (synthetic numbers).
fn line(month: u32, units: u32, stage: &str, as_of: &str) -> String {
    format!(",retail,domestic,CN,passenger,bev,2023-{month:02},{units},,,{SOURCE},{stage},{as_of},")
}

async fn import_lines(stack: &mut Stack, lines: &[String]) {
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    import(&mut stack.stats, &new_id(), vec![figures(&lines)])
        .await
        .unwrap();
}

fn bev() -> twire::SeriesKey {
    twire::SeriesKey {
        organization: String::new(),
        basis: twire::MeasureBasis::Retail as i32,
        flow: twire::Flow::Domestic as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::Passenger as i32,
        powertrain: twire::Powertrain::Bev as i32,
        destination: String::new(),
    }
}

fn command(query: Query, sequence_mark: i64) -> Vec<u8> {
    wire::FlightQuery {
        query: Some(query),
        sequence_mark,
    }
    .encode_to_vec()
}

fn every_figure() -> Query {
    Query::Figures(wire::ListSalesFiguresRequest {
        include_superseded: true,
        ..Default::default()
    })
}

async fn client(stack: &Stack) -> FlightClient {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", stack.stats_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    FlightClient::new(channel)
}

async fn read(
    client: &mut FlightClient,
    ticket: Vec<u8>,
) -> Result<Vec<RecordBatch>, tonic::Status> {
    match client.do_get(Ticket::new(ticket)).await {
        Ok(stream) => stream.try_collect().await.map_err(status),
        Err(e) => Err(status(e)),
    }
}

fn status(e: arrow_flight::error::FlightError) -> tonic::Status {
    match e {
        arrow_flight::error::FlightError::Tonic(s) => *s,
        other => panic!("not a status: {other}"),
    }
}

/// A text column's values, null as "".
fn texts(batches: &[RecordBatch], column: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name(column).unwrap().as_string::<i32>();
            (0..c.len())
                .map(|i| {
                    if c.is_null(i) {
                        String::new()
                    } else {
                        c.value(i).to_owned()
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn ints(batches: &[RecordBatch], column: &str) -> Vec<Option<i64>> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b
                .column_by_name(column)
                .unwrap()
                .as_primitive::<Int64Type>();
            (0..c.len())
                .map(|i| (!c.is_null(i)).then(|| c.value(i)))
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn flight_streams_figures_and_answers_at_one_state(db: &str) {
    let mut stack = spawn_stack(db).await;
    let first: Vec<String> = (1..=9)
        .map(|m| line(m, 10_000 + m, "estimate", "2023-10-01"))
        .collect();
    import_lines(&mut stack, &first).await;
    let mut flight = client(&stack).await;

    // GetFlightInfo pins the current mark in its ticket.
    let info = flight
        .get_flight_info(FlightDescriptor::new_cmd(command(every_figure(), 0)))
        .await
        .unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap().ticket;
    let pinned = wire::FlightQuery::decode(ticket.as_ref()).unwrap();
    assert!(pinned.sequence_mark > 0);
    let listed_then = list_all(&mut stack.stats).await;

    // Revisions and new months land; the pinned ticket still reads the state it was issued at.
    let later: Vec<String> = [1, 5, 9]
        .iter()
        .map(|&m| line(m, 20_000 + m, "final", "2023-12-01"))
        .chain([line(10, 30_000, "estimate", "2023-11-01")])
        .collect();
    import_lines(&mut stack, &later).await;
    let batches = read(&mut flight, ticket.to_vec()).await.unwrap();
    let names = texts(&batches, "name");
    assert_eq!(
        names,
        listed_then
            .iter()
            .map(|f| f.name.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        texts(&batches, "superseded_by"),
        listed_then
            .iter()
            .map(|f| f.superseded_by.clone())
            .collect::<Vec<_>>(),
        "the revisions that landed later are not shown"
    );
    let units: Vec<Option<i64>> = listed_then
        .iter()
        .map(|f| match f.quantity {
            Some(wire::sales_figure::Quantity::Units(u)) => Some(u),
            _ => None,
        })
        .collect();
    assert_eq!(ints(&batches, "units"), units);
    assert_eq!(
        batches[0].schema().metadata()["autointel.sequence_mark"],
        pinned.sequence_mark.to_string()
    );
    let starts = batches[0]
        .column_by_name("period_start")
        .unwrap()
        .as_primitive::<Date32Type>();
    assert_eq!(starts.value(0), 19_358, "2023-01-01 as days since 1970");

    // A ticket without a mark reads the current state: every figure, as listed now.
    let now = list_all(&mut stack.stats).await;
    let batches = read(&mut flight, command(every_figure(), 0)).await.unwrap();
    assert_eq!(
        texts(&batches, "name"),
        now.iter().map(|f| f.name.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        texts(&batches, "supersedes"),
        now.iter().map(|f| f.supersedes.clone()).collect::<Vec<_>>()
    );

    // A series answer has the gRPC answer's numbers, missing months null (never zero).
    let request = wire::ComputeSeriesRequest {
        series: Some(bev()),
        period: Some(months((2023, 1), (2023, 12))),
        granularity: wire::Granularity::Month as i32,
        ..Default::default()
    };
    let grpc = stack
        .stats
        .compute_series(request.clone())
        .await
        .unwrap()
        .into_inner();
    let batches = read(&mut flight, command(Query::Series(request), 0))
        .await
        .unwrap();
    let units = ints(&batches, "units");
    assert_eq!(
        units,
        grpc.points.iter().map(|p| p.units).collect::<Vec<_>>()
    );
    assert_eq!(units.len(), 12);
    assert_eq!(units[0], Some(20_001));
    assert_eq!(units[11], None, "December has no figure");
    assert!(
        batches[0].schema().metadata()["autointel.sources"].contains(SOURCE),
        "the sources cited"
    );

    // Bad tickets: every violation, under the ticket's path.
    let err = read(&mut flight, b"\xff\xff not a query".to_vec())
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["ticket"]);
    let err = read(&mut flight, command(Query::Series(Default::default()), -1))
        .await
        .unwrap_err();
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, ["ticket.sequence_mark"]);
    let err = read(&mut flight, command(Query::Series(Default::default()), 0))
        .await
        .unwrap_err();
    let fields = violated_fields(&err);
    assert!(
        !fields.is_empty() && fields.iter().all(|f| f.starts_with("ticket.series.")),
        "{fields:?}"
    );
    let paged = Query::Figures(wire::ListSalesFiguresRequest {
        page_size: 10,
        page_token: "x".to_owned(),
        ..Default::default()
    });
    let err = read(&mut flight, command(paged, 0)).await.unwrap_err();
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        ["ticket.figures.page_size", "ticket.figures.page_token"]
    );
    let err = flight
        .get_flight_info(FlightDescriptor::new_cmd(Vec::<u8>::new()))
        .await
        .map_err(status)
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["cmd.query"]);

    // A mark this replica has not reached is UNAVAILABLE (retry), never a partial stream.
    let err = read(&mut flight, command(every_figure(), i64::MAX))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");

    // Flight only reads.
    let err = flight
        .do_action(arrow_flight::Action::new("anything", Vec::<u8>::new()))
        .await
        .map(|_| ())
        .map_err(status)
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
}
