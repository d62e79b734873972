//! Property tests: the engine's indexed paths against the straightforward computation
//! (domain `latest_known` and `tile` over every stored figure) on random data; destination
//! breakdowns against each destination's own total.

use autointel_domain::{
    Date, FigureNature, Flow, Market, MeasureBasis, MonthRange, OrganizationId, Powertrain,
    Provenance, Ratio, ReleaseStage, SalesFigure, SeriesKey, SourceId, Tiling, Units, VehicleScope,
    YearMonth, latest_known, tile,
};
use proptest::prelude::*;

use super::layout::month_code;
use super::series::nature_code;
use super::*;

pub(super) const SERIES: u8 = 16;

pub(super) fn key(series: u8) -> SeriesKey {
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
        destination: None,
    }
}

pub(super) fn month(offset: u16) -> YearMonth {
    YearMonth::from_index(YearMonth::new(2020, 1).unwrap().index() + i32::from(offset)).unwrap()
}

pub(super) fn day(offset: u16) -> Date {
    let m = month(offset / 28);
    Date::new(m.year(), m.month(), u8::try_from(offset % 28 + 1).unwrap()).unwrap()
}

/// (series, start offset, length in months, stage, as-of offset, units)
pub(super) type Spec = (u8, u16, u16, u8, u16, u64);

pub(super) fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..SERIES,
        0u16..30,
        prop_oneof![4 => Just(1u16), 1 => 2u16..4, 1 => Just(3u16), 1 => 5u16..13],
        0u8..4,
        0u16..1200,
        prop_oneof![1 => Just(0u64), 9 => 0u64..2_000_000, 1 => Just((1u64 << 40) - 1)],
    )
}

pub(super) fn build(specs: &[Spec]) -> (Engine, Vec<SalesFigure>) {
    let mut engine = Engine::new();
    let mut figures = Vec::new();
    for (i, &(series, start, len, stage, as_of, units)) in specs.iter().enumerate() {
        let mut f = SalesFigure {
            id: figure_id(u128::try_from(i).unwrap() * 7919 + 3).unwrap(),
            key: key(series),
            period: MonthRange::new(month(start), month(start + len - 1)).unwrap(),
            units: Units::from_u64(units.min(1_000_000_000_000)).unwrap(),
            // About one figure in seven a forecast, which no query may read.
            nature: if as_of % 7 == 0 {
                FigureNature::Forecast
            } else {
                FigureNature::Actual
            },
            comparable_prior: (units % 3 == 0).then(|| Units::from_u64(units / 2).unwrap()),
            provenance: Provenance {
                // Two sources per series, publishing the same periods.
                source: SourceId::parse(&format!("source-{}", (series + stage) % 2)).unwrap(),
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

/// The straightforward total: latest known actual of every period inside the range (of any
/// source), tiled; forecasts never count.
fn reference_total(
    figures: &[SalesFigure],
    key: &SeriesKey,
    period: MonthRange,
    as_of: Option<Date>,
) -> (Option<u64>, Vec<String>) {
    let mut periods: Vec<MonthRange> = figures
        .iter()
        .filter(|f| &f.key == key && f.nature == FigureNature::Actual)
        .filter(|f| period.contains_range(f.period))
        .map(|f| f.period)
        .collect();
    periods.sort_by_key(|p| (p.start(), p.end()));
    periods.dedup();
    let mut ranges = Vec::new();
    let mut chosen = Vec::new();
    for p in periods {
        let chain = figures
            .iter()
            .filter(|f| &f.key == key && f.period == p && f.nature == FigureNature::Actual);
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
            prop_assert_eq!(back.nature, f.nature);
            prop_assert_eq!(engine.create_time_micros(r), i64::try_from(i / 4).unwrap());
            // The latest revision (what answers) is the latest actual of any source.
            let chain = figures.iter().filter(|g| {
                g.key == f.key && g.period == f.period && g.nature == FigureNature::Actual
            });
            let latest = latest_known(chain, None).map(|l| l.id.clone());
            prop_assert_eq!(
                engine.latest_revision(&f.key, f.period).and_then(|l| engine.figure_id(l)),
                latest
            );
            // A figure revises only figures of its own source and nature.
            let (previous, next) = engine.neighbours(r);
            for other in [previous, next, engine.superseded_by(r)].into_iter().flatten() {
                let other = engine.figure(other).unwrap();
                prop_assert_eq!(&other.provenance.source, &f.provenance.source);
                prop_assert_eq!(other.nature, f.nature);
            }
            if let Some(superseded) = &back.provenance.supersedes {
                let other = engine.figure(engine.find(superseded).unwrap()).unwrap();
                prop_assert_eq!(&other.provenance.source, &f.provenance.source);
                prop_assert_eq!(other.nature, f.nature);
            }
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

// ---------------------------------------------------------------------------------------
// Revision chains: lookups, pages and batch inserts against straightforward scans.

/// (series, period, stage, as-of, id, link): few series, periods and dates so that chains
/// grow long (past [`LONG_SERIES`]) and revisions share stage and as-of; ids in no order;
/// the link is how the figure names what it supersedes: 0 none, 1 its predecessor (as an
/// import links it), else an earlier figure picked by the value (which may rank against id
/// order: an irregular series).
type ChainSpec = (u8, u8, u8, u8, u32, u8);

fn chain_spec() -> impl Strategy<Value = ChainSpec> {
    (0u8..3, 0u8..3, 0u8..3, 0u8..4, any::<u32>(), 0u8..8)
}

fn chain_figures(specs: &[ChainSpec]) -> Vec<SalesFigure> {
    let mut reference = Engine::new();
    let mut figures: Vec<SalesFigure> = Vec::new();
    for (i, &(series, period, stage, as_of, id, link)) in specs.iter().enumerate() {
        // Distinct ids whatever the random part.
        let number = (u128::from(id) << 16) | u128::try_from(i).unwrap();
        let start = u16::from(period) * 2;
        let mut f = SalesFigure {
            id: figure_id(number).unwrap(),
            key: key(series),
            period: MonthRange::new(month(start), month(start + u16::from(period % 2))).unwrap(),
            units: Units::from_u64(u64::from(id % 1000)).unwrap(),
            nature: if (id >> 1) % 4 == 0 {
                FigureNature::Forecast
            } else {
                FigureNature::Actual
            },
            comparable_prior: None,
            provenance: Provenance {
                source: SourceId::parse(&format!("source-{}", id % 2)).unwrap(),
                stage: ReleaseStage::ALL[usize::from(stage)],
                as_of: day(u16::from(as_of)),
                supersedes: None,
            },
            note: None,
        };
        f.provenance.supersedes = match link {
            0 => None,
            1 => reference
                .predecessor_of(&f)
                .and_then(|p| reference.figure_id(p)),
            n => (!figures.is_empty())
                .then(|| figures[usize::from(n) * 7919 % figures.len()].id.clone()),
        };
        reference.insert(&f, i64::try_from(i).unwrap()).unwrap();
        figures.push(f);
    }
    figures
}

/// The position of a figure's entry in its series, by scanning every series.
fn scan_entry(engine: &Engine, f: FigureRef) -> Option<(usize, usize)> {
    engine
        .entries
        .iter()
        .enumerate()
        .find_map(|(s, list)| list.iter().position(|e| e.row == f.0).map(|p| (s, p)))
}

/// The previous and next revision of a figure of its own source, by scanning.
fn scan_neighbours(engine: &Engine, f: FigureRef) -> (Option<FigureRef>, Option<FigureRef>) {
    let Some((s, pos)) = scan_entry(engine, f) else {
        return (None, None);
    };
    let list = &engine.entries[s];
    let period = list[pos].period();
    let source = engine.rows[f.0 as usize].source;
    let ours = |e: &Entry| e.period() == period && engine.rows[e.row as usize].source == source;
    let previous = (0..pos)
        .rev()
        .find(|&p| ours(&list[p]))
        .map(|p| FigureRef(list[p].row));
    let next = (pos + 1..list.len())
        .find(|&p| ours(&list[p]))
        .map(|p| FigureRef(list[p].row));
    (previous, next)
}

/// Every revision of one series, nature and period, by scanning its entries.
fn scan_chain(
    engine: &Engine,
    key: &SeriesKey,
    nature: FigureNature,
    period: MonthRange,
) -> Vec<FigureRef> {
    let code = (month_code(period.start()), month_code(period.end()));
    engine
        .series_of_nature(key, nature_code(nature))
        .map(|s| {
            engine.entries[s as usize]
                .iter()
                .filter(|e| e.period() == code)
                .map(|e| FigureRef(e.row))
                .collect()
        })
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn batch_inserts_build_the_engine_one_at_a_time_inserts_build(
        specs in prop::collection::vec(chain_spec(), 1..90),
        cuts in prop::collection::vec(0usize..90, 0..6),
    ) {
        let figures = chain_figures(&specs);
        let mut one_by_one = Engine::new();
        for (i, f) in figures.iter().enumerate() {
            one_by_one.insert(f, i64::try_from(i).unwrap()).unwrap();
        }
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(figures.len())).collect();
        cuts.push(0);
        cuts.push(figures.len());
        cuts.sort_unstable();
        let mut batched = Engine::new();
        for pair in cuts.windows(2) {
            // Each batch also repeats the figure before it, which is skipped.
            let from = pair[0].saturating_sub(1);
            let batch = (from..pair[1]).map(|i| (&figures[i], i64::try_from(i).unwrap()));
            let added = batched.insert_all(batch).unwrap();
            prop_assert_eq!(added, pair[1] - pair[0]);
        }
        prop_assert_eq!(&batched.entries, &one_by_one.entries);
        prop_assert_eq!(&batched.irregular, &one_by_one.irregular);
        prop_assert_eq!(&batched.long_series, &one_by_one.long_series);
        prop_assert_eq!(&batched.supersedes, &one_by_one.supersedes);
        for f in &figures {
            let (a, b) = (batched.find(&f.id).unwrap(), one_by_one.find(&f.id).unwrap());
            prop_assert_eq!(batched.figure(a), one_by_one.figure(b));
        }
    }

    #[test]
    fn chain_lookups_and_pages_match_scans(
        specs in prop::collection::vec(chain_spec(), 1..90),
        probe in chain_spec(),
        page in 1usize..9,
    ) {
        let figures = chain_figures(&specs);
        let mut engine = Engine::new();
        for (i, f) in figures.iter().enumerate() {
            engine.insert(f, i64::try_from(i).unwrap()).unwrap();
        }
        for f in &figures {
            let r = engine.find(&f.id).unwrap();
            let (s, pos) = scan_entry(&engine, r).unwrap();
            let (list, at) = engine.entry_of(r).unwrap();
            prop_assert_eq!((list.as_ptr(), at), (engine.entries[s].as_ptr(), pos));
            let (previous, next) = scan_neighbours(&engine, r);
            prop_assert_eq!(engine.neighbours(r), (previous, next));
            prop_assert_eq!(engine.superseded_by(r), next);
            let back = engine.figure(r).unwrap();
            prop_assert_eq!(
                back.provenance.supersedes,
                previous.and_then(|p| engine.figure_id(p))
            );
            prop_assert_eq!(engine.units(r), Some(f.units.get()));
            prop_assert_eq!(
                engine.revision_order(r),
                Some((f.provenance.stage, f.provenance.as_of))
            );
            let list_key = engine.list_key(r).unwrap();
            prop_assert_eq!(engine.figure_of_list_key(&list_key), Some(r));
        }
        // Every chain: latest revision, predecessor of a newcomer, pages.
        let mut newcomer = chain_figures(&[probe]).pop().unwrap();
        newcomer.nature = FigureNature::Actual;
        let newcomer_source = engine.sources.get(&newcomer.provenance.source);
        for series in 0..3 {
            for period in 0..3u16 {
                let k = key(series);
                let p = MonthRange::new(month(period * 2), month(period * 2 + period % 2)).unwrap();
                let chain = engine.revisions(&k, p);
                prop_assert_eq!(engine.revision_count(&k, p), chain.len());
                prop_assert_eq!(engine.latest_revision(&k, p), chain.last().copied());
                let probe = SalesFigure { key: k.clone(), period: p, ..newcomer.clone() };
                let order = (stage_code(probe.provenance.stage), as_of_code(probe.provenance.as_of));
                let expected = chain
                    .iter()
                    .rev()
                    .filter(|f| Some(engine.rows[f.0 as usize].source) == newcomer_source)
                    .find(|f| engine.rows[f.0 as usize].order() <= order)
                    .copied();
                prop_assert_eq!(engine.predecessor_of(&probe), expected);
                let mut walked = Vec::new();
                let mut after = None;
                loop {
                    let got = engine.revision_page(&k, p, after, page).unwrap();
                    prop_assert_eq!(got.previous, walked.last().copied());
                    prop_assert!(got.revisions.len() <= page);
                    walked.extend(&got.revisions);
                    prop_assert_eq!(got.more, walked.len() < chain.len());
                    if !got.more {
                        break;
                    }
                    after = walked.last().copied();
                }
                prop_assert_eq!(&walked, &chain);
                // A figure of another chain is no cursor for this one.
                if let Some(other) = figures
                    .iter()
                    .filter_map(|f| engine.find(&f.id))
                    .find(|f| !chain.contains(f))
                {
                    prop_assert_eq!(engine.revision_page(&k, p, Some(other), page), None);
                }
            }
        }
    }
}

/// The revision links of an import as the service computed them before they were made
/// linear: for each figure, a scan of the import's earlier figures of its series, period,
/// nature and source and of the engine's whole chain of them.
fn reference_links(engine: &Engine, figures: &[SalesFigure]) -> (Vec<Option<String>>, i64) {
    let mut links = Vec::new();
    let mut revision_count = 0;
    for (i, f) in figures.iter().enumerate() {
        let order = (f.provenance.stage, f.provenance.as_of);
        let earlier: Vec<usize> = (0..i)
            .filter(|&j| {
                figures[j].key == f.key
                    && figures[j].period == f.period
                    && figures[j].nature == f.nature
                    && figures[j].provenance.source == f.provenance.source
            })
            .collect();
        let source = engine.sources.get(&f.provenance.source);
        let chain: Vec<FigureRef> = scan_chain(engine, &f.key, f.nature, f.period)
            .into_iter()
            .filter(|e| Some(engine.rows[e.0 as usize].source) == source)
            .collect();
        let code = (
            stage_code(f.provenance.stage),
            as_of_code(f.provenance.as_of),
        );
        let from_engine = chain
            .iter()
            .rev()
            .find(|e| engine.rows[e.0 as usize].order() <= code)
            .copied();
        let from_batch = earlier
            .iter()
            .copied()
            .filter(|&j| (figures[j].provenance.stage, figures[j].provenance.as_of) <= order)
            .max_by_key(|&j| (figures[j].provenance.stage, figures[j].provenance.as_of, j));
        let predecessor = match (from_batch, from_engine) {
            (Some(j), Some(e)) => {
                let engine_order = engine
                    .figure(e)
                    .map(|g| (g.provenance.stage, g.provenance.as_of));
                let batch_order = Some((figures[j].provenance.stage, figures[j].provenance.as_of));
                if batch_order >= engine_order {
                    Some(figures[j].id.clone())
                } else {
                    engine.figure_id(e)
                }
            }
            (Some(j), None) => Some(figures[j].id.clone()),
            (None, Some(e)) => engine.figure_id(e),
            (None, None) => None,
        };
        if !earlier.is_empty() || !chain.is_empty() {
            revision_count += 1;
        }
        links.push(predecessor.map(|p| p.to_string()));
    }
    (links, revision_count)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn import_links_match_the_straightforward_scan(
        stored in prop::collection::vec(chain_spec(), 0..60),
        imported in prop::collection::vec(chain_spec(), 1..60),
    ) {
        let mut engine = Engine::new();
        for (i, f) in chain_figures(&stored).iter().enumerate() {
            engine.insert(f, i64::try_from(i).unwrap()).unwrap();
        }
        let import: Vec<SalesFigure> = chain_figures(&imported)
            .into_iter()
            .map(|mut f| {
                f.provenance.supersedes = None;
                f
            })
            .collect();
        let mut linked = import;
        let revision_count = i64::try_from(engine.link_revisions(&mut linked)).unwrap();
        let (expected, expected_count) = reference_links(&engine, &linked);
        let links: Vec<Option<String>> = linked
            .iter()
            .map(|f| f.provenance.supersedes.as_ref().map(ToString::to_string))
            .collect();
        prop_assert_eq!(links, expected);
        prop_assert_eq!(revision_count, expected_count);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// Paging the listing (any page size, with and without superseded figures, as of any
    /// date) yields exactly the full listing, in order, and says when more follow.
    #[test]
    fn listing_pages_concatenate_to_the_full_listing(
        specs in prop::collection::vec(spec(), 0..120),
        size in 1usize..17,
        include_superseded in any::<bool>(),
        as_of in prop::option::of(0u16..1300),
    ) {
        let (engine, _) = build(&specs);
        let filter = ListFilter {
            include_superseded,
            as_of: as_of.map(day),
            ..ListFilter::default()
        };
        let full = engine.list(&filter);
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let (page, more) = engine.list_page(&filter, after.as_ref(), size, None);
            prop_assert!(page.len() <= size);
            paged.extend(page.iter().cloned());
            if !more {
                break;
            }
            prop_assert_eq!(page.len(), size);
            after = page.last().map(|(k, _)| k.clone());
        }
        prop_assert_eq!(paged, full);
    }
}

/// The store sequence number [`build_sequenced`] gives figure `i`: ascending, with a gap
/// after every fifth, so rows fall into several runs.
fn seq_of_spec(i: usize) -> i64 {
    i64::try_from(i + 1 + (i / 5) * 3).unwrap()
}

/// [`build`], every figure stored with its sequence number [`seq_of_spec`].
fn build_sequenced(specs: &[Spec]) -> Engine {
    let (_, figures) = build(specs);
    let mut engine = Engine::new();
    for (i, f) in figures.iter().enumerate() {
        let time = i64::try_from(i / 4).unwrap();
        engine.insert_stored([(f, time, seq_of_spec(i))]).unwrap();
    }
    engine
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Paging at a sequence mark lists exactly what an engine holding only the figures
    /// stored up to the mark lists, with the same revision neighbours: later figures never
    /// show, and a figure superseded after the mark is still the latest of its source.
    #[test]
    fn a_listing_at_a_mark_is_the_listing_of_the_engine_then(
        specs in prop::collection::vec(spec(), 0..120),
        size in 1usize..17,
        include_superseded in any::<bool>(),
        as_of in prop::option::of(0u16..1300),
        cut in 0usize..=120,
    ) {
        let engine = build_sequenced(&specs);
        let cut = cut.min(specs.len());
        let mark = if cut == 0 { 0 } else { seq_of_spec(cut - 1) };
        let (then, _) = build(&specs[..cut]);
        let filter = ListFilter {
            include_superseded,
            as_of: as_of.map(day),
            ..ListFilter::default()
        };
        let ids = |engine: &Engine, f: FigureRef| {
            let (previous, next) = engine.neighbours_at_mark(f, mark);
            (
                engine.figure_id(f),
                previous.and_then(|p| engine.figure_id(p)),
                next.and_then(|n| engine.figure_id(n)),
            )
        };
        let expected: Vec<_> = then
            .list(&filter)
            .into_iter()
            .map(|(k, f)| {
                let (previous, next) = then.neighbours(f);
                (
                    k,
                    (
                        then.figure_id(f),
                        previous.and_then(|p| then.figure_id(p)),
                        next.and_then(|n| then.figure_id(n)),
                    ),
                )
            })
            .collect();
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let (page, more) = engine.list_page(&filter, after.as_ref(), size, Some(mark));
            prop_assert!(page.len() <= size);
            paged.extend(page.iter().map(|(k, f)| (k.clone(), ids(&engine, *f))));
            if !more {
                break;
            }
            after = page.last().map(|(k, _)| k.clone());
        }
        prop_assert_eq!(paged, expected);
        if let Some(last) = specs.len().checked_sub(1) {
            prop_assert_eq!(engine.holds_later_than(mark), cut <= last);
        }
    }
}

mod destinations;
mod vintages;
