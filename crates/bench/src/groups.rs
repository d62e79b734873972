//! Rankings of every group by consolidated and by equity-share sales, on the main dataset's
//! figures and its hierarchy (the demo's rule: a group holds 50% of each joint venture,
//! not a controlling stake, and wholly owns its brands), timed on the engine and as DuckDB
//! SQL over the same figures with the stakes joined in.
//!
//! The SQL follows the engine's documented rules: effective stakes multiply down the
//! hierarchy (a recursive CTE); consolidated keeps what the group controls along the way;
//! a figure reported at several levels counts at the lowest level that reports the whole
//! year (an organisation counts when it reports and nothing it holds, in the mode, does).
//! The engine also works out each ranked group's year-on-year change, which the SQL skips.

use anyhow::{Result, anyhow};
use autointel_dataset::Dataset;
use autointel_domain::{
    MonthRange, OwnershipHistory, Relationship, RelationshipKind, RollupMode, SeriesKey, YearMonth,
};
use autointel_stats::engine::{Engine, GroupHierarchy};

use crate::shapes::Ctx;

/// One ranking of groups.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Short name.
    pub name: &'static str,
    /// What it asks.
    pub what: &'static str,
    mode: RollupMode,
}

/// The shapes.
pub const SHAPES: [Shape; 2] = [
    Shape {
        name: "groups_consolidated",
        what: "all groups by consolidated sales, 2023, top 20 with YoY",
        mode: RollupMode::Consolidated,
    },
    Shape {
        name: "groups_equity",
        what: "all groups by equity-share sales, 2023, top 20 with YoY",
        mode: RollupMode::EquityShare,
    },
];

/// The hierarchy of the dataset, for the engine and as SQL rows.
pub struct Groups {
    history: OwnershipHistory,
    /// `('parent', 'child', stake, controlled), …` for a `VALUES` list.
    values: String,
}

impl Groups {
    /// The hierarchy of `data`.
    pub fn new(data: &Dataset) -> Result<Self> {
        let relationships = autointel_dataset::demo::relationships(data)?;
        let values = relationships
            .iter()
            .map(|r| {
                let (stake, controlled) = weight(r);
                format!("('{}', '{}', {stake:.4}, {controlled})", r.parent, r.child)
            })
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Self {
            history: OwnershipHistory::new(relationships),
            values,
        })
    }

    /// The number of relationships.
    pub fn len(&self) -> usize {
        self.history.relationships().len()
    }
}

/// A link's stake as a fraction and whether it gives control (the engine's rule: a stake
/// above one half, a control flag, or a brand, plant or subsidiary link without a stake).
fn weight(r: &Relationship) -> (f64, bool) {
    match r.stake {
        Some(s) => {
            let bp = f64::from(s.basis_points());
            (bp / 10_000.0, bp > 5_000.0 || r.controls)
        }
        None => (
            1.0,
            matches!(
                r.kind,
                RelationshipKind::BrandOf
                    | RelationshipKind::OperatesPlant
                    | RelationshipKind::SubsidiaryOf
            ) || r.controls,
        ),
    }
}

fn year_2023() -> Result<MonthRange> {
    let ym = |m| YearMonth::new(2023, m).map_err(|e| anyhow!("{e}"));
    MonthRange::new(ym(1)?, ym(12)?).map_err(|e| anyhow!("{e}"))
}

impl Shape {
    /// Runs the ranking on the engine as the service does for these modes; returns its
    /// checksum: the sum of the ranked groups' values, doubled (equity-share values are
    /// multiples of one half here, so the doubled sum is exact).
    pub fn run_engine(&self, engine: &Engine, groups: &Groups, ctx: &Ctx) -> u128 {
        let whole = SeriesKey {
            organization: None,
            ..ctx.key.clone()
        };
        let Ok(year) = year_2023() else { return 0 };
        let answer = engine.group_ranking(
            &whole,
            GroupHierarchy::Dated(&groups.history),
            year,
            20,
            None,
            self.mode,
        );
        answer
            .entries
            .iter()
            .map(|e| match e.exact {
                Some(x) => u128::try_from(x.numerator() * 2 / x.denominator()).unwrap_or(0),
                None => u128::from(e.units) * 2,
            })
            .sum()
    }

    /// The DuckDB SQL of the ranking over the derived table `f`, and the checksum
    /// expression over its rows.
    pub fn sql(&self, groups: &Groups) -> (String, String) {
        let (c0, c1) = (2023 * 12, 2023 * 12 + 11);
        // consolidated: what the group controls, at 100%; equity share: weighted
        let (in_mode, value) = match self.mode {
            RollupMode::Consolidated => ("t.controlled", "units"),
            _ => ("true", "units * w"),
        };
        let values = &groups.values;
        (
            format!(
                "WITH RECURSIVE links(parent, child, stake, controlled) AS (VALUES {values}), \
                 own AS (SELECT organization AS org, sum(units) AS units, count(*) AS n FROM \
                   (SELECT organization, ps, arg_max(units, rev) AS units FROM f \
                    WHERE organization <> '' AND basis = 'wholesale' AND flow = 'domestic' \
                    AND scope = 'passenger' AND market = 'CN' AND powertrain = 'all' \
                    AND ps BETWEEN {c0} AND {c1} AND ps = pe GROUP BY organization, ps) m \
                   GROUP BY organization), \
                 tree(root, org, w, controlled, path) AS ( \
                   SELECT parent, parent, CAST(1 AS DOUBLE), true, [parent] FROM \
                     (SELECT DISTINCT parent FROM links \
                      WHERE parent NOT IN (SELECT child FROM links)) g \
                   UNION ALL \
                   SELECT t.root, l.child, t.w * l.stake, t.controlled AND l.controlled, \
                     list_append(t.path, l.child) FROM tree t JOIN links l ON l.parent = t.org), \
                 reports AS (SELECT t.root, t.org, t.w, t.path, o.units FROM tree t \
                   JOIN own o ON o.org = t.org WHERE o.n = 12 AND {in_mode}), \
                 counted AS (SELECT r.* FROM reports r WHERE NOT EXISTS (SELECT 1 FROM reports d \
                   WHERE d.root = r.root AND d.org <> r.org AND list_contains(d.path, r.org))) \
                 SELECT root, sum({value}) AS v FROM counted GROUP BY root \
                 ORDER BY v DESC, root LIMIT 20"
            ),
            "sum(v * 2)".to_owned(),
        )
    }
}
