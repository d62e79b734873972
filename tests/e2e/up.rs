//! `autointel up`: the local stack in one command. The README's example commands give the
//! README's answers; Ctrl-C stops it cleanly and keeps the data; a second start does not
//! load the seed again.

use std::path::Path;
use std::time::{Duration, Instant};

use autointel_proto::stats as swire;
use autointel_proto::stats::stats_service_client::StatsServiceClient;

use crate::harness::{Cli, Process, channel, command, free_port};

/// How long `up` may take to print that it is ready.
const UP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `autointel up` and its ports.
struct Up {
    process: Process,
    registry_port: u16,
    stats_port: u16,
}

impl Up {
    fn cli(&self, scratch: &Path) -> Cli {
        Cli::new(
            &format!("http://127.0.0.1:{}", self.registry_port),
            &format!("http://127.0.0.1:{}", self.stats_port),
            scratch,
        )
    }
}

/// Starts `autointel up --data-dir <data>` on free ports and waits until it says it is
/// ready (after seeding); retries with other ports if it exits early.
fn start_up(data: &Path, logs: &Path, attempt_name: &str) -> Up {
    let mut failures = Vec::new();
    for attempt in 1..=3 {
        let (registry_port, stats_port) = (free_port(), free_port());
        let mut c = command("autointel");
        c.arg("up")
            .arg("--data-dir")
            .arg(data)
            .args(["--registry-port", &registry_port.to_string()])
            .args(["--stats-port", &stats_port.to_string()]);
        let mut process = Process::spawn(&format!("{attempt_name}-{attempt}"), c, logs);
        let deadline = Instant::now() + UP_TIMEOUT;
        loop {
            if process.stdout().contains("Press Ctrl-C to stop.") {
                return Up {
                    process,
                    registry_port,
                    stats_port,
                };
            }
            if let Some(status) = process.try_wait() {
                failures.push(format!(
                    "attempt {attempt}: exited with {status}\n{}",
                    process.describe()
                ));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "autointel up not ready after {UP_TIMEOUT:?}\n{}",
                process.describe()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("autointel up did not start:\n{}", failures.join("\n"));
}

/// The whitespace-separated words of the first line of `table` starting with `first`.
fn row<'a>(table: &'a str, first: &str) -> Vec<&'a str> {
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.first() == Some(&first))
        .unwrap_or_else(|| panic!("no row starting with {first:?} in\n{table}"))
}

async fn figure_count(up: &Up) -> usize {
    let channel = channel(&format!("http://127.0.0.1:{}", up.stats_port))
        .await
        .expect("stats reachable");
    StatsServiceClient::new(channel)
        .list_sales_figures(swire::ListSalesFiguresRequest {
            page_size: 1000,
            include_superseded: true,
            ..Default::default()
        })
        .await
        .expect("ListSalesFigures")
        .into_inner()
        .sales_figures
        .len()
}

fn stop(up: &mut Up) {
    let status = up.process.stop_with("INT", Duration::from_secs(20));
    assert!(
        status.success(),
        "exit {status} on Ctrl-C\n{}",
        up.process.describe()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_the_readme_examples_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    let mut up = start_up(&data, dir.path(), "up-first");
    let banner = up.process.stdout();
    assert!(
        banner.contains("Loaded the seed dataset: 14 organisations"),
        "{banner}"
    );
    assert!(banner.contains("2 sales figures"), "{banner}");
    let cli = up.cli(dir.path());

    // The README's commands, exactly (with this stack's endpoints), and its answers.
    let readme = [
        "compare --organization nissan-china --basis company_reported --period 2023-01..2023-11",
        "partnerships list --organization tsinghua-university",
        "timeline dongfeng-nissan",
        "organizations ancestors dongfeng-nissan --as-of-date 2023-06-01",
        "target-progress kia-yancheng-exports-2026",
    ];
    for example in readme {
        assert!(
            banner.contains(example),
            "`up` suggests `{example}`:\n{banner}"
        );
    }
    let run = |example: &str| cli.table(&example.split(' ').collect::<Vec<_>>());

    let compare = run(readme[0]);
    assert!(
        compare.starts_with(
            "nissan-china/company_reported/total/CN/all/all: 2023-01..2023-11 vs 2022-01..2022-11"
        ),
        "{compare}"
    );
    assert_eq!(
        row(&compare, "reported"),
        ["reported", "694,900", "974,700", "-279,800", "-28.7%"]
    );
    assert!(compare.contains("Figures used: 2"), "{compare}");
    assert!(
        compare.contains("[sources/article-nissan-china-exports-2023]"),
        "{compare}"
    );

    let partnerships = run(readme[1]);
    assert_eq!(
        row(&partnerships, "nissan-tsinghua-research-centre-2023")[..4],
        [
            "nissan-tsinghua-research-centre-2023",
            "joint_research_centre",
            "announced",
            "2023-12-17"
        ]
    );
    assert_eq!(
        row(&partnerships, "nissan-tsinghua-collaboration-2016")[..4],
        [
            "nissan-tsinghua-collaboration-2016",
            "other",
            "active",
            "2016"
        ]
    );

    let timeline = run(readme[2]);
    assert_eq!(
        row(&timeline, "2023-10")[..4],
        [
            "2023-10",
            "dongfeng-nissan-export-division",
            "organization_change",
            "reported"
        ]
    );
    assert!(
        timeline.contains("Dongfeng Nissan establishes an export division"),
        "{timeline}"
    );

    let ancestors = run(readme[3]);
    assert_eq!(
        row(&ancestors, "dongfeng-motor-group"),
        [
            "dongfeng-motor-group",
            "1",
            "joint_venture_partner",
            "50%",
            "2003"
        ]
    );
    assert_eq!(
        row(&ancestors, "nissan"),
        ["nissan", "1", "joint_venture_partner", "50%", "2003"]
    );

    let progress = run(readme[4]);
    let words = row(&progress, "kia-yancheng-exports-2026");
    assert_eq!(words[1], "2026-01..2026-12", "{progress}");
    assert!(words.contains(&"200,000"), "{progress}");
    assert!(progress.contains("not yet measurable"), "{progress}");
    assert!(
        progress.contains(
            "Increase annual exports from the Yancheng plant to over 200,000 units by 2026."
        ),
        "{progress}"
    );

    assert_eq!(figure_count(&up).await, 2);
    stop(&mut up);
    let out = up.process.stdout();
    assert!(
        out.contains(&format!("Stopped; data kept in {}", data.display())),
        "{out}"
    );
    for file in ["registry.db", "stats.db"] {
        assert!(
            data.join(file).is_file(),
            "{file} kept in {}",
            data.display()
        );
    }

    // Again on the same directory: the data is there, the seed is not loaded twice.
    let mut again = start_up(&data, dir.path(), "up-second");
    let banner = again.process.stdout();
    assert!(
        banner.contains("Kept the existing data"),
        "the seed loads only into empty databases:\n{banner}"
    );
    assert!(!banner.contains("Loaded the seed dataset"), "{banner}");
    assert_eq!(
        figure_count(&again).await,
        2,
        "seed figures not imported twice"
    );
    let orgs = again
        .cli(dir.path())
        .json(&["organizations", "list"])
        .get("organizations")
        .and_then(|o| o.as_array().map(Vec::len));
    assert_eq!(orgs, Some(14), "seed organisations not created twice");
    let compare = again
        .cli(dir.path())
        .table(&readme[0].split(' ').collect::<Vec<_>>());
    assert_eq!(
        row(&compare, "reported"),
        ["reported", "694,900", "974,700", "-279,800", "-28.7%"]
    );
    stop(&mut again);
}
