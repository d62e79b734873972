//! Sources side by side: every basis, flow and source that measures one organisation (or
//! a market) over a range, each from its own source only, and the exact ratio between
//! every two of them.

use autointel_domain::{
    Flow, MeasureBasis, MeasuresQuery, Ratio, ReleaseStage, SeriesKey, SourceId, share,
};

use super::{Total, Used};
use crate::engine::layout::{as_of_code, enum_value};
use crate::engine::pick::Pick;
use crate::engine::{Engine, FigureRef};

/// One source's measure of one basis and flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measure {
    /// The series measured.
    pub series: SeriesKey,
    /// The source.
    pub source: SourceId,
    /// Its total from this source only.
    pub total: Total,
    /// Stages of the figures used, each once, in stage order.
    pub stages: Vec<ReleaseStage>,
}

/// Two complete measures compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Index of the first measure.
    pub first: usize,
    /// Index of the second.
    pub second: usize,
    /// Both of one basis and flow (different sources).
    pub same_basis: bool,
    /// first / second.
    pub ratio: Ratio,
    /// The ratio differs from 1 by more than the threshold.
    pub flagged: bool,
}

/// The measures side by side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeasuresAnswer {
    /// By basis, flow, then source.
    pub measures: Vec<Measure>,
    /// Every pair of complete measures whose second is not zero.
    pub divergences: Vec<Divergence>,
    /// Figures used.
    pub figures: Vec<FigureRef>,
}

impl Engine {
    /// Every basis, flow and source with figures of `q`'s organisation (or market), scope
    /// and powertrain over its period (destination-less actuals), each totalled from its own
    /// source only, with the exact ratio of every two complete measures.
    pub fn measures(&self, q: &MeasuresQuery) -> MeasuresAnswer {
        let as_of = q.as_of.map(as_of_code);
        let mut measures: Vec<(Measure, Vec<u32>)> = Vec::new();
        let keys = self.key_filter(
            Some(q.organization.as_ref()),
            Some(&q.market),
            None,
            None,
            Some(q.scope),
            Some(q.powertrain),
        );
        let series: Vec<usize> = keys.map_or_else(Vec::new, |keys| {
            self.series_keys
                .iter()
                .enumerate()
                .filter(|(_, k)| keys.matches(k))
                .map(|(s, _)| s)
                .collect()
        });
        let any_source = Pick::of_source(as_of, None);
        for s in series {
            let (Some(k), Some(entries)) = (self.series_keys.get(s), self.entries.get(s)) else {
                continue;
            };
            let (Some(basis), Some(flow)) = (
                enum_value(MeasureBasis::ALL, k.basis),
                enum_value(Flow::ALL, k.flow),
            ) else {
                continue;
            };
            let mut sources: Vec<u32> = Vec::new();
            for e in entries {
                let row = &self.rows[e.row as usize];
                if any_source.known(row) && !sources.contains(&row.source) {
                    sources.push(row.source);
                }
            }
            for code in sources {
                let Some(source) = self.sources.value(code) else {
                    continue;
                };
                let (total, rows) = self.total_in(
                    Some(s as u32),
                    q.period,
                    &Pick::of_source(as_of, Some(code)),
                );
                if total.coverage.covered.is_empty() {
                    continue;
                }
                let mut stages: Vec<ReleaseStage> = rows
                    .iter()
                    .filter_map(|&r| enum_value(ReleaseStage::ALL, self.rows[r as usize].stage()))
                    .collect();
                stages.sort_unstable_by_key(|s| ReleaseStage::ALL.iter().position(|x| x == s));
                stages.dedup();
                let series = SeriesKey {
                    organization: q.organization.clone(),
                    basis,
                    flow,
                    market: q.market.clone(),
                    scope: q.scope,
                    powertrain: q.powertrain,
                    destination: None,
                };
                measures.push((
                    Measure {
                        series,
                        source: source.clone(),
                        total,
                        stages,
                    },
                    rows,
                ));
            }
        }
        measures.sort_by(|(a, _), (b, _)| {
            (a.series.basis as u8, a.series.flow as u8, &a.source).cmp(&(
                b.series.basis as u8,
                b.series.flow as u8,
                &b.source,
            ))
        });
        let mut used = Used::default();
        for (_, rows) in &measures {
            used.add(rows);
        }
        let measures: Vec<Measure> = measures.into_iter().map(|(m, _)| m).collect();
        let divergences = divergences(&measures, q.threshold_basis_points);
        MeasuresAnswer {
            measures,
            divergences,
            figures: used.figures,
        }
    }
}

/// Every pair of complete measures whose second is not zero, flagged past `threshold`
/// basis points.
fn divergences(measures: &[Measure], threshold: u32) -> Vec<Divergence> {
    let mut out = Vec::new();
    for (i, a) in measures.iter().enumerate() {
        for (j, b) in measures.iter().enumerate().skip(i + 1) {
            let (Some(x), Some(y)) = (a.total.units, b.total.units) else {
                continue;
            };
            let Some(ratio) = share(x, y) else {
                continue;
            };
            // |x / y - 1| > threshold / 10,000, in integers.
            let flagged =
                u128::from(x.abs_diff(y)) * 10_000 > u128::from(threshold) * u128::from(y);
            out.push(Divergence {
                first: i,
                second: j,
                same_basis: a.series.basis == b.series.basis && a.series.flow == b.series.flow,
                ratio,
                flagged,
            });
        }
    }
    out
}
