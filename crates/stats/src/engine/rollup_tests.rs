//! Rollup modes: consolidated and equity-share rollups by hand, and the property that the
//! equity-share totals of every top-level group plus the unattributed remainder are the
//! market's total of the entities involved, never more (no double counting) or less.

use autointel_domain::{HierarchyLink, Ratio, RelationshipKind, RollupMode};
use proptest::prelude::*;

use super::tests::{Fixture, all, key, org, range, subsidiary};

fn stake(parent: &str, child: &str, basis_points: u16) -> HierarchyLink {
    HierarchyLink {
        parent: org(parent),
        child: org(child),
        kind: RelationshipKind::JointVenturePartner,
        stake_basis_points: Some(basis_points),
        controls: false,
    }
}

fn brand(parent: &str, child: &str) -> HierarchyLink {
    HierarchyLink {
        parent: org(parent),
        child: org(child),
        kind: RelationshipKind::BrandOf,
        stake_basis_points: None,
        controls: false,
    }
}

fn ratio(n: i128, d: i128) -> Ratio {
    Ratio::new(n, d).unwrap()
}

/// nissan ─ 50% ─ dongfeng-nissan (1,000) ─ 50% ─ dongfeng
///        └ 60% ─ holding (no figures) ─ 50% ─ jv (300)
///        └ brand ─ infiniti (70)
///        └ subsidiary ─ nissan-europe (200), no stake stated
fn group() -> (Fixture, Vec<HierarchyLink>) {
    let mut f = Fixture::new();
    let k = |o: &str| key(Some(o), all());
    f.add(&k("dongfeng-nissan"), "2023-01", 1_000);
    f.add(&k("jv"), "2023-01", 300);
    f.add(&k("infiniti"), "2023-01", 70);
    f.add(&k("nissan-europe"), "2023-01", 200);
    let links = vec![
        stake("nissan", "dongfeng-nissan", 5_000),
        stake("dongfeng", "dongfeng-nissan", 5_000),
        stake("nissan", "holding", 6_000),
        stake("holding", "jv", 5_000),
        brand("nissan", "infiniti"),
        subsidiary("nissan", "nissan-europe"),
    ];
    (f, links)
}

#[test]
fn gross_counts_every_descendant_in_full() {
    let (f, links) = group();
    let a = f.engine.rollup(
        &key(Some("nissan"), all()),
        &links,
        range("2023-01"),
        None,
        RollupMode::Gross,
    );
    assert_eq!(a.total.units, Some(1_000 + 300 + 70 + 200));
    assert_eq!(a.exact, None);
    assert!(a.contributions.iter().all(|c| c.stake.is_none()));
}

#[test]
fn consolidated_counts_only_what_the_root_controls() {
    let (f, links) = group();
    let a = f.engine.rollup(
        &key(Some("nissan"), all()),
        &links,
        range("2023-01"),
        None,
        RollupMode::Consolidated,
    );
    // 50% is not control; 60% of the holding is, but 50% of the jv is not.
    assert_eq!(a.total.units, Some(70 + 200));
    let jv = a
        .contributions
        .iter()
        .find(|c| c.organization == org("dongfeng-nissan"));
    assert!(jv.is_some_and(|c| !c.counted && c.reason.contains("not consolidated")));
}

#[test]
fn a_control_flag_consolidates_whatever_the_stake_and_leaves_equity_share_alone() {
    let (f, mut links) = group();
    // Nissan controls Dongfeng Nissan through the board, with its 50% stake.
    for link in &mut links {
        if link.parent == org("nissan") && link.child == org("dongfeng-nissan") {
            link.controls = true;
        }
    }
    let rollup = |mode| {
        f.engine.rollup(
            &key(Some("nissan"), all()),
            &links,
            range("2023-01"),
            None,
            mode,
        )
    };
    let consolidated = rollup(RollupMode::Consolidated);
    assert_eq!(consolidated.total.units, Some(1_000 + 70 + 200));
    let jv = consolidated
        .contributions
        .iter()
        .find(|c| c.organization == org("dongfeng-nissan"));
    assert!(jv.is_some_and(|c| c.counted), "{jv:?}");
    assert_eq!(
        rollup(RollupMode::EquityShare).exact,
        Some(ratio(660, 1)),
        "equity share still weighs the 50% stake"
    );
}

#[test]
fn equity_share_multiplies_along_chains_and_lists_what_has_no_stake() {
    let (f, links) = group();
    let a = f.engine.rollup(
        &key(Some("nissan"), all()),
        &links,
        range("2023-01"),
        None,
        RollupMode::EquityShare,
    );
    // 1,000 × 1/2 + 300 × 3/5 × 1/2 + 70 (brand, assumed wholly held) = 500 + 90 + 70;
    // nissan-europe (subsidiary without a stake) is listed, not counted.
    assert_eq!(a.exact, Some(ratio(660, 1)));
    assert_eq!(a.total.units, Some(660));
    let stake_of = |o: &str| {
        a.contributions
            .iter()
            .find(|c| c.organization == org(o))
            .and_then(|c| c.stake)
    };
    assert_eq!(stake_of("jv"), Some(ratio(3, 10)));
    assert_eq!(stake_of("infiniti"), Some(ratio(1, 1)));
    let europe = a
        .contributions
        .iter()
        .find(|c| c.organization == org("nissan-europe"))
        .unwrap();
    assert!(!europe.counted && europe.reason.contains("without stake data"));
    assert_eq!(a.assumptions.len(), 1);
    assert!(a.assumptions[0].contains("organizations/infiniti"));
}

#[test]
fn equity_share_adds_parallel_paths_and_keeps_fractions_exact() {
    // root holds 1/3 of a directly and 1/2 of b, which holds 1/3 of a: 1/3 + 1/6 = 1/2.
    let mut f = Fixture::new();
    f.add(&key(Some("a"), all()), "2023-01", 7);
    let links = vec![
        stake("root", "a", 3_333),
        stake("root", "b", 5_000),
        stake("b", "a", 3_333),
    ];
    let a = f.engine.rollup(
        &key(Some("root"), all()),
        &links,
        range("2023-01"),
        None,
        RollupMode::EquityShare,
    );
    // 7 × (3333/10000 + 3333/20000) = 7 × 9999/20000 = 69993/20000, shown rounded: 3
    assert_eq!(a.exact, Some(ratio(69_993, 20_000)));
    assert_eq!(a.total.units, Some(3));
}

/// (groups, entities, stakes): entity `e{i}` reports `units[i]`; group `g{j}` holds
/// `stakes[j][i]` basis points of it, with the sum over groups at most 100%.
fn market() -> impl Strategy<Value = (Vec<u64>, Vec<Vec<u16>>)> {
    (1usize..6, 1usize..5).prop_flat_map(|(entities, groups)| {
        (
            prop::collection::vec(0u64..1_000_000, entities),
            prop::collection::vec(prop::collection::vec(0u16..=10_000, entities), groups),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Over a market, the equity-share totals of all top-level groups plus the
    /// unattributed remainder equal the total of the entities involved, exactly; the
    /// consolidated totals never count an entity twice; gross equals the plain sum.
    #[test]
    fn equity_shares_of_all_groups_plus_the_remainder_are_the_market(
        (units, mut stakes) in market(),
    ) {
        // Scale each entity's stakes so they sum to at most 100%.
        for i in 0..units.len() {
            let sum: u32 = stakes.iter().map(|s| u32::from(s[i])).sum();
            if sum > 10_000 {
                for s in &mut stakes {
                    s[i] = u16::try_from(u32::from(s[i]) * 10_000 / sum).unwrap();
                }
            }
        }
        let mut f = Fixture::new();
        for (i, &u) in units.iter().enumerate() {
            f.add(&key(Some(&format!("e{i}")), all()), "2023-01", u);
        }
        let mut links = Vec::new();
        for (j, s) in stakes.iter().enumerate() {
            for (i, &bp) in s.iter().enumerate() {
                if bp > 0 {
                    links.push(stake(&format!("g{j}"), &format!("e{i}"), bp));
                }
            }
        }
        let mut attributed = ratio(0, 1);
        let mut consolidated_entities = Vec::new();
        for j in 0..stakes.len() {
            let root = key(Some(&format!("g{j}")), all());
            let a = f.engine.rollup(&root, &links, range("2023-01"), None, RollupMode::EquityShare);
            if let Some(exact) = a.exact {
                attributed = attributed.checked_add(exact).unwrap();
            }
            let c = f.engine.rollup(&root, &links, range("2023-01"), None, RollupMode::Consolidated);
            consolidated_entities.extend(
                c.contributions.iter().filter(|c| c.counted).map(|c| c.organization.clone()),
            );
        }
        let mut remainder = ratio(0, 1);
        for (i, &u) in units.iter().enumerate() {
            let held: i128 = stakes.iter().map(|s| i128::from(s[i])).sum();
            let unheld = ratio(i128::from(u) * (10_000 - held), 10_000);
            remainder = remainder.checked_add(unheld).unwrap();
        }
        let market: u64 = units.iter().sum();
        prop_assert_eq!(attributed.checked_add(remainder).unwrap(), ratio(i128::from(market), 1));
        // Control needs more than half, so no entity is consolidated by two groups.
        let mut seen = consolidated_entities.clone();
        seen.sort();
        seen.dedup();
        prop_assert_eq!(seen.len(), consolidated_entities.len());
    }
}

#[test]
fn modes_count_a_figure_reported_at_two_levels_at_the_lowest() {
    // group (1,000, gross: includes the jv in full) ─ 50% ─ jv (400)
    let mut f = Fixture::new();
    f.add(&key(Some("group"), all()), "2023-01", 1_000);
    f.add(&key(Some("jv"), all()), "2023-01", 400);
    let links = vec![stake("group", "jv", 5_000)];
    let rollup = |mode| {
        f.engine.rollup(
            &key(Some("group"), all()),
            &links,
            range("2023-01"),
            None,
            mode,
        )
    };
    assert_eq!(rollup(RollupMode::Gross).total.units, Some(1_000));
    let equity = rollup(RollupMode::EquityShare);
    assert_eq!(equity.exact, Some(ratio(200, 1)));
    assert!(!equity.contributions[0].counted);
    assert!(equity.contributions[0].reason.contains("lowest"));
    // Not controlled, so the jv is left out and the group's own figure counts.
    assert_eq!(rollup(RollupMode::Consolidated).total.units, Some(1_000));
}
