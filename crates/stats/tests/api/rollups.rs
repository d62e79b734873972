//! Rollups in each mode over a hierarchy, and groups ranked by their rollups.

use autointel_proto::stats::{self as wire};
use autointel_proto::types::{self as twire};

use crate::fixtures::{
    ARTICLE, build_hierarchy, create_org, date, figures, import, months, new_id, owns,
    rollup_request, series, violated_fields,
};
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
    // it controls nothing that reports: a consolidated total of zero, not an unknown
    assert_eq!(consolidated.total.unwrap().units, Some(0));
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

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    a_stake_change_splits_equity_share_and_consolidated_rollups,
);

/// A partial date of month precision.
fn month_date(year: i32, month: i32) -> twire::PartialDate {
    twire::PartialDate {
        precision: twire::DatePrecision::Month as i32,
        year,
        month,
        ..Default::default()
    }
}

/// test-parent holds 40% of test-venture until June 2023 and 60% from July; the venture
/// reports 100 a month. Equity share follows the stake month by month (240 + 360), as a
/// ranking of groups does; one hierarchy date for the year would take 60% of 1 200.
async fn a_stake_change_splits_equity_share_and_consolidated_rollups(db: &str) {
    use autointel_proto::registry as rwire;
    let mut stack = spawn_stack(db).await;
    create_org(
        &mut stack.registry,
        "test-parent",
        rwire::OrganizationKind::Group,
    )
    .await;
    create_org(
        &mut stack.registry,
        "test-venture",
        rwire::OrganizationKind::JointVenture,
    )
    .await;
    for (bp, from, to) in [
        (4_000, None, Some(month_date(2023, 6))),
        (6_000, Some(month_date(2023, 7)), None),
    ] {
        owns(
            &mut stack.registry,
            "test-parent",
            "test-venture",
            bp,
            from,
            to,
        )
        .await;
    }
    let rows: Vec<String> = (1..=12)
        .map(|m| {
            format!(
                "test-venture,wholesale,total,CN,all,all,2023-{m:02},100,,,{},final,2024-01-15,",
                ARTICLE.trim_start_matches("sources/")
            )
        })
        .collect();
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    import(&mut stack.stats, &new_id(), vec![figures(&lines)])
        .await
        .unwrap();

    let rollup = |mode: wire::RollupMode, hierarchy_date| wire::ComputeRollupRequest {
        mode: mode as i32,
        hierarchy_date,
        ..rollup_request("test-parent")
    };
    let equity = stack
        .stats
        .compute_rollup(rollup(wire::RollupMode::EquityShare, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(equity.total.unwrap().units, Some(600));
    let parts: Vec<_> = equity
        .segments
        .iter()
        .map(|s| {
            let p = s.period.unwrap();
            let (start, end) = (p.start.unwrap(), p.end.unwrap());
            let d = s.hierarchy_date.unwrap();
            (
                (start.month, end.month),
                (d.month, d.day),
                s.total.as_ref().unwrap().units,
            )
        })
        .collect();
    assert_eq!(
        parts,
        [((1, 6), (6, 30), Some(240)), ((7, 12), (12, 31), Some(360))]
    );
    assert_eq!(equity.provenance.unwrap().figures.len(), 12);
    let venture = equity
        .contributions
        .iter()
        .find(|c| c.organization == "organizations/test-venture")
        .unwrap();
    assert_eq!(
        (venture.units, venture.stake.is_none()),
        (Some(1_200), true)
    );

    // a fixed hierarchy date reads one hierarchy, as before
    let fixed = stack
        .stats
        .compute_rollup(rollup(
            wire::RollupMode::EquityShare,
            Some(date(2023, 12, 31)),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fixed.total.unwrap().units, Some(720));
    assert!(fixed.segments.is_empty());

    // consolidated: controlled (60%) only from July
    let consolidated = stack
        .stats
        .compute_rollup(rollup(wire::RollupMode::Consolidated, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(consolidated.total.unwrap().units, Some(600));
    assert_eq!(
        consolidated.segments[0].total.as_ref().unwrap().units,
        Some(0)
    );

    // the ranking of groups follows the stakes the same way
    let ranking = stack
        .stats
        .compute_ranking(wire::ComputeRankingRequest {
            series: Some(series(
                "",
                twire::MeasureBasis::Wholesale,
                twire::Powertrain::All,
            )),
            period: Some(months((2023, 1), (2023, 12))),
            group_mode: wire::RollupMode::EquityShare as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let parent = ranking
        .entries
        .iter()
        .find(|e| e.organization == "organizations/test-parent")
        .unwrap();
    assert_eq!(parent.units, 600);

    // an unknown root is NOT_FOUND, as in gross mode
    let missing = stack
        .stats
        .compute_rollup(wire::ComputeRollupRequest {
            mode: wire::RollupMode::EquityShare as i32,
            ..rollup_request("test-nobody")
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
}
