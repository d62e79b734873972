//! Error statuses stay small whatever the input: a huge value is never echoed whole, and a
//! request with thousands of violations carries the first few, clipped, plus their count,
//! so the status fits the 8 KiB of metadata default gRPC clients accept.

use autointel_proto::stats as swire;
use autointel_proto::types as twire;
use tonic::Code;
use tonic_types::StatusExt;

use crate::faults::{nissan_china, seed_period as period};
use crate::harness::{Backend, Stack};

/// Bytes the status takes in the trailers: `grpc-message` and `grpc-status-details-bin`
/// (base64).
fn trailer_bytes(status: &tonic::Status) -> usize {
    status.message().len() + status.details().len().div_ceil(3) * 4
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_stay_under_the_metadata_limit_of_default_clients() {
    let stack = Stack::start(&Backend::Sqlite, true).await;
    let mut stats = stack.stats_client().await;

    // A 20,000-character market: the field is named, the value is not repeated whole.
    let mut series = nissan_china();
    series.market = "M".repeat(20_000);
    let status = stats
        .compute_total(swire::ComputeTotalRequest {
            source: String::new(),
            series: Some(series),
            period: Some(period()),
            as_of_date: None,
        })
        .await
        .expect_err("invalid market");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields: Vec<String> = status
        .get_error_details()
        .bad_request()
        .expect("BadRequest")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    assert!(fields.iter().any(|f| f.ends_with("market")), "{fields:?}");
    assert!(
        trailer_bytes(&status) < 2 * 1024,
        "{} bytes",
        trailer_bytes(&status)
    );

    // 5,000 bad figures in one import: the first few, their count, well under 8 KiB.
    let bad: Vec<swire::SalesFigure> = (0..5_000)
        .map(|i| swire::SalesFigure {
            series: Some(twire::SeriesKey {
                market: format!("not a market {i} {}", "x".repeat(100)),
                ..nissan_china()
            }),
            period: Some(period()),
            quantity: Some(swire::sales_figure::Quantity::Units(1)),
            source: crate::flows::SOURCE.to_owned(),
            stage: swire::ReleaseStage::Final as i32,
            ..Default::default()
        })
        .collect();
    let requests: Vec<_> = bad
        .chunks(500)
        .map(|chunk| swire::ImportSalesFiguresRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            figures: chunk.to_vec(),
        })
        .collect();
    let request_id = requests[0].request_id.clone();
    let requests: Vec<_> = requests
        .into_iter()
        .map(|mut r| {
            r.request_id = request_id.clone();
            r
        })
        .collect();
    let status = stats
        .import_sales_figures(tokio_stream::iter(requests))
        .await
        .expect_err("every figure is invalid");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let violations = &details.bad_request().expect("BadRequest").field_violations;
    assert!(
        !violations.is_empty() && violations.len() <= 10,
        "{} violations carried",
        violations.len()
    );
    assert!(
        violations[0].field.starts_with("figures[0]."),
        "{violations:?}"
    );
    let total: usize = details
        .error_info()
        .and_then(|i| i.metadata.get("violations").cloned())
        .and_then(|n| n.parse().ok())
        .expect("ErrorInfo counts every violation");
    assert!(total >= 5_000, "{total}");
    assert!(
        trailer_bytes(&status) < 6 * 1024,
        "{} bytes",
        trailer_bytes(&status)
    );
}
