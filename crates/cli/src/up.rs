//! `autointel up`: both services on localhost with embedded SQLite, seeded on
//! first start, stopped gracefully on Ctrl-C or SIGTERM.
//!
//! `autointel up --demo` loads synthetic demo data instead of the seed (the benchmarks'
//! generator at a small size, `autointel_dataset::demo`) into a data directory of its own:
//! a file in it ([`DEMO_MARKER`]) and the demo source in its registry mark it, and neither
//! kind of `up` starts on the other's directory.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::Path;

use autointel_dataset::demo;

use autointel_proto::registry as rwire;
use autointel_proto::stats as swire;
use indicatif::ProgressBar;
use tokio::sync::watch;

use crate::args::UpArgs;
use crate::client::{self, BearerToken};
use crate::failure::{ExitCode, Failure};
use crate::import;

/// The bundled sales figures of the seed dataset.
const SEED_FIGURES: &str = include_str!("../../../data/seed/sales_figures.csv");

/// The file that marks a data directory as holding synthetic demo data.
pub const DEMO_MARKER: &str = "SYNTHETIC-DEMO-DATA.txt";

const DEMO_MARKER_TEXT: &str = "This directory holds synthetic demo data loaded by `autointel up --demo`: \
generated figures, not real sales. `autointel up` without --demo refuses to start on it, and \
`autointel up --demo` refuses a directory that holds real data, so the two never mix.\n";

/// What `up` loads into empty databases.
struct Seed {
    /// The registry's records in the seed file format.
    registry_toml: Cow<'static, str>,
    /// The sales figures in the importer's CSV format.
    figures_csv: Cow<'static, str>,
    /// The name the figures file goes by in messages.
    figures_file: &'static str,
}

impl Seed {
    /// The bundled seed dataset.
    fn real() -> Self {
        Self {
            registry_toml: Cow::Borrowed(autointel_registry::seed::SEED_TOML),
            figures_csv: Cow::Borrowed(SEED_FIGURES),
            figures_file: "sales_figures.csv",
        }
    }

    /// The synthetic demo market, generated (the same every time).
    fn demo() -> Result<Self, Failure> {
        let data = demo::dataset().map_err(|e| startup_failure("the demo data", e))?;
        Ok(Self {
            registry_toml: Cow::Owned(demo::registry_toml(&data)),
            figures_csv: Cow::Owned(
                demo::figures_csv(&data).map_err(|e| startup_failure("the demo data", e))?,
            ),
            figures_file: "synthetic-demo-figures.csv",
        })
    }
}

fn refusal(message: String) -> Failure {
    Failure {
        code: ExitCode::Conflict,
        message,
    }
}

fn holds_demo_data(dir: &Path) -> String {
    format!(
        "error: {} holds synthetic demo data (autointel up --demo), not real data; \
         run `autointel up --demo --data-dir {}` to use it, or give real data another --data-dir \
         (default .autointel)",
        dir.display(),
        dir.display()
    )
}

fn holds_real_data(dir: &Path) -> String {
    format!(
        "error: {} holds a real stack's data; `autointel up --demo` never mixes synthetic data \
         into it: give the demo a directory of its own with --data-dir (default .autointel-demo)",
        dir.display()
    )
}

/// Refuses a directory that holds the other kind of data, before anything is opened: a demo
/// directory is one with [`DEMO_MARKER`]; a directory with a database and no marker holds
/// real data. A new demo directory gets its marker.
fn claim_data_dir(dir: &Path, demo: bool) -> Result<(), Failure> {
    let marked = dir.join(DEMO_MARKER).exists();
    let has_data = ["registry.db", "stats.db"]
        .iter()
        .any(|db| dir.join(db).exists());
    match (demo, marked) {
        (false, true) => Err(refusal(holds_demo_data(dir))),
        (true, false) if has_data => Err(refusal(holds_real_data(dir))),
        (true, false) => std::fs::write(dir.join(DEMO_MARKER), DEMO_MARKER_TEXT)
            .map_err(|e| startup_failure(&format!("the data directory {}", dir.display()), e)),
        _ => Ok(()),
    }
}

fn startup_failure(what: &str, error: impl std::fmt::Display) -> Failure {
    Failure {
        code: ExitCode::Failure,
        message: format!("error: cannot start {what}: {error}"),
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// Resolves when the process is asked to stop.
async fn stop_requested() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn until(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// `autointel up`.
pub async fn run(args: UpArgs) -> Result<(), Failure> {
    let data_dir = args.data_dir();
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| startup_failure(&format!("the data directory {}", data_dir.display()), e))?;
    claim_data_dir(&data_dir, args.demo)?;
    let seed = if args.no_seed {
        None
    } else if args.demo {
        Some(Seed::demo()?)
    } else {
        Some(Seed::real())
    };
    let registry_db = data_dir.join("registry.db");
    let stats_db = data_dir.join("stats.db");
    let (stop_tx, stop_rx) = watch::channel(false);

    // A local stack on 127.0.0.1: serving without tokens is its explicit choice.
    let mut registry_settings = autointel_registry::Settings::default();
    registry_settings.common.auth.disabled = true;
    registry_settings.common.server.listen_address =
        SocketAddr::from(([127, 0, 0, 1], args.registry_port));
    registry_settings.common.database.url = sqlite_url(&registry_db);
    let registry = autointel_registry::Application::build(registry_settings)
        .await
        .map_err(|e| startup_failure("the registry", e))?;
    let registry_store = registry.store().clone();
    let registry_url = format!("http://{}", registry.local_addr());
    let registry_task = tokio::spawn(registry.serve_until(until(stop_rx.clone())));

    let mut stats_settings = autointel_stats::Settings::default();
    stats_settings.common.auth.disabled = true;
    stats_settings.common.server.listen_address =
        SocketAddr::from(([127, 0, 0, 1], args.stats_port));
    stats_settings.common.database.url = sqlite_url(&stats_db);
    stats_settings.registry.endpoint = registry_url.clone();
    let stats = match autointel_stats::Application::build(stats_settings).await {
        Ok(stats) => stats,
        Err(e) => {
            let _ = stop_tx.send(true);
            let _ = registry_task.await;
            return Err(startup_failure("the stats service", e));
        }
    };
    let stats_url = format!("http://{}", stats.local_addr());
    let stats_task = tokio::spawn(stats.serve_until(until(stop_rx.clone())));

    let seeded = match check_contents(&registry_url, &data_dir, args.demo).await {
        Err(refused) => Err(refused),
        Ok(()) => match &seed {
            None => Ok(None),
            Some(seed) => seed_if_empty(seed, &registry_store, &registry_url, &stats_url)
                .await
                .map(Some),
        },
    };

    // A failure is reported once, by `main`, after both services have stopped.
    if let Ok(seeded) = &seeded {
        println!("autointel is up");
        println!(
            "  registry  {registry_url}  (data: {})",
            registry_db.display()
        );
        println!("  stats     {stats_url}  (data: {})", stats_db.display());
        match seeded {
            Some(Seeded {
                organizations,
                figures,
            }) if args.demo && (*organizations > 0 || *figures > 0) => println!(
                "Loaded SYNTHETIC demo data (not real sales; every figure cites sources/{}): {organizations} organisations in {} groups with their links; {figures} sales figures, {}-01..{}-12, markets CN US DE JP GB.",
                demo::SOURCE_ID,
                demo::SHAPE.groups,
                demo::SHAPE.first_year,
                demo::LAST_YEAR,
            ),
            Some(Seeded {
                organizations,
                figures,
            }) if *organizations > 0 || *figures > 0 => println!(
                "Loaded the seed dataset: {organizations} organisations and their links, partnerships, events and targets; {figures} sales figures."
            ),
            Some(_) if args.demo => println!(
                "Kept the existing synthetic demo data (not real sales; the demo loads only into empty databases)."
            ),
            Some(_) => {
                println!("Kept the existing data (the seed loads only into empty databases).")
            }
            None => println!("Started without the seed dataset (--no-seed)."),
        }
        let endpoints = if args.registry_port == 50051 && args.stats_port == 50052 {
            String::new()
        } else {
            format!(" --registry {registry_url} --stats {stats_url}")
        };
        println!("Try, in another terminal:");
        let examples: &[&str] = if args.demo {
            &[
                "rank --basis wholesale --flow domestic --scope passenger --period 2024-01..2024-12",
                "share --basis wholesale --flow domestic --scope passenger --numerator powertrain=nev --granularity quarter --period 2024-01..2024-12",
                "share --basis wholesale --flow domestic --scope passenger --numerator organization=group-00 --granularity year --period 2022-01..2024-12",
                "series --organization group-01 --basis wholesale --flow domestic --scope passenger --period 2024-01..2024-12",
                "organizations descendants group-00",
            ]
        } else {
            &[
                "compare --organization nissan-china --basis company_reported --period 2023-01..2023-11",
                "partnerships list --organization tsinghua-university",
                "timeline dongfeng-nissan",
                "organizations ancestors dongfeng-nissan --as-of-date 2023-06-01",
                "target-progress kia-yancheng-exports-2026",
            ]
        };
        for example in examples {
            println!("  autointel{endpoints} {example}");
        }
        println!("Press Ctrl-C to stop.");
        tokio::select! {
            () = stop_requested() => println!("Stopping…"),
            _ = wait_either_ends(&registry_task, &stats_task) => {}
        }
    }

    let _ = stop_tx.send(true);
    let registry_result = registry_task.await;
    let stats_result = stats_task.await;
    seeded?;
    match (registry_result, stats_result) {
        (Ok(Ok(())), Ok(Ok(()))) => {
            println!("Stopped; data kept in {}", data_dir.display());
            Ok(())
        }
        (Ok(Err(e)), _) => Err(startup_failure("the registry", e)),
        (_, Ok(Err(e))) => Err(startup_failure("the stats service", e)),
        (Err(e), _) | (_, Err(e)) => Err(startup_failure("a service", e)),
    }
}

/// Waits until either server task has finished (an error while serving).
async fn wait_either_ends<A, B>(a: &tokio::task::JoinHandle<A>, b: &tokio::task::JoinHandle<B>) {
    while !a.is_finished() && !b.is_finished() {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// What the seeding did.
struct Seeded {
    organizations: usize,
    figures: i64,
}

/// Whether the registry holds the demo source: what marks demo data inside the databases.
async fn holds_demo_source(registry_url: &str) -> Result<bool, Failure> {
    let token = BearerToken::new(None)?;
    let mut registry = client::registry(registry_url, &token).await?;
    match registry
        .get_source(rwire::GetSourceRequest {
            name: format!("sources/{}", demo::SOURCE_ID),
        })
        .await
    {
        Ok(_) => Ok(true),
        Err(status) if status.code() == tonic::Code::NotFound => Ok(false),
        Err(status) => Err(Failure::from_status(&status, registry_url)),
    }
}

/// Refuses databases that hold the other kind of data even when the directory's marker says
/// otherwise (a marker deleted or copied): demo data is what cites the demo source; a demo
/// stack refuses a registry with organisations but no demo source.
async fn check_contents(registry_url: &str, dir: &Path, demo: bool) -> Result<(), Failure> {
    let demo_source = holds_demo_source(registry_url).await?;
    if !demo && demo_source {
        return Err(refusal(holds_demo_data(dir)));
    }
    if demo && !demo_source {
        let token = BearerToken::new(None)?;
        let mut registry = client::registry(registry_url, &token).await?;
        let existing = registry
            .list_organizations(rwire::ListOrganizationsRequest {
                page_size: 1,
                ..Default::default()
            })
            .await
            .map_err(|s| Failure::from_status(&s, registry_url))?
            .into_inner();
        if !existing.organizations.is_empty() {
            return Err(refusal(holds_real_data(dir)));
        }
    }
    Ok(())
}

/// Loads the seed into each database that is still empty.
async fn seed_if_empty(
    seed: &Seed,
    registry_store: &autointel_registry::Store,
    registry_url: &str,
    stats_url: &str,
) -> Result<Seeded, Failure> {
    let token = BearerToken::new(None)?;
    let mut registry = client::registry(registry_url, &token).await?;
    let existing = registry
        .list_organizations(rwire::ListOrganizationsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .map_err(|s| Failure::from_status(&s, registry_url))?
        .into_inner();
    let mut organizations = 0;
    if existing.organizations.is_empty() {
        let report = autointel_registry::seed::load_str(registry_store, &seed.registry_toml)
            .await
            .map_err(|e| startup_failure("the registry seed", e))?;
        organizations = autointel_registry::seed::parse_dataset(&seed.registry_toml)
            .map(|d| d.organizations.len())
            .unwrap_or(report.created);
    }

    let mut stats = client::stats(stats_url, &token).await?;
    let existing = stats
        .list_sales_figures(swire::ListSalesFiguresRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .map_err(|s| Failure::from_status(&s, stats_url))?
        .into_inner();
    let mut figures = 0;
    if existing.sales_figures.is_empty() {
        let content = seed.figures_csv.as_bytes();
        let rows = import::read(Path::new(seed.figures_file), content)?
            .into_iter()
            .map(|located| located.figure)
            .collect();
        let request_id = import::request_id(None, content)?;
        let response = import::send(&mut stats, rows, &request_id, &ProgressBar::hidden())
            .await
            .map_err(|s| Failure::from_status(&s, stats_url))?;
        figures = response.imported_count;
    }
    Ok(Seeded {
        organizations,
        figures,
    })
}
