//! Exports by destination at the run's size: a generated set of export figures with
//! destinations (the main dataset has none), loaded into an engine of its own and written as
//! the importer's CSV for DuckDB, and the destination queries timed on both with checksums.
//!
//! The figures: the whole market and `exporter-NNNN` organisations export from CN to 59
//! countries (the dataset's other markets) and two regions (`EU`, `GCC`), plus each
//! origin's total for all destinations; monthly, 2005-01..2024-12, one final figure per
//! month, written in release order (month by month, as the main dataset). The SQL takes the
//! latest revision per series and month like the main shapes (`arg_max`), so revisions
//! would not change the comparison.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Result, anyhow};
use autointel_dataset::MARKETS;
use autointel_domain::{
    Date, FigureNature, Flow, Market, MeasureBasis, MonthRange, OrganizationId, Powertrain,
    Provenance, ReleaseStage, SalesFigure, SeriesKey, SourceId, Units, VehicleScope, YearMonth,
};
use autointel_stats::engine::{Engine, figure_id};
use serde_json::{Value, json};

/// Regions among the destinations (never summed with the countries).
const REGIONS: [&str; 2] = ["EU", "GCC"];
/// First year and number of months of the figures.
const FIRST_YEAR: i32 = 2005;
const MONTHS: i32 = 240;
/// The exporter whose destinations the single-origin shape breaks down.
pub const ORIGIN: &str = "exporter-0001";

/// One query shape on the destination figures.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Short name.
    pub name: &'static str,
    /// What it asks.
    pub what: &'static str,
    kind: Kind,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    OriginYear,
    MarketMatrix,
    Suppliers,
}

/// The shapes.
pub const SHAPES: [Shape; 3] = [
    Shape {
        name: "dest_breakdown",
        what: "one exporter's 61 destinations, 2023, ranked, shares and YoY, with the total for all destinations",
        kind: Kind::OriginYear,
    },
    Shape {
        name: "dest_matrix",
        what: "the whole market's destinations × months of 2024",
        kind: Kind::MarketMatrix,
    },
    Shape {
        name: "dest_suppliers",
        what: "exporters to DE, 2023, top 20 with YoY",
        kind: Kind::Suppliers,
    },
];

fn e(e: autointel_domain::ValueError) -> anyhow::Error {
    anyhow!("{e}")
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

/// The destinations: every market but CN, then the regions.
fn destinations() -> Vec<&'static str> {
    MARKETS[1..].iter().copied().chain(REGIONS).collect()
}

/// The origin key of exporter `o` (`None`: the whole market).
fn origin(o: Option<&str>) -> Result<SeriesKey> {
    Ok(SeriesKey {
        organization: o.map(OrganizationId::parse).transpose().map_err(e)?,
        basis: MeasureBasis::Wholesale,
        flow: Flow::Export,
        market: Market::parse("CN").map_err(e)?,
        scope: VehicleScope::Passenger,
        powertrain: Powertrain::All,
        destination: None,
    })
}

/// splitmix64 of two values: the figures' jitter, the same every run.
fn hash2(a: u64, b: u64) -> u64 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b)
        .wrapping_add(0x6A09_E667_F3BC_C908);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` destination figures loaded into a new engine and written to `csv`; the engine and
/// its load time.
pub fn build(n: usize, csv: &Path) -> Result<(Engine, Value)> {
    let dests = destinations();
    let per_origin = dests.len() + 1;
    // Series (origin × (all destinations, then each destination)) needed for n figures.
    let series = n.div_ceil(usize::try_from(MONTHS)?);
    let origins = series.div_ceil(per_origin);
    let names: Vec<Option<String>> = (0..origins)
        .map(|o| (o > 0).then(|| format!("exporter-{o:04}")))
        .collect();
    let keys = names
        .iter()
        .map(|name| {
            let origin = origin(name.as_deref())?;
            let mut keys = vec![origin.clone()];
            for d in &dests {
                keys.push(SeriesKey {
                    destination: Some(Market::parse(d).map_err(e)?),
                    ..origin.clone()
                });
            }
            Ok(keys)
        })
        .collect::<Result<Vec<_>>>()?;
    let source = SourceId::parse("bench-customs").map_err(e)?;
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(csv)?);
    writeln!(
        out,
        "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,\
         comparable_prior_units,source,stage,as_of_date,note,nature,destination"
    )?;
    let start = Instant::now();
    let mut engine = Engine::new();
    let mut written = 0usize;
    'months: for t in 0..MONTHS {
        let month = YearMonth::from_index(FIRST_YEAR * 12 + t).ok_or_else(|| anyhow!("month"))?;
        let next = month.succ().ok_or_else(|| anyhow!("month"))?;
        let as_of = Date::new(next.year(), next.month(), 10).map_err(e)?;
        let growth = 1.04f64.powi(t / 12);
        for s in 0..series {
            if written >= n {
                break 'months;
            }
            let (o, d) = (s / per_origin, s % per_origin);
            let size = if o == 0 {
                400_000.0
            } else {
                20_000.0 / (o as f64).powf(0.85)
            };
            let total = (size * growth) as u64 + hash2(s as u64, t as u64) % 97;
            // Destination d of D takes a Zipf share of 80% of the total (20% not stated).
            let units = if d == 0 {
                total
            } else {
                let weight = 1.0 / (d as f64);
                let norm: f64 = (1..per_origin).map(|k| 1.0 / k as f64).sum();
                (total as f64 * 0.8 * weight / norm) as u64 + hash2(t as u64, s as u64) % 7
            };
            written += 1;
            let key = &keys[o][d];
            let figure = SalesFigure {
                id: figure_id(written as u128).ok_or_else(|| anyhow!("figure id"))?,
                key: key.clone(),
                period: MonthRange::month(month),
                units: Units::from_u64(units).map_err(e)?,
                nature: FigureNature::Actual,
                comparable_prior: None,
                provenance: Provenance {
                    source: source.clone(),
                    stage: ReleaseStage::Final,
                    as_of,
                    supersedes: None,
                },
                note: None,
            };
            engine
                .insert(&figure, 1_700_000_000_000_000)
                .map_err(|e| anyhow!("{e}"))?;
            writeln!(
                out,
                "{},wholesale,export,CN,passenger,all,{:04}-{:02},{units},,,bench-customs,final,{as_of},,,{}",
                names[o].as_deref().unwrap_or(""),
                month.year(),
                month.month(),
                if d == 0 { "" } else { dests[d - 1] },
            )?;
        }
    }
    out.flush()?;
    engine.compact();
    let secs = start.elapsed().as_secs_f64();
    Ok((
        engine,
        json!({"figures": written, "series": series, "origins": origins, "load_s": secs}),
    ))
}

impl Shape {
    /// Runs the shape on the engine; returns its checksum (see [`Shape::sql`]).
    pub fn run_engine(&self, engine: &Engine) -> Result<u128> {
        let units = |u: Option<u64>| u128::from(u.unwrap_or(0));
        let year_2023 = range(ym(2023, 1), ym(2023, 12));
        Ok(match self.kind {
            Kind::OriginYear => {
                let a = engine.destinations(&origin(Some(ORIGIN))?, year_2023, None, false, None);
                a.entries
                    .iter()
                    .map(|e| {
                        units(e.total.units) + e.year_over_year.map_or(0, |c| u128::from(c.prior))
                    })
                    .sum::<u128>()
                    + units(a.all_destinations.units)
            }
            Kind::MarketMatrix => {
                let a = engine.destinations(
                    &origin(None)?,
                    range(ym(2024, 1), ym(2024, 12)),
                    None,
                    true,
                    None,
                );
                a.entries
                    .iter()
                    .flat_map(|e| &e.months)
                    .chain(&a.all_destinations_months)
                    .map(|m| units(m.units))
                    .sum()
            }
            Kind::Suppliers => {
                let to_de = SeriesKey {
                    destination: Some(Market::parse("DE").map_err(e)?),
                    ..origin(None)?
                };
                engine
                    .ranking(&to_de, year_2023, 20, None)
                    .entries
                    .iter()
                    .map(|e| u128::from(e.units))
                    .sum()
            }
        })
    }

    /// The DuckDB SQL of the shape over the derived table `f` (with `destination`) and the
    /// checksum expression over its rows.
    pub fn sql(&self) -> (String, String) {
        let dims = "basis = 'wholesale' AND flow = 'export' AND market = 'CN' \
                    AND scope = 'passenger' AND powertrain = 'all'";
        let latest = |cols: &str, filter: String| {
            format!(
                "SELECT {cols}ps, arg_max(units, rev) AS units FROM f WHERE {filter} \
                 AND ps = pe GROUP BY {cols}ps"
            )
        };
        let (c0, c1) = (idx(2023, 1), idx(2023, 12));
        match self.kind {
            Kind::OriginYear => {
                let l = latest(
                    "destination, ",
                    format!(
                        "organization = '{ORIGIN}' AND {dims} AND ps BETWEEN {} AND {c1}",
                        c0 - 12
                    ),
                );
                let per = format!(
                    "SELECT destination, sum(units) FILTER (WHERE ps >= {c0}) AS cur, \
                     count(*) FILTER (WHERE ps >= {c0}) AS cn, \
                     sum(units) FILTER (WHERE ps < {c0}) AS pri, \
                     count(*) FILTER (WHERE ps < {c0}) AS pn FROM ({l}) t GROUP BY destination"
                );
                let regions = REGIONS.map(|r| format!("'{r}'")).join(", ");
                (
                    format!(
                        "SELECT destination, cur, pri, cn, pn, \
                         CAST(cur AS DOUBLE) / sum(CASE WHEN cn = 12 AND destination <> '' \
                           AND destination NOT IN ({regions}) THEN cur END) OVER () AS share, \
                         CAST(cur AS DOUBLE) / pri - 1 AS yoy \
                         FROM ({per}) p WHERE cn > 0 ORDER BY cur DESC, destination"
                    ),
                    "sum(CASE WHEN cn = 12 THEN cur ELSE 0 END) + sum(CASE WHEN cn = 12 \
                     AND pn = 12 AND destination <> '' THEN pri ELSE 0 END)"
                        .to_owned(),
                )
            }
            Kind::MarketMatrix => {
                let l = latest(
                    "destination, ",
                    format!(
                        "organization = '' AND {dims} AND ps BETWEEN {} AND {}",
                        idx(2024, 1),
                        idx(2024, 12)
                    ),
                );
                (
                    format!("SELECT destination, ps, units FROM ({l}) t ORDER BY destination, ps"),
                    "sum(units)".to_owned(),
                )
            }
            Kind::Suppliers => {
                let l = latest(
                    "organization, ",
                    format!(
                        "organization <> '' AND {dims} AND destination = 'DE' \
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
                         GROUP BY organization HAVING count(*) FILTER (WHERE ps >= {c0}) = 12 \
                         ORDER BY cur DESC, organization LIMIT 20"
                    ),
                    "sum(cur)".to_owned(),
                )
            }
        }
    }
}
