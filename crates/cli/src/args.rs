//! Command-line arguments.
//!
//! Flags are named after the proto fields they fill (`--granularity` for `granularity`,
//! `--numerator` for `numerator`, `--as-of-date` for `as_of_date`), written in kebab case.
//! An older spelling stays for one release as a hidden alias (or, for `--vs`, a hidden
//! flag); [`parse`] prints a one-line note on stderr when one is used.

use std::ffi::OsString;
use std::path::PathBuf;
use std::str::FromStr;

use autointel_domain::{
    Comparison, Date, Dimension, Flow, Granularity, Market, MeasureBasis, MonthRange, Powertrain,
    RollupMode, SourceId, ValueError, VehicleScope,
};
use clap::builder::ArgPredicate;
use clap::error::ErrorKind;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use autointel_proto::convert::ResourceId;

use crate::output::Format;

mod chart;
mod registry;

pub use chart::*;
pub use registry::*;

/// autointel: automotive market intelligence over gRPC.
#[derive(Debug, Parser)]
#[command(
    name = "autointel",
    version = autointel_server::version(),
    about,
    propagate_version = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Connection and output options.
    #[command(flatten)]
    pub global: Global,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Host of both services, used with their default ports (50051, 50052)
    /// unless --registry or --stats say otherwise.
    #[arg(long, global = true, env = "AUTOINTEL_ENDPOINT")]
    pub endpoint: Option<String>,
    /// URL of the registry service.
    #[arg(long, global = true, env = "AUTOINTEL_REGISTRY")]
    pub registry: Option<String>,
    /// URL of the stats service.
    #[arg(long, global = true, env = "AUTOINTEL_STATS")]
    pub stats: Option<String>,
    /// Bearer token sent with every request.
    #[arg(long, global = true, env = "AUTOINTEL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

impl Global {
    fn url(&self, explicit: Option<&String>, port: u16) -> String {
        if let Some(url) = explicit {
            return url.clone();
        }
        match &self.endpoint {
            Some(host) if host.contains("://") => format!("{}:{port}", host.trim_end_matches('/')),
            Some(host) => format!("http://{host}:{port}"),
            None => format!("http://127.0.0.1:{port}"),
        }
    }

    /// The registry URL to use.
    pub fn registry_url(&self) -> String {
        self.url(self.registry.as_ref(), 50051)
    }

    /// The stats URL to use.
    pub fn stats_url(&self) -> String {
        self.url(self.stats.as_ref(), 50052)
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run both services locally with embedded SQLite, loading the seed data on first start
    /// (or, with --demo, synthetic demo data in a directory of its own).
    Up(UpArgs),
    /// Import sales figures from a CSV or JSON file, atomically.
    Import(ImportArgs),
    /// Total of a series over a month range.
    Total(TotalArgs),
    /// Change against last year, the preceding period or a given range.
    Compare(CompareArgs),
    /// A series by month, quarter or year.
    Series(SeriesArgs),
    /// Top organisations of a series over a range.
    Rank(RankArgs),
    /// One series over another, per period: NEV penetration, export share, market share.
    Share(ShareArgs),
    /// Totals grouped by dimensions.
    Breakdown(BreakdownArgs),
    /// Exports by destination: an origin's destinations ranked (--limit for the top ones,
    /// --include-months for a destination × month matrix), or with --destination one
    /// destination's suppliers ranked by organisation.
    Destinations(DestinationsArgs),
    /// An organisation with its descendants, each figure counted once.
    Rollup(RollupArgs),
    /// How far a target has been reached.
    TargetProgress(TargetProgressArgs),
    /// How far each forecast of a period (by source and as-of date) missed the actual.
    ForecastAccuracy(ForecastAccuracyArgs),
    /// Every revision of one series and period.
    Revisions(RevisionsArgs),
    /// The release log: what each source published on each as-of date.
    Releases(ReleasesArgs),
    /// What changed between two vintages (as-of dates): added, revised, superseded.
    Diff(DiffArgs),
    /// Follow new releases and revisions as they arrive (resumable by cursor).
    Watch(WatchArgs),
    /// Every basis and source measuring an organisation side by side, with divergences.
    Measures(MeasuresArgs),
    /// Write sales figures as CSV (the import format), JSON Lines or Parquet, all read at
    /// one consistent state.
    Export(ExportFiguresArgs),
    /// Organisations: list, get, look up by name, hierarchy.
    #[command(subcommand, alias = "orgs")]
    Organizations(OrganizationsCommand),
    /// Partnerships: list, get, partners of an organisation.
    #[command(subcommand)]
    Partnerships(PartnershipsCommand),
    /// Events: list, get.
    #[command(subcommand)]
    Events(EventsCommand),
    /// The events of an organisation in date order.
    Timeline(TimelineArgs),
    /// Targets: list, get.
    #[command(subcommand)]
    Targets(TargetsCommand),
    /// Make the registry hold the records of a file (the seed's registry.toml format, TOML
    /// or YAML): create what is missing, update what changed, report the rest.
    Apply(ApplyArgs),
    /// Every registry record at once: export.
    #[command(subcommand)]
    Records(RecordsCommand),
    /// Draw a series, a share or a ranking to SVG or PNG (the format follows the file's
    /// extension), with gaps left as gaps and the organisation's events marked.
    #[command(subcommand)]
    Chart(ChartCommand),
}

/// The spelling of a registry-record file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RecordFormat {
    /// TOML, as `data/seed/registry.toml`.
    Toml,
    /// YAML with the same structure.
    Yaml,
}

/// Options of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The file of records: `.toml`, or `.yaml`/`.yml` (see `data/seed/registry.toml`).
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: PathBuf,
    /// Print what would be created, updated and deleted, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete the records the registry has and the file does not (without it they are
    /// only reported).
    #[arg(long)]
    pub prune: bool,
    /// The file's format [default: from its extension, TOML unless .yaml or .yml].
    #[arg(long, value_enum)]
    pub format: Option<RecordFormat>,
}

/// `records …`
#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// Write every registry record in the format `apply` reads (to stdout unless --file).
    Export(ExportArgs),
}

/// Options of `records export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this file instead of stdout (`-o` is the output format of every command).
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The format [default: from the file's extension, TOML unless .yaml or .yml].
    #[arg(long, value_enum)]
    pub format: Option<RecordFormat>,
}

/// Options of `up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Directory of the SQLite databases [default: .autointel, or .autointel-demo with --demo].
    #[arg(long, env = "AUTOINTEL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Port of the registry service.
    #[arg(long, default_value_t = 50051)]
    pub registry_port: u16,
    /// Port of the stats service.
    #[arg(long, default_value_t = 50052)]
    pub stats_port: u16,
    /// Do not load the seed dataset into empty databases.
    #[arg(long)]
    pub no_seed: bool,
    /// Load a small synthetic market instead of the seed (30 organisations, 5 markets,
    /// 2022..2024; not real sales), in a data directory of its own that never holds real data.
    #[arg(long, conflicts_with = "no_seed")]
    pub demo: bool,
}

impl UpArgs {
    /// The data directory: `--data-dir`, else `.autointel` (`.autointel-demo` with `--demo`).
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            PathBuf::from(if self.demo {
                ".autointel-demo"
            } else {
                ".autointel"
            })
        })
    }
}

/// Options of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file: `.csv` or `.json` (see the README for the columns).
    pub file: PathBuf,
    /// Idempotency key: re-running with the same key imports nothing twice.
    /// Default: derived from the file's content.
    #[arg(long)]
    pub request_id: Option<String>,
}

fn token<T: FromStr<Err = ValueError>>(s: &str) -> Result<T, String> {
    s.parse().map_err(|e: ValueError| e.to_string())
}

/// The dimensions that identify a series (`SeriesKey`).
#[derive(Debug, Args, Clone)]
pub struct Series {
    /// Organisation id, e.g. `nissan-china`; omit for the whole market.
    #[arg(long, alias = "org", value_name = "ID")]
    pub organization: Option<String>,
    /// Measure basis: retail, wholesale, production, registrations, deliveries, company_reported.
    #[arg(long, value_parser = token::<MeasureBasis>)]
    pub basis: MeasureBasis,
    /// Flow: domestic, export, total.
    #[arg(long, value_parser = token::<Flow>, default_value = "total")]
    pub flow: Flow,
    /// Market code, e.g. CN.
    #[arg(long, value_parser = token::<Market>, default_value = "CN")]
    pub market: Market,
    /// Vehicle scope: passenger, light_commercial, commercial, all.
    #[arg(long, value_parser = token::<VehicleScope>, default_value = "all")]
    pub scope: VehicleScope,
    /// Powertrain: ice, bev, phev, erev, hev, fcev, nev, all.
    #[arg(long, value_parser = token::<Powertrain>, default_value = "all")]
    pub powertrain: Powertrain,
}

/// A month range, an optional as-of date and an optional source.
#[derive(Debug, Args, Clone)]
pub struct When {
    /// Months, inclusive: `2023-01..2023-11`, or one month `2023-11`.
    #[arg(long, value_parser = token::<MonthRange>)]
    pub period: MonthRange,
    /// Answer with what was known on this date (YYYY-MM-DD).
    #[arg(long, alias = "as-of", value_parser = token::<Date>)]
    pub as_of_date: Option<Date>,
    /// Only this source's figures (source id, e.g. `cpca`); without it, where several
    /// sources publish one month the service's source preference chooses.
    #[arg(long, value_name = "ID", value_parser = SourceId::parse)]
    pub source: Option<SourceId>,
}

impl When {
    /// `--source` as a resource name, empty when not given.
    pub fn source_name(&self) -> String {
        self.source
            .as_ref()
            .map(ResourceId::resource_name)
            .unwrap_or_default()
    }
}

/// Options of `total`.
#[derive(Debug, Args)]
pub struct TotalArgs {
    #[command(flatten)]
    pub series: Series,
    #[command(flatten)]
    pub when: When,
}

/// A value of the deprecated `--vs`.
#[derive(Debug, Clone)]
pub enum Against {
    /// The same months a year earlier.
    YearOverYear,
    /// The preceding range of equal length.
    Preceding,
    /// A given range.
    Range(MonthRange),
}

/// The deprecated `--vs`: `yoy`, `preceding` or a month range.
fn against(s: &str) -> Result<Against, String> {
    match s {
        "yoy" | "year" => Ok(Against::YearOverYear),
        "preceding" | "prev" => Ok(Against::Preceding),
        other => other
            .parse()
            .map(Against::Range)
            .map_err(|e: ValueError| format!("expected yoy, preceding or a month range: {e}")),
    }
}

/// Options of `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub series: Series,
    #[command(flatten)]
    pub when: When,
    /// How to pick the prior months: year_over_year, preceding_period, or custom (the
    /// months in --prior-period, which implies it).
    #[arg(
        long,
        value_parser = token::<Comparison>,
        default_value = "year_over_year",
        default_value_if("prior_period", ArgPredicate::IsPresent, "custom")
    )]
    pub comparison: Comparison,
    /// The prior months of a custom comparison, e.g. `2021-01..2021-11`.
    #[arg(long, value_parser = token::<MonthRange>, required_if_eq("comparison", "custom"))]
    pub prior_period: Option<MonthRange>,
    /// Deprecated: --comparison and --prior-period (`yoy`, `preceding` or a month range).
    #[arg(
        long,
        hide = true,
        value_parser = against,
        conflicts_with_all = ["comparison", "prior_period"]
    )]
    pub vs: Option<Against>,
    /// Decimals of percentages, 0 to 6.
    #[arg(long, alias = "decimals", default_value_t = 1)]
    pub percent_decimals: i32,
}

impl CompareArgs {
    /// Folds the deprecated `--vs` into --comparison and --prior-period and checks that a
    /// prior period goes with a custom comparison only.
    fn resolve(&mut self) -> Result<(), String> {
        match self.vs.take() {
            Some(Against::YearOverYear) => self.comparison = Comparison::YearOverYear,
            Some(Against::Preceding) => self.comparison = Comparison::PrecedingPeriod,
            Some(Against::Range(r)) => {
                self.comparison = Comparison::Custom;
                self.prior_period = Some(r);
            }
            None => {}
        }
        match (self.comparison, self.prior_period) {
            (Comparison::Custom, None) => Err("--comparison custom needs --prior-period".to_owned()),
            (Comparison::YearOverYear | Comparison::PrecedingPeriod, Some(_)) => Err(
                "--prior-period goes with --comparison custom (or alone), not with another comparison"
                    .to_owned(),
            ),
            _ => Ok(()),
        }
    }
}

/// Options of `series`.
#[derive(Debug, Args)]
pub struct SeriesArgs {
    #[command(flatten)]
    pub series: Series,
    #[command(flatten)]
    pub when: When,
    /// Grain of the points: month, quarter, year.
    #[arg(long, alias = "by", value_parser = token::<Granularity>, default_value = "month")]
    pub granularity: Granularity,
    /// Show year-to-date totals.
    #[arg(long, alias = "cumulative")]
    pub cumulative_within_year: bool,
    /// Also list the organisation's events in the range.
    #[arg(long, alias = "events")]
    pub include_events: bool,
}

/// Options of `rank`.
#[derive(Debug, Args)]
pub struct RankArgs {
    #[command(flatten)]
    pub series: Series,
    #[command(flatten)]
    pub when: When,
    /// How many organisations.
    #[arg(long, default_value_t = 10)]
    pub limit: i32,
    /// Decimals of percentages, 0 to 6.
    #[arg(long, alias = "decimals", default_value_t = 1)]
    pub percent_decimals: i32,
    /// Rank groups (top-level organisations of the ownership graph, and organisations no
    /// link touches) by their rollup in this mode: gross, consolidated or equity_share.
    /// Without it organisations are ranked by their own figures.
    #[arg(long, value_parser = token::<RollupMode>)]
    pub mode: Option<RollupMode>,
}

/// A dimension override `dimension=value` for share.
#[derive(Debug, Clone)]
pub struct Override {
    /// Dimension name: organization, basis, flow, market, scope or powertrain.
    pub dimension: String,
    /// Its value.
    pub value: String,
}

fn override_arg(s: &str) -> Result<Override, String> {
    let (dimension, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected dimension=value, e.g. powertrain=nev (got {s:?})"))?;
    match dimension {
        // `org=` is the deprecated spelling of `organization=`.
        "organization" | "org" => Ok(Override {
            dimension: "organization".to_owned(),
            value: value.to_owned(),
        }),
        "basis" | "flow" | "market" | "scope" | "powertrain" => Ok(Override {
            dimension: dimension.to_owned(),
            value: value.to_owned(),
        }),
        other => Err(format!(
            "unknown dimension {other:?}: use organization, basis, flow, market, scope or powertrain"
        )),
    }
}

/// Options of `share`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    #[command(flatten)]
    pub series: Series,
    #[command(flatten)]
    pub when: When,
    /// How the numerator differs from the series, e.g. `powertrain=nev` or
    /// `organization=nissan-china` (repeatable).
    #[arg(
        long,
        alias = "part",
        value_name = "DIMENSION=VALUE",
        value_parser = override_arg,
        required = true
    )]
    pub numerator: Vec<Override>,
    /// How the denominator differs from the series, e.g. `powertrain=all` (repeatable);
    /// an organisation's share is of the whole market unless this names another.
    #[arg(
        long,
        alias = "whole",
        value_name = "DIMENSION=VALUE",
        value_parser = override_arg
    )]
    pub denominator: Vec<Override>,
    /// Grain of the points: month, quarter, year.
    #[arg(long, alias = "by", value_parser = token::<Granularity>, default_value = "month")]
    pub granularity: Granularity,
    /// Decimals of percentages, 0 to 6.
    #[arg(long, alias = "decimals", default_value_t = 1)]
    pub percent_decimals: i32,
}

/// A dimension to group by; `org` is the deprecated spelling of `organization`.
fn dimension(s: &str) -> Result<Dimension, String> {
    match s {
        "org" => Ok(Dimension::Organization),
        other => token(other),
    }
}

/// Options of `breakdown`: the grouped dimensions' own flags are ignored.
#[derive(Debug, Args)]
pub struct BreakdownArgs {
    /// Dimensions to group by, comma separated: organization, basis, flow, market, scope,
    /// powertrain.
    #[arg(
        long,
        alias = "by",
        value_name = "DIMENSION",
        value_parser = dimension,
        value_delimiter = ',',
        required = true
    )]
    pub group_by: Vec<Dimension>,
    #[command(flatten)]
    pub series: Series,
    #[command(flatten)]
    pub when: When,
}

/// Options of `destinations`: the origin is an export series (flow export) without a
/// destination.
#[derive(Debug, Args)]
pub struct DestinationsArgs {
    /// The exporting organisation (a group, a maker or a plant), e.g. `byd`; omit for the
    /// whole market.
    #[arg(long, alias = "org", value_name = "ID")]
    pub organization: Option<String>,
    /// Measure basis: retail, wholesale, production, registrations, deliveries, company_reported.
    #[arg(long, value_parser = token::<MeasureBasis>)]
    pub basis: MeasureBasis,
    /// The exporting market code, e.g. CN.
    #[arg(long, value_parser = token::<Market>, default_value = "CN")]
    pub market: Market,
    /// Vehicle scope: passenger, light_commercial, commercial, all.
    #[arg(long, value_parser = token::<VehicleScope>, default_value = "all")]
    pub scope: VehicleScope,
    /// Powertrain: ice, bev, phev, erev, hev, fcev, nev, all.
    #[arg(long, value_parser = token::<Powertrain>, default_value = "all")]
    pub powertrain: Powertrain,
    /// Rank this destination's suppliers (the organisations exporting most to it) instead
    /// of breaking the origin down by destination; needs no --organization.
    #[arg(
        long,
        visible_alias = "to",
        value_parser = token::<Market>,
        conflicts_with_all = ["organization", "include_months"]
    )]
    pub destination: Option<Market>,
    #[command(flatten)]
    pub when: When,
    /// How many destinations (or suppliers) to show, highest first [default: every
    /// destination; 10 suppliers].
    #[arg(long, visible_alias = "top")]
    pub limit: Option<i32>,
    /// Also show each destination's units per month: a destination × month matrix.
    #[arg(long, visible_alias = "matrix")]
    pub include_months: bool,
    /// Decimals of percentages, 0 to 6.
    #[arg(long, default_value_t = 1)]
    pub percent_decimals: i32,
}

/// Options of `rollup`.
#[derive(Debug, Args)]
pub struct RollupArgs {
    #[command(flatten)]
    pub series: Series,
    #[command(flatten)]
    pub when: When,
    /// Take the hierarchy as of this date (default: end of the period).
    #[arg(long, value_parser = token::<Date>)]
    pub hierarchy_date: Option<Date>,
    /// How descendants count: gross (every descendant at 100%), consolidated (what the
    /// root controls) or equity_share (weighted by the root's effective stake).
    #[arg(long, value_parser = token::<RollupMode>, default_value = "gross")]
    pub mode: RollupMode,
}

/// Options of `target-progress`.
#[derive(Debug, Args)]
pub struct TargetProgressArgs {
    /// Target id, e.g. `kia-yancheng-exports-2026`.
    pub target: String,
    /// Answer with what was known on this date.
    #[arg(long, alias = "as-of", value_parser = token::<Date>)]
    pub as_of_date: Option<Date>,
    /// Only this source's figures (source id, e.g. `cpca`).
    #[arg(long, value_name = "ID", value_parser = SourceId::parse)]
    pub source: Option<SourceId>,
}

/// Options of `forecast-accuracy`.
#[derive(Debug, Args)]
pub struct ForecastAccuracyArgs {
    #[command(flatten)]
    pub series: Series,
    /// The months, as-of date and `--source` (only this source's forecasts).
    #[command(flatten)]
    pub when: When,
    /// Decimals of percentages, 0 to 6.
    #[arg(long, default_value_t = 1)]
    pub percent_decimals: i32,
}

/// Options of `revisions`.
#[derive(Debug, Args)]
pub struct RevisionsArgs {
    #[command(flatten)]
    pub series: Series,
    /// The exact period of the figures.
    #[arg(long, value_parser = token::<MonthRange>)]
    pub period: MonthRange,
}

/// The file format of `export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FigureFormat {
    /// The import format (`autointel import` reads it back).
    Csv,
    /// One proto3 JSON object a line, with `-o json`'s field names.
    Jsonl,
    /// Apache Parquet (needs --file); the schema is in OPERATIONS.md.
    Parquet,
}

/// Which series' figures: the filters of `ListSalesFigures`, each optional (any when unset).
#[derive(Debug, Args, Clone)]
pub struct FigureFilter {
    /// Only figures of this organisation (id, e.g. `nissan-china`).
    #[arg(long, alias = "org", value_name = "ID")]
    pub organization: Option<String>,
    /// Only figures of this measure basis.
    #[arg(long, value_parser = token::<MeasureBasis>)]
    pub basis: Option<MeasureBasis>,
    /// Only figures of this flow.
    #[arg(long, value_parser = token::<Flow>)]
    pub flow: Option<Flow>,
    /// Only figures of this market.
    #[arg(long, value_parser = token::<Market>)]
    pub market: Option<Market>,
    /// Only figures of this vehicle scope.
    #[arg(long, value_parser = token::<VehicleScope>)]
    pub scope: Option<VehicleScope>,
    /// Only figures of this powertrain.
    #[arg(long, value_parser = token::<Powertrain>)]
    pub powertrain: Option<Powertrain>,
    /// Only figures whose period overlaps these months (`2023-01..2023-12`).
    #[arg(long, value_parser = token::<MonthRange>)]
    pub overlapping: Option<MonthRange>,
}

impl FigureFilter {
    /// `--organization` as a resource name, empty when not given.
    pub fn organization_name(&self) -> Result<String, String> {
        self.organization
            .as_deref()
            .map_or(Ok(String::new()), |id| {
                autointel_domain::OrganizationId::parse(id)
                    .map(|o| o.resource_name())
                    .map_err(|e| format!("--organization: {}", e.0))
            })
    }
}

/// Options of `releases`.
#[derive(Debug, Args)]
pub struct ReleasesArgs {
    /// Only this source's releases (source id, e.g. `cpca`).
    #[arg(long, value_name = "ID", value_parser = SourceId::parse)]
    pub source: Option<SourceId>,
    /// Only releases dated on or after this date (YYYY-MM-DD).
    #[arg(long, value_parser = token::<Date>)]
    pub from: Option<Date>,
    /// Only releases dated on or before this date (YYYY-MM-DD).
    #[arg(long, value_parser = token::<Date>)]
    pub to: Option<Date>,
    /// Most releases shown, newest first.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

/// Options of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier vintage: what was known on this date (YYYY-MM-DD).
    #[arg(long, value_parser = token::<Date>)]
    pub from: Date,
    /// The later vintage (YYYY-MM-DD).
    #[arg(long, value_parser = token::<Date>)]
    pub to: Date,
    /// Only this source's figures (source id, e.g. `cpca`).
    #[arg(long, value_name = "ID", value_parser = SourceId::parse)]
    pub source: Option<SourceId>,
    #[command(flatten)]
    pub filter: FigureFilter,
    /// Most changes shown.
    #[arg(long, default_value_t = 1_000)]
    pub limit: usize,
}

/// Options of `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Resume after this cursor (printed with every figure); from now on without one.
    #[arg(long)]
    pub cursor: Option<String>,
    /// Without --cursor, start with every stored figure, oldest first.
    #[arg(long, conflicts_with = "cursor")]
    pub from_start: bool,
    /// Only this source's figures (source id, e.g. `cpca`).
    #[arg(long, value_name = "ID", value_parser = SourceId::parse)]
    pub source: Option<SourceId>,
    /// Only figures of this organisation (id, e.g. `nissan-china`).
    #[arg(long, alias = "org", value_name = "ID")]
    pub organization: Option<String>,
    /// Only figures of this measure basis.
    #[arg(long, value_parser = token::<MeasureBasis>)]
    pub basis: Option<MeasureBasis>,
    /// Only figures of this flow.
    #[arg(long, value_parser = token::<Flow>)]
    pub flow: Option<Flow>,
    /// Only figures of this market.
    #[arg(long, value_parser = token::<Market>)]
    pub market: Option<Market>,
    /// Stop after this many figures (runs until interrupted without it).
    #[arg(long)]
    pub count: Option<u64>,
}

/// Options of `measures`.
#[derive(Debug, Args)]
pub struct MeasuresArgs {
    /// Organisation id, e.g. `nissan-china`; omit for the whole market.
    #[arg(long, alias = "org", value_name = "ID")]
    pub organization: Option<String>,
    /// Market code, e.g. CN.
    #[arg(long, value_parser = token::<Market>, default_value = "CN")]
    pub market: Market,
    /// Vehicle scope: passenger, light_commercial, commercial, all.
    #[arg(long, value_parser = token::<VehicleScope>, default_value = "all")]
    pub scope: VehicleScope,
    /// Powertrain: ice, bev, phev, erev, hev, fcev, nev, all.
    #[arg(long, value_parser = token::<Powertrain>, default_value = "all")]
    pub powertrain: Powertrain,
    /// Months, inclusive: `2023-01..2023-11`, or one month `2023-11`.
    #[arg(long, value_parser = token::<MonthRange>)]
    pub period: MonthRange,
    /// Answer with what was known on this date (YYYY-MM-DD).
    #[arg(long, alias = "as-of", value_parser = token::<Date>)]
    pub as_of_date: Option<Date>,
    /// Flag two measures whose ratio differs from 1 by more than this many percent.
    #[arg(long, default_value_t = 5.0)]
    pub threshold_percent: f64,
    /// Decimals of percentages, 0 to 6.
    #[arg(long, default_value_t = 1)]
    pub percent_decimals: i32,
}

/// Options of `export`: the filters of `ListSalesFigures`, each optional (any when unset).
#[derive(Debug, Args)]
pub struct ExportFiguresArgs {
    /// The file format.
    #[arg(long, value_enum, default_value_t = FigureFormat::Csv)]
    pub format: FigureFormat,
    /// Write to this file instead of stdout (Parquet needs a file).
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FigureFilter,
    /// Only figures known on this date (YYYY-MM-DD), and of those the latest revision.
    #[arg(long, alias = "as-of", value_parser = token::<Date>)]
    pub as_of_date: Option<Date>,
    /// Also export figures a later revision superseded (needed to carry revision chains
    /// into another stack).
    #[arg(long)]
    pub include_superseded: bool,
}

/// Old spellings with a replacement that is not simply one flag.
const REPLACED_BY: &[(&str, &str)] = &[("vs", "--comparison and --prior-period")];

/// Old spellings of values: (flag, old value, new value); an old value ending in `=` is a
/// prefix (`org=nissan-china`).
const OLD_VALUES: &[(&str, &str, &str)] = &[
    ("group-by", "org", "organization"),
    ("numerator", "org=", "organization="),
    ("denominator", "org=", "organization="),
];

fn note(old: &str, new: &str) -> String {
    format!("note: {old} is deprecated and goes in the next release; use {new}")
}

/// One note per deprecated spelling on the command line: a hidden alias of a flag, a hidden
/// flag (`--vs`) or an old value ([`OLD_VALUES`]).
pub fn deprecation_notes(
    command: &clap::Command,
    matches: &ArgMatches,
    argv: &[OsString],
) -> Vec<String> {
    let (mut command, mut matches) = (command, matches);
    while let Some((name, sub)) = matches.subcommand() {
        match command.find_subcommand(name) {
            Some(c) => (command, matches) = (c, sub),
            None => break,
        }
    }
    // Parsing succeeded, so a `--flag` token before `--` is a flag of this (sub)command:
    // none of the global flags has an old spelling and no value may start with `--`.
    let tokens: Vec<&str> = argv
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .take_while(|a| *a != "--")
        .collect();
    let used = |flag: &str| {
        let exact = format!("--{flag}");
        let with_value = format!("--{flag}=");
        tokens
            .iter()
            .any(|t| *t == exact || t.starts_with(&with_value))
    };
    let mut notes = Vec::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if arg.is_hide_set() {
            if used(long) {
                let new = REPLACED_BY
                    .iter()
                    .find(|(old, _)| *old == long)
                    .map_or("--help", |(_, new)| new);
                notes.push(note(&format!("--{long}"), new));
            }
            continue;
        }
        for alias in arg.get_aliases().unwrap_or_default() {
            if used(alias) {
                notes.push(note(&format!("--{alias}"), &format!("--{long}")));
            }
        }
        let raw: Vec<String> = matches
            .try_get_raw(arg.get_id().as_str())
            .ok()
            .flatten()
            .map(|values| values.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        for value in &raw {
            for (_, old, new) in OLD_VALUES.iter().filter(|(flag, _, _)| *flag == long) {
                let rest = match old.strip_suffix('=') {
                    Some(_) => value.strip_prefix(old),
                    None => (value == old).then_some(""),
                };
                if let Some(rest) = rest {
                    notes.push(note(
                        &format!("--{long} {value}"),
                        &format!("--{long} {new}{rest}"),
                    ));
                }
            }
        }
    }
    notes
}

impl Cli {
    /// Settles what several flags decide together; an error names its subcommand.
    fn resolve(&mut self) -> Result<(), (&'static str, String)> {
        match &mut self.command {
            Command::Compare(args) => args.resolve().map_err(|e| ("compare", e)),
            _ => Ok(()),
        }
    }
}

/// Parses the command line like `Cli::parse` (help, version and bad flags exit with clap's
/// message, status 2 for bad flags), prints a note on stderr for each deprecated spelling
/// used, and settles what several flags decide together.
pub fn parse(argv: &[OsString]) -> Cli {
    let mut command = Cli::command();
    let matches = command
        .try_get_matches_from_mut(argv)
        .unwrap_or_else(|e| e.exit());
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit());
    for note in deprecation_notes(&command, &matches, argv) {
        eprintln!("{note}");
    }
    if let Err((subcommand, message)) = cli.resolve() {
        let error = match command.find_subcommand_mut(subcommand) {
            Some(sub) => sub.error(ErrorKind::ArgumentConflict, message),
            None => command.error(ErrorKind::ArgumentConflict, message),
        };
        error.exit();
    }
    cli
}
