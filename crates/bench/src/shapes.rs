//! The query shapes: each as an engine call and as the equivalent SQL for DuckDB and
//! PostgreSQL, with a checksum so the answers can be compared.
//!
//! The SQL answers the same question from the same figures the way an analyst would write
//! it: the latest known revision of every monthly figure (`arg_max` in DuckDB, `DISTINCT
//! ON` in PostgreSQL), summed over the months, with the month count as the coverage check.
//! (Quarterly and cumulative figures equal the sums of their months in the generated data,
//! so the engine's tiling gives the same totals.)

use anyhow::Result;
use autointel_domain::{
    Date, Flow, Market, MeasureBasis, MonthRange, Powertrain, SeriesKey, VehicleScope, YearMonth,
};
use autointel_domain::{ListFilter, VintageDiffQuery};
use autointel_stats::engine::{BreakdownFilter, Engine, Granularity};

/// SQL dialect.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// DuckDB.
    Duck,
    /// PostgreSQL.
    Pg,
}

/// The fixed inputs of every shape.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// Organisation of the single-organisation shapes.
    pub org: String,
    /// As-of date of the `as_of` variants.
    pub as_of: Date,
    /// The two vintages of the `vintage_diff` shape.
    pub vintages: (Date, Date),
    pub(crate) key: SeriesKey,
    whole_nev: SeriesKey,
    whole_all: SeriesKey,
}

impl Ctx {
    /// The context for the organisation `org`.
    pub fn new(org: &str) -> Result<Self> {
        let e = |e: autointel_domain::ValueError| anyhow::anyhow!("{e}");
        let key = SeriesKey {
            organization: Some(autointel_domain::OrganizationId::parse(org).map_err(e)?),
            basis: MeasureBasis::Wholesale,
            flow: Flow::Domestic,
            market: Market::parse("CN").map_err(e)?,
            scope: VehicleScope::Passenger,
            powertrain: Powertrain::All,
            destination: None,
        };
        let whole_all = SeriesKey {
            organization: None,
            ..key.clone()
        };
        let whole_nev = SeriesKey {
            powertrain: Powertrain::Nev,
            ..whole_all.clone()
        };
        Ok(Self {
            org: org.to_owned(),
            as_of: Date::new(2024, 2, 20).map_err(e)?,
            vintages: (
                Date::new(2024, 1, 15).map_err(e)?,
                Date::new(2024, 2, 15).map_err(e)?,
            ),
            key,
            whole_nev,
            whole_all,
        })
    }
}

/// One query shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Short name.
    pub name: &'static str,
    /// What it asks.
    pub what: &'static str,
    /// True for the shapes with the 10× target: those reading one organisation's series,
    /// and the vintage diff.
    pub ten_x: bool,
    /// True for the `as_of` variant.
    pub as_of: bool,
    kind: Kind,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Yoy,
    Series,
    RankMonth,
    RankYear,
    Penetration,
    Breakdown,
    VintageDiff,
}

const SHAPES: [(Kind, &str, &str, bool); 6] = [
    (
        Kind::Yoy,
        "yoy_cum",
        "one organisation, Jan-Nov 2023 vs Jan-Nov 2022",
        true,
    ),
    (
        Kind::Series,
        "series_10y",
        "one organisation, monthly 2015-01..2024-12",
        true,
    ),
    (
        Kind::RankMonth,
        "rank_month",
        "all organisations, 2023-06, top 20 with YoY",
        false,
    ),
    (
        Kind::RankYear,
        "rank_year",
        "all organisations, 2023, top 20 with YoY",
        false,
    ),
    (
        Kind::Penetration,
        "nev_pen_10y",
        "whole market NEV / all, monthly 2015-01..2024-12",
        false,
    ),
    (
        Kind::Breakdown,
        "breakdown",
        "whole market by market x powertrain, 2023",
        false,
    ),
];

/// Every shape, without and with `as_of`.
pub fn shapes() -> Vec<Shape> {
    let mut out = Vec::new();
    for as_of in [false, true] {
        for (kind, name, what, ten_x) in SHAPES {
            out.push(Shape {
                name: if as_of {
                    match kind {
                        Kind::Yoy => "yoy_cum+asof",
                        Kind::Series => "series_10y+asof",
                        Kind::RankMonth => "rank_month+asof",
                        Kind::RankYear => "rank_year+asof",
                        Kind::Penetration => "nev_pen_10y+asof",
                        Kind::Breakdown => "breakdown+asof",
                        Kind::VintageDiff => "vintage_diff",
                    }
                } else {
                    name
                },
                what,
                ten_x,
                as_of,
                kind,
            });
        }
    }
    // A diff compares two vintages itself: no `as_of` variant.
    out.push(Shape {
        name: "vintage_diff",
        what: "every series and period whose latest known figure changed between \
               2024-01-15 and 2024-02-15 (one month's release: December's finals and \
               revisions, January's preliminaries, Q4's quarterlies)",
        ten_x: true,
        as_of: false,
        kind: Kind::VintageDiff,
    });
    out
}

fn ym(y: i32, m: u8) -> YearMonth {
    YearMonth::new(y, m).unwrap_or(YearMonth::MIN)
}

fn range(a: YearMonth, b: YearMonth) -> MonthRange {
    MonthRange::new(a, b).unwrap_or(MonthRange::month(a))
}

fn idx(y: i32, m: i32) -> i32 {
    y * 12 + m - 1
}

impl Shape {
    /// Runs the shape on the engine; returns its checksum.
    pub fn run_engine(&self, engine: &Engine, ctx: &Ctx) -> u128 {
        let as_of = self.as_of.then_some(ctx.as_of);
        let sum = |u: Option<u64>| u128::from(u.unwrap_or(0));
        match self.kind {
            Kind::Yoy => {
                let a = engine.change(
                    &ctx.key,
                    range(ym(2023, 1), ym(2023, 11)),
                    range(ym(2022, 1), ym(2022, 11)),
                    as_of,
                );
                a.change
                    .map_or(0, |c| u128::from(c.current) + u128::from(c.prior))
            }
            Kind::Series => engine
                .series(
                    &ctx.key,
                    range(ym(2015, 1), ym(2024, 12)),
                    Granularity::Month,
                    false,
                    as_of,
                )
                .points
                .iter()
                .map(|p| sum(p.units))
                .sum(),
            Kind::RankMonth | Kind::RankYear => {
                let period = if matches!(self.kind, Kind::RankMonth) {
                    MonthRange::month(ym(2023, 6))
                } else {
                    range(ym(2023, 1), ym(2023, 12))
                };
                engine
                    .ranking(&ctx.whole_all, period, 20, as_of)
                    .entries
                    .iter()
                    .map(|e| u128::from(e.units))
                    .sum()
            }
            Kind::Penetration => engine
                .share(
                    &ctx.whole_nev,
                    &ctx.whole_all,
                    range(ym(2015, 1), ym(2024, 12)),
                    Granularity::Month,
                    as_of,
                )
                .points
                .iter()
                .map(|p| sum(p.numerator.units) + sum(p.denominator.units))
                .sum(),
            Kind::Breakdown => {
                let filter = BreakdownFilter {
                    organization: Some(None),
                    basis: Some(MeasureBasis::Wholesale),
                    flow: Some(Flow::Domestic),
                    market: None,
                    scope: Some(VehicleScope::Passenger),
                    powertrain: None,
                };
                engine
                    .breakdown(&filter, range(ym(2023, 1), ym(2023, 12)), as_of)
                    .rows
                    .iter()
                    .map(|(_, t)| sum(t.units))
                    .sum()
            }
            Kind::VintageDiff => {
                let q = VintageDiffQuery {
                    filter: ListFilter::default(),
                    source: None,
                    from: ctx.vintages.0,
                    to: ctx.vintages.1,
                };
                engine
                    .vintage_diff(&q, None, usize::MAX)
                    .0
                    .iter()
                    .map(|c| u128::from(c.units) + c.previous_units.map_or(0, u128::from))
                    .sum()
            }
        }
    }

    /// The SQL of the shape and the checksum expression over its rows (`q`).
    pub fn sql(&self, d: Dialect, ctx: &Ctx) -> (String, String) {
        let as_of = if self.as_of {
            format!(" AND as_of <= DATE '{}'", ctx.as_of)
        } else {
            String::new()
        };
        let dims = "basis = 'wholesale' AND flow = 'domestic' AND scope = 'passenger'";
        let latest = |cols: &str, filter: String| match d {
            Dialect::Duck => format!(
                "SELECT {cols}ps, arg_max(units, rev) AS units FROM f WHERE {filter}{as_of} \
                 AND ps = pe GROUP BY {cols}ps"
            ),
            Dialect::Pg => format!(
                "SELECT DISTINCT ON ({cols}ps) {cols}ps, units FROM f WHERE {filter}{as_of} \
                 AND ps = pe ORDER BY {cols}ps, rev DESC"
            ),
        };
        let org = format!(
            "organization = '{}' AND {dims} AND market = 'CN' AND powertrain = 'all'",
            ctx.org
        );
        match self.kind {
            Kind::Yoy => {
                let (c0, c1, p0, p1) = (idx(2023, 1), idx(2023, 11), idx(2022, 1), idx(2022, 11));
                let l = latest("", format!("{org} AND ps BETWEEN {p0} AND {c1}"));
                (
                    format!(
                        "SELECT sum(units) FILTER (WHERE ps >= {c0}) AS cur, \
                         count(*) FILTER (WHERE ps >= {c0}) AS cn, \
                         sum(units) FILTER (WHERE ps <= {p1}) AS pri, \
                         count(*) FILTER (WHERE ps <= {p1}) AS pn FROM ({l}) t"
                    ),
                    "sum(CASE WHEN cn = 11 AND pn = 11 THEN cur + pri ELSE 0 END)".to_owned(),
                )
            }
            Kind::Series => {
                let l = latest(
                    "",
                    format!(
                        "{org} AND ps BETWEEN {} AND {}",
                        idx(2015, 1),
                        idx(2024, 12)
                    ),
                );
                (
                    format!("SELECT ps, units FROM ({l}) t ORDER BY ps"),
                    "sum(units)".to_owned(),
                )
            }
            Kind::RankMonth | Kind::RankYear => {
                let (c0, c1, len) = if matches!(self.kind, Kind::RankMonth) {
                    (idx(2023, 6), idx(2023, 6), 1)
                } else {
                    (idx(2023, 1), idx(2023, 12), 12)
                };
                let l = latest(
                    "organization, ",
                    format!(
                        "organization <> '' AND {dims} AND market = 'CN' AND powertrain = 'all' \
                         AND (ps BETWEEN {c0} AND {c1} OR ps BETWEEN {} AND {})",
                        c0 - 12,
                        c1 - 12
                    ),
                );
                (
                    format!(
                        "SELECT organization, sum(units) FILTER (WHERE ps >= {c0}) AS cur, \
                         sum(units) FILTER (WHERE ps < {c0}) AS pri, \
                         count(*) FILTER (WHERE ps < {c0}) AS pn FROM ({l}) t \
                         GROUP BY organization HAVING count(*) FILTER (WHERE ps >= {c0}) = {len} \
                         ORDER BY cur DESC, organization LIMIT 20"
                    ),
                    "sum(cur)".to_owned(),
                )
            }
            Kind::Penetration => {
                let l = latest(
                    "powertrain, ",
                    format!(
                        "organization = '' AND {dims} AND market = 'CN' \
                         AND powertrain IN ('nev', 'all') AND ps BETWEEN {} AND {}",
                        idx(2015, 1),
                        idx(2024, 12)
                    ),
                );
                (
                    format!(
                        "SELECT ps, max(units) FILTER (WHERE powertrain = 'nev') AS n, \
                         max(units) FILTER (WHERE powertrain = 'all') AS d, \
                         CAST(max(units) FILTER (WHERE powertrain = 'nev') AS DOUBLE PRECISION) \
                         / max(units) FILTER (WHERE powertrain = 'all') AS share \
                         FROM ({l}) t GROUP BY ps ORDER BY ps"
                    ),
                    "coalesce(sum(n), 0) + coalesce(sum(d), 0)".to_owned(),
                )
            }
            Kind::Breakdown => {
                let l = latest(
                    "market, powertrain, ",
                    format!(
                        "organization = '' AND {dims} AND ps BETWEEN {} AND {}",
                        idx(2023, 1),
                        idx(2023, 12)
                    ),
                );
                (
                    format!(
                        "SELECT market, powertrain, sum(units) AS tot, count(*) AS cnt \
                         FROM ({l}) t GROUP BY market, powertrain ORDER BY market, powertrain"
                    ),
                    "sum(CASE WHEN cnt = 12 THEN tot ELSE 0 END)".to_owned(),
                )
            }
            Kind::VintageDiff => {
                let k = "organization, basis, flow, market, scope, powertrain, ps, pe";
                let (from, to) = ctx.vintages;
                let latest = |day: Date| match d {
                    Dialect::Duck => format!(
                        "SELECT {k}, arg_max(units, rev) AS units, max(rev) AS rev \
                         FROM f JOIN w USING ({k}) WHERE as_of <= DATE '{day}' GROUP BY {k}"
                    ),
                    Dialect::Pg => format!(
                        "SELECT DISTINCT ON ({k}) {k}, units, rev \
                         FROM f JOIN w USING ({k}) WHERE as_of <= DATE '{day}' \
                         ORDER BY {k}, rev DESC"
                    ),
                };
                (
                    format!(
                        "WITH w AS (SELECT DISTINCT {k} FROM f \
                         WHERE as_of > DATE '{from}' AND as_of <= DATE '{to}'), \
                         a AS ({}), b AS ({}) \
                         SELECT b.units AS units, a.units AS before \
                         FROM b LEFT JOIN a USING ({k}) WHERE a.rev IS NULL OR a.rev <> b.rev",
                        latest(from),
                        latest(to)
                    ),
                    "sum(units) + coalesce(sum(before), 0)".to_owned(),
                )
            }
        }
    }
}

/// The statements that turn the loaded CSV (`raw`) into the query table `f`.
pub fn derive_sql(d: Dialect) -> String {
    derive_sql_with(d, "")
}

/// [`derive_sql`] with `extra` columns (`, expr AS name` each) after the others.
pub fn derive_sql_with(d: Dialect, extra: &str) -> String {
    let day = match d {
        Dialect::Duck => "CAST(strftime(as_of_date, '%Y%m%d') AS BIGINT)",
        Dialect::Pg => "CAST(to_char(as_of_date, 'YYYYMMDD') AS BIGINT)",
    };
    format!(
        "CREATE TABLE f AS SELECT coalesce(organization, '') AS organization, basis, flow, \
         market, scope, powertrain, \
         CAST(substr(period, 1, 4) AS INTEGER) * 12 + CAST(substr(period, 6, 2) AS INTEGER) - 1 AS ps, \
         CASE WHEN length(period) > 7 \
           THEN CAST(substr(period, 10, 4) AS INTEGER) * 12 + CAST(substr(period, 15, 2) AS INTEGER) - 1 \
           ELSE CAST(substr(period, 1, 4) AS INTEGER) * 12 + CAST(substr(period, 6, 2) AS INTEGER) - 1 \
         END AS pe, units, \
         CAST(CASE stage WHEN 'estimate' THEN 0 WHEN 'preliminary' THEN 1 WHEN 'final' THEN 2 \
           ELSE 3 END AS BIGINT) * 100000000 + {day} AS rev, \
         as_of_date AS as_of{extra} FROM raw"
    )
}

/// Column list of the import CSV with types, for `CREATE TABLE raw`.
pub const RAW_COLUMNS: &str = "organization VARCHAR, basis VARCHAR, flow VARCHAR, \
    market VARCHAR, scope VARCHAR, powertrain VARCHAR, period VARCHAR, units BIGINT, \
    ten_thousand_units VARCHAR, comparable_prior_units BIGINT, source VARCHAR, stage VARCHAR, \
    as_of_date DATE, note VARCHAR";

/// [`RAW_COLUMNS`] with the optional `nature` and `destination` columns.
pub const RAW_COLUMNS_WITH_DESTINATION: &str = "organization VARCHAR, basis VARCHAR, \
    flow VARCHAR, market VARCHAR, scope VARCHAR, powertrain VARCHAR, period VARCHAR, \
    units BIGINT, ten_thousand_units VARCHAR, comparable_prior_units BIGINT, source VARCHAR, \
    stage VARCHAR, as_of_date DATE, note VARCHAR, nature VARCHAR, destination VARCHAR";
