//! Destination breakdowns against each destination's own totals, over random figures.

use super::*;

/// Destinations of the export series of [`destination_key`] (0 is none).
const DESTINATIONS: [&str; 4] = ["DE", "BR", "EU", "MX"];

/// The export series of origin 0 (the whole market), 1 or 2 (an organisation) to
/// destination `d` (0: all destinations).
fn destination_key(origin: u8, d: u8) -> SeriesKey {
    SeriesKey {
        flow: Flow::Export,
        destination: d
            .checked_sub(1)
            .map(|d| Market::parse(DESTINATIONS[usize::from(d)]).unwrap()),
        ..key(origin * 5)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// The origin index against each destination's own total: rows, order, sums, the
    /// remainder, year on year and months.
    #[test]
    fn destinations_match_each_destinations_own_totals(
        specs in prop::collection::vec(
            (0u8..3, 0u8..5, 0u16..30, prop_oneof![4 => Just(1u16), 1 => 2u16..4], 0u8..4, 0u16..1000, 0u64..1_000),
            1..120,
        ),
        origin in 0u8..3,
        start in 12u16..30,
        len in 1u16..7,
        as_of in prop::option::of(0u16..1000),
    ) {
        let mut engine = Engine::new();
        for (i, &(o, d, s, l, stage, at, units)) in specs.iter().enumerate() {
            let mut figures = vec![SalesFigure {
                id: figure_id(u128::try_from(i).unwrap() + 1).unwrap(),
                key: destination_key(o, d),
                period: MonthRange::new(month(s), month(s + l - 1)).unwrap(),
                units: Units::from_u64(units).unwrap(),
                nature: FigureNature::Actual,
                comparable_prior: None,
                provenance: Provenance {
                    source: SourceId::parse("customs").unwrap(),
                    stage: ReleaseStage::ALL[usize::from(stage)],
                    as_of: day(at),
                    supersedes: None,
                },
                note: None,
            }];
            engine.link_revisions(&mut figures);
            engine.insert(&figures[0], 0).unwrap();
        }
        let period = MonthRange::new(month(start), month(start + len - 1)).unwrap();
        let as_of = as_of.map(day);
        let origin_key = destination_key(origin, 0);
        let a = engine.destinations(&origin_key, period, None, true, as_of);
        let (mut stated, mut country_incomplete) = (0u64, false);
        for d in 1..=4u8 {
            let k = destination_key(origin, d);
            let own = engine.total(&k, period, as_of).total;
            let row = a.entries.iter().find(|e| Some(&e.destination) == k.destination.as_ref());
            if let Some(units) = own.units {
                let row = row.unwrap();
                prop_assert_eq!(row.total.units, Some(units));
                let prior = period.same_range_previous_year().unwrap();
                let prior = engine.total(&k, prior, as_of).total.units;
                prop_assert_eq!(row.year_over_year.map(|c| c.prior), prior);
                prop_assert_eq!(row.months.len(), usize::from(len));
                for (i, cell) in (0..len).zip(&row.months) {
                    let m = MonthRange::month(month(start + i));
                    prop_assert_eq!(cell.units, engine.total(&k, m, as_of).total.units);
                }
                if !row.region {
                    stated += units;
                }
            } else if let Some(row) = row {
                prop_assert_eq!(row.total.units, None);
                country_incomplete |= !row.region;
            }
        }
        prop_assert_eq!(a.stated_units, stated);
        let all = engine.total(&origin_key, period, as_of).total.units;
        prop_assert_eq!(a.all_destinations.units, all);
        let remainder = all
            .filter(|_| !country_incomplete)
            .map(|all| i64::try_from(all).unwrap() - i64::try_from(stated).unwrap());
        prop_assert_eq!(a.not_stated_units, remainder);
        // Complete rows first, highest first, then the incomplete ones.
        let units: Vec<Option<u64>> = a.entries.iter().map(|e| e.total.units).collect();
        let mut sorted = units.clone();
        sorted.sort_by_key(|u| (u.is_none(), std::cmp::Reverse(*u)));
        prop_assert_eq!(units, sorted);
    }
}
