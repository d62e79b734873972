//! Releases, vintage diffs and measures side by side.

use autointel_domain::{
    FigureNature::Actual, Flow, ListFilter, Market, MeasureBasis, MeasuresQuery, ReleaseFilter,
    VintageDiffQuery,
};

use super::*;
use crate::engine::VintageChangeKind::{Added, Revised, Superseded};

const PRELIMINARY: ReleaseStage = ReleaseStage::Preliminary;
const FINAL: ReleaseStage = ReleaseStage::Final;

/// Two sources over two months: CPCA's February release revises its January figure and
/// adds February's; CAAM publishes January once.
fn history() -> (Fixture, SeriesKey, [FigureRef; 5]) {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    let jan_p = f.add_from_(
        &k,
        "2024-01",
        100,
        "cpca",
        Actual,
        (PRELIMINARY, "2024-02-01"),
    );
    let caam = f.add_from_(&k, "2024-01", 120, "caam", Actual, (FINAL, "2024-02-10"));
    let jan_f = f.add_from_(&k, "2024-01", 105, "cpca", Actual, (FINAL, "2024-03-01"));
    let feb = f.add_from_(
        &k,
        "2024-02",
        90,
        "cpca",
        Actual,
        (PRELIMINARY, "2024-03-01"),
    );
    let other = key(Some("geely"), all());
    let geely = f.add_from_(&other, "2024-02", 50, "cpca", Actual, (FINAL, "2024-03-01"));
    (f, k, [jan_p, caam, jan_f, feb, geely])
}

fn sid(s: &str) -> SourceId {
    SourceId::parse(s).unwrap()
}

#[test]
fn releases_count_figures_revisions_and_series_per_source_and_date() {
    let (f, _, _) = history();
    let all = f.engine.releases(&ReleaseFilter::default());
    let shown: Vec<(String, String, u64, u64, u64)> = all
        .iter()
        .map(|r| {
            (
                r.source.to_string(),
                r.as_of.to_string(),
                r.figure_count,
                r.revision_count,
                r.series_count,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("cpca".into(), "2024-03-01".into(), 3, 1, 2),
            ("caam".into(), "2024-02-10".into(), 1, 0, 1),
            ("cpca".into(), "2024-02-01".into(), 1, 0, 1),
        ]
    );
    let cpca = f.engine.releases(&ReleaseFilter {
        source: Some(sid("cpca")),
        from: Some(date("2024-02-02")),
        to: None,
    });
    assert_eq!(cpca.len(), 1);
    assert_eq!(cpca[0].as_of, date("2024-03-01"));
    let none = f.engine.releases(&ReleaseFilter {
        source: Some(sid("marklines")),
        ..ReleaseFilter::default()
    });
    assert!(none.is_empty());
}

#[test]
fn a_diff_names_every_changed_latest_figure_per_source() {
    let (f, _, [jan_p, caam, jan_f, feb, geely]) = history();
    let diff = |from: &str, to: &str, source: Option<&str>| {
        let q = VintageDiffQuery {
            filter: ListFilter::default(),
            source: source.map(sid),
            from: date(from),
            to: date(to),
        };
        f.engine
            .vintage_diff(&q, None, usize::MAX)
            .0
            .into_iter()
            .map(|c| (c.kind, c.figure, c.previous))
            .collect::<Vec<_>>()
    };
    // CPCA's March release: January revised, February added, Geely added.
    assert_eq!(
        diff("2024-02-15", "2024-03-01", None),
        [
            (Revised, jan_f, Some(jan_p)),
            (Added, feb, None),
            (Added, geely, None),
        ]
    );
    // Across the whole chain: CAAM's figure is its own, never a revision of CPCA's.
    assert_eq!(
        diff("2024-01-31", "2024-03-31", Some("caam")),
        [(Added, caam, None)]
    );
    // Nothing changed in a window without releases.
    assert!(diff("2024-03-02", "2024-04-30", None).is_empty());
}

#[test]
fn a_restatement_with_the_same_units_is_superseded_and_pages_continue_after_their_key() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    let first = f.add_from_(
        &k,
        "2024-01",
        100,
        "cpca",
        Actual,
        (PRELIMINARY, "2024-02-01"),
    );
    let same = f.add_from_(&k, "2024-01", 100, "cpca", Actual, (FINAL, "2024-03-01"));
    let months: Vec<FigureRef> = (2..=6)
        .map(|m| {
            f.add_from_(
                &k,
                &format!("2024-{m:02}"),
                10 * m,
                "cpca",
                Actual,
                (FINAL, "2024-07-01"),
            )
        })
        .collect();
    let q = VintageDiffQuery {
        filter: ListFilter::default(),
        source: None,
        from: date("2024-02-15"),
        to: date("2024-07-15"),
    };
    let (whole, more) = f.engine.vintage_diff(&q, None, usize::MAX);
    assert!(!more);
    assert_eq!(whole[0].kind, Superseded);
    assert_eq!((whole[0].figure, whole[0].previous), (same, Some(first)));
    assert_eq!(whole.len(), 6);
    // Pages of two concatenate to the whole diff.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let (page, more) = f.engine.vintage_diff(&q, after.as_ref(), 2);
        after = page.last().and_then(|c| f.engine.list_key(c.figure));
        paged.extend(page);
        if !more {
            break;
        }
    }
    assert_eq!(paged, whole);
    assert_eq!(
        paged[1..].iter().map(|c| c.figure).collect::<Vec<_>>(),
        months
    );
}

#[test]
fn measures_put_every_basis_and_source_side_by_side_with_exact_ratios() {
    let mut f = Fixture::new();
    let wholesale = key(Some("byd"), all());
    let retail = SeriesKey {
        basis: MeasureBasis::Retail,
        ..wholesale.clone()
    };
    let exports = SeriesKey {
        flow: Flow::Export,
        ..wholesale.clone()
    };
    for (k, units, source) in [
        (&wholesale, 300, "cpca"),
        (&wholesale, 315, "caam"),
        (&retail, 240, "cpca"),
    ] {
        for month in ["2024-01", "2024-02"] {
            f.add_from_(k, month, units, source, Actual, (FINAL, "2024-03-05"));
        }
    }
    // exports cover January only: incomplete, never compared
    f.add_from_(
        &exports,
        "2024-01",
        40,
        "cpca",
        Actual,
        (FINAL, "2024-03-05"),
    );
    let a = f.engine.measures(&MeasuresQuery {
        organization: Some(org("byd")),
        market: Market::parse("CN").unwrap(),
        scope: wholesale.scope,
        powertrain: wholesale.powertrain,
        period: range("2024-01..2024-02"),
        as_of: None,
        threshold_basis_points: 500,
        percent_decimals: 1,
    });
    let shown: Vec<(MeasureBasis, Flow, String, Option<u64>)> = a
        .measures
        .iter()
        .map(|m| {
            (
                m.series.basis,
                m.series.flow,
                m.source.to_string(),
                m.total.units,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (MeasureBasis::Retail, Flow::Total, "cpca".into(), Some(480)),
            (MeasureBasis::Wholesale, Flow::Export, "cpca".into(), None),
            (
                MeasureBasis::Wholesale,
                Flow::Total,
                "caam".into(),
                Some(630)
            ),
            (
                MeasureBasis::Wholesale,
                Flow::Total,
                "cpca".into(),
                Some(600)
            ),
        ]
    );
    type Pair = (usize, usize, bool, (i128, i128), bool);
    let pairs: Vec<Pair> = a
        .divergences
        .iter()
        .map(|d| {
            (
                d.first,
                d.second,
                d.same_basis,
                (d.ratio.numerator(), d.ratio.denominator()),
                d.flagged,
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            // retail / wholesale: 480/630 and 480/600, far apart
            (0, 2, false, (16, 21), true),
            (0, 3, false, (4, 5), true),
            // CAAM / CPCA wholesale: exactly 5% apart, not past a 5% threshold
            (2, 3, true, (21, 20), false),
        ]
    );
    // the incomplete export measure uses no figure
    assert_eq!(a.figures.len(), 6);
}
