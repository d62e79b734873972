//! `autointel up`: both services on localhost with embedded SQLite, seeded on
//! first start, stopped gracefully on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::Path;

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
    std::fs::create_dir_all(&args.data_dir).map_err(|e| {
        startup_failure(
            &format!("the data directory {}", args.data_dir.display()),
            e,
        )
    })?;
    let registry_db = args.data_dir.join("registry.db");
    let stats_db = args.data_dir.join("stats.db");
    let (stop_tx, stop_rx) = watch::channel(false);

    // A local stack on 127.0.0.1: serving without tokens is its explicit choice.
    let mut registry_settings = autointel_registry::Settings::default();
    registry_settings.auth.disabled = true;
    registry_settings.server.listen_address =
        SocketAddr::from(([127, 0, 0, 1], args.registry_port));
    registry_settings.database.url = sqlite_url(&registry_db);
    let registry = autointel_registry::Application::build(registry_settings)
        .await
        .map_err(|e| startup_failure("the registry", e))?;
    let registry_store = registry.store().clone();
    let registry_url = format!("http://{}", registry.local_addr());
    let registry_task = tokio::spawn(registry.serve_until(until(stop_rx.clone())));

    let mut stats_settings = autointel_stats::Settings::default();
    stats_settings.auth.disabled = true;
    stats_settings.server.listen_address = SocketAddr::from(([127, 0, 0, 1], args.stats_port));
    stats_settings.database.url = sqlite_url(&stats_db);
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

    let seeded = if args.no_seed {
        Ok(None)
    } else {
        seed_if_empty(&registry_store, &registry_url, &stats_url)
            .await
            .map(Some)
    };

    match &seeded {
        Ok(seeded) => {
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
                }) if *organizations > 0 || *figures > 0 => println!(
                    "Loaded the seed dataset: {organizations} organisations and their links, partnerships, events and targets; {figures} sales figures."
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
            println!(
                "  autointel{endpoints} compare --organization nissan-china --basis company_reported --period 2023-01..2023-11"
            );
            println!("  autointel{endpoints} partnerships list --organization tsinghua-university");
            println!("  autointel{endpoints} timeline dongfeng-nissan");
            println!(
                "  autointel{endpoints} organizations ancestors dongfeng-nissan --as-of-date 2023-06-01"
            );
            println!("  autointel{endpoints} target-progress kia-yancheng-exports-2026");
            println!("Press Ctrl-C to stop.");
            tokio::select! {
                () = stop_requested() => println!("Stopping…"),
                _ = wait_either_ends(&registry_task, &stats_task) => {}
            }
        }
        Err(failure) => eprintln!("{failure}"),
    }

    let _ = stop_tx.send(true);
    let registry_result = registry_task.await;
    let stats_result = stats_task.await;
    seeded?;
    match (registry_result, stats_result) {
        (Ok(Ok(())), Ok(Ok(()))) => {
            println!("Stopped; data kept in {}", args.data_dir.display());
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

/// Loads the seed into each database that is still empty.
async fn seed_if_empty(
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
        let report = autointel_registry::seed::load(registry_store)
            .await
            .map_err(|e| startup_failure("the registry seed", e))?;
        organizations =
            autointel_registry::seed::parse_dataset(autointel_registry::seed::SEED_TOML)
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
        let rows = import::read(Path::new("sales_figures.csv"), SEED_FIGURES.as_bytes())?
            .into_iter()
            .map(|located| located.figure)
            .collect();
        let request_id = import::request_id(None, SEED_FIGURES.as_bytes())?;
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
