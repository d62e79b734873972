//! Revisions: as-of reads, stage order, and long chains walked in logarithmic steps.

use super::*;

#[test]
fn as_of_before_and_after_a_revision() {
    let mut f = Fixture::new();
    let k = key(None, Powertrain::Nev);
    let estimate = f.add_full(
        &k,
        "2023-10",
        750_000,
        ReleaseStage::Estimate,
        "2023-10-31",
        None,
    );
    let preliminary = f.add_full(
        &k,
        "2023-10",
        765_000,
        ReleaseStage::Preliminary,
        "2023-11-02",
        None,
    );
    let final_ = f.add_full(
        &k,
        "2023-10",
        767_000,
        ReleaseStage::Final,
        "2023-11-09",
        None,
    );
    let total = |as_of: Option<&str>| {
        f.engine
            .total(&k, range("2023-10"), as_of.map(date))
            .total
            .units
    };
    assert_eq!(total(Some("2023-10-30")), None);
    assert_eq!(total(Some("2023-10-31")), Some(750_000));
    assert_eq!(total(Some("2023-11-08")), Some(765_000));
    assert_eq!(total(Some("2023-11-09")), Some(767_000));
    assert_eq!(total(None), Some(767_000));

    assert_eq!(
        f.engine.revisions(&k, range("2023-10")),
        vec![estimate, preliminary, final_]
    );
    assert_eq!(
        f.engine.neighbours(preliminary),
        (Some(estimate), Some(final_))
    );
    let wire_like = f.engine.figure(final_).unwrap();
    assert_eq!(
        wire_like.provenance.supersedes,
        f.engine.figure_id(preliminary)
    );
}

#[test]
fn an_estimate_imported_after_the_final_does_not_replace_it() {
    let mut f = Fixture::new();
    let k = key(None, Powertrain::Nev);
    let final_ = f.add_full(
        &k,
        "2023-10",
        767_000,
        ReleaseStage::Final,
        "2023-11-09",
        None,
    );
    let estimate = f.add_full(
        &k,
        "2023-10",
        750_000,
        ReleaseStage::Estimate,
        "2023-10-31",
        None,
    );
    assert_eq!(
        f.engine.revisions(&k, range("2023-10")),
        vec![estimate, final_]
    );
    assert_eq!(
        f.engine.total(&k, range("2023-10"), None).total.units,
        Some(767_000)
    );
}

/// `n` revisions of one figure with as-of dates a day apart from 2000-01-01 on, ids
/// ascending, each naming the one before it, units growing by one.
fn long_chain(n: usize) -> Vec<SalesFigure> {
    let mut as_of = date("2000-01-01");
    let mut figures: Vec<SalesFigure> = Vec::with_capacity(n);
    for i in 0..n {
        let figure = SalesFigure {
            id: figure_id(u128::try_from(i).unwrap() + 1).unwrap(),
            key: nissan(),
            period: range("2023-05"),
            units: Units::from_u64(50_000 + u64::try_from(i).unwrap()).unwrap(),
            nature: autointel_domain::FigureNature::Actual,
            comparable_prior: None,
            provenance: Provenance {
                source: SourceId::parse("article").unwrap(),
                stage: ReleaseStage::Final,
                as_of,
                supersedes: figures.last().map(|f| f.id.clone()),
            },
            note: None,
        };
        as_of = if as_of == Date::last_of(as_of.year_month()) {
            Date::first_of(as_of.year_month().succ().unwrap())
        } else {
            Date::new(as_of.year(), as_of.month(), as_of.day() + 1).unwrap()
        };
        figures.push(figure);
    }
    figures
}

/// A chain of 100,000 revisions of one series and period, loaded newest first (each
/// revision goes before all the others), then walked: every lookup (a figure, its
/// neighbours, where a newcomer would go, the latest, a page) is logarithmic and the load
/// one merge, so the whole test takes a second or two even in a debug build. With a scan of
/// the series per lookup, a chain copied per `predecessor_of` and a shift of the series per
/// insert it ran for minutes.
#[test]
fn a_long_chain_is_loaded_and_walked_in_logarithmic_steps() {
    const N: usize = 100_000;
    let started = std::time::Instant::now();
    let figures = long_chain(N);
    let mut engine = Engine::new();
    let loaded = engine
        .insert_all(figures.iter().rev().map(|f| (f, 0)))
        .unwrap();
    assert_eq!(loaded, N);
    let refs: Vec<FigureRef> = figures
        .iter()
        .map(|f| engine.find(&f.id).unwrap())
        .collect();
    assert_eq!(engine.revision_count(&nissan(), range("2023-05")), N);
    assert_eq!(
        engine.latest_revision(&nissan(), range("2023-05")),
        refs.last().copied()
    );
    for (i, &f) in refs.iter().enumerate() {
        let back = engine.figure(f).unwrap();
        assert_eq!(back.units.get(), 50_000 + u64::try_from(i).unwrap());
        assert_eq!(
            back.provenance.supersedes,
            i.checked_sub(1).map(|p| figures[p].id.clone())
        );
        assert_eq!(engine.superseded_by(f), refs.get(i + 1).copied());
        // A newcomer with the same stage and as-of date goes right after this revision.
        let newcomer = SalesFigure {
            id: figure_id(u128::MAX >> 8).unwrap(),
            ..figures[i].clone()
        };
        assert_eq!(engine.predecessor_of(&newcomer), Some(f));
    }
    let mut after = None;
    let mut walked = 0;
    loop {
        let page = engine
            .revision_page(&nissan(), range("2023-05"), after, 1000)
            .unwrap();
        assert_eq!(page.previous, after);
        assert_eq!(
            page.revisions[..],
            refs[walked..walked + page.revisions.len()]
        );
        walked += page.revisions.len();
        after = page.revisions.last().copied();
        if !page.more {
            break;
        }
    }
    assert_eq!(walked, N);
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(60),
        "a chain of {N} took {took:?}: not logarithmic steps"
    );
}

/// A revision link that goes against id order (ids minted on clocks out of step) marks its
/// series irregular; inserts there keep one-at-a-time order, and lookups still find every
/// figure.
#[test]
fn a_link_against_id_order_keeps_one_at_a_time_order() {
    let mut figures = long_chain(12);
    // Two revisions with the same stage and as-of date: the later names the earlier, whose
    // id is larger.
    figures[11].provenance.as_of = figures[10].provenance.as_of;
    figures[11].id = figure_id(5_000).unwrap();
    figures[10].id = figure_id(9_000).unwrap();
    figures[11].provenance.supersedes = Some(figures[10].id.clone());
    let mut one_by_one = Engine::new();
    for f in &figures[..10] {
        one_by_one.insert(f, 0).unwrap();
    }
    let tail = figures[10..].to_vec();
    for f in &tail {
        one_by_one.insert(f, 0).unwrap();
    }
    let mut batched = Engine::new();
    batched
        .insert_all(figures[..10].iter().chain(&tail).map(|f| (f, 0)))
        .unwrap();
    assert!(batched.irregular.contains(&0));
    assert_eq!(batched.entries, one_by_one.entries);
    let chain = batched.revisions(&nissan(), range("2023-05"));
    // The link wins over id order: 9000 first, then 5000 which names it.
    let ids: Vec<String> = chain[10..]
        .iter()
        .map(|&f| batched.figure_id(f).unwrap().to_string())
        .collect();
    assert_eq!(ids, [tail[0].id.to_string(), tail[1].id.to_string()]);
    for (i, &f) in chain.iter().enumerate() {
        assert_eq!(batched.neighbours(f).0, i.checked_sub(1).map(|p| chain[p]));
        assert_eq!(batched.neighbours(f).1, chain.get(i + 1).copied());
    }
}
