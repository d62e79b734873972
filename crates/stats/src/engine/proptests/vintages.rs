//! Vintage diffs against the straightforward computation over random histories: two
//! sources per series, forecasts, stages and as-of dates in any import order.

use std::collections::BTreeMap;

use autointel_domain::{ListFilter, VintageDiffQuery};

use super::*;
use crate::engine::VintageChangeKind;

/// (kind, figure id, previous id) of every change, by the definition: per series, nature,
/// source and period, the latest known figure (by stage, as-of, then id) on each date.
fn reference(
    figures: &[SalesFigure],
    from: Date,
    to: Date,
    source: Option<&SourceId>,
) -> Vec<(VintageChangeKind, String, Option<String>)> {
    type Chain = (SeriesKey, FigureNature, SourceId, MonthRange);
    let mut chains: BTreeMap<String, (Chain, Vec<&SalesFigure>)> = BTreeMap::new();
    for f in figures {
        if source.is_some_and(|s| &f.provenance.source != s) {
            continue;
        }
        let chain = (
            f.key.clone(),
            f.nature,
            f.provenance.source.clone(),
            f.period,
        );
        chains
            .entry(format!("{chain:?}"))
            .or_insert_with(|| (chain, Vec::new()))
            .1
            .push(f);
    }
    let mut out = Vec::new();
    for (_, members) in chains.values() {
        let latest = |day: Date| {
            members
                .iter()
                .filter(|f| f.provenance.as_of <= day)
                .max_by_key(|f| (f.provenance.stage, f.provenance.as_of, f.id.to_string()))
        };
        let Some(now) = latest(to) else { continue };
        let kind = match latest(from) {
            Some(p) if p.id == now.id => continue,
            Some(p) if p.units == now.units => VintageChangeKind::Superseded,
            Some(_) => VintageChangeKind::Revised,
            None => VintageChangeKind::Added,
        };
        out.push((
            kind,
            now.id.to_string(),
            latest(from).map(|p| p.id.to_string()),
        ));
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Every change, once, in listing order; pages of any size concatenate to the whole.
    #[test]
    fn a_vintage_diff_is_every_changed_latest_figure(
        specs in prop::collection::vec(spec(), 1..150),
        window in (0u16..1200, 1u16..400),
        one_source in prop::option::of(0u8..2),
        page in 1usize..7,
    ) {
        let (engine, figures) = build(&specs);
        let (from, to) = (day(window.0), day((window.0 + window.1).min(1199)));
        prop_assume!(from < to);
        let source = one_source.map(|s| SourceId::parse(&format!("source-{s}")).unwrap());
        let q = VintageDiffQuery {
            filter: ListFilter::default(),
            source: source.clone(),
            from,
            to,
        };
        let (whole, more) = engine.vintage_diff(&q, None, usize::MAX);
        prop_assert!(!more);
        let id = |f: FigureRef| engine.figure_id(f).unwrap().to_string();
        let mut got: Vec<(VintageChangeKind, String, Option<String>)> = whole
            .iter()
            .map(|c| (c.kind, id(c.figure), c.previous.map(id)))
            .collect();
        let keys: Vec<ListKey> = whole.iter().map(|c| engine.list_key(c.figure).unwrap()).collect();
        prop_assert!(keys.windows(2).all(|w| w[0] < w[1]), "listing order");
        got.sort_by(|a, b| a.1.cmp(&b.1));
        prop_assert_eq!(got, reference(&figures, from, to, source.as_ref()));

        let mut paged = Vec::new();
        let mut after: Option<ListKey> = None;
        loop {
            let (changes, more) = engine.vintage_diff(&q, after.as_ref(), page);
            prop_assert!(changes.len() <= page);
            after = changes.last().and_then(|c| engine.list_key(c.figure));
            paged.extend(changes);
            if !more {
                break;
            }
        }
        prop_assert_eq!(paged, whole);
    }
}
