//! One listing, one state: the pages of a `ListSalesFigures` listing are read at the
//! sequence mark of its first page, while new figures and revisions land between pages.

use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_proto::stats::{self as wire};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tonic::Code;
use tonic::transport::Channel;

use crate::fixtures::{figures, import, new_id, violated_fields};
use crate::harness::spawn_stack;

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    pages_read_the_state_of_the_first_page_while_imports_land,
);

const SOURCE: &str = "article-nissan-china-exports-2023";

/// A whole-market figure of one powertrain and month (synthetic numbers).
fn line(powertrain: &str, month: u32, units: u32, stage: &str, as_of: &str) -> String {
    format!(
        ",retail,domestic,CN,passenger,{powertrain},2023-{month:02},{units},,,{SOURCE},{stage},{as_of},"
    )
}

/// Estimates for months 1..=9 of four powertrains: 36 figures.
fn first_figures() -> Vec<String> {
    let mut lines = Vec::new();
    for (p, powertrain) in ["bev", "phev", "ice", "hev"].iter().enumerate() {
        for month in 1..=9 {
            let units = 10_000 + 100 * u32::try_from(p).unwrap() + month;
            lines.push(line(powertrain, month, units, "estimate", "2023-10-01"));
        }
    }
    lines
}

/// What lands between pages: revisions of figures on pages already read and on pages still
/// to come (final figures, and a preliminary one between an estimate and its final), new
/// months, and a new series before and after the cursor.
fn later_figures() -> Vec<String> {
    let mut lines = Vec::new();
    for powertrain in ["bev", "phev", "ice", "hev"] {
        for month in [1, 5, 9] {
            lines.push(line(
                powertrain,
                month,
                20_000 + month,
                "final",
                "2023-12-01",
            ));
        }
        lines.push(line(powertrain, 10, 30_000, "estimate", "2023-11-01"));
    }
    lines.push(line("bev", 3, 25_000, "preliminary", "2023-11-15"));
    lines.push(line("all", 2, 90_000, "final", "2023-12-01"));
    lines.push(line("nev", 2, 40_000, "final", "2023-12-01"));
    lines
}

async fn page(
    client: &mut StatsServiceClient<Channel>,
    include_superseded: bool,
    page_size: i32,
    page_token: String,
) -> Result<wire::ListSalesFiguresResponse, tonic::Status> {
    client
        .list_sales_figures(wire::ListSalesFiguresRequest {
            page_size,
            page_token,
            include_superseded,
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn whole(
    client: &mut StatsServiceClient<Channel>,
    include_superseded: bool,
) -> Vec<wire::SalesFigure> {
    page(client, include_superseded, 1000, String::new())
        .await
        .unwrap()
        .sales_figures
}

/// A page token with its sequence mark changed to `mark` (the rest kept).
fn with_mark(token: &str, mark: i64) -> String {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).unwrap()).unwrap();
    let mut parts: Vec<String> = text.splitn(4, '\n').map(str::to_owned).collect();
    assert_eq!(parts[0], "v2", "{text}");
    parts[2] = mark.to_string();
    URL_SAFE_NO_PAD.encode(parts.join("\n"))
}

async fn pages_read_the_state_of_the_first_page_while_imports_land(db: &str) {
    let mut stack = spawn_stack(db).await;
    let lines = first_figures();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    import(&mut stack.stats, &new_id(), vec![figures(&lines)])
        .await
        .unwrap();
    let mut revised = Vec::new();
    for superseded in [false, true] {
        // The listing at the mark, read in one page before anything else lands.
        let at_mark = whole(&mut stack.stats, superseded).await;
        assert!(at_mark.len() >= 36);

        let first = page(&mut stack.stats, superseded, 5, String::new())
            .await
            .unwrap();
        let mut listed = first.sales_figures;
        let mut token = first.next_page_token;
        let mut landed = 0;
        while !token.is_empty() {
            // Something lands between every pair of pages.
            if landed < 3 {
                let later = later_figures();
                let chunk: Vec<&str> = later
                    .iter()
                    .skip(landed * 6)
                    .take(6)
                    .map(String::as_str)
                    .collect();
                if !chunk.is_empty() {
                    import(&mut stack.stats, &new_id(), vec![figures(&chunk)])
                        .await
                        .unwrap();
                }
                landed += 1;
            }
            let next = page(&mut stack.stats, superseded, 5, token).await.unwrap();
            listed.extend(next.sales_figures);
            token = next.next_page_token;
        }
        assert_eq!(listed, at_mark, "include_superseded {superseded}");

        // The listing now holds what landed, and figures listed at the mark as the latest
        // (or, with superseded ones, as revised only by figures listed then) have been
        // revised since: the pages showed them as they were.
        let now = whole(&mut stack.stats, true).await;
        assert!(now.len() > at_mark.len());
        let names: Vec<&str> = at_mark.iter().map(|f| f.name.as_str()).collect();
        for f in &at_mark {
            assert!(
                f.superseded_by.is_empty() || names.contains(&f.superseded_by.as_str()),
                "{f:?}"
            );
        }
        let superseded_since: Vec<&wire::SalesFigure> = now
            .iter()
            .filter(|f| !f.superseded_by.is_empty() && !names.contains(&f.superseded_by.as_str()))
            .collect();
        let then: Vec<&wire::SalesFigure> = superseded_since
            .iter()
            .filter_map(|f| at_mark.iter().find(|g| g.name == f.name))
            .collect();
        assert!(!then.is_empty() && then.len() == superseded_since.len());
        assert!(then.iter().all(|f| f.superseded_by.is_empty()));
        revised.extend(then.iter().map(|f| f.name.clone()));
    }
    assert!(!revised.is_empty());

    // The mark is bound into the token: changing it is refused, as is a token for
    // other filters.
    let first = page(&mut stack.stats, false, 5, String::new())
        .await
        .unwrap();
    for edited in [
        with_mark(&first.next_page_token, 1),
        with_mark(&first.next_page_token, i64::MAX),
    ] {
        let err = page(&mut stack.stats, false, 5, edited).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&err), ["page_token"]);
    }
    let err = page(&mut stack.stats, true, 5, first.next_page_token)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["page_token"]);
}
