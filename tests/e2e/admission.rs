//! Admission cannot be held by clients that send nothing: request streams that send
//! headers and no message are ended after the idle timeout (DEADLINE_EXCEEDED), one
//! connection holds at most its share of the slots, and meanwhile other clients are served.

use std::time::{Duration, Instant};

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
