//! One import's size is bounded: an import over `import.max_figures` is refused whole, the
//! limit named, as soon as the stream passes it; nothing is written; one at the limit lands.

use autointel_proto::stats as swire;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Backend, Options, Stack};

/// `n` one-unit figures of Nissan China in market `market`, one a month from 2000-01.
pub(crate) fn figures(market: &str, n: usize) -> Vec<swire::SalesFigure> {
    (0..n)
        .map(|i| {
            let i = i32::try_from(i).expect("small");
            swire::SalesFigure {
                series: Some(autointel_proto::types::SeriesKey {
                    market: market.to_owned(),
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
                quantity: Some(swire::sales_figure::Quantity::Units(1)),
                source: crate::flows::SOURCE.to_owned(),
                stage: swire::ReleaseStage::Final as i32,
                as_of_date: Some(autointel_proto::google::r#type::Date {
                    year: 2024,
                    month: 1,
                    day: 2,
                }),
                ..Default::default()
            }
        })
        .collect()
}

async fn import(
    stats: &mut swire::stats_service_client::StatsServiceClient<tonic::transport::Channel>,
    figures: Vec<swire::SalesFigure>,
) -> Result<swire::ImportSalesFiguresResponse, tonic::Status> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let requests: Vec<_> = figures
        .chunks(40)
        .map(|chunk| swire::ImportSalesFiguresRequest {
            request_id: request_id.clone(),
            figures: chunk.to_vec(),
        })
        .collect();
    stats
        .import_sales_figures(tokio_stream::iter(requests))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_over_the_limit_is_refused_whole_with_the_limit_named() {
    let options = Options::default().stats_env("AUTOINTEL_IMPORT__MAX_FIGURES", "100");
    let stack = Stack::start_with(&Backend::Sqlite, true, options).await;
    let mut stats = stack.stats_client().await;

    let refused = import(&mut stats, figures("LIMIT-A", 101))
        .await
        .expect_err("over the limit");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let violations = refused
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.clone())
        .unwrap_or_default();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].field, "figures");
    assert!(
        violations[0].description.contains("import.max_figures")
            && violations[0].description.contains("100"),
        "{violations:?}"
    );
    let stored = stats
        .list_sales_figures(swire::ListSalesFiguresRequest {
            market: "LIMIT-A".to_owned(),
            page_size: 1000,
            include_superseded: true,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .sales_figures;
    assert!(stored.is_empty(), "nothing of a refused import is written");

    let accepted = import(&mut stats, figures("LIMIT-B", 100))
        .await
        .expect("an import at the limit lands");
    assert_eq!(accepted.imported_count, 100);
}
