//! Destination breakdowns by hand: shares of the stated countries, regions never summed,
//! the "not stated" remainder only beside a destination-less total and reported when
//! negative, missing never zero, year-on-year only when last year tiles, the month matrix,
//! and a destination's suppliers ranked.

use autointel_domain::{Change, FigureNature, Ratio};

use super::*;

/// BYD's exports from CN (no destination).
fn byd_exports() -> SeriesKey {
    SeriesKey {
        flow: Flow::Export,
        ..key(Some("byd"), all())
    }
}

fn to(origin: &SeriesKey, code: &str) -> SeriesKey {
    SeriesKey {
        destination: Some(Market::parse(code).unwrap()),
        ..origin.clone()
    }
}

fn ratio(n: i128, d: i128) -> Option<Ratio> {
    Ratio::new(n, d)
}

fn codes(a: &DestinationsAnswer) -> Vec<&str> {
    a.entries.iter().map(|e| e.destination.as_str()).collect()
}

#[test]
fn destinations_are_ranked_with_shares_of_the_stated_countries_and_the_remainder() {
    let mut f = Fixture::new();
    let o = byd_exports();
    let de = f.add(&to(&o, "DE"), "2024-01", 30);
    let br = f.add(&to(&o, "BR"), "2024-01", 20);
    let eu = f.add(&to(&o, "EU"), "2024-01", 40);
    let all_destinations = f.add(&o, "2024-01", 70);
    let a = f
        .engine
        .destinations(&o, range("2024-01"), None, false, None);
    assert_eq!(codes(&a), ["EU", "DE", "BR"]);
    assert_eq!(
        a.entries.iter().map(|e| e.rank).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // The region is ranked but never summed with the countries it may contain.
    assert!(a.entries[0].region);
    assert_eq!(a.entries[0].share, None);
    assert_eq!(a.stated_units, 50);
    assert_eq!(a.entries[1].share, ratio(3, 5));
    assert_eq!(a.entries[2].share, ratio(2, 5));
    // The destination-less total stands apart; the remainder is what no country states.
    assert_eq!(a.all_destinations.units, Some(70));
    assert_eq!(a.not_stated_units, Some(20));
    assert!(!a.inconsistent());
    assert_eq!(a.destination_count, 3);
    assert_eq!(a.incomplete_count, 0);
    let mut cited = a.figures.clone();
    cited.sort();
    assert_eq!(cited, vec![de, br, eu, all_destinations]);
}

#[test]
fn a_negative_remainder_is_reported_as_inconsistent_never_clipped() {
    let mut f = Fixture::new();
    let o = byd_exports();
    f.add(&to(&o, "DE"), "2024-01", 30);
    f.add(&to(&o, "BR"), "2024-01", 20);
    f.add(&o, "2024-01", 40);
    let a = f
        .engine
        .destinations(&o, range("2024-01"), None, false, None);
    assert_eq!(a.not_stated_units, Some(-10));
    assert!(a.inconsistent());
}

#[test]
fn without_a_destination_less_total_there_is_no_remainder_and_nothing_is_summed_into_one() {
    let mut f = Fixture::new();
    let o = byd_exports();
    f.add(&to(&o, "DE"), "2024-01", 30);
    f.add(&to(&o, "BR"), "2024-01", 20);
    let a = f
        .engine
        .destinations(&o, range("2024-01"), None, false, None);
    assert_eq!(a.all_destinations.units, None);
    assert!(!a.all_destinations.coverage.complete);
    assert_eq!(a.not_stated_units, None);
    assert!(!a.inconsistent());
    assert_eq!(a.stated_units, 50);
    // The origin's own total is still unknown: destinations never add up into it.
    assert_eq!(f.engine.total(&o, range("2024-01"), None).total.units, None);
}

#[test]
fn a_destination_missing_a_month_is_not_zero_and_leaves_no_remainder() {
    let mut f = Fixture::new();
    let o = byd_exports();
    f.add(&to(&o, "DE"), "2024-01", 30);
    f.add(&to(&o, "DE"), "2024-02", 35);
    f.add(&to(&o, "BR"), "2024-01", 20);
    f.add(&o, "2024-01..2024-02", 100);
    let a = f
        .engine
        .destinations(&o, range("2024-01..2024-02"), None, false, None);
    assert_eq!(codes(&a), ["DE", "BR"]);
    let br = &a.entries[1];
    assert_eq!((br.rank, br.total.units, br.share), (0, None, None));
    assert_eq!(br.total.coverage.uncovered, vec![range("2024-02")]);
    assert_eq!(a.incomplete_count, 1);
    // BR's February is unknown, so how much no destination states is unknown too.
    assert_eq!(a.all_destinations.units, Some(100));
    assert_eq!(a.not_stated_units, None);
    assert_eq!(a.stated_units, 65);
    assert_eq!(a.entries[0].share, ratio(1, 1));
}

#[test]
fn year_on_year_is_absent_when_last_years_months_are_not_covered() {
    let mut f = Fixture::new();
    let o = byd_exports();
    f.add(&to(&o, "DE"), "2023-01", 10);
    f.add(&to(&o, "DE"), "2024-01", 30);
    f.add(&to(&o, "BR"), "2024-01", 20);
    f.add(&to(&o, "MX"), "2023-01", 0);
    f.add(&to(&o, "MX"), "2024-01", 5);
    let a = f
        .engine
        .destinations(&o, range("2024-01"), None, false, None);
    assert_eq!(codes(&a), ["DE", "BR", "MX"]);
    assert_eq!(
        a.entries[0].year_over_year,
        Some(Change {
            current: 30,
            prior: 10
        })
    );
    assert_eq!(a.entries[1].year_over_year, None);
    // A prior of zero is a number, not a missing one.
    assert_eq!(
        a.entries[2].year_over_year,
        Some(Change {
            current: 5,
            prior: 0
        })
    );
}

#[test]
fn a_limit_keeps_the_top_destinations_and_sums_every_one() {
    let mut f = Fixture::new();
    let o = byd_exports();
    f.add(&to(&o, "DE"), "2024-01", 30);
    f.add(&to(&o, "BR"), "2024-01", 30);
    f.add(&to(&o, "MX"), "2024-01", 20);
    let br_only = f
        .engine
        .destinations(&o, range("2024-01"), Some(1), false, None);
    assert_eq!(codes(&br_only), ["BR"]);
    assert_eq!(br_only.destination_count, 3);
    assert_eq!(br_only.stated_units, 80);
    assert_eq!(br_only.entries[0].share, ratio(3, 8));
    assert_eq!(br_only.figures.len(), 3);
    let a = f
        .engine
        .destinations(&o, range("2024-01"), None, false, None);
    // Equal units share a place.
    assert_eq!(
        a.entries.iter().map(|e| e.rank).collect::<Vec<_>>(),
        [1, 1, 3]
    );
}

#[test]
fn the_month_matrix_has_a_cell_per_month_and_none_where_no_monthly_figure_is() {
    let mut f = Fixture::new();
    let o = byd_exports();
    f.add(&to(&o, "DE"), "2024-01", 30);
    f.add(&to(&o, "DE"), "2024-02", 35);
    f.add(&to(&o, "DE"), "2024-03", 40);
    f.add(&to(&o, "BR"), "2024-01..2024-03", 60);
    f.add(&o, "2024-02", 90);
    let a = f
        .engine
        .destinations(&o, range("2024-01..2024-03"), None, true, None);
    assert_eq!(codes(&a), ["DE", "BR"]);
    let cells = |totals: &[Total]| totals.iter().map(|t| t.units).collect::<Vec<_>>();
    assert_eq!(cells(&a.entries[0].months), [Some(30), Some(35), Some(40)]);
    // A quarterly figure tiles the quarter, not its months.
    assert_eq!(a.entries[1].total.units, Some(60));
    assert_eq!(cells(&a.entries[1].months), [None, None, None]);
    assert_eq!(cells(&a.all_destinations_months), [None, Some(90), None]);
    let plain = f
        .engine
        .destinations(&o, range("2024-01..2024-03"), None, false, None);
    assert!(plain.entries[0].months.is_empty() && plain.all_destinations_months.is_empty());
}

#[test]
fn destinations_answer_as_of_a_date_and_from_actuals_of_the_origin_only() {
    let mut f = Fixture::new();
    let o = byd_exports();
    f.add_full(
        &to(&o, "DE"),
        "2024-01",
        30,
        ReleaseStage::Preliminary,
        "2024-02-02",
        None,
    );
    f.add_full(
        &to(&o, "DE"),
        "2024-01",
        33,
        ReleaseStage::Final,
        "2024-02-10",
        None,
    );
    f.add_full(
        &to(&o, "BR"),
        "2024-01",
        20,
        ReleaseStage::Final,
        "2024-02-10",
        None,
    );
    // A forecast, another maker's and the whole market's destinations are other series.
    let plan = (ReleaseStage::Final, "2024-01-01");
    f.add_from_(
        &to(&o, "FR"),
        "2024-01",
        99,
        "plan",
        FigureNature::Forecast,
        plan,
    );
    let other = SeriesKey {
        flow: Flow::Export,
        ..key(Some("chery"), all())
    };
    f.add(&to(&other, "RU"), "2024-01", 50);
    let market = SeriesKey {
        flow: Flow::Export,
        ..key(None, all())
    };
    f.add(&to(&market, "DE"), "2024-01", 500);
    let passenger = SeriesKey {
        scope: VehicleScope::Passenger,
        ..o.clone()
    };
    f.add(&to(&passenger, "IT"), "2024-01", 7);

    let early = f.engine.destinations(
        &o,
        range("2024-01"),
        None,
        false,
        Some("2024-02-05".parse().unwrap()),
    );
    assert_eq!(codes(&early), ["DE"]);
    assert_eq!(early.entries[0].total.units, Some(30));
    let latest = f
        .engine
        .destinations(&o, range("2024-01"), None, false, None);
    assert_eq!(codes(&latest), ["DE", "BR"]);
    assert_eq!(latest.entries[0].total.units, Some(33));
    let whole_market = f
        .engine
        .destinations(&market, range("2024-01"), None, false, None);
    assert_eq!(codes(&whole_market), ["DE"]);
    assert_eq!(whole_market.entries[0].total.units, Some(500));
}

#[test]
fn a_destinations_suppliers_are_ranked_by_organisation() {
    let mut f = Fixture::new();
    let exports = |o: Option<&str>| SeriesKey {
        flow: Flow::Export,
        ..key(o, all())
    };
    f.add(&to(&exports(Some("byd")), "DE"), "2024-01", 30);
    f.add(&to(&exports(Some("saic")), "DE"), "2024-01", 45);
    f.add(&to(&exports(Some("chery")), "BR"), "2024-01", 90);
    f.add(&exports(Some("chery")), "2024-01", 200);
    let ranking = f
        .engine
        .ranking(&to(&exports(None), "DE"), range("2024-01"), 10, None);
    let ranked: Vec<_> = ranking
        .entries
        .iter()
        .map(|e| (e.organization.as_str(), e.units))
        .collect();
    assert_eq!(ranked, [("saic", 45), ("byd", 30)]);
    assert!(!ranking.total_is_market);
    assert_eq!(ranking.total_units, 75);
    // With the market's own exports to DE, shares are of that.
    f.add(&to(&exports(None), "DE"), "2024-01", 100);
    let ranking = f
        .engine
        .ranking(&to(&exports(None), "DE"), range("2024-01"), 10, None);
    assert!(ranking.total_is_market);
    assert_eq!(ranking.entries[0].share, ratio(45, 100));
}
