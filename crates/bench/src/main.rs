//! `autointel-bench`: generates a seeded dataset and measures the engine, the importer and
//! the service against DuckDB and PostgreSQL in the same run. See `BENCHMARKS.md`.

mod destinations;
mod flight;
mod groups;
mod import;
mod render;
mod service;
mod shapes;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use autointel_dataset as dataset;
use autointel_domain::SalesFigure;
use autointel_stats::engine::{Engine, figure_id};
use autointel_stats::store::{ImportFigures, Store};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, Row};

use crate::shapes::{Ctx, Dialect};

#[derive(Debug, Parser)]
#[command(name = "autointel-bench", version = autointel_server::version(), about = "autointel benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Writes the dataset of one size as CSV.
    Generate {
        /// Figures (100k, 1m, 10m or a number).
        #[arg(long)]
        size: String,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Seed.
        #[arg(long, default_value_t = 20_240_101)]
        seed: u64,
    },
    /// Runs the benchmarks for every size and prints the tables.
    Run(RunArgs),
    /// Serves only `grpc.health.v1` (the bare tonic ceiling) on an address.
    Ceiling {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:50190")]
        listen: std::net::SocketAddr,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Sizes, comma-separated.
    #[arg(long, default_value = "100k,1m")]
    sizes: String,
    /// Where data and results go.
    #[arg(long, default_value = "/tmp/autointel-bench")]
    dir: PathBuf,
    /// Python with the duckdb package.
    #[arg(long, default_value = ".venv-bench/bin/python")]
    python: PathBuf,
    /// PostgreSQL server URL without a database name.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg: String,
    /// The stats-server binary.
    #[arg(long, default_value = "target/release/stats-server")]
    stats_server: PathBuf,
    /// Seconds spent per engine query shape.
    #[arg(long, default_value_t = 0.3)]
    engine_budget: f64,
    /// Seconds spent per peer query shape and thread setting.
    #[arg(long, default_value_t = 1.0)]
    peer_budget: f64,
    /// Skip DuckDB.
    #[arg(long)]
    no_duckdb: bool,
    /// Skip PostgreSQL (peer and store import).
    #[arg(long)]
    no_postgres: bool,
    /// Skip the service level (h2load).
    #[arg(long)]
    no_service: bool,
    /// Run only the destination shapes (their own figures, engine and DuckDB).
    #[arg(long)]
    only_destinations: bool,
    /// Run only the rankings of groups (consolidated, equity share; engine and DuckDB).
    #[arg(long)]
    only_groups: bool,
    /// Run only the store import into PostgreSQL, a new replica there, and the import
    /// beside a replica.
    #[arg(long)]
    only_import: bool,
    /// Run only the analysts' access: every figure over Arrow Flight beside paged gRPC, and
    /// the Parquet export beside DuckDB's `COPY` (SQLite store).
    #[arg(long)]
    only_flight: bool,
    /// Run only the service section: the SQLite store filled, stats-server's start-up
    /// (a full replay, then a restart from its snapshot) and its request rate.
    #[arg(long)]
    only_service: bool,
    /// Run only these engine query shapes (comma-separated names, as in the results)
    /// beside DuckDB's SQL for them: no snapshot, groups, destinations, stores or service.
    #[arg(long, value_delimiter = ',')]
    only_shapes: Vec<String>,
    /// Reuse this size's figures CSV and filled SQLite store from an earlier run when they
    /// are complete (the generator is deterministic for a seed; a store is complete once
    /// its import finished, marked by `stats.db.imported`), instead of writing them again.
    #[arg(long)]
    reuse: bool,
    /// Figures of the import through one replica beside another (PostgreSQL; 0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    import_figures: usize,
    /// h2load requests per run.
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Seed.
    #[arg(long, default_value_t = 20_240_101)]
    seed: u64,
}

fn parse_size(s: &str) -> Result<usize> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mul) = if let Some(n) = s.strip_suffix('k') {
        (n, 1_000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 1_000_000)
    } else {
        (s.as_str(), 1)
    };
    Ok(num.parse::<usize>().context("size")? * mul)
}

/// Resident memory of this process (`None`) or of `pid`, in bytes.
fn rss_bytes(pid: Option<u32>) -> u64 {
    proc_status_bytes(pid, "VmRSS:")
}

/// A memory field of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`, …), in bytes; 0 when unreadable.
pub(crate) fn proc_status_bytes(pid: Option<u32>, field: &str) -> u64 {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_owned(),
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

#[derive(Clone, Copy, Debug, Default)]
struct Timing {
    median_us: f64,
    p99_us: f64,
    n: usize,
}

fn timing(mut samples: Vec<Duration>) -> Timing {
    samples.sort();
    let n = samples.len();
    if n == 0 {
        return Timing::default();
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let median = if n % 2 == 1 {
        us(samples[n / 2])
    } else {
        (us(samples[n / 2 - 1]) + us(samples[n / 2])) / 2.0
    };
    Timing {
        median_us: median,
        p99_us: us(samples[((n * 99) / 100).min(n - 1)]),
        n,
    }
}

/// Times `run` on the engine for `budget` seconds (see [`bench`]), prints its line under
/// `name` and returns its result cell (median, p99, runs, checksum).
fn engine_cell(name: &str, budget: f64, run: impl FnMut() -> u128) -> Value {
    let (t, check) = bench(budget, run);
    eprintln!(
        "engine {name:18} median {:>10} p99 {:>10} (n={}) check {check}",
        fmt_us(t.median_us),
        fmt_us(t.p99_us),
        t.n
    );
    json!({"median_us": t.median_us, "p99_us": t.p99_us, "n": t.n, "check": check.to_string()})
}

fn bench<F: FnMut() -> u128>(budget: f64, mut f: F) -> (Timing, u128) {
    let mut check = 0;
    for _ in 0..3 {
        check = std::hint::black_box(f());
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 20 || (start.elapsed().as_secs_f64() < budget && samples.len() < 200_000)
    {
        let t = Instant::now();
        std::hint::black_box(f());
        samples.push(t.elapsed());
    }
    (timing(samples), check)
}

fn fmt_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.1} µs")
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Generate { size, out, seed } => {
            let n = parse_size(&size)?;
            let t = Instant::now();
            let data = dataset::generate(n, seed);
            data.write_csv(&out)?;
            eprintln!(
                "{} figures, {} series in {:.1?} -> {}",
                data.figures.len(),
                data.series.len(),
                t.elapsed(),
                out.display()
            );
            Ok(())
        }
        Cmd::Ceiling { listen } => service::ceiling(listen),
        Cmd::Run(args) => run(&args),
    }
}

fn run(args: &RunArgs) -> Result<()> {
    let mut report = Vec::new();
    for size in args.sizes.split(',') {
        let n = parse_size(size)?;
        let dir = args.dir.join(size.trim());
        let r = run_size(args, n, &dir).with_context(|| format!("size {size}"))?;
        std::fs::write(dir.join("results.json"), serde_json::to_string_pretty(&r)?)?;
        report.push((size.trim().to_owned(), r));
    }
    let text = render::render(&report);
    println!("{text}");
    std::fs::write(args.dir.join("results.md"), &text)?;
    Ok(())
}

fn run_size(args: &RunArgs, n: usize, dir: &Path) -> Result<Value> {
    std::fs::create_dir_all(dir)?;
    eprintln!("== {n} figures in {}", dir.display());
    if args.only_destinations {
        return Ok(json!({
            "figures": n,
            "destinations": destination_shapes(args, n, dir).context("destinations")?,
        }));
    }
    let t = Instant::now();
    let data = dataset::generate(n, args.seed);
    if !(args.reuse && dir.join("figures.csv").is_file()) {
        data.write_csv(dir)?;
    }
    let figures = data.figures.len();
    eprintln!(
        "generated {figures} figures ({} series) in {:.1?}",
        data.series.len(),
        t.elapsed()
    );
    let csv = dir.join("figures.csv");
    let csv_bytes = std::fs::metadata(&csv)?.len();
    let ctx = Ctx::new(data.orgs[7].as_str())?;
    let mut out = json!({
        "figures": figures,
        "series": data.series.len(),
        "csv_bytes": csv_bytes,
    });

    if args.only_service {
        drop(data);
        let rt = runtime()?;
        let sqlite_url = filled_sqlite_store(args, &rt, dir, &csv, &mut out)?;
        out["service"] = rt
            .block_on(service::run(args, &sqlite_url, &ctx, figures))
            .context("service")?;
        return Ok(out);
    }
    if args.only_flight {
        drop(data);
        let rt = runtime()?;
        let sqlite_url = filled_sqlite_store(args, &rt, dir, &csv, &mut out)?;
        out["flight"] = rt
            .block_on(flight::run(args, &sqlite_url, &ctx, dir))
            .context("flight and export")?;
        return Ok(out);
    }

    // Engine: load from domain figures (library call), memory, then every shape.
    let (engine, load) = {
        let keys = (0..data.series.len())
            .map(|s| data.key(u32::try_from(s).unwrap_or(0)))
            .collect::<Result<Vec<_>>>()?;
        let before = rss_bytes(None);
        let t = Instant::now();
        let mut engine = Engine::new();
        for f in &data.figures {
            let figure = data.figure(f, keys[f.series as usize].clone(), figure_id)?;
            engine
                .insert(&figure, 1_700_000_000_000_000)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        engine.compact();
        let secs = t.elapsed().as_secs_f64();
        let after = rss_bytes(None);
        (
            engine,
            json!({
                "load_s": secs,
                "figures_per_s": figures as f64 / secs,
                "rss_delta_bytes": after.saturating_sub(before),
                "bytes_per_figure": after.saturating_sub(before) as f64 / figures as f64,
            }),
        )
    };
    eprintln!("engine: {load}");
    out["engine_load"] = load;
    if !args.only_shapes.is_empty() {
        drop(data);
        return only_shapes(args, &engine, &csv, &ctx, out);
    }
    let groups = groups::Groups::new(&data)?;
    drop(data);
    out["groups"] = group_shapes(&engine, &groups, &ctx, args);
    if args.only_groups {
        if !args.no_duckdb {
            out["duckdb"] = duckdb_job(
                args,
                &csv,
                shapes::RAW_COLUMNS,
                &shapes::derive_sql(Dialect::Duck),
                group_queries(&groups),
                None,
            )
            .context("duckdb")?;
        }
        return Ok(out);
    }
    let rt = runtime()?;
    if args.only_import {
        drop(engine);
        postgres_replicas(args, &rt, &csv, &ctx, &mut out)?;
        return Ok(out);
    }

    let mut engine_results = BTreeMap::new();
    for shape in shapes::shapes() {
        let cell = engine_cell(shape.name, args.engine_budget, || {
            shape.run_engine(&engine, &ctx)
        });
        engine_results.insert(shape.name, cell);
    }
    out["engine"] = json!(engine_results);
    out["engine_snapshot"] = engine_snapshot(&engine, dir, &ctx)?;
    drop(engine);
    out["destinations"] = destination_shapes(args, n, dir).context("destinations")?;

    if !args.no_duckdb {
        out["duckdb"] = duckdb(args, &csv, &ctx, &groups).context("duckdb")?;
    }
    if !args.no_postgres {
        out["postgres"] = rt
            .block_on(postgres(args, &csv, &ctx))
            .context("postgres")?;
        out["import_postgres"] = rt
            .block_on(import_store(
                &format!("{}/autointel_bench_store", args.pg),
                Some(&args.pg),
                &csv,
            ))
            .context("import into PostgreSQL")?;
    }
    let sqlite_url = filled_sqlite_store(args, &rt, dir, &csv, &mut out)?;
    if !args.no_service {
        out["service"] = rt
            .block_on(service::run(args, &sqlite_url, &ctx, figures))
            .context("service")?;
        out["flight"] = rt
            .block_on(flight::run(args, &sqlite_url, &ctx, dir))
            .context("flight and export")?;
        if !args.no_postgres {
            replicas_on_postgres(args, &rt, &ctx, &mut out)?;
        }
    }
    Ok(out)
}

/// The runtime the bench's clients and servers' callers run on (2 workers).
fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Runs the peers' Python (`--python`) with `argv` and reads the JSON it prints last
/// (anything a library prints before it, a progress bar, is not the answer).
pub(crate) fn python_json<S: AsRef<std::ffi::OsStr>>(args: &RunArgs, argv: &[S]) -> Result<Value> {
    let out = Command::new(&args.python)
        .args(argv)
        .output()
        .with_context(|| format!("running {}", args.python.display()))?;
    if !out.status.success() {
        bail!("python failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    serde_json::from_str(last).with_context(|| format!("python printed {text:?}"))
}

/// The URL of a new, empty SQLite store in `dir` (an earlier run's deleted).
fn sqlite_store(dir: &Path) -> String {
    let db = dir.join("stats.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    format!("sqlite:{}?mode=rwc", db.display())
}

/// A SQLite store in `dir` holding the CSV's figures: the one an earlier run filled when
/// `--reuse` is given and it is marked complete, else a new one, imported (and timed).
fn filled_sqlite_store(
    args: &RunArgs,
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    csv: &Path,
    out: &mut Value,
) -> Result<String> {
    let marker = dir.join("stats.db.imported");
    if args.reuse && marker.is_file() {
        eprintln!("reusing the filled store in {}", dir.display());
        return Ok(format!(
            "sqlite:{}?mode=rwc",
            dir.join("stats.db").display()
        ));
    }
    let _ = std::fs::remove_file(&marker);
    let _ = std::fs::remove_file(dir.join("stats.db.engine-snapshot"));
    let url = sqlite_store(dir);
    out["import_sqlite"] = rt
        .block_on(import_store(&url, None, csv))
        .context("import into SQLite")?;
    std::fs::write(&marker, b"")?;
    Ok(url)
}

/// The figures imported into PostgreSQL, then [`replicas_on_postgres`].
fn postgres_replicas(
    args: &RunArgs,
    rt: &tokio::runtime::Runtime,
    csv: &Path,
    ctx: &Ctx,
    out: &mut Value,
) -> Result<()> {
    out["import_postgres"] = rt
        .block_on(import_store(
            &format!("{}/autointel_bench_store", args.pg),
            Some(&args.pg),
            csv,
        ))
        .context("import into PostgreSQL")?;
    replicas_on_postgres(args, rt, ctx, out)
}

/// A new replica on the PostgreSQL store, then an import through one replica beside
/// another.
fn replicas_on_postgres(
    args: &RunArgs,
    rt: &tokio::runtime::Runtime,
    ctx: &Ctx,
    out: &mut Value,
) -> Result<()> {
    let url = format!("{}/autointel_bench_store", args.pg);
    out["service_postgres"] = rt
        .block_on(service::replica_on_postgres(args, &url, ctx))
        .context("a new replica on PostgreSQL")?;
    if args.import_figures > 0 {
        out["import_beside_a_replica"] = rt
            .block_on(import::import_beside_a_replica(
                args,
                &url,
                ctx,
                args.import_figures,
            ))
            .context("an import beside a replica")?;
    }
    Ok(())
}

/// Exports by destination: `n` figures with destinations in an engine of their own, every
/// destination shape timed on it, then (unless skipped) on DuckDB over the same figures.
fn destination_shapes(args: &RunArgs, n: usize, dir: &Path) -> Result<Value> {
    let csv = dir.join("destinations.csv");
    let (engine, load) = destinations::build(n, &csv)?;
    eprintln!("destinations engine: {load}");
    let mut engine_results = serde_json::Map::new();
    for shape in destinations::SHAPES {
        shape.run_engine(&engine)?;
        let cell = engine_cell(shape.name, args.engine_budget, || {
            shape.run_engine(&engine).unwrap_or_default()
        });
        engine_results.insert(shape.name.to_owned(), cell);
    }
    drop(engine);
    let mut out = json!({"load": load, "engine": engine_results});
    if !args.no_duckdb {
        let queries: Vec<Value> = destinations::SHAPES
            .iter()
            .map(|s| {
                let (sql, check) = s.sql();
                json!({"name": s.name, "sql": sql, "check": check})
            })
            .collect();
        let derive =
            shapes::derive_sql_with(Dialect::Duck, ", coalesce(destination, '') AS destination");
        out["duckdb"] = duckdb_job(
            args,
            &csv,
            shapes::RAW_COLUMNS_WITH_DESTINATION,
            &derive,
            queries,
            None,
        )
        .context("duckdb")?;
    }
    Ok(out)
}

/// Writes the engine's snapshot to a file (synced) and reads it back, checking the YoY answer.
fn engine_snapshot(engine: &Engine, dir: &Path, ctx: &Ctx) -> Result<Value> {
    let path = dir.join("engine.snapshot");
    let t = Instant::now();
    let file = std::fs::File::create(&path)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let (_, bytes) = engine
        .write_snapshot(&mut out, None, 0)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    out.into_inner()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .sync_all()?;
    let write_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let file = std::fs::File::open(&path)?;
    let size = file.metadata()?.len();
    let (read, _) = Engine::read_snapshot(BufReader::with_capacity(1 << 20, file), size)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let read_s = t.elapsed().as_secs_f64();
    let yoy = shapes::shapes()
        .into_iter()
        .find(|s| s.name == "yoy_cum")
        .context("yoy_cum shape")?;
    if yoy.run_engine(&read, ctx) != yoy.run_engine(engine, ctx) {
        bail!("the engine read from its snapshot answers differently");
    }
    drop(read);
    let _ = std::fs::remove_file(&path);
    let v = json!({
        "write_s": write_s,
        "read_s": read_s,
        "bytes": bytes,
        "bytes_per_figure": bytes as f64 / engine.len() as f64,
    });
    eprintln!("engine snapshot: {v}");
    Ok(v)
}

/// Reads the import CSV in chunks of `chunk` figures (domain values with fresh ids).
fn csv_chunks(
    csv: &Path,
    chunk: usize,
    mut each: impl FnMut(Vec<SalesFigure>) -> Result<()>,
) -> Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::open(csv)?);
    let mut header = String::new();
    reader.read_line(&mut header)?;
    let mut buf: Vec<u8> = header.as_bytes().to_vec();
    let mut lines = 0usize;
    let mut number: u128 = 0x0190_0000_0000_7000_8000_0000_0000_0000;
    let mut flush = |buf: &mut Vec<u8>| -> Result<()> {
        let figures = autointel_figure_file::read_domain_figures(&buf[..], || {
            number += 1;
            figure_id(number).ok_or_else(|| autointel_domain::ValueError::new("no figure id"))
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        each(figures)?;
        buf.clear();
        buf.extend_from_slice(header.as_bytes());
        Ok(())
    };
    loop {
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        lines += 1;
        if lines.is_multiple_of(chunk) {
            flush(&mut buf)?;
        }
    }
    if !lines.is_multiple_of(chunk) {
        flush(&mut buf)?;
    }
    Ok(())
}

/// Our importer: CSV → validated domain figures → the store, 50k figures per import
/// (one transaction each), timed end to end.
async fn import_store(url: &str, pg_server: Option<&str>, csv: &Path) -> Result<Value> {
    if let Some(server) = pg_server {
        let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
        admin
            .execute("DROP DATABASE IF EXISTS autointel_bench_store")
            .await?;
        admin
            .execute("CREATE DATABASE autointel_bench_store")
            .await?;
        admin.close().await?;
    }
    let store = Store::connect(url, 8).await?;
    store.migrate().await?;
    let sources: Vec<autointel_domain::Source> = [
        autointel_domain::MeasureBasis::Wholesale,
        autointel_domain::MeasureBasis::Retail,
        autointel_domain::MeasureBasis::Production,
    ]
    .iter()
    .map(|&b| {
        Ok(autointel_domain::Source {
            id: autointel_domain::SourceId::parse(dataset::source_of(b))
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            kind: autointel_domain::SourceKind::Association,
            publisher: "bench".to_owned(),
            title: "generated".to_owned(),
            uri: None,
            published_date: None,
        })
    })
    .collect::<Result<_>>()?;
    // Parse on one thread while the store writes (the importer's two stages overlap).
    let t = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<SalesFigure>>(2);
    let path = csv.to_path_buf();
    let parser = std::thread::spawn(move || -> Result<f64> {
        let parse = Instant::now();
        // Time spent waiting for the writer is not parsing.
        let mut waiting = Duration::ZERO;
        csv_chunks(&path, 50_000, |c| {
            let wait = Instant::now();
            let sent = tx
                .blocking_send(c)
                .map_err(|_| anyhow::anyhow!("writer stopped"));
            waiting += wait.elapsed();
            sent
        })?;
        Ok((parse.elapsed() - waiting).as_secs_f64())
    });
    let mut total = 0usize;
    let mut write_s = 0.0;
    let mut i = 0usize;
    while let Some(c) = rx.recv().await {
        let request = format!("00000000-0000-4000-8000-{i:012}");
        let w = Instant::now();
        let n = c.len();
        store
            .write_import(&request, "bench", ImportFigures::Held(c), &sources, 0)
            .await?;
        write_s += w.elapsed().as_secs_f64();
        total += n;
        i += 1;
    }
    let parse_s = parser
        .join()
        .map_err(|_| anyhow::anyhow!("parser panicked"))??;
    let secs = t.elapsed().as_secs_f64();
    store.close().await;
    let r = json!({
        "figures": total,
        "seconds": secs,
        "parse_s": parse_s,
        "write_s": write_s,
        "figures_per_s": total as f64 / secs,
    });
    eprintln!("import {url}: {r}");
    Ok(r)
}

fn read_csv_columns(columns: &str) -> String {
    columns
        .split(", ")
        .filter_map(|c| c.split_once(' '))
        .map(|(name, ty)| format!("'{name}': '{ty}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rankings of groups on the engine: median, p99 and checksum of each.
fn group_shapes(engine: &Engine, groups: &groups::Groups, ctx: &Ctx, args: &RunArgs) -> Value {
    let mut results = serde_json::Map::new();
    results.insert("relationships".to_owned(), json!(groups.len()));
    for shape in groups::SHAPES {
        let mut cell = engine_cell(shape.name, args.engine_budget, || {
            shape.run_engine(engine, groups, ctx)
        });
        cell["what"] = json!(shape.what);
        results.insert(shape.name.to_owned(), cell);
    }
    Value::Object(results)
}

/// The rankings of groups as DuckDB queries.
fn group_queries(groups: &groups::Groups) -> Vec<Value> {
    groups::SHAPES
        .iter()
        .map(|s| {
            let (sql, check) = s.sql(groups);
            json!({"name": s.name, "sql": sql, "check": check})
        })
        .collect()
}

fn duckdb(args: &RunArgs, csv: &Path, ctx: &Ctx, groups: &groups::Groups) -> Result<Value> {
    let mut queries = duck_queries(&shapes::shapes(), ctx);
    queries.extend(group_queries(groups));
    let persist = csv.parent().map(|dir| dir.join("duckdb.db"));
    duckdb_job(
        args,
        csv,
        shapes::RAW_COLUMNS,
        &shapes::derive_sql(Dialect::Duck),
        queries,
        persist.as_deref(),
    )
}

/// DuckDB's job entries for `shapes`: name, SQL and the answer's check.
fn duck_queries(shapes: &[shapes::Shape], ctx: &Ctx) -> Vec<Value> {
    shapes
        .iter()
        .map(|s| {
            let (sql, check) = s.sql(Dialect::Duck, ctx);
            json!({"name": s.name, "sql": sql, "check": check})
        })
        .collect()
}

/// The engine shapes `--only-shapes` names, and DuckDB's SQL for them unless skipped.
fn only_shapes(
    args: &RunArgs,
    engine: &Engine,
    csv: &Path,
    ctx: &Ctx,
    mut out: Value,
) -> Result<Value> {
    let chosen: Vec<_> = shapes::shapes()
        .into_iter()
        .filter(|s| args.only_shapes.iter().any(|n| n == s.name))
        .collect();
    anyhow::ensure!(
        !chosen.is_empty(),
        "--only-shapes names no shape: {:?}",
        args.only_shapes
    );
    let mut engine_results = BTreeMap::new();
    for shape in &chosen {
        let cell = engine_cell(shape.name, args.engine_budget, || {
            shape.run_engine(engine, ctx)
        });
        engine_results.insert(shape.name, cell);
    }
    out["engine"] = json!(engine_results);
    if !args.no_duckdb {
        let queries = duck_queries(&chosen, ctx);
        out["duckdb"] = duckdb_job(
            args,
            csv,
            shapes::RAW_COLUMNS,
            &shapes::derive_sql(Dialect::Duck),
            queries,
            None,
        )
        .context("duckdb")?;
    }
    Ok(out)
}

/// Runs the DuckDB peer over `csv` (with `columns`, derived by `derive`): every query with
/// one thread and with all cores, and, with `persist`, a restart from a database file.
fn duckdb_job(
    args: &RunArgs,
    csv: &Path,
    columns: &str,
    derive: &str,
    queries: Vec<Value>,
    persist: Option<&Path>,
) -> Result<Value> {
    let dir = csv.parent().context("csv dir")?;
    let script = dir.join("duckdb_peer.py");
    std::fs::write(&script, include_str!("duckdb_peer.py"))?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let job = json!({
        "csv": csv.display().to_string(),
        "raw_columns": columns,
        "read_csv_columns": read_csv_columns(columns),
        "derive": derive,
        "threads": [1, cores],
        "all_threads": cores,
        "queries": queries,
        "persist": persist.map(|p| p.display().to_string()),
        "budget_s": args.peer_budget,
        "min_iters": 5,
        "max_iters": 2000,
    });
    let job_path = dir.join("duckdb_job.json");
    std::fs::write(&job_path, serde_json::to_string(&job)?)?;
    let v = python_json(args, &[script.as_os_str(), job_path.as_os_str()])
        .context("the duckdb peer")?;
    eprintln!(
        "duckdb {}: load {:.2}s derive {:.2}s",
        v["version"], v["load_s"], v["derive_s"]
    );
    Ok(v)
}

async fn postgres(args: &RunArgs, csv: &Path, ctx: &Ctx) -> Result<Value> {
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", args.pg)).await?;
    admin
        .execute("DROP DATABASE IF EXISTS autointel_bench_peer")
        .await?;
    admin
        .execute("CREATE DATABASE autointel_bench_peer")
        .await?;
    admin.close().await?;
    let mut conn =
        sqlx::PgConnection::connect(&format!("{}/autointel_bench_peer", args.pg)).await?;
    let version: String = sqlx::query("SHOW server_version")
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    conn.execute(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE raw ({})",
        shapes::RAW_COLUMNS
    )))
    .await?;
    let t = Instant::now();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "COPY raw FROM '{}' WITH (FORMAT csv, HEADER true)",
        csv.display()
    )))
    .await?;
    let copy_s = t.elapsed().as_secs_f64();
    let rows: i64 = sqlx::query("SELECT count(*) FROM raw")
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    let t = Instant::now();
    conn.execute(sqlx::AssertSqlSafe(shapes::derive_sql(Dialect::Pg)))
        .await?;
    conn.execute("DROP TABLE raw").await?;
    conn.execute(
        "CREATE INDEX f_series ON f (organization, basis, flow, market, scope, powertrain, ps)",
    )
    .await?;
    conn.execute("VACUUM ANALYZE f").await?;
    let derive_s = t.elapsed().as_secs_f64();
    eprintln!("postgres {version}: COPY {rows} rows in {copy_s:.2}s, derive+index {derive_s:.2}s");
    let mut runs = serde_json::Map::new();
    for (label, workers) in [("1", 0), ("all", 2)] {
        conn.execute(sqlx::AssertSqlSafe(format!(
            "SET max_parallel_workers_per_gather = {workers}"
        )))
        .await?;
        let mut res = serde_json::Map::new();
        for s in shapes::shapes() {
            let (sql, check) = s.sql(Dialect::Pg, ctx);
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut conn)
                .await?;
            let mut samples = Vec::new();
            let start = Instant::now();
            while samples.len() < 5
                || (start.elapsed().as_secs_f64() < args.peer_budget && samples.len() < 2000)
            {
                let t = Instant::now();
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .fetch_all(&mut conn)
                    .await?;
                samples.push(t.elapsed());
            }
            let value: Option<i64> = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT CAST({check} AS BIGINT) FROM ({sql}) q"
            )))
            .fetch_one(&mut conn)
            .await?
            .try_get(0)?;
            let tm = timing(samples);
            eprintln!(
                "postgres[{label}] {:18} median {:>10}",
                s.name,
                fmt_us(tm.median_us)
            );
            res.insert(
                s.name.to_owned(),
                json!({"median_us": tm.median_us, "p99_us": tm.p99_us, "n": tm.n, "check": value.unwrap_or(0)}),
            );
        }
        runs.insert(label.to_owned(), Value::Object(res));
    }
    conn.close().await?;
    Ok(json!({
        "version": version,
        "copy_s": copy_s,
        "rows": rows,
        "derive_s": derive_s,
        "runs": runs,
    }))
}
