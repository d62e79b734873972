//! Service level: `h2load` against `stats-server` for the single-organisation YoY query,
//! beside a bare tonic server answering `grpc.health.v1.Health/Check` (the ceiling), with
//! `grpc-status` verified by a real gRPC client and response sizes compared.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use autointel_domain::{MonthRange, YearMonth};
use autointel_proto::convert::types::{month_range_to_wire, series_key_to_wire};
use autointel_proto::stats as wire;
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use prost::Message;
use serde_json::{Value, json};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::RunArgs;
use crate::shapes::Ctx;

/// Serves only the health service until killed.
pub fn ceiling(listen: SocketAddr) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        tonic::transport::Server::builder()
            .add_service(health)
            .serve(listen)
            .await?;
        Ok(())
    })
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// How long a start (a full replay of 100M figures included) or a snapshot may take.
const START_LIMIT: Duration = Duration::from_secs(3 * 3600);

/// A child process killed on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn frame(message: &impl Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(0);
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

pub(crate) fn yoy_request(ctx: &Ctx) -> Result<wire::ComputeChangeRequest> {
    let ym = |y, m| YearMonth::new(y, m).map_err(|e| anyhow::anyhow!("{e}"));
    Ok(wire::ComputeChangeRequest {
        source: String::new(),
        series: Some(series_key_to_wire(&ctx.key)),
        period: Some(month_range_to_wire(
            MonthRange::new(ym(2023, 1)?, ym(2023, 11)?).map_err(|e| anyhow::anyhow!("{e}"))?,
        )),
        comparison: wire::Comparison::YearOverYear as i32,
        prior_period: None,
        as_of_date: None,
        percent_decimals: Some(1),
    })
}

pub async fn run(args: &RunArgs, sqlite_url: &str, ctx: &Ctx, figures: usize) -> Result<Value> {
    if Command::new("h2load").arg("--version").output().is_err() {
        bail!("h2load is missing (apt-get install -y nghttp2-client)");
    }
    let dir = Path::new(sqlite_url.trim_start_matches("sqlite:"))
        .parent()
        .context("db dir")?
        .to_path_buf();
    // stats-server: start-up (SQLite → engine) until it answers.
    let first = start(args, sqlite_url, ctx).await?;
    let (pid, startup_s, response, endpoint) = (
        first.pid,
        first.startup_s,
        first.response.clone(),
        first.endpoint.clone(),
    );
    let request = yoy_request(ctx)?;
    let server_rss = crate::rss_bytes(Some(pid));
    if response.change.is_none() {
        bail!("the YoY answer has no change: {response:?}");
    }
    let expected = 5 + response.encoded_len();
    eprintln!(
        "stats-server up in {startup_s:.2}s, rss {server_rss} bytes, response {expected} bytes"
    );
    let body = dir.join("yoy.bin");
    std::fs::write(&body, frame(&request))?;
    let stats = h2load(
        args,
        &format!("{endpoint}/autointel.stats.v1.StatsService/ComputeChange"),
        &body,
        &dir.join("h2load-stats.log"),
    )?;

    // The same trivial call on stats-server: its server stack (limits, metrics, auth) without
    // the query, to split the stack's cost from the handler's.
    let cbody = dir.join("health.bin");
    std::fs::write(
        &cbody,
        frame(&HealthCheckRequest {
            service: String::new(),
        }),
    )?;
    let stats_health = h2load(
        args,
        &format!("{endpoint}/grpc.health.v1.Health/Check"),
        &cbody,
        &dir.join("h2load-stats-health.log"),
    )?;

    // The bare tonic ceiling.
    let cport = free_port()?;
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .args(["ceiling", "--listen", &format!("127.0.0.1:{cport}")])
        .stdout(Stdio::null())
        .spawn()?;
    let _ceiling = Guard(child);
    let cendpoint = format!("http://127.0.0.1:{cport}");
    let health = loop {
        let channel = tonic::transport::Channel::from_shared(cendpoint.clone())?
            .connect()
            .await;
        if let Ok(channel) = channel {
            break HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await?
                .into_inner();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    if health.status != ServingStatus::Serving as i32 {
        bail!("ceiling not serving");
    }
    let cexpected = 5 + health.encoded_len();
    let ceiling = h2load(
        args,
        &format!("{cendpoint}/grpc.health.v1.Health/Check"),
        &cbody,
        &dir.join("h2load-ceiling.log"),
    )?;
    // A restart: the snapshot the first start wrote after loading, then the first answer.
    let snapshot =
        Path::new(sqlite_url.trim_start_matches("sqlite:")).with_extension("db.engine-snapshot");
    wait_for(|| async { Ok(snapshot.exists()) }, "the engine snapshot").await?;
    drop(first);
    let again = start(args, sqlite_url, ctx).await?;
    let restart_rss = crate::rss_bytes(Some(again.pid));
    let snapshot_bytes = std::fs::metadata(&snapshot)?.len();
    eprintln!(
        "stats-server restarted from its snapshot ({snapshot_bytes} bytes) in {:.2}s",
        again.startup_s
    );
    let restart_s = again.startup_s;
    drop(again);
    let mut out = json!({
        "restart_s": restart_s,
        "snapshot_bytes": snapshot_bytes,
        "restart_rss_bytes": restart_rss,
        "startup_s": startup_s,
        "server_rss_bytes": server_rss,
        "server_bytes_per_figure": server_rss as f64 / figures as f64,
        "stats_yoy": stats,
        "stats_health": stats_health,
        "ceiling": ceiling,
    });
    out["stats_health"]["label"] =
        json!("stats-server grpc.health.v1.Health/Check (its stack, no query)");
    out["stats_health"]["expected_bytes"] = json!(cexpected);
    out["stats_health"]["grpc_status"] = json!(format!(
        "0 (client); {} bytes/response vs {cexpected} expected",
        out["stats_health"]["bytes_per_response"]
    ));
    out["stats_yoy"]["label"] = json!("stats-server ComputeChange (YoY, one organisation)");
    out["stats_yoy"]["expected_bytes"] = json!(expected);
    out["stats_yoy"]["grpc_status"] = json!(format!(
        "0 (client); {} bytes/response vs {expected} expected",
        out["stats_yoy"]["bytes_per_response"]
    ));
    out["ceiling"]["label"] = json!("bare tonic grpc.health.v1.Health/Check");
    out["ceiling"]["expected_bytes"] = json!(cexpected);
    out["ceiling"]["grpc_status"] = json!(format!(
        "0 (client); {} bytes/response vs {cexpected} expected",
        out["ceiling"]["bytes_per_response"]
    ));
    for key in ["stats_yoy", "stats_health", "ceiling"] {
        let got = out[key]["bytes_per_response"].as_f64().unwrap_or(0.0);
        let want = out[key]["expected_bytes"].as_f64().unwrap_or(-1.0);
        if (got - want).abs() > 0.5 {
            bail!("{key}: h2load saw {got} bytes per response, expected {want}: errors?");
        }
    }
    eprintln!("service: {out}");
    Ok(out)
}

/// A running stats-server and its first answer.
pub(crate) struct Started {
    _guard: Guard,
    pub(crate) pid: u32,
    startup_s: f64,
    response: wire::ComputeChangeResponse,
    pub(crate) endpoint: String,
}

/// Starts stats-server on `url` and times it from spawn to its first YoY answer.
async fn start(args: &RunArgs, url: &str, ctx: &Ctx) -> Result<Started> {
    start_with(args, url, ctx, &[]).await
}

/// [`start`] with more environment (settings) for the server.
pub(crate) async fn start_with(
    args: &RunArgs,
    url: &str,
    ctx: &Ctx,
    env: &[(&str, &str)],
) -> Result<Started> {
    let port = free_port()?;
    let help = Command::new(&args.stats_server).arg("--help").output()?;
    let mut flags = vec![
        "--listen".to_owned(),
        format!("127.0.0.1:{port}"),
        "--database-url".to_owned(),
        url.to_owned(),
        "--registry".to_owned(),
        "http://127.0.0.1:9".to_owned(),
    ];
    if String::from_utf8_lossy(&help.stdout).contains("--metrics-listen") {
        flags.push("--metrics-listen".to_owned());
        flags.push(format!("127.0.0.1:{}", free_port()?));
    }
    let started = Instant::now();
    let child = Command::new(&args.stats_server)
        .args(&flags)
        .env("RUST_LOG", "warn")
        .env("AUTOINTEL_LOG__LEVEL", "warn")
        // loopback only, as every benchmark client is
        .env("AUTOINTEL_AUTH__DISABLED", "true")
        // as the image and the Deployment set it (OPERATIONS.md, Memory)
        .env("MALLOC_ARENA_MAX", "2")
        .envs(env.iter().copied())
        // A server given its own log level logs to the bench's output.
        .stdout(if env.iter().any(|(k, _)| *k == "AUTOINTEL_LOG__LEVEL") {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", args.stats_server.display()))?;
    let pid = child.id();
    let mut guard = Guard(child);
    let endpoint = format!("http://127.0.0.1:{port}");
    let request = yoy_request(ctx)?;
    let response = loop {
        if started.elapsed() > START_LIMIT {
            bail!("stats-server did not start");
        }
        if let Some(status) = guard.0.try_wait()? {
            bail!("stats-server exited: {status}");
        }
        if let Ok(mut client) = StatsServiceClient::connect(endpoint.clone()).await {
            match client.compute_change(request.clone()).await {
                Ok(r) => break r.into_inner(),
                Err(status) if status.code() == tonic::Code::Unavailable => {}
                Err(status) => bail!("ComputeChange failed: {status:?}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    Ok(Started {
        _guard: guard,
        pid,
        startup_s: started.elapsed().as_secs_f64(),
        response,
        endpoint,
    })
}

/// Polls `done` every 50 ms for up to [`START_LIMIT`].
async fn wait_for<F, Fut>(mut done: F, what: &str) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let started = Instant::now();
    while !done().await? {
        if started.elapsed() > START_LIMIT {
            bail!("{what} did not appear");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// A new stats replica on PostgreSQL (the store the import benchmark filled): a first start
/// loads every figure and writes the engine snapshot into the database; a second process,
/// as a new pod would be, is timed from spawn to its first answer.
pub async fn replica_on_postgres(args: &RunArgs, url: &str, ctx: &Ctx) -> Result<Value> {
    let first = start(args, url, ctx).await?;
    eprintln!(
        "stats-server on PostgreSQL: full load in {:.2}s",
        first.startup_s
    );
    let store = autointel_stats::store::Store::connect(url, 1).await?;
    let last = store.last_seq().await?;
    let snapshot = || async {
        let latest = store
            .latest_snapshot(autointel_stats::engine::SNAPSHOT_FORMAT)
            .await?;
        anyhow::Ok(latest.filter(|s| s.last_seq == last))
    };
    wait_for(
        || async { Ok(snapshot().await?.is_some()) },
        "the engine snapshot in PostgreSQL",
    )
    .await?;
    let bytes = snapshot().await?.map_or(0, |s| s.bytes);
    let full_load_s = first.startup_s;
    drop(first);
    let replica = start(args, url, ctx).await?;
    let rss = crate::rss_bytes(Some(replica.pid));
    eprintln!(
        "a new replica on PostgreSQL answered {:.2}s after spawn (snapshot {bytes} bytes)",
        replica.startup_s
    );
    store.close().await;
    Ok(json!({
        "full_load_s": full_load_s,
        "replica_start_s": replica.startup_s,
        "replica_rss_bytes": rss,
        "snapshot_bytes": bytes,
    }))
}

fn number_in_parens(line: &str, suffix: &str) -> Option<f64> {
    // "... 10.00MB (10000000) data"
    let end = line.find(suffix)?;
    let head = &line[..end];
    let open = head.rfind('(')?;
    let close = head.rfind(')')?;
    head.get(open + 1..close)?.trim().parse().ok()
}

fn h2load(args: &RunArgs, url: &str, body: &Path, log: &Path) -> Result<Value> {
    let _ = std::fs::remove_file(log);
    let output = Command::new("h2load")
        .args([
            "-n",
            &args.requests.to_string(),
            "-c",
            "8",
            "-m",
            "8",
            "-t",
            "1",
            "-H",
            "content-type: application/grpc",
            "-H",
            "te: trailers",
            "-d",
        ])
        .arg(body)
        .arg(format!("--log-file={}", log.display()))
        .arg(url)
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        bail!(
            "h2load failed: {text} {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut rps = 0.0;
    let mut done = 0.0;
    let mut succeeded = 0.0;
    let mut data = 0.0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("finished in ") {
            rps = rest
                .split(", ")
                .nth(1)
                .and_then(|s| s.strip_suffix(" req/s"))
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
        } else if let Some(rest) = line.strip_prefix("requests: ") {
            for part in rest.split(", ") {
                let mut it = part.split(' ');
                let (Some(n), Some(what)) = (it.next(), it.next()) else {
                    continue;
                };
                let n: f64 = n.parse().unwrap_or(0.0);
                match what {
                    "done" => done = n,
                    "succeeded" => succeeded = n,
                    _ => {}
                }
            }
        } else if line.starts_with("traffic: ") {
            data = number_in_parens(line, " data").unwrap_or(0.0);
        }
    }
    let mut durations: Vec<f64> = std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split('\t').nth(2)?.trim().parse::<f64>().ok())
        .collect();
    durations.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if durations.is_empty() {
            f64::NAN
        } else {
            durations[((durations.len() as f64 * p) as usize).min(durations.len() - 1)]
        }
    };
    let r = json!({
        "rps": rps,
        "done": done,
        "succeeded": succeeded,
        "data_bytes": data,
        "bytes_per_response": if done > 0.0 { data / done } else { 0.0 },
        "p50_us": pct(0.50),
        "p90_us": pct(0.90),
        "p99_us": pct(0.99),
        "raw": text,
    });
    Ok(r)
}
