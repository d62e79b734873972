//! `autointel-dataset`: a seeded, deterministic synthetic market with realistic
//! cardinalities, the one generator behind the benchmarks (`autointel-bench`) and the demo
//! data of `autointel up --demo` ([`demo`]). Light on purpose: the domain crate and `anyhow`.
//!
//! The benchmarks' shape ([`Shape::BENCH`]):
//!
//! - 500 organisations: 40 groups, each with joint ventures and brands (`organizations.csv`
//!   gives the hierarchy).
//! - 240 months (2005-01..2024-12), 60 markets, both flows, three bases, every powertrain.
//! - Every series has a monthly figure for every month (final stage); about 8 % of them were
//!   first published as a preliminary figure (a revision chain of two). Some series also have
//!   quarterly figures and cumulative January–November figures, each equal to the sum of the
//!   final monthly figures they cover.
//! - Series are taken in order of importance (the Chinese whole market, every organisation's
//!   Chinese total, other whole markets, powertrain and flow splits, other markets) until the
//!   requested number of figures is reached, so every size has the same shape.
//! - Figures are in release order (as-of date), as imports would arrive.
//!
//! A smaller [`Shape`] (fewer groups, organisations, markets or months) keeps every rule;
//! the growth and NEV-share curves follow calendar months from 2005-01, so a window of
//! recent years looks like the same years of the full dataset.

pub mod demo;

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Result, bail};
use autointel_domain::{
    Date, Flow, Market, MeasureBasis, MonthRange, OrganizationId, OrganizationKind, Powertrain,
    Provenance, ReleaseStage, SalesFigure, SalesFigureId, SeriesKey, SourceId, Units, VehicleScope,
    YearMonth,
};

/// First year of the benchmarks' data, and the start of the growth and NEV-share curves.
pub const FIRST_YEAR: i32 = 2005;
/// Number of months of the benchmarks' data.
pub const MONTHS: i32 = 240;
/// Number of organisations of the benchmarks' data.
pub const ORGS: usize = 500;

/// How big the market is: organisations, markets and months.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Groups (the roots of the hierarchy), at least 1.
    pub groups: usize,
    /// Organisations in all, groups included (at least `groups`, at most 65,536).
    pub organizations: usize,
    /// Markets, the first `markets` of [`MARKETS`] (1 to 60; CN first).
    pub markets: usize,
    /// First year of data (2005 or later).
    pub first_year: i32,
    /// Months of data from January of `first_year`, a positive multiple of 12.
    pub months: i32,
}

impl Shape {
    /// The benchmarks' market: 500 organisations in 40 groups, 60 markets, 2005..2024.
    pub const BENCH: Shape = Shape {
        groups: 40,
        organizations: ORGS,
        markets: MARKETS.len(),
        first_year: FIRST_YEAR,
        months: MONTHS,
    };

    /// Why this shape cannot be generated, if it cannot.
    pub fn check(&self) -> Result<()> {
        if self.groups == 0 || self.organizations < self.groups || self.organizations > 1 << 16 {
            bail!("a shape needs at least one group and between `groups` and 65,536 organisations");
        }
        if !(1..=MARKETS.len()).contains(&self.markets) {
            bail!("a shape has 1 to {} markets", MARKETS.len());
        }
        if self.first_year < FIRST_YEAR || self.months <= 0 || self.months % 12 != 0 {
            bail!("a shape starts in {FIRST_YEAR} or later and has whole years of months");
        }
        if YearMonth::from_index((self.first_year * 12) + self.months - 1).is_none() {
            bail!("a shape ends within the supported years");
        }
        Ok(())
    }
}

/// Market codes (60).
pub const MARKETS: [&str; 60] = [
    "CN", "US", "DE", "JP", "GB", "FR", "IT", "ES", "KR", "IN", "BR", "MX", "RU", "AU", "CA", "TR",
    "TH", "ID", "MY", "VN", "PH", "SA", "AE", "EG", "ZA", "NG", "AR", "CL", "CO", "PE", "PL", "CZ",
    "HU", "RO", "SE", "NO", "FI", "DK", "NL", "BE", "AT", "CH", "PT", "GR", "IE", "IL", "IR", "PK",
    "BD", "KZ", "UZ", "UA", "NZ", "SG", "TW", "HK", "QA", "KW", "MA", "DZ",
];

/// One series: organisation index (`None` = whole market) and dimensions.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Organisation index, `None` for the whole market.
    pub org: Option<u16>,
    /// Basis.
    pub basis: MeasureBasis,
    /// Flow.
    pub flow: Flow,
    /// Market index into [`MARKETS`].
    pub market: u8,
    /// Powertrain.
    pub powertrain: Powertrain,
}

/// One generated figure, compactly.
#[derive(Clone, Copy, Debug)]
pub struct GenFigure {
    /// Index into [`Dataset::series`].
    pub series: u32,
    /// Month index of the first month.
    pub start: i32,
    /// Month index of the last month.
    pub end: i32,
    /// Whole vehicles.
    pub units: u64,
    /// Preliminary or final.
    pub preliminary: bool,
    /// As-of day as (year, month, day).
    pub as_of: (i32, u8, u8),
    /// Figure number (service-assigned id).
    pub number: u128,
    /// Number of the figure this one revises.
    pub supersedes: Option<u128>,
}

/// The generated dataset.
#[derive(Debug)]
pub struct Dataset {
    /// Organisation ids, by index (index 0 is the largest).
    pub orgs: Vec<OrganizationId>,
    /// Parent of each organisation (`None` for groups).
    pub parents: Vec<Option<usize>>,
    /// The series.
    pub series: Vec<Spec>,
    /// The figures, in release order.
    pub figures: Vec<GenFigure>,
}

/// splitmix64.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator with this seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn hash2(a: u64, b: u64) -> u64 {
    Rng::new(a.wrapping_mul(0x1000_0000_01b3) ^ b).next_u64()
}

fn organizations(shape: &Shape) -> (Vec<OrganizationId>, Vec<Option<usize>>) {
    let groups = shape.groups;
    let mut ids = Vec::new();
    let mut parents = Vec::new();
    // The groups; each group then gets JVs and brands until every organisation exists.
    for g in 0..groups {
        ids.push(format!("group-{g:02}"));
        parents.push(None);
    }
    let mut k = 0usize;
    while ids.len() < shape.organizations {
        let g = k % groups;
        let n = k / groups;
        let (name, parent) = if n.is_multiple_of(3) {
            (format!("group-{g:02}-jv-{n:02}"), g)
        } else {
            // Brands hang under the group's latest JV when there is one.
            let jv = ids
                .iter()
                .rposition(|i| i.starts_with(&format!("group-{g:02}-jv-")))
                .unwrap_or(g);
            (format!("group-{g:02}-brand-{n:02}"), jv)
        };
        ids.push(name);
        parents.push(Some(parent));
        k += 1;
    }
    // Interleave sizes: index order is size order, so mix groups and their children.
    let orgs = ids
        .iter()
        .map(|s| OrganizationId::parse(s).map_err(|e| anyhow::anyhow!("{e}")))
        .collect::<Result<Vec<_>>>()
        .unwrap_or_default();
    (orgs, parents)
}

const NEV_SPLIT: [(Powertrain, f64); 8] = [
    (Powertrain::All, 1.0),
    (Powertrain::Nev, -1.0),
    (Powertrain::Ice, -2.0),
    (Powertrain::Bev, 0.62),
    (Powertrain::Phev, 0.30),
    (Powertrain::Erev, 0.06),
    (Powertrain::Fcev, 0.02),
    (Powertrain::Hev, -3.0),
];

/// Series in order of importance.
fn series_order(shape: &Shape) -> impl Iterator<Item = Spec> + use<> {
    let orgs = shape.organizations;
    let markets = u8::try_from(shape.markets).unwrap_or(1);
    let pts: Vec<Powertrain> = NEV_SPLIT.iter().map(|p| p.0).collect();
    let whole = |market: u8, powertrain| Spec {
        org: None,
        basis: MeasureBasis::Wholesale,
        flow: Flow::Domestic,
        market,
        powertrain,
    };
    let org = |o: usize, basis, flow, market: u8, powertrain| Spec {
        org: Some(u16::try_from(o).unwrap_or(0)),
        basis,
        flow,
        market,
        powertrain,
    };
    let l0: Vec<Spec> = pts.iter().map(|&p| whole(0, p)).collect();
    let l1: Vec<Spec> = (0..orgs)
        .map(|o| {
            org(
                o,
                MeasureBasis::Wholesale,
                Flow::Domestic,
                0,
                Powertrain::All,
            )
        })
        .collect();
    let l2: Vec<Spec> = (1..markets)
        .flat_map(|m| pts.iter().map(move |&p| (m, p)))
        .map(|(m, p)| whole(m, p))
        .collect();
    let l3: Vec<Spec> = [
        Powertrain::Nev,
        Powertrain::Ice,
        Powertrain::Bev,
        Powertrain::Phev,
    ]
    .into_iter()
    .flat_map(|p| (0..orgs).map(move |o| (o, p)))
    .map(|(o, p)| org(o, MeasureBasis::Wholesale, Flow::Domestic, 0, p))
    .collect();
    let l4: Vec<Spec> = (0..orgs)
        .flat_map(|o| {
            [
                org(o, MeasureBasis::Wholesale, Flow::Export, 0, Powertrain::All),
                org(o, MeasureBasis::Retail, Flow::Domestic, 0, Powertrain::All),
                org(o, MeasureBasis::Production, Flow::Total, 0, Powertrain::All),
            ]
        })
        .collect();
    // Other markets: each organisation sells in about a third of them.
    let bases = [
        MeasureBasis::Wholesale,
        MeasureBasis::Retail,
        MeasureBasis::Production,
    ];
    let l5 = bases.into_iter().flat_map(move |basis| {
        [Flow::Domestic, Flow::Export]
            .into_iter()
            .flat_map(move |flow| {
                NEV_SPLIT.into_iter().flat_map(move |(p, _)| {
                    (1..markets).flat_map(move |m| {
                        (0..orgs)
                            .filter(move |&o| hash2(o as u64, u64::from(m)).is_multiple_of(3))
                            .map(move |o| org(o, basis, flow, m, p))
                    })
                })
            })
    });
    l0.into_iter()
        .chain(l1)
        .chain(l2)
        .chain(l3)
        .chain(l4)
        .chain(l5)
}

fn nev_share(t: i32) -> f64 {
    let x = (f64::from(t - 60) / 180.0).clamp(0.0, 1.0);
    0.005 + 0.5 * x * x
}

fn last_day(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The day `days` after the last day of month index `m`.
fn after_month_end(m: i32, days: i32) -> (i32, u8, u8) {
    let (mut y, mut mo) = (
        m.div_euclid(12),
        u8::try_from(m.rem_euclid(12) + 1).unwrap_or(1),
    );
    let mut d = i32::from(last_day(y, mo)) + days;
    loop {
        let len = i32::from(last_day(y, mo));
        if d <= len {
            return (y, mo, u8::try_from(d).unwrap_or(1));
        }
        d -= len;
        mo += 1;
        if mo > 12 {
            mo = 1;
            y += 1;
        }
    }
}

/// Generates about `target` figures with `seed` in the benchmarks' shape ([`Shape::BENCH`]).
pub fn generate(target: usize, seed: u64) -> Dataset {
    build(&Shape::BENCH, target, seed)
}

/// Generates about `target` figures with `seed` in `shape`; the same arguments give the same
/// dataset, and [`Shape::BENCH`] gives what [`generate`] gives.
pub fn generate_shape(shape: &Shape, target: usize, seed: u64) -> Result<Dataset> {
    shape.check()?;
    Ok(build(shape, target, seed))
}

fn build(shape: &Shape, target: usize, seed: u64) -> Dataset {
    let months = shape.months;
    // Month index of the first month on the curves, which start in January 2005.
    let curve = (shape.first_year - FIRST_YEAR) * 12;
    let (orgs, parents) = organizations(shape);
    let mut rng = Rng::new(seed);
    let first = shape.first_year * 12;
    let mut series = Vec::new();
    let mut figures: Vec<GenFigure> = Vec::with_capacity(target + 400);
    let mut numbered: u64 = 0;
    let mut counter: u64 = 0;
    // UUIDv7 as the service assigns them (`Uuid::now_v7`, about a microsecond a figure while
    // importing): a millisecond timestamp, a 42-bit counter reseeded at random each
    // millisecond and stepped by one within it (its top 12 bits in `rand_a`, the rest at the
    // top of `rand_b`), 32 random bits, the version and variant bits.
    let mut next_number = |rng: &mut Rng| {
        const FIGURES_PER_MS: u64 = 1_000;
        if numbered.is_multiple_of(FIGURES_PER_MS) {
            counter = rng.next_u64() >> 23; // 41 bits: room to step within the millisecond
        } else {
            counter += 1;
        }
        let millis = 0x0190_0000_0000u64 + numbered / FIGURES_PER_MS;
        numbered += 1;
        let rand_a = (counter >> 30) & 0xfff;
        let rand_b = ((counter & 0x3fff_ffff) << 32) | (rng.next_u64() & 0xffff_ffff);
        (u128::from(millis) << 80)
            | (0x7 << 76)
            | (u128::from(rand_a) << 64)
            | (0b10 << 62)
            | u128::from(rand_b & 0x3fff_ffff_ffff_ffff)
    };
    for spec in series_order(shape) {
        if figures.len() >= target {
            break;
        }
        let s = u32::try_from(series.len()).unwrap_or(u32::MAX);
        series.push(spec);
        let size = match spec.org {
            None => 2_000_000.0,
            Some(o) => 90_000.0 / (f64::from(o) + 1.0).powf(0.85) + 40.0,
        };
        let market = if spec.market == 0 {
            1.0
        } else {
            0.35 / f64::from(spec.market).sqrt()
        };
        let flow = match spec.flow {
            Flow::Export => 0.15,
            _ => 1.0,
        };
        let basis = match spec.basis {
            MeasureBasis::Retail => 0.97,
            MeasureBasis::Production => 1.02,
            _ => 1.0,
        };
        let split = NEV_SPLIT
            .iter()
            .find(|p| p.0 == spec.powertrain)
            .map_or(1.0, |p| p.1);
        let quarterly = hash2(u64::from(s), 7).is_multiple_of(5);
        let cumulative =
            spec.org.is_some() && (spec.market == 0 || hash2(u64::from(s), 9).is_multiple_of(3));
        let mut finals = Vec::with_capacity(usize::try_from(months).unwrap_or(0));
        for t in 0..months {
            let m = first + t;
            let month = m.rem_euclid(12);
            let season = 1.0 + 0.18 * (f64::from(month) / 12.0 * std::f64::consts::TAU).sin();
            let growth = 1.035f64.powi((curve + t) / 12);
            let share = nev_share(curve + t);
            // Negative splits are shares of the NEV / non-NEV parts (see NEV_SPLIT).
            let pt = if split == -1.0 {
                share
            } else if split == -2.0 {
                (1.0 - share) * 0.85
            } else if split == -3.0 {
                (1.0 - share) * 0.15
            } else if split == 1.0 {
                1.0
            } else {
                split * share
            };
            let noise = 0.9 + 0.2 * rng.unit();
            let units = (size * market * flow * basis * pt * season * growth * noise) as u64;
            finals.push(units);
            let prelim = rng.next_u64() % 100 < 8;
            let mut supersedes = None;
            if prelim {
                let number = next_number(&mut rng);
                let off = 0.97 + 0.06 * rng.unit();
                figures.push(GenFigure {
                    series: s,
                    start: m,
                    end: m,
                    units: (units as f64 * off) as u64,
                    preliminary: true,
                    as_of: after_month_end(m, 10),
                    number,
                    supersedes: None,
                });
                supersedes = Some(number);
            }
            figures.push(GenFigure {
                series: s,
                start: m,
                end: m,
                units,
                preliminary: false,
                as_of: after_month_end(m, 40),
                number: next_number(&mut rng),
                supersedes,
            });
        }
        for y in 0..months / 12 {
            let base = usize::try_from(y * 12).unwrap_or(0);
            if quarterly {
                for q in 0..4usize {
                    let units = finals[base + q * 3..base + q * 3 + 3].iter().sum();
                    let start = first + y * 12 + i32::try_from(q * 3).unwrap_or(0);
                    figures.push(GenFigure {
                        series: s,
                        start,
                        end: start + 2,
                        units,
                        preliminary: false,
                        as_of: after_month_end(start + 2, 45),
                        number: next_number(&mut rng),
                        supersedes: None,
                    });
                }
            }
            if cumulative {
                let units = finals[base..base + 11].iter().sum();
                let start = first + y * 12;
                figures.push(GenFigure {
                    series: s,
                    start,
                    end: start + 10,
                    units,
                    preliminary: false,
                    // Published with the year's annual release.
                    as_of: after_month_end(start + 13, 0),
                    number: next_number(&mut rng),
                    supersedes: None,
                });
            }
        }
    }
    // Release order: as imports would arrive. The service numbers figures as it imports
    // them, so ids ascend in store order: the numbers drawn above go to the figures in
    // release order (the same numbers, ascending), and each revision names its preliminary
    // figure's new number (a preliminary figure is made just before the final one naming it).
    let mut drawn: Vec<u128> = Vec::with_capacity(figures.len());
    for (i, f) in figures.iter_mut().enumerate() {
        drawn.push(f.number);
        f.number = i as u128;
        f.supersedes = f.supersedes.map(|_| (i - 1) as u128);
    }
    figures.sort_by_key(|f| (f.as_of, f.series));
    drawn.sort_unstable();
    let mut renumbered = vec![0u128; figures.len()];
    for (f, number) in figures.iter_mut().zip(drawn) {
        renumbered[usize::try_from(f.number).unwrap_or(0)] = number;
        f.number = number;
    }
    for f in &mut figures {
        f.supersedes = f
            .supersedes
            .map(|s| renumbered[usize::try_from(s).unwrap_or(0)]);
    }
    Dataset {
        orgs,
        parents,
        series,
        figures,
    }
}

/// Source id of a basis.
pub fn source_of(basis: MeasureBasis) -> &'static str {
    match basis {
        MeasureBasis::Wholesale => "bench-association",
        MeasureBasis::Retail => "bench-retail-panel",
        _ => "bench-production-survey",
    }
}

impl Dataset {
    /// The domain series key of a series.
    pub fn key(&self, series: u32) -> Result<SeriesKey> {
        let spec = self.series[series as usize];
        Ok(SeriesKey {
            organization: spec.org.map(|o| self.orgs[usize::from(o)].clone()),
            basis: spec.basis,
            flow: spec.flow,
            market: Market::parse(MARKETS[usize::from(spec.market)])
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            scope: VehicleScope::Passenger,
            powertrain: spec.powertrain,
            destination: None,
        })
    }

    /// A figure as a domain value, its id (and its predecessor's) from its number by
    /// `figure_id` (the stats engine's rule, `autointel_stats::engine::figure_id`).
    pub fn figure(
        &self,
        f: &GenFigure,
        key: SeriesKey,
        figure_id: impl Fn(u128) -> Option<SalesFigureId>,
    ) -> Result<SalesFigure> {
        let e = |e: autointel_domain::ValueError| anyhow::anyhow!("{e}");
        let month = |i: i32| YearMonth::from_index(i).ok_or_else(|| anyhow::anyhow!("month {i}"));
        Ok(SalesFigure {
            id: figure_id(f.number).ok_or_else(|| anyhow::anyhow!("id"))?,
            key,
            period: MonthRange::new(month(f.start)?, month(f.end)?).map_err(e)?,
            units: Units::from_u64(f.units).map_err(e)?,
            nature: autointel_domain::FigureNature::Actual,
            comparable_prior: None,
            provenance: Provenance {
                source: SourceId::parse(source_of(self.series[f.series as usize].basis))
                    .map_err(e)?,
                stage: if f.preliminary {
                    ReleaseStage::Preliminary
                } else {
                    ReleaseStage::Final
                },
                as_of: Date::new(f.as_of.0, f.as_of.1, f.as_of.2).map_err(e)?,
                supersedes: f.supersedes.and_then(&figure_id),
            },
            note: None,
        })
    }

    /// The kind of organisation `i`: a group, a joint venture or a brand.
    pub fn kind(&self, i: usize) -> OrganizationKind {
        match self.parents[i] {
            None => OrganizationKind::Group,
            Some(_) if self.orgs[i].as_str().contains("-jv-") => OrganizationKind::JointVenture,
            Some(_) => OrganizationKind::Brand,
        }
    }

    /// Writes `figures.csv` (the importer's format) and `organizations.csv`.
    pub fn write_csv(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut orgs = BufWriter::new(std::fs::File::create(dir.join("organizations.csv"))?);
        self.write_organizations(&mut orgs)?;
        orgs.flush()?;

        let mut out =
            BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("figures.csv"))?);
        self.write_figures(&mut out, source_of)?;
        out.flush()?;
        Ok(())
    }

    /// Writes the organisations as CSV: `id,kind,parent`.
    pub fn write_organizations(&self, out: &mut impl Write) -> Result<()> {
        writeln!(out, "id,kind,parent")?;
        for (i, o) in self.orgs.iter().enumerate() {
            let parent = self.parents[i].map_or("", |p| self.orgs[p].as_str());
            writeln!(out, "{},{},{parent}", o.as_str(), self.kind(i).as_str())?;
        }
        Ok(())
    }

    /// Writes the figures in the importer's CSV format, each citing `source` of its basis
    /// ([`source_of`] for the benchmarks).
    pub fn write_figures(
        &self,
        out: &mut impl Write,
        source: impl Fn(MeasureBasis) -> &'static str,
    ) -> Result<()> {
        writeln!(
            out,
            "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,\
             comparable_prior_units,source,stage,as_of_date,note"
        )?;
        let mut line = String::with_capacity(160);
        for f in &self.figures {
            let spec = self.series[f.series as usize];
            line.clear();
            let org = spec.org.map_or("", |o| self.orgs[usize::from(o)].as_str());
            let ym = |i: i32| (i.div_euclid(12), i.rem_euclid(12) + 1);
            let (sy, sm) = ym(f.start);
            let _ = write!(
                line,
                "{org},{},{},{},passenger,{},{sy:04}-{sm:02}",
                spec.basis.as_str(),
                spec.flow.as_str(),
                MARKETS[usize::from(spec.market)],
                spec.powertrain.as_str(),
            );
            if f.end != f.start {
                let (ey, em) = ym(f.end);
                let _ = write!(line, "..{ey:04}-{em:02}");
            }
            let _ = writeln!(
                line,
                ",{},,,{},{},{:04}-{:02}-{:02},",
                f.units,
                source(spec.basis),
                if f.preliminary {
                    "preliminary"
                } else {
                    "final"
                },
                f.as_of.0,
                f.as_of.1,
                f.as_of.2
            );
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// FNV-1a, 64 bits: enough to tell two files apart without a hashing dependency.
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    fn csv(data: &Dataset) -> (Vec<u8>, Vec<u8>) {
        let mut figures = Vec::new();
        data.write_figures(&mut figures, source_of).unwrap();
        let mut orgs = Vec::new();
        data.write_organizations(&mut orgs).unwrap();
        (figures, orgs)
    }

    /// The files `autointel-bench generate` wrote before the generator moved out of
    /// `crates/bench` (commit f040f34): same seed, same bytes.
    #[test]
    fn the_benchmarks_dataset_is_what_the_bench_generated_before_the_move() {
        for (size, seed, figures_len, figures_hash) in [
            (2_000, 20_240_101, 212_668, 0xa7fb_8695_7cd4_104d_u64),
            (5_000, 42, 492_590, 0x58f8_47ea_7344_a939),
        ] {
            let data = generate(size, seed);
            let (figures, orgs) = csv(&data);
            assert_eq!(
                (figures.len(), fnv(&figures)),
                (figures_len, figures_hash),
                "size {size} seed {seed}"
            );
            assert_eq!((orgs.len(), fnv(&orgs)), (18_435, 0xf0a7_5b3d_5171_06cc));
            // The bench's shape through the general entry point is the same dataset.
            let shaped = generate_shape(&Shape::BENCH, size, seed).unwrap();
            assert_eq!(csv(&shaped), (figures, orgs));
        }
    }

    /// Numbers ascend in release order (as the service assigns ids at import), and each
    /// revision names the preliminary figure of its series and month, released before it.
    #[test]
    fn figures_are_numbered_in_release_order() {
        let data = generate(2_000, 20_240_101);
        assert!(data.figures.windows(2).all(|w| w[0].number < w[1].number));
        let at: std::collections::HashMap<u128, usize> = data
            .figures
            .iter()
            .enumerate()
            .map(|(i, f)| (f.number, i))
            .collect();
        let mut revisions = 0;
        for (i, f) in data.figures.iter().enumerate() {
            if let Some(s) = f.supersedes {
                let p = &data.figures[at[&s]];
                assert!(at[&s] < i && p.preliminary && !f.preliminary);
                assert_eq!((p.series, p.start, p.end), (f.series, f.start, f.end));
                revisions += 1;
            }
        }
        assert!(revisions > 0);
    }

    #[test]
    fn a_small_shape_keeps_the_rules() {
        let shape = Shape {
            groups: 3,
            organizations: 12,
            markets: 2,
            first_year: 2020,
            months: 24,
        };
        let data = generate_shape(&shape, 1_000, 7).unwrap();
        assert_eq!(data.orgs.len(), 12);
        assert_eq!(data.kind(0), OrganizationKind::Group);
        assert_eq!(data.kind(3), OrganizationKind::JointVenture);
        assert_eq!(data.parents[3], Some(0));
        assert!(data.series.iter().all(|s| s.market < 2));
        assert!(
            data.figures
                .iter()
                .all(|f| (2020 * 12..2022 * 12).contains(&f.start) && f.end < 2022 * 12)
        );
        // Release order.
        assert!(data.figures.windows(2).all(|w| w[0].as_of <= w[1].as_of));
        let again = generate_shape(&shape, 1_000, 7).unwrap();
        assert_eq!(csv(&data), csv(&again));
    }

    #[test]
    fn impossible_shapes_are_refused() {
        let ok = Shape::BENCH;
        for bad in [
            Shape { groups: 0, ..ok },
            Shape {
                organizations: 10,
                groups: 11,
                ..ok
            },
            Shape { markets: 61, ..ok },
            Shape { markets: 0, ..ok },
            Shape { months: 13, ..ok },
            Shape {
                first_year: 2004,
                ..ok
            },
        ] {
            assert!(generate_shape(&bad, 10, 1).is_err(), "{bad:?}");
        }
    }
}
