//! A large import through one stats replica while another answers queries, both on the
//! PostgreSQL store the import benchmark filled: the importing replica's peak resident
//! memory over its steady state, how soon after the import is acknowledged the other
//! replica answers with the new figures, and that replica's query latency before and
//! throughout.
//!
//! The import is market-level registration figures (no organisation, so the registry is not
//! needed; a source the store already holds): 40 markets × 2 flows × 240 months, one release
//! after another (each release a new as-of day and one more revision of every month).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use autointel_domain::{
    Date, FigureNature, Flow, Market, MeasureBasis, MonthRange, Powertrain, Provenance,
    ReleaseStage, SalesFigure, SeriesKey, SourceId, Units, VehicleScope, YearMonth,
};
use autointel_proto::convert::stats::sales_figure_to_wire;
use autointel_proto::convert::types::{month_range_to_wire, series_key_to_wire};
use autointel_proto::stats as wire;
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_stats::engine::figure_id;
use serde_json::{Value, json};
use tonic::transport::Channel;

use crate::RunArgs;
use crate::service::{Started, start_with};
use crate::shapes::Ctx;

const MARKETS: [&str; 40] = [
    "CN", "US", "DE", "JP", "FR", "GB", "IT", "ES", "KR", "IN", "BR", "MX", "CA", "AU", "RU", "TR",
    "TH", "ID", "MY", "VN", "PH", "SA", "AE", "ZA", "EG", "NG", "AR", "CL", "CO", "PE", "PL", "CZ",
    "SE", "NO", "NL", "BE", "AT", "CH", "PT", "IL",
];
const FLOWS: [Flow; 2] = [Flow::Domestic, Flow::Export];
const MONTHS: usize = 240;
const FIRST_MONTH: i32 = 2005 * 12;
const CHAINS: usize = MARKETS.len() * FLOWS.len() * MONTHS;
/// Figures per message of the import stream.
const PER_MESSAGE: usize = 1_000;

/// Figure `i` of the import: (market, flow, month offset, revision) and its units.
fn place(i: usize) -> (usize, usize, usize, usize, u64) {
    let (revision, chain) = (i / CHAINS, i % CHAINS);
    let (market, flow, month) = (
        chain / (FLOWS.len() * MONTHS),
        chain / MONTHS % FLOWS.len(),
        chain % MONTHS,
    );
    let units = 1_000 + 7 * market as u64 + month as u64 + revision as u64;
    (market, flow, month, revision, units)
}

fn key(market: usize, flow: usize) -> Result<SeriesKey> {
    Ok(SeriesKey {
        organization: None,
        basis: MeasureBasis::Registrations,
        flow: FLOWS[flow],
        market: Market::parse(MARKETS[market]).map_err(|e| anyhow::anyhow!("{e}"))?,
        scope: VehicleScope::Passenger,
        powertrain: Powertrain::All,
        destination: None,
    })
}

fn month(offset: usize) -> Result<YearMonth> {
    YearMonth::from_index(FIRST_MONTH + i32::try_from(offset)?).context("month")
}

/// One message of the import: figures `from..to`.
fn message(request_id: &str, from: usize, to: usize) -> Result<wire::ImportSalesFiguresRequest> {
    let source = SourceId::parse(autointel_dataset::source_of(MeasureBasis::Registrations))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let placeholder = figure_id(0).context("id")?;
    let figures = (from..to)
        .map(|i| {
            let (market, flow, m, revision, units) = place(i);
            // Release `revision` is published on day `revision % 28 + 1` of month
            // `revision / 28 + 1` of 2025 (at most 336 releases).
            let as_of = Date::new(
                2025,
                u8::try_from(revision / 28 + 1)?,
                u8::try_from(revision % 28 + 1)?,
            )
            .map_err(|e| anyhow::anyhow!("release {revision}: {e}"))?;
            let figure = SalesFigure {
                id: placeholder.clone(),
                key: key(market, flow)?,
                period: MonthRange::month(month(m)?),
                units: Units::from_u64(units).map_err(|e| anyhow::anyhow!("{e}"))?,
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
            Ok(sales_figure_to_wire(&figure, None))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(wire::ImportSalesFiguresRequest {
        request_id: request_id.to_owned(),
        figures,
    })
}

/// The check query: CN's domestic registrations in 2024, and its total once an import of
/// `n` figures is applied (each month's latest revision).
fn check(n: usize) -> Result<(wire::ComputeTotalRequest, i64)> {
    let first = MONTHS - 12;
    let mut expected = 0i64;
    for m in first..MONTHS {
        // chain of (market 0, flow 0, month m) is m; its last revision below n
        let revisions = n.saturating_sub(m).div_ceil(CHAINS);
        if revisions == 0 {
            bail!("an import of {n} figures does not reach every month of the check");
        }
        expected += i64::try_from(place(m + (revisions - 1) * CHAINS).4)?;
    }
    let period =
        MonthRange::new(month(first)?, month(MONTHS - 1)?).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((
        wire::ComputeTotalRequest {
            source: String::new(),
            series: Some(series_key_to_wire(&key(0, 0)?)),
            period: Some(month_range_to_wire(period)),
            as_of_date: None,
        },
        expected,
    ))
}

/// Latencies of the single-organisation YoY query, one client in a loop, until `stop`.
async fn query_loop(
    mut client: StatsServiceClient<Channel>,
    request: wire::ComputeChangeRequest,
    stop: Arc<AtomicBool>,
) -> Result<Vec<(Instant, Duration)>> {
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        client
            .compute_change(request.clone())
            .await
            .context("the other replica's query")?;
        out.push((t, t.elapsed()));
    }
    Ok(out)
}

/// Percentiles of the latencies, and when (seconds after `from`) the slowest query began.
fn percentiles(latencies: &[(Instant, Duration)], from: Instant) -> Value {
    let slowest = latencies
        .iter()
        .max_by_key(|(_, d)| *d)
        .map_or(0.0, |(t, _)| {
            t.saturating_duration_since(from).as_secs_f64()
        });
    let mut us: Vec<f64> = latencies
        .iter()
        .map(|(_, d)| d.as_secs_f64() * 1e6)
        .collect();
    us.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        us.get(((us.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0.0)
    };
    json!({
        "queries": us.len(),
        "p50_us": pct(0.5),
        "p99_us": pct(0.99),
        "p999_us": pct(0.999),
        "max_us": pct(1.0),
        "slowest_at_s": slowest,
    })
}

/// Imports `n` figures through one replica beside another (see the module docs).
pub async fn import_beside_a_replica(
    args: &RunArgs,
    url: &str,
    ctx: &Ctx,
    n: usize,
) -> Result<Value> {
    let limit = n.to_string();
    let env = [("AUTOINTEL_IMPORT__MAX_FIGURES", limit.as_str())];
    let importer: Started = start_with(
        args,
        url,
        ctx,
        &[
            env[0],
            ("AUTOINTEL_LOG__LEVEL", "info"),
            ("RUST_LOG", "info"),
        ],
    )
    .await?;
    let other: Started = start_with(args, url, ctx, &env).await?;
    let yoy = crate::service::yoy_request(ctx)?;
    let (check, expected) = check(n)?;
    let mut other_client = StatsServiceClient::connect(other.endpoint.clone()).await?;

    // Steady state: both up, a few seconds of queries on the other replica.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let steady = crate::proc_status_bytes(Some(importer.pid), "VmRSS:");
    // Resets the importer's peak resident memory to its current (Linux `clear_refs` 5).
    std::fs::write(format!("/proc/{}/clear_refs", importer.pid), "5")
        .context("resetting the importer's peak memory")?;
    let stop = Arc::new(AtomicBool::new(false));
    let baseline = Instant::now();
    let before = tokio::spawn(query_loop(other_client.clone(), yoy.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let before = before.await??;

    let stop = Arc::new(AtomicBool::new(false));
    let during = tokio::spawn(query_loop(other_client.clone(), yoy, stop.clone()));
    let request_id = uuid::Uuid::new_v4().to_string();
    let messages = (0..n.div_ceil(PER_MESSAGE))
        .map(|m| message(&request_id, m * PER_MESSAGE, ((m + 1) * PER_MESSAGE).min(n)))
        .collect::<Result<Vec<_>>>()?;
    let mut importer_client = StatsServiceClient::connect(importer.endpoint.clone())
        .await?
        .max_encoding_message_size(64 << 20);
    let started = Instant::now();
    let answer = importer_client
        .import_sales_figures(tokio_stream::iter(messages))
        .await
        .context("the import")?
        .into_inner();
    let acknowledged = started.elapsed();
    if answer.imported_count != i64::try_from(n)? {
        bail!("imported {} of {n} figures", answer.imported_count);
    }
    let visible = loop {
        let total = other_client
            .compute_total(check.clone())
            .await
            .ok()
            .and_then(|r| r.into_inner().total)
            .and_then(|t| t.units);
        if total == Some(expected) {
            break started.elapsed().saturating_sub(acknowledged);
        }
        if started.elapsed() > acknowledged + Duration::from_secs(120) {
            bail!("the other replica answered {total:?}, not {expected}, 120 s after the import");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    stop.store(true, Ordering::Relaxed);
    let during = during.await??;
    let peak = crate::proc_status_bytes(Some(importer.pid), "VmHWM:");
    let after = crate::proc_status_bytes(Some(importer.pid), "VmRSS:");
    let other_after = crate::proc_status_bytes(Some(other.pid), "VmRSS:");
    let out = json!({
        "figures": n,
        "import_s": acknowledged.as_secs_f64(),
        "revision_count": answer.revision_count,
        "visible_after_ack_s": visible.as_secs_f64(),
        "importer_steady_rss_bytes": steady,
        "importer_peak_rss_bytes": peak,
        "importer_peak_over_steady_bytes": peak.saturating_sub(steady),
        "importer_after_rss_bytes": after,
        "other_after_rss_bytes": other_after,
        "other_queries_before": percentiles(&before, baseline),
        "other_queries_during": percentiles(&during, started),
    });
    eprintln!("import beside a replica: {out}");
    Ok(out)
}
