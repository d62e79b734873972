//! Vintages over gRPC: the release log, a diff across a revision chain, paging, and
//! sources side by side with their divergences.

use autointel_proto::stats::{self as wire};
use autointel_proto::types::{self as twire};

use crate::fixtures::{ARTICLE, date, figures, import, months, new_id, violated_fields};
use crate::harness::spawn_stack;

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    releases_and_a_diff_across_a_revision_chain,
    measures_side_by_side_flag_divergences,
);

const JV: &str = "sources/nissan-dongfeng-jv-structure";

fn row(basis: &str, month: &str, units: u32, source: &str, stage: &str, as_of: &str) -> String {
    let source = source.trim_start_matches("sources/");
    format!(
        "nissan-china,{basis},domestic,CN,passenger,all,{month},{units},,,{source},{stage},{as_of},"
    )
}

async fn releases_and_a_diff_across_a_revision_chain(db: &str) {
    let mut stack = spawn_stack(db).await;
    let lines = [
        row(
            "wholesale",
            "2024-01",
            100,
            ARTICLE,
            "preliminary",
            "2024-02-01",
        ),
        row("wholesale", "2024-01", 120, JV, "final", "2024-02-10"),
        row("wholesale", "2024-01", 105, ARTICLE, "final", "2024-03-01"),
        row(
            "wholesale",
            "2024-02",
            90,
            ARTICLE,
            "preliminary",
            "2024-03-01",
        ),
        row("retail", "2024-02", 70, ARTICLE, "final", "2024-03-01"),
        // the same units again: superseded, not revised
        row("wholesale", "2024-02", 90, ARTICLE, "final", "2024-04-01"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    import(&mut stack.stats, &new_id(), vec![figures(&lines)])
        .await
        .unwrap();

    let list = |page_size: i32, page_token: String| wire::ListReleasesRequest {
        page_size,
        page_token,
        ..Default::default()
    };
    let all = stack
        .stats
        .list_releases(list(0, String::new()))
        .await
        .unwrap()
        .into_inner();
    let shown: Vec<(String, i32, i64, i64, i64)> = all
        .releases
        .iter()
        .map(|r| {
            let d = r.as_of_date.unwrap();
            (
                r.source.clone(),
                d.month * 100 + d.day,
                r.figure_count,
                r.revision_count,
                r.series_count,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (ARTICLE.to_owned(), 401, 1, 1, 1),
            (ARTICLE.to_owned(), 301, 3, 1, 2),
            (JV.to_owned(), 210, 1, 0, 1),
            (ARTICLE.to_owned(), 201, 1, 0, 1),
        ]
    );
    assert!(all.releases.iter().all(|r| r.first_import_time.is_some()));
    // Pages of one concatenate to the listing; a token of other filters is refused.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = stack
            .stats
            .list_releases(list(1, token))
            .await
            .unwrap()
            .into_inner();
        paged.extend(page.releases);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(paged, all.releases);
    let first = stack
        .stats
        .list_releases(list(1, String::new()))
        .await
        .unwrap()
        .into_inner();
    let err = stack
        .stats
        .list_releases(wire::ListReleasesRequest {
            page_token: first.next_page_token,
            source: JV.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["page_token"]);

    // "What did the March release change?"
    let diff = |from: (i32, i32, i32), to: (i32, i32, i32)| wire::DiffVintagesRequest {
        from_as_of_date: Some(date(from.0, from.1, from.2)),
        to_as_of_date: Some(date(to.0, to.1, to.2)),
        basis: twire::MeasureBasis::Wholesale as i32,
        ..Default::default()
    };
    let march = stack
        .stats
        .diff_vintages(diff((2024, 2, 15), (2024, 3, 31)))
        .await
        .unwrap()
        .into_inner();
    let kinds: Vec<(i32, Option<i64>, bool)> = march
        .changes
        .iter()
        .map(|c| (c.kind, c.delta_units, c.previous.is_some()))
        .collect();
    assert_eq!(
        kinds,
        [
            (wire::VintageChangeKind::Revised as i32, Some(5), true),
            (wire::VintageChangeKind::Added as i32, None, false),
        ]
    );
    // Across the whole chain, per source: the JV's figure is its own, the article's
    // February preliminary confirmed as final is superseded.
    let whole = stack
        .stats
        .diff_vintages(wire::DiffVintagesRequest {
            source: ARTICLE.to_owned(),
            ..diff((2024, 3, 15), (2024, 4, 30))
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(whole.changes.len(), 1);
    assert_eq!(
        whole.changes[0].kind,
        wire::VintageChangeKind::Superseded as i32
    );
    assert_eq!(whole.changes[0].delta_units, Some(0));
    let err = stack
        .stats
        .diff_vintages(diff((2024, 3, 1), (2024, 3, 1)))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["to_as_of_date"]);
}

async fn measures_side_by_side_flag_divergences(db: &str) {
    let mut stack = spawn_stack(db).await;
    let lines = [
        row(
            "wholesale",
            "2024-01",
            1_000,
            ARTICLE,
            "final",
            "2024-02-10",
        ),
        row("wholesale", "2024-01", 1_020, JV, "final", "2024-02-12"),
        row("retail", "2024-01", 800, ARTICLE, "final", "2024-02-10"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    import(&mut stack.stats, &new_id(), vec![figures(&lines)])
        .await
        .unwrap();
    let answer = stack
        .stats
        .compute_measures(wire::ComputeMeasuresRequest {
            organization: "organizations/nissan-china".to_owned(),
            market: "CN".to_owned(),
            scope: twire::VehicleScope::Passenger as i32,
            period: Some(months((2024, 1), (2024, 1))),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let shown: Vec<(i32, String, Option<i64>)> = answer
        .measures
        .iter()
        .map(|m| {
            (
                m.series.as_ref().unwrap().basis,
                m.source.clone(),
                m.total.as_ref().unwrap().units,
            )
        })
        .collect();
    let (retail, wholesale) = (
        twire::MeasureBasis::Retail as i32,
        twire::MeasureBasis::Wholesale as i32,
    );
    assert_eq!(
        shown,
        [
            (retail, ARTICLE.to_owned(), Some(800)),
            (wholesale, ARTICLE.to_owned(), Some(1_000)),
            (wholesale, JV.to_owned(), Some(1_020)),
        ]
    );
    let pairs: Vec<(i32, i32, bool, String, bool)> = answer
        .divergences
        .iter()
        .map(|d| {
            let r = d.ratio.as_ref().unwrap();
            (
                d.first,
                d.second,
                d.same_basis,
                format!("{}/{} {}", r.numerator, r.denominator, r.percent),
                d.flagged,
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            (0, 1, false, "4/5 80.0".to_owned(), true),
            (0, 2, false, "40/51 78.4".to_owned(), true),
            // 2% apart: under the default 5% threshold
            (1, 2, true, "50/51 98.0".to_owned(), false),
        ]
    );
    assert_eq!(answer.provenance.unwrap().figures.len(), 3);
    let strict = stack
        .stats
        .compute_measures(wire::ComputeMeasuresRequest {
            organization: "organizations/nissan-china".to_owned(),
            market: "CN".to_owned(),
            scope: twire::VehicleScope::Passenger as i32,
            period: Some(months((2024, 1), (2024, 1))),
            divergence_threshold_basis_points: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(strict.divergences.iter().all(|d| d.flagged));
    let err = stack
        .stats
        .compute_measures(wire::ComputeMeasuresRequest {
            divergence_threshold_basis_points: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&err),
        ["market", "period", "divergence_threshold_basis_points"]
    );
}
