//! Rollups in each mode over a hierarchy, and groups ranked by their rollups.

use autointel_proto::stats::{self as wire};
use autointel_proto::types::{self as twire};

use crate::fixtures::{build_hierarchy, months, rollup_request, series, violated_fields};
use crate::harness::spawn_stack;

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    rollup_counts_each_figure_once,
);

async fn rollup_counts_each_figure_once(db: &str) {
    let mut stack = spawn_stack(db).await;
    build_hierarchy(&mut stack).await;
    let answer = stack
        .stats
        .compute_rollup(rollup_request("test-holding"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.total.unwrap().units, Some(1_070));
    let mut counted: Vec<(String, bool)> = answer
        .contributions
        .iter()
        .map(|c| (c.organization.clone(), c.counted))
        .collect();
    counted.sort();
    assert_eq!(
        counted,
        [
            ("organizations/test-group".to_owned(), true),
            ("organizations/test-holding".to_owned(), false),
            ("organizations/test-jv".to_owned(), false),
            ("organizations/test-other".to_owned(), true),
            ("organizations/test-plant".to_owned(), false),
        ]
    );
    let jv = answer
        .contributions
        .iter()
        .find(|c| c.organization == "organizations/test-jv")
        .unwrap();
    assert_eq!(jv.units, Some(400));
    assert!(jv.reason.contains("included in"), "{}", jv.reason);
    assert_eq!(answer.provenance.unwrap().figures.len(), 2);

    let group_only = stack
        .stats
        .compute_rollup(rollup_request("test-group"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(group_only.total.unwrap().units, Some(1_000));
    assert_eq!(group_only.mode, wire::RollupMode::Gross as i32);

    // Every link of the hierarchy is a 50% stake, and the modes count each figure at the
    // lowest level that reports it: the jv (held 50% × 50% through the group and through
    // other: 1/2) and the plant (1/4) count, the group and other (whose jv reports) do not:
    // 400/2 + 50/4 = 425/2. The holding controls none of them.
    let with_mode = |root: &str, mode: wire::RollupMode| wire::ComputeRollupRequest {
        mode: mode as i32,
        ..rollup_request(root)
    };
    let equity = stack
        .stats
        .compute_rollup(with_mode("test-holding", wire::RollupMode::EquityShare))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(equity.mode, wire::RollupMode::EquityShare as i32);
    assert_eq!(equity.total.unwrap().units, Some(213));
    let exact = equity.exact_units.unwrap();
    assert_eq!((exact.numerator, exact.denominator), (425, 2));
    let of = |org: &str| {
        equity
            .contributions
            .iter()
            .find(|c| c.organization == format!("organizations/{org}"))
            .unwrap()
    };
    let stake = |org: &str| {
        let s = of(org).stake.as_ref().unwrap();
        (s.numerator, s.denominator)
    };
    assert_eq!((stake("test-jv"), of("test-jv").counted), ((1, 2), true));
    assert_eq!(
        (stake("test-plant"), of("test-plant").counted),
        ((1, 4), true)
    );
    assert_eq!(
        (stake("test-group"), of("test-group").counted),
        ((1, 2), false)
    );
    assert!(of("test-group").reason.contains("lowest"));

    let consolidated = stack
        .stats
        .compute_rollup(with_mode("test-holding", wire::RollupMode::Consolidated))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(consolidated.total.unwrap().units, None);
    assert!(
        consolidated
            .contributions
            .iter()
            .filter(|c| c.organization != "organizations/test-holding")
            .all(|c| !c.counted && c.reason.contains("not consolidated"))
    );
    // The group controls neither the jv nor the plant (50% each): its own figure counts.
    let group_consolidated = stack
        .stats
        .compute_rollup(with_mode("test-group", wire::RollupMode::Consolidated))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(group_consolidated.total.unwrap().units, Some(1_000));

    let unknown = stack
        .stats
        .compute_rollup(wire::ComputeRollupRequest {
            mode: 99,
            ..rollup_request("test-holding")
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&unknown), ["mode"]);

    // One call ranks every top-level group by its rollup: test-holding is the only group
    // with wholesale figures (the seed's groups have none), counted as its rollup counts.
    let rank_groups = |mode: i32| wire::ComputeRankingRequest {
        series: Some(series(
            "",
            twire::MeasureBasis::Wholesale,
            twire::Powertrain::All,
        )),
        period: Some(months((2023, 1), (2023, 12))),
        group_mode: mode,
        ..Default::default()
    };
    let equity = stack
        .stats
        .compute_ranking(rank_groups(wire::RollupMode::EquityShare as i32))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(equity.group_mode, wire::RollupMode::EquityShare as i32);
    let top: Vec<_> = equity
        .entries
        .iter()
        .map(|e| {
            let exact = e.exact_units.as_ref().unwrap();
            (
                e.organization.as_str(),
                e.units,
                exact.numerator,
                exact.denominator,
            )
        })
        .collect();
    assert_eq!(top, [("organizations/test-holding", 213, 425, 2)]);
    let gross = stack
        .stats
        .compute_ranking(rank_groups(wire::RollupMode::Gross as i32))
        .await
        .unwrap()
        .into_inner();
    let top: Vec<_> = gross
        .entries
        .iter()
        .map(|e| (e.organization.as_str(), e.units, e.exact_units.is_some()))
        .collect();
    assert_eq!(top, [("organizations/test-holding", 1_070, false)]);
    let organisations = stack
        .stats
        .compute_ranking(rank_groups(0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(organisations.group_mode, 0, "unset: organisations ranked");
    assert_eq!(
        organisations.entries.len(),
        4,
        "each organisation's own figure"
    );
    let unknown = stack
        .stats
        .compute_ranking(rank_groups(99))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&unknown), ["group_mode"]);
}
