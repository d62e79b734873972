//! Analysts' access at size: every figure from a stats-server to a `pyarrow.flight` client
//! beside paging `ListSalesFigures` over gRPC (the server's resident memory sampled while
//! it streams), and `autointel export --format parquet` beside DuckDB's `COPY … TO` of the
//! same table, in one run.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use autointel_proto::stats as wire;
use autointel_proto::stats::flight_query::Query;
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use prost::Message;
use serde_json::{Value, json};

use crate::shapes::Ctx;
use crate::{RunArgs, python_json};

/// Seconds spent paging `ListSalesFigures` (the rate is what counts; all 10M would take
/// minutes).
const PAGING_BUDGET_S: f64 = 15.0;

/// Reads every figure through a `pyarrow.flight` client (a batch at a time, counting rows)
/// and prints `{"rows": …, "seconds": …}`.
const PY_FLIGHT: &str = r#"
import json, sys, time
import pyarrow.flight as flight
client = flight.connect(sys.argv[1])
t = time.perf_counter()
reader = client.do_get(flight.Ticket(bytes.fromhex(sys.argv[2])))
rows = 0
for chunk in reader:
    rows += chunk.data.num_rows
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - t}))
"#;

/// DuckDB: the exported Parquet file read into a table, then `COPY … TO` Parquet timed with
/// one thread and with every core; prints seconds per thread count and the rows.
const PY_DUCK_COPY: &str = r#"
import json, os, sys, time
import duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(f"CREATE TABLE f AS SELECT * FROM read_parquet('{sys.argv[1]}')")
rows = con.execute("SELECT count(*) FROM f").fetchone()[0]
out = {"rows": rows, "version": duckdb.__version__, "copy_s": {}}
for threads in (1, os.cpu_count()):
    con.execute(f"SET threads = {threads}")
    t = time.perf_counter()
    con.execute(f"COPY f TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION snappy)")
    out["copy_s"][str(threads)] = time.perf_counter() - t
    out["bytes"] = os.path.getsize(sys.argv[2])
print(json.dumps(out))
"#;

/// The highest resident memory of `pid` while sampling runs (every 5 ms).
struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(crate::rss_bytes(Some(pid))));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(crate::rss_bytes(Some(pid)), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        Self {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn peak(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// Every figure over Flight and over paged gRPC, then the Parquet export beside DuckDB, on
/// a stats-server over `sqlite_url` holding `figures` figures.
pub async fn run(args: &RunArgs, sqlite_url: &str, ctx: &Ctx, dir: &Path) -> Result<Value> {
    let server = crate::service::start_with(args, sqlite_url, ctx, &[]).await?;
    let endpoint = server.endpoint.clone();
    let steady = crate::rss_bytes(Some(server.pid));

    // pyarrow.flight: every figure, superseded ones included.
    let ticket = wire::FlightQuery {
        query: Some(Query::Figures(wire::ListSalesFiguresRequest {
            include_superseded: true,
            ..Default::default()
        })),
        sequence_mark: 0,
    }
    .encode_to_vec();
    let hex: String = ticket.iter().map(|b| format!("{b:02x}")).collect();
    let location = endpoint.replace("http://", "grpc://");
    let sampler = Sampler::start(server.pid);
    let flight = python_json(args, &["-c", PY_FLIGHT, &location, &hex])?;
    let peak = sampler.peak();
    let rows = flight["rows"].as_u64().unwrap_or(0);
    let flight_s = flight["seconds"].as_f64().unwrap_or(f64::NAN);
    let flight_rate = rows as f64 / flight_s;
    eprintln!(
        "flight: {rows} figures in {flight_s:.2}s = {flight_rate:.0} rows/s, server peak {peak} bytes (steady {steady})"
    );

    // Paging ListSalesFigures over gRPC for a while, for its rate.
    let mut client = StatsServiceClient::connect(endpoint.clone())
        .await?
        .max_decoding_message_size(64 << 20);
    let mut request = wire::ListSalesFiguresRequest {
        page_size: 1000,
        include_superseded: true,
        ..Default::default()
    };
    let t = Instant::now();
    let mut paged = 0u64;
    while t.elapsed().as_secs_f64() < PAGING_BUDGET_S {
        let page = client
            .list_sales_figures(request.clone())
            .await?
            .into_inner();
        paged += page.sales_figures.len() as u64;
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    let paging_rate = paged as f64 / t.elapsed().as_secs_f64();
    eprintln!("paging ListSalesFigures: {paging_rate:.0} rows/s");

    // autointel export --format parquet, then DuckDB's COPY of the same table.
    let cli = args
        .stats_server
        .with_file_name(format!("autointel{}", std::env::consts::EXE_SUFFIX));
    let ours = dir.join("export.parquet");
    let _ = std::fs::remove_file(&ours);
    let t = Instant::now();
    let done = Command::new(&cli)
        .args([
            "--stats",
            &endpoint,
            "export",
            "--format",
            "parquet",
            "--include-superseded",
            "-f",
        ])
        .arg(&ours)
        .output()
        .with_context(|| format!("running {}", cli.display()))?;
    if !done.status.success() {
        bail!(
            "autointel export failed: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let export_s = t.elapsed().as_secs_f64();
    let export_bytes = std::fs::metadata(&ours)?.len();
    drop(server);
    let duck_file = dir.join("duckdb-copy.parquet");
    let ours_text = ours.display().to_string();
    let duck_text = duck_file.display().to_string();
    let duck = python_json(args, &["-c", PY_DUCK_COPY, &ours_text, &duck_text])?;
    let _ = std::fs::remove_file(&duck_file);
    let _ = std::fs::remove_file(&ours);
    if duck["rows"].as_u64() != Some(rows) {
        bail!(
            "the export holds {} rows, Flight streamed {rows}",
            duck["rows"]
        );
    }
    let copy = |threads: &str| duck["copy_s"][threads].as_f64().unwrap_or(f64::NAN);
    let all = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .to_string();
    let v = json!({
        "rows": rows,
        "flight_s": flight_s,
        "flight_rows_per_s": flight_rate,
        "paging_rows_per_s": paging_rate,
        "flight_over_paging": flight_rate / paging_rate,
        "server_steady_rss_bytes": steady,
        "server_peak_rss_bytes": peak,
        "export_parquet_s": export_s,
        "export_parquet_bytes": export_bytes,
        "duckdb": duck,
        "export_over_duckdb_1_thread": export_s / copy("1"),
        "export_over_duckdb_all_threads": export_s / copy(&all),
    });
    eprintln!("flight and export: {v}");
    Ok(v)
}
