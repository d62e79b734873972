//! Admission cannot be held by clients that send nothing: request streams that send
//! headers and no message are ended after the idle timeout (DEADLINE_EXCEEDED), one
//! connection holds at most its share of the slots, and meanwhile other clients are served.
//! A slow import is limited by its idle time, not a total; unread answers hold their slots;
//! idle connections are closed.

use std::time::{Duration, Instant};

use autointel_proto::registry as rwire;
use autointel_proto::stats as swire;
use tonic::Code;

use crate::faults::{nissan_china, seed_period};
use crate::harness::{Backend, Options, Stack, channel};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_request_streams_neither_hold_slots_nor_starve_others() {
    let options = Options::default()
        .stats_env("AUTOINTEL_SERVER__MAX_CONCURRENT_REQUESTS", "8")
        .stats_env(
            "AUTOINTEL_SERVER__MAX_CONCURRENT_REQUESTS_PER_CONNECTION",
            "4",
        )
        .stats_env("AUTOINTEL_SERVER__MESSAGE_IDLE_TIMEOUT_SECONDS", "1");
    let stack = Stack::start_with(&Backend::Sqlite, true, options).await;
    let hostile = swire::stats_service_client::StatsServiceClient::new(
        channel(&stack.stats.url()).await.expect("channel"),
    );

    // 20 imports that send headers and never a message, over one connection.
    let started = Instant::now();
    let silent: Vec<_> = (0..20)
        .map(|_| {
            let mut client = hostile.clone();
            tokio::spawn(async move {
                client
                    .import_sales_figures(
                        tokio_stream::pending::<swire::ImportSalesFiguresRequest>(),
                    )
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Another client, on its own connection, is served meanwhile.
    let mut other = stack.stats_client().await;
    other
        .compute_total(swire::ComputeTotalRequest {
            source: String::new(),
            series: Some(nissan_china()),
            period: Some(seed_period()),
            as_of_date: None,
        })
        .await
        .expect("served while the silent streams are open");

    let mut refused = 0;
    let mut idle = 0;
    for call in silent {
        let status = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("every silent stream ends well before the request timeout")
            .expect("task")
            .expect_err("nothing was sent");
        match status.code() {
            Code::ResourceExhausted => refused += 1,
            Code::DeadlineExceeded => idle += 1,
            other => panic!("unexpected {other:?}: {status:?}"),
        }
    }
    assert_eq!(idle, 4, "one connection holds at most its 4 slots");
    assert_eq!(refused, 16, "the rest are refused at once");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "ended by the 1 s idle timeout, not the 30 s request timeout: {:?}",
        started.elapsed()
    );
}

/// A client stream (an import) has no total time limit of the server's: one that keeps
/// sending, slowly, past `server.request_timeout_seconds` lands; only its idle time between
/// messages is limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_import_is_limited_by_its_idle_time_not_the_request_time_limit() {
    let options = Options::default()
        .stats_env("AUTOINTEL_SERVER__REQUEST_TIMEOUT_SECONDS", "1")
        .stats_env("AUTOINTEL_SERVER__MESSAGE_IDLE_TIMEOUT_SECONDS", "5");
    let stack = Stack::start_with(&Backend::Sqlite, true, options).await;
    let mut stats = stack.stats_client().await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let sender = tokio::spawn(async move {
        for chunk in crate::import_limit::figures("SLOW", 40).chunks(10) {
            tokio::time::sleep(Duration::from_millis(600)).await;
            let request = swire::ImportSalesFiguresRequest {
                request_id: request_id.clone(),
                figures: chunk.to_vec(),
            };
            if tx.send(request).await.is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let imported = stats
        .import_sales_figures(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("an import that keeps sending is not cut by the 1 s request time limit")
        .into_inner();
    sender.await.expect("sender");
    assert_eq!(imported.imported_count, 40);
    assert!(
        started.elapsed() > Duration::from_secs(2),
        "it took 4 × 600 ms"
    );
}

/// The address `url` (`http://host:port`) names.
fn address(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// A connection with no request open for `server.idle_connection_timeout_seconds` is
/// closed, while a connection with a watch stream open keeps it however quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_a_quiet_watch_keeps_its_connection() {
    let options = Options::default()
        .registry_env("AUTOINTEL_SERVER__IDLE_CONNECTION_TIMEOUT_SECONDS", "1")
        .registry_env("AUTOINTEL_SERVER__KEEPALIVE_INTERVAL_SECONDS", "1");
    let stack = Stack::start_with(&Backend::Sqlite, true, options).await;

    // An HTTP/2 connection that never sends a request: it answers the server's SETTINGS
    // and keepalive PINGs (which are not requests) and nothing else.
    let tcp = tokio::net::TcpStream::connect(address(&stack.registry.url()))
        .await
        .expect("connect");
    let (_client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let opened = Instant::now();
    tokio::time::timeout(Duration::from_secs(15), connection)
        .await
        .expect("an idle connection is closed well within 15 s")
        .ok();
    assert!(
        opened.elapsed() >= Duration::from_millis(900),
        "closed only after the 1 s idle timeout: {:?}",
        opened.elapsed()
    );

    // A watch stream counts as an open request for as long as it lasts.
    let mut registry = stack.registry_client().await;
    let cursor = registry
        .list_events(rwire::ListEventsRequest::default())
        .await
        .expect("ListEvents")
        .into_inner()
        .watch_cursor;
    let mut watch = registry
        .watch_events(rwire::WatchEventsRequest { cursor })
        .await
        .expect("WatchEvents")
        .into_inner();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut writer = stack.registry_client().await;
    writer
        .create_event(rwire::CreateEventRequest {
            event: Some(rwire::Event {
                kind: rwire::EventKind::Other as i32,
                title: "Announced after a quiet spell".to_owned(),
                participants: vec![rwire::EventParticipant {
                    participant: Some(rwire::event_participant::Participant::Organization(
                        "organizations/nissan-china".to_owned(),
                    )),
                    role: "subject".to_owned(),
                }],
                occurred_date: Some(autointel_proto::types::PartialDate {
                    year: 2024,
                    month: 1,
                    day: 0,
                    precision: autointel_proto::types::DatePrecision::Month as i32,
                    ..Default::default()
                }),
                status: rwire::EventStatus::Reported as i32,
                sources: vec!["sources/article-nissan-china-exports-2023".to_owned()],
                ..Default::default()
            }),
            event_id: String::new(),
            request_id: String::new(),
        })
        .await
        .expect("CreateEvent");
    let change = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .expect("the watch delivers within 10 s")
        .expect("the watch stream is still open after 3 quiet seconds")
        .expect("a change");
    assert_eq!(
        change.event.map(|e| e.title).as_deref(),
        Some("Announced after a quiet spell")
    );
}

/// An HTTP/2 connection whose flow-control window stays closed, so it never reads an
/// answer; dropping it closes the connection.
struct Unread {
    connection: tokio::task::JoinHandle<Result<(), h2::Error>>,
    _responses: Vec<http::Response<h2::RecvStream>>,
}

impl Drop for Unread {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// Sends `n` ListOrganizations calls to `address` one after the other on one connection
/// that reads no answer; returns each call's `grpc-status` header (none: admitted, its
/// answer waiting to be read).
async fn unread_calls(address: &str, n: usize) -> (Vec<Option<String>>, Unread) {
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let (mut client, connection) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, bytes::Bytes>(tcp)
        .await
        .expect("HTTP/2 handshake");
    let connection = tokio::spawn(connection);
    let mut statuses = Vec::new();
    let mut responses = Vec::new();
    for _ in 0..n {
        client = client.ready().await.expect("ready");
        let request = http::Request::post(format!(
            "http://{address}/autointel.registry.v1.RegistryService/ListOrganizations"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("request");
        let (response, mut body) = client.send_request(request, false).expect("send");
        // an empty ListOrganizationsRequest: the 5-byte gRPC frame header alone
        body.send_data(bytes::Bytes::from_static(&[0, 0, 0, 0, 0]), true)
            .expect("message");
        let response = tokio::time::timeout(Duration::from_secs(10), response)
            .await
            .expect("response headers within 10 s")
            .expect("response");
        statuses.push(
            response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        );
        responses.push(response);
    }
    (
        statuses,
        Unread {
            connection,
            _responses: responses,
        },
    )
}

/// An answer the client does not read keeps its request's slot until HTTP/2 has taken it,
/// so the memory of unread answers is bounded by the slots: a client that reads nothing
/// gets its connection's 4 slots and then CONNECTION_OVERLOADED; other clients are served
/// until every slot is held; closing a connection frees its slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_answers_hold_their_slots() {
    let options = Options::default()
        .registry_env("AUTOINTEL_SERVER__MAX_CONCURRENT_REQUESTS", "8")
        .registry_env(
            "AUTOINTEL_SERVER__MAX_CONCURRENT_REQUESTS_PER_CONNECTION",
            "4",
        );
    let stack = Stack::start_with(&Backend::Sqlite, true, options).await;
    let address = address(&stack.registry.url());
    let overloaded = Some("8".to_owned());

    let (statuses, first) = unread_calls(&address, 6).await;
    assert_eq!(
        statuses,
        [
            None,
            None,
            None,
            None,
            overloaded.clone(),
            overloaded.clone()
        ],
        "four unread answers hold the connection's slots; then RESOURCE_EXHAUSTED"
    );
    let mut other = stack.registry_client().await;
    other
        .list_organizations(rwire::ListOrganizationsRequest::default())
        .await
        .expect("another connection is served meanwhile");

    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (second, _second) = unread_calls(&address, 4).await;
    let (third, _third) = unread_calls(&address, 4).await;
    assert_eq!(
        [second, third].concat(),
        vec![None; 8],
        "the closed connection's slots are free again"
    );
    let err = other
        .list_organizations(rwire::ListOrganizationsRequest::default())
        .await
        .expect_err("all 8 slots hold unread answers");
    assert_eq!(err.code(), Code::ResourceExhausted);
}
