//! Property tests: the engine's indexed paths against the straightforward computation
//! (domain `latest_known` and `tile` over every stored figure) on random data.

use autointel_domain::{
    Date, Flow, Market, MeasureBasis, MonthRange, OrganizationId, Powertrain, Provenance, Ratio,
    ReleaseStage, SalesFigure, SeriesKey, SourceId, Tiling, Units, VehicleScope, YearMonth,
    latest_known, tile,
};
use proptest::prelude::*;

use super::*;

const SERIES: u8 = 16;

fn key(series: u8) -> SeriesKey {
    SeriesKey {
        organization: (!series.is_multiple_of(4))
            .then(|| OrganizationId::parse(&format!("org-{}", series % 4)).unwrap()),
        basis: MeasureBasis::Wholesale,
        flow: Flow::Domestic,
        market: Market::parse(if (series / 4).is_multiple_of(2) {
            "CN"
        } else {
            "DE"
        })
        .unwrap(),
        scope: VehicleScope::Passenger,
        powertrain: if series / 8 == 0 {
            Powertrain::All
        } else {
            Powertrain::Nev
        },
    }
}

fn month(offset: u16) -> YearMonth {
    YearMonth::from_index(YearMonth::new(2020, 1).unwrap().index() + i32::from(offset)).unwrap()
}

fn day(offset: u16) -> Date {
    let m = month(offset / 28);
    Date::new(m.year(), m.month(), u8::try_from(offset % 28 + 1).unwrap()).unwrap()
}

/// (series, start offset, length in months, stage, as-of offset, units)
type Spec = (u8, u16, u16, u8, u16, u64);

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..SERIES,
        0u16..30,
        prop_oneof![4 => Just(1u16), 1 => 2u16..4, 1 => Just(3u16), 1 => 5u16..13],
        0u8..4,
        0u16..1200,
        prop_oneof![1 => Just(0u64), 9 => 0u64..2_000_000, 1 => Just((1u64 << 40) - 1)],
    )
}

fn build(specs: &[Spec]) -> (Engine, Vec<SalesFigure>) {
    let mut engine = Engine::new();
    let mut figures = Vec::new();
    for (i, &(series, start, len, stage, as_of, units)) in specs.iter().enumerate() {
        let mut f = SalesFigure {
            id: figure_id(u128::try_from(i).unwrap() * 7919 + 3).unwrap(),
            key: key(series),
            period: MonthRange::new(month(start), month(start + len - 1)).unwrap(),
            units: Units::from_u64(units.min(1_000_000_000_000)).unwrap(),
            comparable_prior: (units % 3 == 0).then(|| Units::from_u64(units / 2).unwrap()),
            provenance: Provenance {
                source: SourceId::parse(&format!("source-{}", series % 2)).unwrap(),
                stage: ReleaseStage::ALL[usize::from(stage)],
                as_of: day(as_of),
                supersedes: None,
            },
            note: (units % 5 == 0).then(|| format!("note {i}")),
        };
        f.provenance.supersedes = engine.predecessor_of(&f).and_then(|p| engine.figure_id(p));
        engine.insert(&f, i64::try_from(i / 4).unwrap()).unwrap();
        figures.push(f);
    }
    (engine, figures)
}

/// The straightforward total: latest known figure of every period inside the range, tiled.
fn reference_total(
    figures: &[SalesFigure],
    key: &SeriesKey,
    period: MonthRange,
    as_of: Option<Date>,
) -> (Option<u64>, Vec<String>) {
    let mut periods: Vec<MonthRange> = figures
        .iter()
        .filter(|f| &f.key == key && period.contains_range(f.period))
        .map(|f| f.period)
        .collect();
    periods.sort_by_key(|p| (p.start(), p.end()));
    periods.dedup();
    let mut ranges = Vec::new();
    let mut chosen = Vec::new();
    for p in periods {
        let chain = figures.iter().filter(|f| &f.key == key && f.period == p);
        if let Some(f) = latest_known(chain, as_of) {
            ranges.push(p);
            chosen.push(f);
        }
    }
    match tile(period, &ranges) {
        Tiling::Exact(pieces) => {
            let units = pieces.iter().map(|&i| chosen[i].units.get()).sum();
            let mut ids: Vec<String> = pieces.iter().map(|&i| chosen[i].id.to_string()).collect();
            ids.sort();
            (Some(units), ids)
        }
        Tiling::Incomplete { .. } => (None, Vec::new()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn totals_match_the_straightforward_computation(
        specs in prop::collection::vec(spec(), 1..120),
        queries in prop::collection::vec((0u8..SERIES, 0u16..30, 1u16..25, prop::option::of(0u16..1300)), 1..20),
    ) {
        let (engine, figures) = build(&specs);
        for (series, start, len, as_of) in queries {
            let key = key(series);
            let period = MonthRange::new(month(start), month(start + len - 1)).unwrap();
            let as_of = as_of.map(day);
            let answer = engine.total(&key, period, as_of);
            let (units, ids) = reference_total(&figures, &key, period, as_of);
            prop_assert_eq!(answer.total.units, units);
            prop_assert_eq!(answer.total.coverage.complete, units.is_some());
            let mut got: Vec<String> = answer
                .figures
                .iter()
                .map(|&f| engine.figure_id(f).unwrap().to_string())
                .collect();
            got.sort();
            prop_assert_eq!(got, ids);
        }
    }

    #[test]
    fn figures_round_trip_and_chains_follow_revision_order(
        specs in prop::collection::vec(spec(), 1..120),
    ) {
        let (engine, figures) = build(&specs);
        prop_assert_eq!(engine.len(), figures.len());
        for (i, f) in figures.iter().enumerate() {
            let r = engine.find(&f.id).unwrap();
            let back = engine.figure(r).unwrap();
            prop_assert_eq!(&back.key, &f.key);
            prop_assert_eq!(back.period, f.period);
            prop_assert_eq!(back.units, f.units);
            prop_assert_eq!(back.comparable_prior, f.comparable_prior);
            prop_assert_eq!(back.provenance.stage, f.provenance.stage);
            prop_assert_eq!(back.provenance.as_of, f.provenance.as_of);
            prop_assert_eq!(&back.provenance.source, &f.provenance.source);
            prop_assert_eq!(&back.note, &f.note);
            prop_assert_eq!(engine.create_time_micros(r), i64::try_from(i / 4).unwrap());
            let chain = figures.iter().filter(|g| g.key == f.key && g.period == f.period);
            let latest = latest_known(chain, None).unwrap();
            prop_assert_eq!(
                engine.latest_revision(&f.key, f.period).and_then(|l| engine.figure_id(l)),
                Some(latest.id.clone())
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn rankings_and_breakdowns_match_per_series_totals(
        specs in prop::collection::vec(spec(), 1..150),
        dims in 0u8..SERIES,
        start in 0u16..30,
        len in 1u16..13,
        as_of in prop::option::of(0u16..1300),
    ) {
        let (engine, _) = build(&specs);
        let period = MonthRange::new(month(start), month(start + len - 1)).unwrap();
        let as_of = as_of.map(day);
        let dims = key(dims);
        // Ranking: every organisation's own total, highest first, ties by id.
        let mut expected: Vec<(OrganizationId, u64)> = (0..SERIES)
            .map(key)
            .filter(|k| {
                k.organization.is_some()
                    && k.market == dims.market
                    && k.powertrain == dims.powertrain
            })
            .filter_map(|k| {
                let units = engine.total(&k, period, as_of).total.units?;
                Some((k.organization.clone()?, units))
            })
            .collect();
        expected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let ranking = engine.ranking(&dims, period, 100, as_of);
        let got: Vec<(OrganizationId, u64)> = ranking
            .entries
            .iter()
            .map(|e| (e.organization.clone(), e.units))
            .collect();
        prop_assert_eq!(got, expected);
        // Breakdown over the whole market by market and powertrain.
        let filter = BreakdownFilter {
            organization: Some(None),
            basis: Some(MeasureBasis::Wholesale),
            flow: Some(Flow::Domestic),
            market: None,
            scope: Some(VehicleScope::Passenger),
            powertrain: None,
        };
        let breakdown = engine.breakdown(&filter, period, as_of);
        for (k, total) in &breakdown.rows {
            prop_assert!(k.organization.is_none());
            prop_assert_eq!(total.units, engine.total(k, period, as_of).total.units);
        }
        let mut keys: Vec<SeriesKey> = breakdown.rows.iter().map(|r| r.0.clone()).collect();
        keys.dedup();
        prop_assert_eq!(keys.len(), breakdown.rows.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn monthly_series_and_shares_match_per_month_totals(
        specs in prop::collection::vec(spec(), 1..150),
        a in 0u8..SERIES,
        b in 0u8..SERIES,
        start in 0u16..30,
        len in 1u16..25,
        as_of in prop::option::of(0u16..1300),
    ) {
        let (engine, _) = build(&specs);
        let period = MonthRange::new(month(start), month(start + len - 1)).unwrap();
        let as_of = as_of.map(day);
        let (ka, kb) = (key(a), key(b));
        let series = engine.series(&ka, period, Granularity::Month, false, as_of);
        prop_assert_eq!(series.points.len(), period.months().count());
        let mut expected_figures = Vec::new();
        for (point, m) in series.points.iter().zip(period.months()) {
            let t = engine.total(&ka, MonthRange::month(m), as_of);
            prop_assert_eq!(point, &t.total);
            expected_figures.extend(t.figures);
        }
        prop_assert_eq!(&series.figures, &expected_figures);
        let shares = engine.share(&ka, &kb, period, Granularity::Month, as_of);
        let mut used = Vec::new();
        for (point, m) in shares.points.iter().zip(period.months()) {
            let n = engine.total(&ka, MonthRange::month(m), as_of);
            let d = engine.total(&kb, MonthRange::month(m), as_of);
            prop_assert_eq!(&point.numerator, &n.total);
            prop_assert_eq!(&point.denominator, &d.total);
            let expected = match (n.total.units, d.total.units) {
                (Some(n), Some(d)) if d > 0 => Ratio::new(i128::from(n), i128::from(d)),
                _ => None,
            };
            prop_assert_eq!(point.share, expected);
            for f in n.figures.into_iter().chain(d.figures) {
                if !used.contains(&f) {
                    used.push(f);
                }
            }
        }
        prop_assert_eq!(shares.points.len(), period.months().count());
        prop_assert_eq!(shares.figures, used);
    }
}
