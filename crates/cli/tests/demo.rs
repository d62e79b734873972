//! `autointel up --demo` end to end: the synthetic market answers rankings, shares and
//! exports by destination, the flags named after the proto and their old spellings give the
//! same answers (the old ones with a note), and demo data and the real seed never share a
//! data directory; the README's chart of the demo data and a chart of the seed, drawn to SVG
//! and PNG and checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chart_files;

use chart_files::{count, decode_png, polylines, svg_texts};

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_autointel"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AUTOINTEL_") {
            command.env_remove(key);
        }
    }
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `autointel up`, stopped (SIGTERM, then killed) when dropped.
struct Up {
    child: Child,
    registry: String,
    stats: String,
    banner: String,
}

impl Up {
    /// Starts `autointel up ARGS --data-dir DIR` on free ports; waits until it is up.
    fn start(dir: &Path, extra: &[&str]) -> Up {
        let mut child = bin()
            .arg("up")
            .args(extra)
            .arg("--data-dir")
            .arg(dir)
            .args(["--registry-port", "0", "--stats-port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("autointel up starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = String::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(180)) {
                Ok(line) => {
                    banner.push_str(&line);
                    banner.push('\n');
                    if line.starts_with("Press Ctrl-C") {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let out = child.wait_with_output().unwrap();
                    panic!(
                        "autointel up did not come up:\n{banner}\n--- stderr ---\n{}",
                        text(&out.stderr)
                    );
                }
            }
        }
        let url = |name: &str| {
            banner
                .lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_else(|| panic!("no {name} URL in:\n{banner}"))
                .to_owned()
        };
        let (registry, stats) = (url("registry"), url("stats"));
        Up {
            child,
            registry,
            stats,
            banner,
        }
    }

    /// `autointel --registry … --stats … ARGS`.
    fn cli(&self, args: &[&str]) -> Output {
        bin()
            .args(["--registry", &self.registry, "--stats", &self.stats])
            .args(args)
            .output()
            .expect("autointel runs")
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        // Graceful first, by this child's own id; killed if it does not stop in time.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `autointel up ARGS --data-dir DIR` expecting it to refuse at once.
fn refused_up(dir: &Path, extra: &[&str]) -> Output {
    let mut child = bin()
        .arg("up")
        .args(extra)
        .arg("--data-dir")
        .arg(dir)
        .args(["--registry-port", "0", "--stats-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!(
        "autointel up {extra:?} did not refuse:\n{}",
        text(&out.stdout)
    );
}

const NOTE: &str = "is deprecated and goes in the next release; use";

/// A query with the new flag names and the same query with the old ones: the same answer;
/// the old one with exactly one note per old spelling, the new one without any.
fn same_answer(up: &Up, new: &[&str], old: &[&str], notes: &[&str]) {
    same_outcome(up, new, old, notes, 0);
}

/// [`same_answer`] for a query that exits with `code`.
fn same_outcome(up: &Up, new: &[&str], old: &[&str], notes: &[&str], code: i32) {
    let (a, b) = (up.cli(new), up.cli(old));
    assert_eq!(a.status.code(), Some(code), "{new:?}: {}", text(&a.stderr));
    assert_eq!(b.status.code(), Some(code), "{old:?}: {}", text(&b.stderr));
    if code == 0 {
        assert!(!a.stdout.is_empty(), "{new:?}");
    }
    assert_eq!(text(&a.stdout), text(&b.stdout), "{new:?} vs {old:?}");
    let new_err = text(&a.stderr);
    assert!(!new_err.contains(NOTE), "{new:?}:\n{new_err}");
    let old_err = text(&b.stderr);
    assert_eq!(
        old_err.matches(NOTE).count(),
        notes.len(),
        "{old:?}:\n{old_err}"
    );
    for note in notes {
        assert!(
            old_err
                .lines()
                .any(|l| l.starts_with("note: ") && l.contains(note)),
            "{old:?}: no note {note:?} in\n{old_err}"
        );
    }
    // Whatever else it says, the old spelling says it the same way.
    assert_eq!(
        new_err,
        old_err
            .lines()
            .filter(|l| !l.contains(NOTE))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
}

const DEMO_SERIES: [&str; 6] = [
    "--basis",
    "wholesale",
    "--flow",
    "domestic",
    "--scope",
    "passenger",
];

fn with_series(args: &[&'static str]) -> Vec<&'static str> {
    let mut all = args.to_vec();
    all.extend(DEMO_SERIES);
    all
}

#[test]
fn the_demo_ranks_synthetic_data_answers_old_and_new_flag_names_alike_and_keeps_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let up = Up::start(&demo_dir, &["--demo"]);
    assert!(
        up.banner.contains("SYNTHETIC demo data (not real sales"),
        "{}",
        up.banner
    );
    assert!(demo_dir.join("SYNTHETIC-DEMO-DATA.txt").exists());

    // A ranking with rows, citing the synthetic source.
    let rank = up.cli(&with_series(&["rank", "--period", "2024-01..2024-12"]));
    let out = text(&rank.stdout);
    assert!(rank.status.success(), "{}", text(&rank.stderr));
    let rows: Vec<&str> = out
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("Total"))
        .collect();
    assert_eq!(rows.len(), 10, "{out}");
    assert!(rows[0].trim_start().starts_with("1  group-00"), "{out}");
    assert!(out.contains("(whole market)"), "{out}");
    assert!(
        out.contains("Synthetic demo data (autointel up --demo): not real sales [sources/synthetic-demo-data]"),
        "{out}"
    );
    // Every figure cites the synthetic source, nothing else.
    let json = up.cli(&with_series(&[
        "-o",
        "json",
        "rank",
        "--period",
        "2024-01..2024-12",
    ]));
    let json = text(&json.stdout);
    assert!(json.contains("\"sources/synthetic-demo-data\""), "{json}");
    assert!(!json.contains("article-"), "{json}");

    // A share with a number for every quarter.
    let share = up.cli(&with_series(&[
        "share",
        "--numerator",
        "powertrain=nev",
        "--granularity",
        "quarter",
        "--period",
        "2024-01..2024-12",
    ]));
    let out = text(&share.stdout);
    assert!(share.status.success(), "{}", text(&share.stderr));
    assert_eq!(out.lines().filter(|l| l.ends_with('%')).count(), 4, "{out}");

    // Groups ranked by their equity-share rollup, in one call, exact values listed.
    let groups = up.cli(&with_series(&[
        "rank",
        "--period",
        "2024-01..2024-12",
        "--mode",
        "equity_share",
        "--limit",
        "3",
    ]));
    let out = text(&groups.stdout);
    assert!(groups.status.success(), "{}", text(&groups.stderr));
    assert!(
        out.contains("Groups ranked by their equity_share rollup"),
        "{out}"
    );
    assert!(out.contains("group-00: exactly 541887/2"), "{out}");
    let rows: Vec<&str> = out
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("Total"))
        .collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(
        rows.iter()
            .all(|r| r.contains("group-0") && !r.contains("-jv-")),
        "only top-level groups: {out}"
    );

    // The hierarchy is in the registry.
    let below = up.cli(&["organizations", "descendants", "group-00"]);
    let out = text(&below.stdout);
    assert!(
        out.contains("group-00-jv-00") && out.contains("joint_venture_partner"),
        "{out}"
    );
    assert!(out.contains("brand_of"), "{out}");

    // The synthetic exports by destination, as the README shows them: a region never
    // summed, the month left out of group-02's exports to AU shown as missing.
    let destinations = up.cli(&[
        "destinations",
        "--organization",
        "group-02",
        "--basis",
        "wholesale",
        "--scope",
        "passenger",
        "--period",
        "2024-01..2024-12",
    ]);
    let out = text(&destinations.stdout);
    assert!(
        destinations.status.success(),
        "{}",
        text(&destinations.stderr)
    );
    for needle in [
        "EU (region)",
        "(not summed)",
        "incomplete: no figures for 2024-07",
        "Not stated: unknown",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    let suppliers = up.cli(&[
        "destinations",
        "--to",
        "RU",
        "--basis",
        "wholesale",
        "--scope",
        "passenger",
        "--period",
        "2024-01..2024-12",
        "--top",
        "3",
    ]);
    let out = text(&suppliers.stdout);
    assert!(suppliers.status.success(), "{}", text(&suppliers.stderr));
    assert!(
        out.contains("1  group-00") && out.contains("(whole market)"),
        "{out}"
    );

    // New names and old spellings, command by command.
    same_answer(
        &up,
        &with_series(&[
            "compare",
            "--organization",
            "group-01",
            "--period",
            "2024-01..2024-06",
            "--comparison",
            "custom",
            "--prior-period",
            "2022-01..2022-06",
            "--percent-decimals",
            "2",
            "--as-of-date",
            "2025-06-30",
        ]),
        &with_series(&[
            "compare",
            "--org",
            "group-01",
            "--period",
            "2024-01..2024-06",
            "--vs",
            "2022-01..2022-06",
            "--decimals",
            "2",
            "--as-of",
            "2025-06-30",
        ]),
        &[
            "--org is deprecated and goes in the next release; use --organization",
            "--vs is deprecated and goes in the next release; use --comparison and --prior-period",
            "--decimals is deprecated and goes in the next release; use --percent-decimals",
            "--as-of is deprecated and goes in the next release; use --as-of-date",
        ],
    );
    // --prior-period alone means a custom comparison.
    same_answer(
        &up,
        &with_series(&[
            "compare",
            "--period",
            "2024-01..2024-06",
            "--prior-period",
            "2022-01..2022-06",
        ]),
        &with_series(&[
            "compare",
            "--period",
            "2024-01..2024-06",
            "--vs",
            "2022-01..2022-06",
        ]),
        &["--vs"],
    );
    same_answer(
        &up,
        &with_series(&[
            "compare",
            "--period",
            "2024-04..2024-06",
            "--comparison",
            "preceding_period",
        ]),
        &with_series(&[
            "compare",
            "--period",
            "2024-04..2024-06",
            "--vs",
            "preceding",
        ]),
        &["--vs"],
    );
    same_answer(
        &up,
        &with_series(&[
            "series",
            "--organization",
            "group-02",
            "--period",
            "2023-01..2024-12",
            "--granularity",
            "quarter",
            "--cumulative-within-year",
            "--include-events",
        ]),
        &with_series(&[
            "series",
            "--org",
            "group-02",
            "--period",
            "2023-01..2024-12",
            "--by=quarter",
            "--cumulative",
            "--events",
        ]),
        &[
            "use --organization",
            "--by is deprecated and goes in the next release; use --granularity",
            "--cumulative is deprecated and goes in the next release; use --cumulative-within-year",
            "--events is deprecated and goes in the next release; use --include-events",
        ],
    );
    same_answer(
        &up,
        &with_series(&[
            "share",
            "--numerator",
            "organization=group-01",
            "--denominator",
            "powertrain=all",
            "--granularity",
            "year",
            "--period",
            "2022-01..2024-12",
        ]),
        &with_series(&[
            "share",
            "--part",
            "org=group-01",
            "--whole",
            "powertrain=all",
            "--by",
            "year",
            "--period",
            "2022-01..2024-12",
        ]),
        &[
            "--part is deprecated and goes in the next release; use --numerator",
            "--numerator org=group-01 is deprecated and goes in the next release; use --numerator organization=group-01",
            "--whole is deprecated and goes in the next release; use --denominator",
            "--by is deprecated and goes in the next release; use --granularity",
        ],
    );
    same_answer(
        &up,
        &with_series(&[
            "rank",
            "--period",
            "2024-01..2024-12",
            "--percent-decimals",
            "3",
            "--limit",
            "3",
        ]),
        &with_series(&[
            "rank",
            "--period",
            "2024-01..2024-12",
            "--decimals",
            "3",
            "--limit",
            "3",
        ]),
        &["use --percent-decimals"],
    );
    same_answer(
        &up,
        &with_series(&[
            "breakdown",
            "--group-by",
            "organization,powertrain",
            "--period",
            "2024-01..2024-03",
        ]),
        &with_series(&[
            "breakdown",
            "--by",
            "org,powertrain",
            "--period",
            "2024-01..2024-03",
        ]),
        &[
            "--by is deprecated and goes in the next release; use --group-by",
            "--group-by org is deprecated and goes in the next release; use --group-by organization",
        ],
    );
    same_answer(
        &up,
        &with_series(&[
            "rollup",
            "--organization",
            "group-00",
            "--period",
            "2024-01..2024-12",
        ]),
        &with_series(&[
            "rollup",
            "--org",
            "group-00",
            "--period",
            "2024-01..2024-12",
        ]),
        &["use --organization"],
    );
    // No targets in the demo: not found either way.
    same_outcome(
        &up,
        &["target-progress", "none-here", "--as-of-date", "2024-12-31"],
        &["target-progress", "none-here", "--as-of", "2024-12-31"],
        &["use --as-of-date"],
        4,
    );
    same_answer(
        &up,
        &[
            "organizations",
            "ancestors",
            "group-00-brand-01",
            "--as-of-date",
            "2024-01-01",
        ],
        &[
            "organizations",
            "ancestors",
            "group-00-brand-01",
            "--as-of",
            "2024-01-01",
        ],
        &["use --as-of-date"],
    );
    same_answer(
        &up,
        &[
            "organizations",
            "descendants",
            "group-01",
            "--as-of-date",
            "2024-01-01",
        ],
        &[
            "organizations",
            "descendants",
            "group-01",
            "--as-of",
            "2024-01-01",
        ],
        &["use --as-of-date"],
    );
    same_answer(
        &up,
        &["organizations", "list", "--country-code", "CN"],
        &["organizations", "list", "--country", "CN"],
        &["--country is deprecated and goes in the next release; use --country-code"],
    );
    same_answer(
        &up,
        &["partnerships", "list", "--organization", "group-00"],
        &["partnerships", "list", "--org", "group-00"],
        &["use --organization"],
    );
    same_answer(
        &up,
        &["partnerships", "partners", "group-00", "--max-hops", "2"],
        &["partnerships", "partners", "group-00", "--hops", "2"],
        &["--hops is deprecated and goes in the next release; use --max-hops"],
    );
    same_answer(
        &up,
        &["events", "list", "--occurred-within", "2024-01..2024-12"],
        &["events", "list", "--within", "2024-01..2024-12"],
        &["--within is deprecated and goes in the next release; use --occurred-within"],
    );
    same_answer(
        &up,
        &["targets", "list", "--organization", "group-00"],
        &["targets", "list", "--org", "group-00"],
        &["use --organization"],
    );

    // The README's chart of the demo data (its command, this stack's endpoints), and SVG.
    let png = dir.path().join("chart-demo.png");
    let svg = dir.path().join("chart-demo.svg");
    let readme = "chart series --organization group-00 --basis wholesale --flow domestic --scope passenger --period 2022-01..2024-12";
    let mut args: Vec<&str> = readme.split(' ').collect();
    args.extend(["-f", png.to_str().unwrap(), "-f", svg.to_str().unwrap()]);
    let drawn = up.cli(&args);
    assert!(drawn.status.success(), "{}", text(&drawn.stderr));
    assert!(text(&drawn.stdout).contains("chart-demo.png (1200×720)"));
    let ((w, h), pixels) = decode_png(&png);
    assert_eq!((w, h), (1200, 720));
    assert!(count(&pixels, [31, 119, 180]) > 1_000, "the line is drawn");
    assert!(std::fs::metadata(&png).unwrap().len() < 200_000);
    let svg = std::fs::read_to_string(&svg).unwrap();
    // 36 months without a gap: one run (plus the legend's sample), no gap band.
    assert_eq!(polylines(&svg, "#1F77B4", 2), 2);
    assert!(!svg.contains("fill=\"#DEDEDE\""));
    let texts = svg_texts(&svg);
    assert!(
        texts.contains(
            &"group-00/wholesale/domestic/CN/passenger/all — units by month, 2022-01..2024-12"
                .to_owned()
        ),
        "{texts:?}"
    );
    assert!(texts.contains(&"200,000".to_owned()), "{texts:?}");
    assert!(
        texts
            .iter()
            .any(|t| t.contains("not real sales [sources/synthetic-demo-data]")),
        "{texts:?}"
    );
    drop(up);

    // The demo directory is not for real data: refused before anything is opened…
    let out = refused_up(&demo_dir, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("holds synthetic demo data (autointel up --demo)"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    // …and, with its marker gone, by what its registry holds.
    std::fs::remove_file(demo_dir.join("SYNTHETIC-DEMO-DATA.txt")).unwrap();
    let out = refused_up(&demo_dir, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("holds synthetic demo data (autointel up --demo)"),
        "{stderr}"
    );
}

#[test]
fn the_demo_refuses_a_directory_that_holds_the_real_seed() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let up = Up::start(&real, &[]);
    assert!(
        up.banner.contains("Loaded the seed dataset"),
        "{}",
        up.banner
    );

    // A chart of the seed to SVG and PNG: Nissan China's two January–November figures drawn
    // across their months (every month is a gap: no monthly figure), its event marked.
    let svg = dir.path().join("seed.svg");
    let png = dir.path().join("seed.png");
    let drawn = up.cli(&[
        "chart",
        "series",
        "--organization",
        "nissan-china",
        "--basis",
        "company_reported",
        "--period",
        "2022-01..2023-12",
        "-f",
        svg.to_str().unwrap(),
        "-f",
        png.to_str().unwrap(),
    ]);
    assert!(drawn.status.success(), "{}", text(&drawn.stderr));
    let svg = std::fs::read_to_string(&svg).unwrap();
    let texts = svg_texts(&svg);
    for expected in [
        "nissan-china/company_reported/total/CN/all/all — units by month, 2022-01..2023-12",
        "Nissan China Investment Co., Ltd. · 日产（中国）投资有限公司",
        "2022-01..2022-11: 974,700",
        "2023-01..2023-11: 694,900",
        "1,000,000",
        "[1] 2023-12-17",
        "[1] 2023-12-17  Nissan China and Tsinghua University announce a joint research centre",
        "Source: Automotive trade press — Nissan joins joint-venture brands using China as an export base [sources/article-nissan-china-exports-2023]",
    ] {
        assert!(
            texts.iter().any(|t| t == expected),
            "no {expected:?} in {texts:?}"
        );
    }
    // No monthly figure: no line at all (only the legend's sample), never a line at zero;
    // the months are one gap band (plus the legend's swatch); two bars; one event line.
    assert_eq!(polylines(&svg, "#1F77B4", 2), 1);
    assert_eq!(svg.matches("fill=\"#DEDEDE\"").count(), 2);
    assert_eq!(polylines(&svg, "#D66000", 4), 3);
    assert_eq!(polylines(&svg, "#BE1E2D", 2), 2);
    let ((w, h), pixels) = decode_png(&png);
    assert_eq!((w, h), (1200, 720));
    assert!(
        count(&pixels, [255, 255, 255]) < pixels.len() * 9 / 10,
        "not blank"
    );
    assert!(
        count(&pixels, [214, 96, 0]) > 1_000,
        "the January–November bars"
    );
    assert!(count(&pixels, [190, 30, 45]) > 300, "the event");
    assert!(count(&pixels, [222, 222, 222]) > 100_000, "the gap");

    // Without its font a chart is refused, naming the file and how to get it.
    let refused = up.cli(&[
        "chart",
        "series",
        "--organization",
        "nissan-china",
        "--basis",
        "company_reported",
        "--period",
        "2023-01..2023-12",
        "--font",
        "/nonexistent/font.ttf",
        "-f",
        "never.png",
    ]);
    assert_eq!(refused.status.code(), Some(3));
    assert!(
        text(&refused.stderr).contains("chart font /nonexistent/font.ttf not found"),
        "{}",
        text(&refused.stderr)
    );
    drop(up);

    let out = refused_up(&real, &["--demo"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("holds a real stack's data") && stderr.contains("--data-dir"),
        "{stderr}"
    );
    assert!(!real.join("SYNTHETIC-DEMO-DATA.txt").exists());

    // A marker copied in does not make it a demo directory: its registry says otherwise.
    std::fs::write(real.join("SYNTHETIC-DEMO-DATA.txt"), "").unwrap();
    let out = refused_up(&real, &["--demo"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("holds a real stack's data"), "{stderr}");
}
