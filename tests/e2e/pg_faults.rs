//! PostgreSQL cuts stats' connections in the middle of imports (as a failover, a restart
//! or an administrator's `pg_terminate_backend` does): every import is acknowledged or
//! refused as retryable (`UNAVAILABLE`, never `INTERNAL`), the service recovers by itself,
//! and after a restart every acknowledged import is there, whole, and nothing else.

use std::time::Duration;

use autointel_proto::stats as swire;
use sqlx::Connection as _;
use tonic::Code;

use crate::harness::{Backend, Stack, Stop};

fn figures(k: u32) -> Vec<swire::SalesFigure> {
    (0..60)
        .map(|i| swire::SalesFigure {
            series: Some(autointel_proto::types::SeriesKey {
                market: format!("CUT-{k}"),
                ..crate::faults::nissan_china()
            }),
            period: Some(autointel_proto::types::MonthRange {
                start: Some(autointel_proto::types::YearMonth {
                    year: 2000 + i / 12,
                    month: i % 12 + 1,
                }),
                end: Some(autointel_proto::types::YearMonth {
                    year: 2000 + i / 12,
                    month: i % 12 + 1,
                }),
            }),
            quantity: Some(swire::sales_figure::Quantity::Units(i64::from(k) * 100 + 1)),
            source: crate::flows::SOURCE.to_owned(),
            stage: swire::ReleaseStage::Final as i32,
            as_of_date: Some(autointel_proto::google::r#type::Date {
                year: 2024,
                month: 1,
                day: 2,
            }),
            ..Default::default()
        })
        .collect()
}

async fn stored(
    stats: &mut swire::stats_service_client::StatsServiceClient<tonic::transport::Channel>,
    k: u32,
) -> usize {
    stats
        .list_sales_figures(swire::ListSalesFiguresRequest {
            market: format!("CUT-{k}"),
            page_size: 1000,
            include_superseded: true,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .sales_figures
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_connections_lose_nothing_acknowledged_and_the_service_recovers() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let Backend::Postgres(base) = &backend else {
        return;
    };
    let mut stack = Stack::start(&backend, true).await;
    let application = stack
        .databases
        .stats_application()
        .expect("a PostgreSQL stack")
        .to_owned();
    let mut admin = sqlx::postgres::PgConnection::connect(base)
        .await
        .expect("PostgreSQL");
    let mut stats = stack.stats_client().await;
    let (mut acknowledged, mut refused) = (Vec::new(), 0);
    for k in 0..40u32 {
        let request_id = uuid::Uuid::new_v4().to_string();
        let import = {
            let mut stats = stats.clone();
            tokio::spawn(async move {
                stats
                    .import_sales_figures(tokio_stream::iter(vec![
                        swire::ImportSalesFiguresRequest {
                            request_id,
                            figures: figures(k),
                        },
                    ]))
                    .await
            })
        };
        if k % 2 == 0 {
            tokio::time::sleep(Duration::from_millis(u64::from(k % 7))).await;
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            )
            .bind(&application)
            .execute(&mut admin)
            .await
            .expect("cut the connections");
        }
        match import.await.expect("task") {
            Ok(_) => acknowledged.push(k),
            Err(status) => {
                assert_eq!(
                    status.code(),
                    Code::Unavailable,
                    "a cut connection is a retryable failure, not {status:?}"
                );
                refused += 1;
            }
        }
    }
    // Writes work again without any restart.
    let mut recovered = false;
    for _ in 0..50 {
        let again = stats
            .import_sales_figures(tokio_stream::iter(vec![swire::ImportSalesFiguresRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                figures: figures(99),
            }]))
            .await;
        if again.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "writes resume once connections are back");
    acknowledged.push(99);

    stack.restart(Stop::Kill).await;
    let mut stats = stack.stats_client().await;
    for k in (0..40u32).chain([99]) {
        let n = stored(&mut stats, k).await;
        if acknowledged.contains(&k) {
            assert_eq!(n, 60, "acknowledged import {k} is whole");
        } else {
            assert!(
                n == 0 || n == 60,
                "refused import {k} is all or nothing: {n}"
            );
        }
    }
    eprintln!(
        "pg faults: {} acknowledged, {refused} refused as UNAVAILABLE, all present after SIGKILL",
        acknowledged.len()
    );
}
