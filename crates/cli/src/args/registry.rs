//! Options of the registry commands: organizations, partnerships, events, targets, timeline.

use super::*;

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
        #[arg(long, alias = "country")]
        country_code: Option<String>,
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
        /// The name to look up, e.g. "Nissan China" or 东风日产.
        query: String,
    },
    /// The owners and parents of an organisation, with stakes.
    Ancestors {
        /// Its id.
        id: String,
        /// As of this date (default today).
        #[arg(long, alias = "as-of", value_parser = token::<Date>)]
        as_of_date: Option<Date>,
    },
    /// The subsidiaries, brands, plants and joint ventures below an organisation.
    Descendants {
        /// Its id.
        id: String,
        /// As of this date (default today).
        #[arg(long, alias = "as-of", value_parser = token::<Date>)]
        as_of_date: Option<Date>,
    },
}

/// `partnerships …`
#[derive(Debug, Subcommand)]
pub enum PartnershipsCommand {
    /// List partnerships.
    List {
        /// Only those with this organisation as a party.
        #[arg(long, alias = "org", value_name = "ID")]
        organization: Option<String>,
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
        organization: String,
        /// How many partnership hops to follow (1 to 4).
        #[arg(long, alias = "hops", default_value_t = 1)]
        max_hops: i32,
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
        /// Only events that occurred within these months.
        #[arg(long, alias = "within", value_parser = token::<MonthRange>)]
        occurred_within: Option<MonthRange>,
        /// Only events concerning this market (a tariff's importing market), e.g. DE.
        #[arg(long)]
        market: Option<String>,
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
    pub organization: String,
    #[command(flatten)]
    pub paging: Paging,
}

/// `targets …`
#[derive(Debug, Subcommand)]
pub enum TargetsCommand {
    /// List targets.
    List {
        /// Only targets of this organisation.
        #[arg(long, alias = "org", value_name = "ID")]
        organization: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one target.
    Get {
        /// Its id.
        id: String,
    },
}
