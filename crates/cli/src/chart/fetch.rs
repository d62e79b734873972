//! The answers a chart is drawn from: the stats query (`ComputeSeries`, `ComputeShare` or
//! `ComputeRanking`), the figures over several months that cover a series' gaps
//! (`ListSalesFigures`), and from the registry the organisation's names, its events over the
//! period and the sources those figures cite.

use std::collections::HashSet;

use autointel_domain::{Date, MonthRange, SeriesKey};
use autointel_proto::convert::WireEnum;
use autointel_proto::convert::types::{date_to_wire, month_range_to_wire, series_key_to_wire};
use autointel_proto::registry as rwire;
use autointel_proto::stats as swire;
use tonic::{Code, Status};

use super::build;
use super::model::Chart;
use crate::args::{ChartRankArgs, ChartSeriesArgs, ChartShareArgs};
use crate::client::{self, BearerToken, Registry, Stats};
use crate::failure::{ExitCode, Failure};
use crate::query;

/// At most this many pages of figures are listed over a series' gaps.
const MAX_FIGURE_PAGES: usize = 20;
/// At most this many events are read.
const MAX_EVENTS_READ: usize = 1_000;
/// At most this many organisations are drawn as bars.
const MAX_BARS: i32 = 40;
/// At most this many sources are looked up for the figures over several months.
const MAX_SOURCES_READ: usize = 20;

/// The endpoints and token of both services.
#[derive(Debug)]
pub struct Services<'a> {
    /// The stats service's URL.
    pub stats: &'a str,
    /// The registry service's URL.
    pub registry: &'a str,
    /// The bearer token.
    pub token: &'a BearerToken,
}

impl Services<'_> {
    async fn stats(&self) -> Result<Stats, Failure> {
        client::stats(self.stats, self.token).await
    }

    async fn registry(&self) -> Result<Registry, Failure> {
        client::registry(self.registry, self.token).await
    }

    fn stats_failed(&self) -> impl Fn(Status) -> Failure + '_ {
        |s| Failure::from_status(&s, self.stats)
    }

    fn registry_failed(&self) -> impl Fn(Status) -> Failure + '_ {
        |s| Failure::from_status(&s, self.registry)
    }
}

fn malformed(e: anyhow::Error) -> Failure {
    Failure {
        code: ExitCode::Failure,
        message: format!("error: {e:#}"),
    }
}

fn as_of(d: Option<Date>) -> Option<autointel_proto::google::r#type::Date> {
    d.map(date_to_wire)
}

/// The organisation, or `None` when the registry has none by that name.
async fn organization(
    services: &Services<'_>,
    registry: &mut Registry,
    name: &str,
) -> Result<Option<rwire::Organization>, Failure> {
    match registry
        .get_organization(rwire::GetOrganizationRequest {
            name: name.to_owned(),
        })
        .await
    {
        Ok(o) => Ok(Some(o.into_inner())),
        Err(s) if s.code() == Code::NotFound => Ok(None),
        Err(s) => Err(services.registry_failed()(s)),
    }
}

/// The organisation's events that occurred within `period`, superseded ones left out.
async fn events(
    services: &Services<'_>,
    registry: &mut Registry,
    name: &str,
    period: MonthRange,
) -> Result<Vec<rwire::Event>, Failure> {
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = registry
            .list_events(rwire::ListEventsRequest {
                page_size: 1000,
                page_token,
                participant: name.to_owned(),
                occurred_within: Some(month_range_to_wire(period)),
                exclude_superseded: true,
                ..Default::default()
            })
            .await
            .map_err(services.registry_failed())?
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() || events.len() >= MAX_EVENTS_READ {
            return Ok(events);
        }
        page_token = page.next_page_token;
    }
}

/// The latest figures of `key` (known on `as_of`) whose period overlaps `overlapping`.
async fn figures_over(
    services: &Services<'_>,
    stats: &mut Stats,
    key: &SeriesKey,
    overlapping: MonthRange,
    as_of_date: Option<Date>,
) -> Result<Vec<swire::SalesFigure>, Failure> {
    let wire_key = series_key_to_wire(key);
    let mut figures = Vec::new();
    let mut page_token = String::new();
    for _ in 0..MAX_FIGURE_PAGES {
        let page = stats
            .list_sales_figures(swire::ListSalesFiguresRequest {
                page_size: 1000,
                page_token,
                organization: wire_key.organization.clone(),
                basis: key.basis.to_wire(),
                flow: key.flow.to_wire(),
                market: key.market.as_str().to_owned(),
                scope: key.scope.to_wire(),
                powertrain: key.powertrain.to_wire(),
                overlapping: Some(month_range_to_wire(overlapping)),
                as_of_date: as_of(as_of_date),
                include_superseded: false,
            })
            .await
            .map_err(services.stats_failed())?
            .into_inner();
        // An empty organisation filter lists every organisation's: keep exactly this series.
        figures.extend(
            page.sales_figures
                .into_iter()
                .filter(|f| f.series.as_ref() == Some(&wire_key)),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok(figures)
}

/// The sources `figures` cite that `known` does not hold.
async fn sources_of(
    services: &Services<'_>,
    registry: &mut Registry,
    figures: &[swire::SalesFigure],
    known: &[rwire::Source],
) -> Result<Vec<rwire::Source>, Failure> {
    let known: HashSet<&str> = known.iter().map(|s| s.name.as_str()).collect();
    let mut wanted: Vec<&str> = Vec::new();
    for f in figures {
        if !known.contains(f.source.as_str()) && !wanted.contains(&f.source.as_str()) {
            wanted.push(&f.source);
        }
    }
    let mut sources = Vec::new();
    for name in wanted.into_iter().take(MAX_SOURCES_READ) {
        match registry
            .get_source(rwire::GetSourceRequest {
                name: name.to_owned(),
            })
            .await
        {
            Ok(s) => sources.push(s.into_inner()),
            Err(s) if s.code() == Code::NotFound => {}
            Err(s) => return Err(services.registry_failed()(s)),
        }
    }
    Ok(sources)
}

/// The chart of `chart series`.
pub async fn series(services: &Services<'_>, args: &ChartSeriesArgs) -> Result<Chart, Failure> {
    let key = query::series_key(&args.series)?;
    let mut stats = services.stats().await?;
    let answer = stats
        .compute_series(swire::ComputeSeriesRequest {
            source: args.when.source_name(),
            series: Some(series_key_to_wire(&key)),
            period: Some(month_range_to_wire(args.when.period)),
            granularity: args.granularity.to_wire(),
            cumulative_within_year: args.cumulative_within_year,
            include_events: false,
            as_of_date: as_of(args.when.as_of_date),
        })
        .await
        .map_err(services.stats_failed())?
        .into_inner();
    // Figures over several months can only say something where a point has no value.
    let listed = match build::gap_hull(&answer.points).map_err(malformed)? {
        Some(hull) if !args.cumulative_within_year => {
            figures_over(services, &mut stats, &key, hull, args.when.as_of_date).await?
        }
        _ => Vec::new(),
    };
    // The registry is asked only for what the chart needs from it.
    let org_name = build::organization_name(&key);
    let (mut org, mut events, mut extra_sources) = (None, Vec::new(), Vec::new());
    if org_name.is_some() || !listed.is_empty() {
        let mut registry = services.registry().await?;
        if let Some(name) = &org_name {
            org = organization(services, &mut registry, name).await?;
            events = self::events(services, &mut registry, name, args.when.period).await?;
        }
        let known = answer
            .provenance
            .as_ref()
            .map_or(&[][..], |p| p.sources.as_slice());
        extra_sources = sources_of(services, &mut registry, &listed, known).await?;
    }
    build::series(build::SeriesInput {
        key: &key,
        period: args.when.period,
        granularity: args.granularity,
        cumulative: args.cumulative_within_year,
        as_of: args.when.as_of_date,
        answer: &answer,
        listed: &listed,
        events: &events,
        organization: org.as_ref(),
        extra_sources: &extra_sources,
    })
    .map_err(malformed)
}

/// The chart of `chart share`.
pub async fn share(services: &Services<'_>, args: &ChartShareArgs) -> Result<Chart, Failure> {
    let share = &args.share;
    let (numerator, denominator) = query::share_sides(share)?;
    let (numerator, denominator) = (
        query::series_key(&numerator)?,
        query::series_key(&denominator)?,
    );
    let mut stats = services.stats().await?;
    let answer = stats
        .compute_share(swire::ComputeShareRequest {
            source: share.when.source_name(),
            numerator: Some(series_key_to_wire(&numerator)),
            denominator: Some(series_key_to_wire(&denominator)),
            period: Some(month_range_to_wire(share.when.period)),
            granularity: share.granularity.to_wire(),
            as_of_date: as_of(share.when.as_of_date),
            percent_decimals: Some(share.percent_decimals),
        })
        .await
        .map_err(services.stats_failed())?
        .into_inner();
    let (org, events) = match build::organization_name(&numerator) {
        Some(name) => {
            let mut registry = services.registry().await?;
            (
                organization(services, &mut registry, &name).await?,
                events(services, &mut registry, &name, share.when.period).await?,
            )
        }
        None => (None, Vec::new()),
    };
    build::share(build::ShareInput {
        numerator: &numerator,
        denominator: &denominator,
        period: share.when.period,
        granularity: share.granularity,
        as_of: share.when.as_of_date,
        answer: &answer,
        events: &events,
        organization: org.as_ref(),
    })
    .map_err(malformed)
}

/// The chart of `chart rank`.
pub async fn rank(services: &Services<'_>, args: &ChartRankArgs) -> Result<Chart, Failure> {
    let rank = &args.rank;
    query::refuse_rank_organization(rank)?;
    if rank.limit > MAX_BARS {
        return Err(Failure::invalid(format!(
            "error: --limit {}: a chart has room for at most {MAX_BARS} bars (`rank` lists more)",
            rank.limit
        )));
    }
    let key = query::series_key(&rank.series)?;
    let mut stats = services.stats().await?;
    let answer = stats
        .compute_ranking(swire::ComputeRankingRequest {
            source: rank.when.source_name(),
            series: Some(series_key_to_wire(&key)),
            period: Some(month_range_to_wire(rank.when.period)),
            limit: rank.limit,
            as_of_date: as_of(rank.when.as_of_date),
            percent_decimals: Some(rank.percent_decimals),
            group_mode: rank.mode.map_or(0, WireEnum::to_wire),
        })
        .await
        .map_err(services.stats_failed())?
        .into_inner();
    let organizations = if answer.entries.is_empty() {
        Vec::new()
    } else {
        let mut registry = services.registry().await?;
        registry
            .batch_get_organizations(rwire::BatchGetOrganizationsRequest {
                names: answer
                    .entries
                    .iter()
                    .map(|e| e.organization.clone())
                    .collect(),
            })
            .await
            .map_err(services.registry_failed())?
            .into_inner()
            .organizations
    };
    build::ranking(build::RankInput {
        key: &key,
        period: rank.when.period,
        as_of: rank.when.as_of_date,
        answer: &answer,
        organizations: &organizations,
    })
    .map_err(malformed)
}
