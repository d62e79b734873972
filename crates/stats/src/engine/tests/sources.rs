//! Several sources for one series and month: a named source, the configured preference,
//! and the latest revision without one; every query shape reads the same figure.

use autointel_domain::{FigureNature::Actual, Reading};

use super::*;

fn reading(as_of: Option<&str>, source: Option<&str>) -> Reading {
    Reading {
        as_of: as_of.map(date),
        source: source.map(|s| SourceId::parse(s).unwrap()),
    }
}

/// The units every month-shaped query answers for `k` in January 2024.
fn answers(f: &Fixture, k: &SeriesKey, r: &Reading) -> [Option<u64>; 3] {
    let jan = range("2024-01");
    let total = f.engine.total(k, jan, r).total.units;
    let monthly = f.engine.series(k, jan, Granularity::Month, false, r).points[0].units;
    let ranked = f
        .engine
        .ranking(k, jan, 10, r)
        .entries
        .first()
        .map(|e| e.units);
    [total, monthly, ranked]
}

#[test]
fn a_named_source_or_the_preference_chooses_between_sources_and_says_which() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    let early = (ReleaseStage::Final, "2024-02-05");
    let later = (ReleaseStage::Final, "2024-02-10");
    let cpca = f.add_from_(&k, "2024-01", 300_000, "cpca", Actual, early);
    let caam = f.add_from_(&k, "2024-01", 310_000, "caam", Actual, later);
    // February only from CAAM: the preference never leaves a month without its figure.
    let caam_feb = f.add_from_(&k, "2024-02", 200_000, "caam", Actual, later);

    // Without a preference: the latest by (stage, as-of).
    let latest = reading(None, None);
    assert_eq!(answers(&f, &k, &latest), [Some(310_000); 3]);
    // A named source, whatever the preference.
    let named = reading(None, Some("cpca"));
    assert_eq!(answers(&f, &k, &named), [Some(300_000); 3]);
    assert_eq!(
        f.engine.total(&k, range("2024-01"), &named).figures,
        vec![cpca]
    );
    // A source with no figure: nothing, not another source's number.
    let absent = reading(None, Some("marklines"));
    assert_eq!(answers(&f, &k, &absent), [None; 3]);
    // As of a date before CAAM's release, CAAM itself has nothing yet.
    let caam_then = reading(Some("2024-02-07"), Some("caam"));
    assert_eq!(answers(&f, &k, &caam_then)[0], None);

    // The preference: CPCA first, though CAAM published later.
    f.engine.set_source_preference(vec![
        SourceId::parse("cpca").unwrap(),
        SourceId::parse("caam").unwrap(),
    ]);
    assert_eq!(answers(&f, &k, &latest), [Some(300_000); 3]);
    let both = f.engine.total(&k, range("2024-01..2024-02"), &latest);
    assert_eq!(both.total.units, Some(500_000));
    assert_eq!(both.figures, vec![cpca, caam_feb]);
    let cited: Vec<String> = f
        .engine
        .sources_of(&both.figures)
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    assert_eq!(cited, ["cpca", "caam"]);
    // Before any release, nothing.
    assert_eq!(
        answers(&f, &k, &reading(Some("2024-02-04"), None)),
        [None; 3]
    );
    // A named source still wins over the preference.
    assert_eq!(
        answers(&f, &k, &reading(None, Some("caam"))),
        [Some(310_000); 3]
    );
    // Sources the preference does not list come after every listed one.
    f.engine
        .set_source_preference(vec![SourceId::parse("caam").unwrap()]);
    assert_eq!(answers(&f, &k, &latest), [Some(310_000); 3]);
    // Before the preferred source's release, the next one answers.
    let between = reading(Some("2024-02-07"), None);
    assert_eq!(answers(&f, &k, &between), [Some(300_000); 3]);
    f.engine
        .set_source_preference(vec![SourceId::parse("marklines").unwrap()]);
    assert_eq!(
        f.engine.total(&k, range("2024-01"), &latest).figures,
        vec![caam]
    );
}

#[test]
fn the_preference_picks_each_sources_latest_revision() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    f.add_from_(
        &k,
        "2024-01",
        100,
        "cpca",
        Actual,
        (ReleaseStage::Preliminary, "2024-02-01"),
    );
    f.add_from_(
        &k,
        "2024-01",
        120,
        "caam",
        Actual,
        (ReleaseStage::Final, "2024-02-20"),
    );
    let revised = f.add_from_(
        &k,
        "2024-01",
        110,
        "cpca",
        Actual,
        (ReleaseStage::Final, "2024-02-15"),
    );
    f.engine
        .set_source_preference(vec![SourceId::parse("cpca").unwrap()]);
    let latest = reading(None, None);
    assert_eq!(answers(&f, &k, &latest), [Some(110); 3]);
    assert_eq!(
        f.engine.total(&k, range("2024-01"), &latest).figures,
        vec![revised]
    );
    // What was known on a date: CPCA's preliminary figure.
    assert_eq!(
        answers(&f, &k, &reading(Some("2024-02-10"), None)),
        [Some(100); 3]
    );
}
