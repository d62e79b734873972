//! Command-line arguments.

use std::path::PathBuf;
use std::str::FromStr;

use autointel_domain::{
    Date, Flow, Market, MeasureBasis, MonthRange, Powertrain, ValueError, VehicleScope,
};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;

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
    /// Run both services locally with embedded SQLite, loading the seed data on first start.
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
    /// An organisation with its descendants, each figure counted once.
    Rollup(RollupArgs),
    /// How far a target has been reached.
    TargetProgress(TargetProgressArgs),
    /// Every revision of one series and period.
    Revisions(RevisionsArgs),
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
}

/// Options of `up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Directory of the SQLite databases.
    #[arg(long, default_value = ".autointel", env = "AUTOINTEL_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Port of the registry service.
    #[arg(long, default_value_t = 50051)]
    pub registry_port: u16,
    /// Port of the stats service.
    #[arg(long, default_value_t = 50052)]
    pub stats_port: u16,
    /// Do not load the seed dataset into empty databases.
    #[arg(long)]
    pub no_seed: bool,
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

/// The dimensions that identify a series.
#[derive(Debug, Args, Clone)]
pub struct Series {
    /// Organisation id, e.g. `nissan-china`; omit for the whole market.
    #[arg(long)]
    pub org: Option<String>,
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

/// A month range and an optional as-of date.
#[derive(Debug, Args, Clone)]
pub struct When {
    /// Months, inclusive: `2023-01..2023-11`, or one month `2023-11`.
    #[arg(long, value_parser = token::<MonthRange>)]
    pub period: MonthRange,
    /// Answer with what was known on this date (YYYY-MM-DD).
    #[arg(long, value_parser = token::<Date>)]
    pub as_of: Option<Date>,
}

/// Options of `total`.
#[derive(Debug, Args)]
pub struct TotalArgs {
    #[command(flatten)]
    pub series: Series,
    #[command(flatten)]
    pub when: When,
}

/// What a comparison is against.
#[derive(Debug, Clone)]
pub enum Against {
    /// The same months a year earlier.
    YearOverYear,
    /// The preceding range of equal length.
    Preceding,
    /// A given range.
    Range(MonthRange),
}

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
    /// Compare against: `yoy`, `preceding`, or a month range.
    #[arg(long, value_parser = against, default_value = "yoy")]
    pub vs: Against,
    /// Decimals of percentages.
    #[arg(long, default_value_t = 1)]
    pub decimals: i32,
}

/// Period grain.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Grain {
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
    /// Calendar years.
    Year,
}

/// Options of `series`.
#[derive(Debug, Args)]
pub struct SeriesArgs {
    #[command(flatten)]
    pub series: Series,
    #[command(flatten)]
    pub when: When,
    /// Grain of the points.
    #[arg(long, value_enum, default_value_t = Grain::Month)]
    pub by: Grain,
    /// Show year-to-date totals.
    #[arg(long)]
    pub cumulative: bool,
    /// Also list the organisation's events in the range.
    #[arg(long)]
    pub events: bool,
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
    /// Decimals of percentages.
    #[arg(long, default_value_t = 1)]
    pub decimals: i32,
}

/// A dimension override `dim=value` for share.
#[derive(Debug, Clone)]
pub struct Override {
    /// Dimension name.
    pub dimension: String,
    /// Its value.
    pub value: String,
}

fn override_arg(s: &str) -> Result<Override, String> {
    let (dimension, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected dimension=value, e.g. powertrain=nev (got {s:?})"))?;
    match dimension {
        "org" | "basis" | "flow" | "market" | "scope" | "powertrain" => Ok(Override {
            dimension: dimension.to_owned(),
            value: value.to_owned(),
        }),
        other => Err(format!(
            "unknown dimension {other:?}: use org, basis, flow, market, scope or powertrain"
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
    /// How the part differs from the series, e.g. `powertrain=nev` (repeatable).
    #[arg(long, value_parser = override_arg, required = true)]
    pub part: Vec<Override>,
    /// How the whole differs from the series, e.g. `powertrain=all` (repeatable).
    #[arg(long, value_parser = override_arg)]
    pub whole: Vec<Override>,
    /// Grain of the points.
    #[arg(long, value_enum, default_value_t = Grain::Month)]
    pub by: Grain,
    /// Decimals of percentages.
    #[arg(long, default_value_t = 1)]
    pub decimals: i32,
}

/// A dimension to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dimension {
    /// Organisation.
    Org,
    /// Measure basis.
    Basis,
    /// Flow.
    Flow,
    /// Market.
    Market,
    /// Vehicle scope.
    Scope,
    /// Powertrain.
    Powertrain,
}

/// Options of `breakdown`: the grouped dimensions' own flags are ignored.
#[derive(Debug, Args)]
pub struct BreakdownArgs {
    /// Dimensions to group by, comma separated.
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    pub by: Vec<Dimension>,
    #[command(flatten)]
    pub series: Series,
    #[command(flatten)]
    pub when: When,
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
}

/// Options of `target-progress`.
#[derive(Debug, Args)]
pub struct TargetProgressArgs {
    /// Target id, e.g. `kia-yancheng-exports-2026`.
    pub target: String,
    /// Answer with what was known on this date.
    #[arg(long, value_parser = token::<Date>)]
    pub as_of: Option<Date>,
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

/// Paging options of list commands.
#[derive(Debug, Args, Clone)]
pub struct Paging {
    /// Show at most this many (all when unset).
    #[arg(long)]
    pub limit: Option<usize>,
}

/// `organizations …`
#[derive(Debug, Subcommand)]
pub enum OrganizationsCommand {
    /// List organisations.
    List {
        /// Only this kind, e.g. joint_venture.
        #[arg(long)]
        kind: Option<String>,
        /// Only this country, e.g. CN.
        #[arg(long)]
        country: Option<String>,
        /// Only names or aliases containing this text.
        #[arg(long)]
        text: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one organisation.
    Get {
        /// Its id, e.g. `dongfeng-nissan`.
        id: String,
    },
    /// Find organisations by exact name or alias, any language, any case.
    Lookup {
        /// The name, e.g. "Nissan China" or 东风日产.
        name: String,
    },
    /// The owners and parents of an organisation, with stakes.
    Ancestors {
        /// Its id.
        id: String,
        /// As of this date (default today).
        #[arg(long, value_parser = token::<Date>)]
        as_of: Option<Date>,
    },
    /// The subsidiaries, brands, plants and joint ventures below an organisation.
    Descendants {
        /// Its id.
        id: String,
        /// As of this date (default today).
        #[arg(long, value_parser = token::<Date>)]
        as_of: Option<Date>,
    },
}

/// `partnerships …`
#[derive(Debug, Subcommand)]
pub enum PartnershipsCommand {
    /// List partnerships.
    List {
        /// Only those with this organisation as a party.
        #[arg(long)]
        org: Option<String>,
        /// Only this kind, e.g. joint_research_centre.
        #[arg(long)]
        kind: Option<String>,
        /// Only this status, e.g. active.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one partnership.
    Get {
        /// Its id.
        id: String,
    },
    /// The partners of an organisation, directly or through several partnerships.
    Partners {
        /// The organisation's id.
        org: String,
        /// How many partnership hops to follow (1 to 4).
        #[arg(long, default_value_t = 1)]
        hops: i32,
    },
}

/// `events …`
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List events in date order.
    List {
        /// Only events of this kind, e.g. export_base_designated.
        #[arg(long)]
        kind: Option<String>,
        /// Only events whose title or summary contains this text.
        #[arg(long)]
        text: Option<String>,
        /// Only events within these months.
        #[arg(long, value_parser = token::<MonthRange>)]
        within: Option<MonthRange>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one event with its participants, quotes and sources.
    Get {
        /// Its id.
        id: String,
    },
}

/// Options of `timeline`.
#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// The organisation's id.
    pub org: String,
    #[command(flatten)]
    pub paging: Paging,
}

/// `targets …`
#[derive(Debug, Subcommand)]
pub enum TargetsCommand {
    /// List targets.
    List {
        /// Only targets of this organisation.
        #[arg(long)]
        org: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one target.
    Get {
        /// Its id.
        id: String,
    },
}
