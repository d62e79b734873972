//! The `autointel` binary without any server: help, local file checks, unreachable
//! endpoints. (This integration test also makes `cargo test --workspace` build the binary
//! the end-to-end tests in `tests/` run.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Command, Output};

/// `autointel args…` with no `AUTOINTEL_*` variables from the caller's environment.
fn autointel(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_autointel"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AUTOINTEL_") {
            command.env_remove(key);
        }
    }
    command.args(args).output().expect("autointel runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A local URL nobody listens on: a port bound and released again.
fn unreachable_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    format!("http://127.0.0.1:{port}")
}

const HEADER: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note\n";

#[test]
fn help_lists_every_command() {
    let out = autointel(&["--help"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    for command in [
        "up",
        "import",
        "total",
        "compare",
        "series",
        "rank",
        "share",
        "breakdown",
        "rollup",
        "target-progress",
        "forecast-accuracy",
        "revisions",
        "organizations",
        "partnerships",
        "events",
        "timeline",
        "targets",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "`{command}` missing from --help:\n{help}"
        );
    }
}

#[test]
fn a_bad_csv_row_is_reported_with_its_line_before_any_server_is_contacted() {
    // The package's own dependencies only: no tempfile crate.
    let file = std::env::temp_dir().join(format!(
        "autointel-cli-test-{}.csv",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(
        &file,
        format!(
            "{HEADER}nissan-china,company_reported,total,CN,all,all,2023-01..2023-11,694900,,,article-nissan-china-exports-2023,final,2023-12-17,\n\
             nissan-china,company_reported,total,CN,all,all,2023-01..2023-11,lots,,,article-nissan-china-exports-2023,final,2023-12-17,\n"
        ),
    )
    .unwrap();
    // Nothing listens at the stats URL: the file must be rejected before connecting.
    let out = autointel(&[
        "--stats",
        &unreachable_url(),
        "import",
        &file.to_string_lossy(),
    ]);
    let _ = std::fs::remove_file(&file);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("line 3, units"), "{stderr}");
    assert!(!stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("nothing imported"), "{stderr}");
}

#[test]
fn an_unreachable_endpoint_exits_6_with_a_readable_message() {
    let url = unreachable_url();
    let out = autointel(&[
        "--stats",
        &url,
        "compare",
        "--org",
        "nissan-china",
        "--basis",
        "company_reported",
        "--period",
        "2023-01..2023-11",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("cannot reach the stats service") && stderr.contains(&url),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));

    let out = autointel(&["--registry", &url, "organizations", "get", "nissan"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("cannot reach the registry service"),
        "{stderr}"
    );
}

#[test]
fn bad_flags_exit_2() {
    let out = autointel(&["compare", "--period", "2023-13"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// The long flags `autointel ARGS --help` shows.
fn shown_flags(args: &[&str]) -> Vec<String> {
    let mut with_help = args.to_vec();
    with_help.push("--help");
    let out = autointel(&with_help);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--"))
        .map(|l| l.split([' ', '=']).next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn flags_are_named_after_the_proto_and_old_spellings_are_hidden() {
    for (command, shown, hidden) in [
        (
            &["compare"][..],
            &[
                "organization",
                "comparison",
                "prior-period",
                "percent-decimals",
                "as-of-date",
            ][..],
            &["org", "vs", "decimals", "as-of"][..],
        ),
        (
            &["series"],
            &["granularity", "cumulative-within-year", "include-events"],
            &["by", "cumulative", "events"],
        ),
        (
            &["share"],
            &[
                "numerator",
                "denominator",
                "granularity",
                "percent-decimals",
            ],
            &["part", "whole", "by", "decimals"],
        ),
        (&["breakdown"], &["group-by"], &["by"]),
        (&["rank"], &["percent-decimals"], &["decimals"]),
        (&["target-progress"], &["as-of-date"], &["as-of"]),
        (&["organizations", "list"], &["country-code"], &["country"]),
        (&["organizations", "ancestors"], &["as-of-date"], &["as-of"]),
        (&["partnerships", "list"], &["organization"], &["org"]),
        (&["partnerships", "partners"], &["max-hops"], &["hops"]),
        (&["events", "list"], &["occurred-within"], &["within"]),
        (&["targets", "list"], &["organization"], &["org"]),
    ] {
        let flags = shown_flags(command);
        for flag in shown {
            assert!(
                flags.iter().any(|f| f == flag),
                "{command:?}: --{flag} not in {flags:?}"
            );
        }
        for flag in hidden {
            assert!(
                !flags.iter().any(|f| f == flag),
                "{command:?}: --{flag} shown in {flags:?}"
            );
        }
    }
}

#[test]
fn old_spellings_still_parse_with_one_note_each() {
    let url = unreachable_url();
    // Parsed, then the unreachable service: exit 6, not 2.
    let out = autointel(&[
        "--stats",
        &url,
        "share",
        "--basis",
        "retail",
        "--period",
        "2023-01..2023-12",
        "--part",
        "org=nissan-china",
        "--whole=powertrain=all",
        "--by",
        "year",
        "--decimals",
        "2",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    let notes: Vec<&str> = stderr.lines().filter(|l| l.starts_with("note: ")).collect();
    assert_eq!(
        notes,
        [
            "note: --part is deprecated and goes in the next release; use --numerator",
            "note: --numerator org=nissan-china is deprecated and goes in the next release; use --numerator organization=nissan-china",
            "note: --whole is deprecated and goes in the next release; use --denominator",
            "note: --by is deprecated and goes in the next release; use --granularity",
            "note: --decimals is deprecated and goes in the next release; use --percent-decimals",
        ],
        "{stderr}"
    );
    // The new names: no note.
    let out = autointel(&[
        "--stats",
        &url,
        "share",
        "--basis",
        "retail",
        "--period",
        "2023-01..2023-12",
        "--numerator",
        "organization=nissan-china",
        "--denominator=powertrain=all",
        "--granularity",
        "year",
        "--percent-decimals",
        "2",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(!stderr.contains("note:"), "{stderr}");
}

#[test]
fn a_prior_period_goes_with_a_custom_comparison_only() {
    let url = unreachable_url();
    let compare = |extra: &[&str]| {
        let mut args = vec![
            "--stats",
            &url,
            "compare",
            "--basis",
            "retail",
            "--period",
            "2023-01..2023-11",
        ];
        args.extend(extra);
        autointel(&args)
    };
    for bad in [
        &["--comparison", "custom"][..],
        &[
            "--comparison",
            "preceding_period",
            "--prior-period",
            "2022-01..2022-11",
        ],
        &["--vs", "yoy", "--comparison", "year_over_year"],
        &[
            "--vs",
            "2022-01..2022-11",
            "--prior-period",
            "2022-01..2022-11",
        ],
    ] {
        let out = compare(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out.stderr));
    }
    for good in [
        &[
            "--comparison",
            "custom",
            "--prior-period",
            "2022-01..2022-11",
        ][..],
        &["--prior-period", "2022-01..2022-11"],
        &["--comparison", "preceding_period"],
        &["--vs", "preceding"],
    ] {
        let out = compare(good);
        assert_eq!(
            out.status.code(),
            Some(6),
            "{good:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn up_demo_and_no_seed_do_not_go_together() {
    let out = autointel(&["up", "--demo", "--no-seed", "--data-dir", "/nonexistent/x"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
