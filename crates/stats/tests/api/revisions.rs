//! Revisions: kept, read as of a date, and paged over a long chain.

use autointel_proto::stats::{self as wire};
use autointel_proto::types::{self as twire};
use tonic::{Code, Status};

use crate::fixtures::{
    chain_figures, chain_key, date, figures, import, import_in_batches, months, new_id,
    violated_fields,
};
use crate::harness::{spawn_stack, sqlite_url};

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    revisions_are_kept_and_as_of_reads_the_past,
    revision_history_comes_in_pages,
);

async fn revisions_are_kept_and_as_of_reads_the_past(db: &str) {
    let mut stack = spawn_stack(db).await;
    let line = |units: u32, stage: &str, as_of: &str| {
        format!(
            ",retail,domestic,CN,passenger,nev,2023-10,{units},,,article-nissan-china-exports-2023,{stage},{as_of},"
        )
    };
    let estimate = line(750_000, "estimate", "2023-10-31");
    let first = import(&mut stack.stats, &new_id(), vec![figures(&[&estimate])])
        .await
        .unwrap();
    assert_eq!(first.revision_count, 0);
    let (preliminary, final_) = (
        line(765_000, "preliminary", "2023-11-02"),
        line(767_000, "final", "2023-11-09"),
    );
    let second = import(
        &mut stack.stats,
        &new_id(),
        vec![figures(&[&preliminary, &final_])],
    )
    .await
    .unwrap();
    assert_eq!((second.imported_count, second.revision_count), (2, 2));

    let key = twire::SeriesKey {
        organization: String::new(),
        basis: twire::MeasureBasis::Retail as i32,
        flow: twire::Flow::Domestic as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::Passenger as i32,
        powertrain: twire::Powertrain::Nev as i32,
        destination: String::new(),
    };
    let total = |as_of: Option<autointel_proto::google::r#type::Date>| wire::ComputeTotalRequest {
        source: String::new(),
        series: Some(key.clone()),
        period: Some(months((2023, 10), (2023, 10))),
        as_of_date: as_of,
    };
    let units = |r: wire::ComputeTotalResponse| r.total.unwrap().units;
    let latest = stack
        .stats
        .compute_total(total(None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(units(latest), Some(767_000));
    let then = stack
        .stats
        .compute_total(total(Some(date(2023, 11, 5))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(units(then), Some(765_000));
    let before = stack
        .stats
        .compute_total(total(Some(date(2023, 10, 1))))
        .await
        .unwrap()
        .into_inner()
        .total
        .unwrap();
    assert_eq!(before.units, None);
    assert_eq!(
        before.coverage.unwrap().uncovered,
        [months((2023, 10), (2023, 10))]
    );

    let history = stack
        .stats
        .get_revision_history(wire::GetRevisionHistoryRequest {
            series: Some(key.clone()),
            period: Some(months((2023, 10), (2023, 10))),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .revisions;
    let changes: Vec<_> = history
        .iter()
        .map(|r| r.change_from_previous_units)
        .collect();
    assert_eq!(changes, [None, Some(15_000), Some(2_000)]);
    let names: Vec<String> = history
        .iter()
        .map(|r| r.figure.as_ref().unwrap().name.clone())
        .collect();
    let last = history[2].figure.as_ref().unwrap();
    assert_eq!(last.supersedes, names[1]);
    assert_eq!(last.superseded_by, "");
    let oldest = stack
        .stats
        .get_sales_figure(wire::GetSalesFigureRequest {
            name: names[0].clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(oldest.superseded_by, names[1]);
    assert!(oldest.create_time.is_some());

    // Listing: latest only by default; paging through every revision.
    let latest_only = stack
        .stats
        .list_sales_figures(wire::ListSalesFiguresRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(latest_only.sales_figures.len(), 1);
    let mut token = String::new();
    let mut seen = Vec::new();
    loop {
        let page = stack
            .stats
            .list_sales_figures(wire::ListSalesFiguresRequest {
                page_size: 1,
                page_token: token.clone(),
                include_superseded: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.sales_figures.into_iter().map(|f| f.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, names);
    let first_page = first_page_of_one(&mut stack.stats).await;
    let err = stack
        .stats
        .list_sales_figures(wire::ListSalesFiguresRequest {
            page_size: 1,
            page_token: first_page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

/// `GetRevisionHistory` pages a long chain: 100 revisions by default, a token to the next
/// page (the first revision of a page changes from the last of the page before), the whole
/// chain in order across pages; bad page sizes and altered or foreign tokens are refused
/// naming the field.
async fn revision_history_comes_in_pages(db: &str) {
    use autointel_stats::engine::ListKey;
    use autointel_stats::service::{decode_token, encode_token};

    let mut stack = spawn_stack(db).await;
    let imported = import_in_batches(&mut stack.stats, chain_figures(250))
        .await
        .unwrap();
    assert_eq!(
        (imported.imported_count, imported.revision_count),
        (250, 249)
    );
    let request = |page_size: i32, page_token: &str| wire::GetRevisionHistoryRequest {
        series: Some(chain_key()),
        period: Some(months((2023, 5), (2023, 5))),
        page_size,
        page_token: page_token.to_owned(),
    };

    // Neither field: the first 100, oldest first, and a token.
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = stack
            .stats
            .get_revision_history(request(0, &token))
            .await
            .unwrap()
            .into_inner();
        token = page.next_page_token.clone();
        pages.push(page.revisions);
        if token.is_empty() {
            break;
        }
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let walked: Vec<wire::Revision> = pages.into_iter().flatten().collect();
    for (i, revision) in walked.iter().enumerate() {
        let figure = revision.figure.as_ref().unwrap();
        assert_eq!(
            figure.quantity,
            Some(wire::sales_figure::Quantity::Units(50_000 + i as i64))
        );
        let expected_change = (i > 0).then_some(1);
        assert_eq!(revision.change_from_previous_units, expected_change, "{i}");
        let previous = i
            .checked_sub(1)
            .map(|p| walked[p].figure.as_ref().unwrap().name.clone());
        assert_eq!(figure.supersedes, previous.unwrap_or_default(), "{i}");
        let next = walked
            .get(i + 1)
            .map(|n| n.figure.as_ref().unwrap().name.clone());
        assert_eq!(figure.superseded_by, next.unwrap_or_default(), "{i}");
    }

    // One page of everything, the same revisions.
    let all = stack
        .stats
        .get_revision_history(request(1000, ""))
        .await
        .unwrap()
        .into_inner();
    assert!(all.next_page_token.is_empty());
    assert_eq!(all.revisions, walked);
    // Page sizes beyond the largest are taken as the largest.
    let big = stack
        .stats
        .get_revision_history(request(i32::MAX, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(big.revisions.len(), 250);

    // A page size may change between pages.
    let first = stack
        .stats
        .get_revision_history(request(7, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.revisions[..], walked[..7]);
    let second = stack
        .stats
        .get_revision_history(request(3, &first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.revisions[..], walked[7..10]);

    let refused = |status: Status| violated_fields(&status);
    let err = stack
        .stats
        .get_revision_history(request(-1, ""))
        .await
        .unwrap_err();
    assert_eq!(refused(err), ["page_size"]);
    for bad in ["not a token", "djEKZm9vCmJhcg"] {
        let err = stack
            .stats
            .get_revision_history(request(0, bad))
            .await
            .unwrap_err();
        assert_eq!(refused(err), ["page_token"], "{bad}");
    }
    // An edited cursor (another as-of date, another figure number) is refused, not misread.
    let (fingerprint, key) = decode_token(&first.next_page_token).unwrap();
    let text = key.encode();
    let parts: Vec<String> = text.split('|').map(str::to_owned).collect();
    let edits = [
        (9, "20991231".to_owned()),
        (10, "1".to_owned()),
        (6, "0".to_owned()),
    ];
    for (field, value) in edits {
        let mut edited = parts.clone();
        edited[field] = value;
        let edited = ListKey::decode(&edited.join("|")).unwrap();
        let token = encode_token(&fingerprint, &edited);
        let err = stack
            .stats
            .get_revision_history(request(0, &token))
            .await
            .unwrap_err();
        assert_eq!(refused(err), ["page_token"], "edited part {field}");
    }
    // Every one-character edit of a token is refused (none is misread as another cursor);
    // tokens do not depend on the database, so once is enough.
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let token = &first.next_page_token;
    let mut accepted = Vec::new();
    let every_edit = db == sqlite_url();
    for (i, original) in token.char_indices().filter(|_| every_edit) {
        for c in ALPHABET.chars().filter(|&c| c != original) {
            let mut edited = token.clone();
            edited.replace_range(i..=i, &c.to_string());
            match stack.stats.get_revision_history(request(1, &edited)).await {
                Ok(_) => accepted.push(edited),
                Err(status) => assert_eq!(refused(status), ["page_token"]),
            }
        }
    }
    assert_eq!(
        accepted,
        Vec::<String>::new(),
        "edited page tokens accepted"
    );
    // A token of another period, or of ListSalesFigures, is not one of this chain's.
    let mut other_period = request(0, &first.next_page_token);
    other_period.period = Some(months((2023, 6), (2023, 6)));
    let err = stack
        .stats
        .get_revision_history(other_period)
        .await
        .unwrap_err();
    assert_eq!(refused(err), ["page_token"]);
    let listed = first_page_of_one(&mut stack.stats).await;
    let err = stack
        .stats
        .get_revision_history(request(0, &listed.next_page_token))
        .await
        .unwrap_err();
    assert_eq!(refused(err), ["page_token"]);
}

/// The first page of one figure of the whole listing, superseded figures included.
async fn first_page_of_one(
    stats: &mut autointel_proto::stats::stats_service_client::StatsServiceClient<
        tonic::transport::Channel,
    >,
) -> wire::ListSalesFiguresResponse {
    stats
        .list_sales_figures(wire::ListSalesFiguresRequest {
            page_size: 1,
            include_superseded: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}
