//! Long revision chains: many revisions of one series and period, timed by hand.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_proto::stats::{self as wire};
use autointel_stats::{Application, Settings};
use tokio::sync::oneshot;

use crate::fixtures::{chain_figures, chain_key, import_in_batches, months};
use crate::harness::{sqlite_url, start_registry, temp_db};

/// Timings of a long chain through the real service (in process, SQLite in memory): an
/// import of 64k and of 100k revisions of one series and period, and `GetRevisionHistory`
/// over 64k revisions. Not a pass/fail test: run it in release and read the figures,
/// `cargo test --release -p autointel-stats --test api -- --ignored --nocapture
/// long_chain_timings`. `AUTOINTEL_CHAIN_SIZES` overrides the sizes (e.g. `1000,8000`);
/// `AUTOINTEL_CHAIN_NEWEST_FIRST=1` imports the revisions newest first (each one goes
/// before all the others in the chain).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand in release"]
async fn long_chain_timings() {
    let sizes: Vec<usize> = std::env::var("AUTOINTEL_CHAIN_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![64_000, 100_000]);
    for n in sizes {
        let (_, registry_db) = temp_db();
        let registry = start_registry(SocketAddr::from(([127, 0, 0, 1], 0)), &registry_db).await;
        let mut settings = Settings::default();
        settings.common.auth.disabled = true;
        settings.common.server.listen_address = SocketAddr::from(([127, 0, 0, 1], 0));
        settings.common.database.url = sqlite_url();
        settings.registry.endpoint = format!("http://{}", registry.addr);
        settings.common.server.request_timeout_seconds = 3600;
        let app = Application::build(settings).await.unwrap();
        let addr = app.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.serve_until(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let mut client = StatsServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap()
            .max_decoding_message_size(256 * 1024 * 1024);

        let started = Instant::now();
        let imported = tokio::time::timeout(
            Duration::from_secs(300),
            import_in_batches(&mut client, {
                let mut figures = chain_figures(n);
                if std::env::var_os("AUTOINTEL_CHAIN_NEWEST_FIRST").is_some() {
                    figures.reverse();
                }
                figures
            }),
        )
        .await;
        match imported {
            Ok(r) => {
                let r = r.unwrap();
                println!(
                    "import of {n} revisions of one slot: {:.2} s ({} imported, {} revisions)",
                    started.elapsed().as_secs_f64(),
                    r.imported_count,
                    r.revision_count
                );
            }
            Err(_) => {
                println!("import of {n} revisions of one slot: did not finish within 300 s");
                let _ = stop.send(());
                server.abort();
                registry.stop().await;
                continue;
            }
        }

        let request = |page_size: i32, page_token: String| wire::GetRevisionHistoryRequest {
            series: Some(chain_key()),
            period: Some(months((2023, 5), (2023, 5))),
            page_size,
            page_token,
        };
        let started = Instant::now();
        let first = client.get_revision_history(request(0, String::new())).await;
        let outcome = match &first {
            Ok(r) => format!("{} revisions", r.get_ref().revisions.len()),
            Err(status) => format!("{:?}: {}", status.code(), status.message()),
        };
        println!(
            "GetRevisionHistory over {n} revisions, one call without paging fields: {:.4} s \
             ({outcome})",
            started.elapsed().as_secs_f64(),
        );
        let (mut token, mut pages, mut slowest, mut seen) = (String::new(), 0, 0.0f64, 0);
        let walk = Instant::now();
        loop {
            let started = Instant::now();
            let page = client
                .get_revision_history(request(1000, token))
                .await
                .unwrap()
                .into_inner();
            slowest = slowest.max(started.elapsed().as_secs_f64());
            pages += 1;
            seen += page.revisions.len();
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        println!(
            "GetRevisionHistory over {n} revisions, every page of 1000: {:.3} s for {pages} \
             pages ({seen} revisions), slowest page {slowest:.4} s",
            walk.elapsed().as_secs_f64(),
        );
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        registry.stop().await;
    }
}
