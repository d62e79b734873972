//! Start-up fails closed and early: a configured secret that cannot be read, no auth
//! configured without saying so, or a port in use stops the server with status 2 and one
//! message naming the cause, before the database is touched.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Process, command, free_port, sqlite_url};

/// Runs `command` to its exit; returns the status code and stderr.
fn run_to_exit(name: &str, command: Command, logs: &Path) -> (Option<i32>, String) {
    let mut process = Process::spawn(name, command, logs);
    let status = process
        .wait_timeout(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("{name} kept running:\n{}", process.describe()));
    (status.code(), process.stderr())
}

fn server(name: &str, database: &Path, port: u16, env: &[(&str, &str)]) -> Command {
    let mut c = command(name);
    c.args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", &sqlite_url(database)]);
    if name == "stats-server" {
        c.args(["--registry", "http://127.0.0.1:1"]);
    }
    c.envs(env.iter().copied());
    c
}

/// Asserts a refused start: status 2, the cause named once, the database never created.
fn assert_refused(name: &str, case: &str, env: &[(&str, &str)], names: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = dir.path().join(format!("{name}.db"));
    let (code, stderr) = run_to_exit(
        &format!("{name}-{case}"),
        server(name, &database, free_port(), env),
        dir.path(),
    );
    assert_eq!(code, Some(2), "{name} {case}: exit status\n{stderr}");
    assert_eq!(
        stderr.matches(names).count(),
        1,
        "{name} {case}: the cause is named once:\n{stderr}"
    );
    assert!(
        !database.exists(),
        "{name} {case}: the database was touched before the configuration was checked"
    );
}

#[test]
fn a_configured_secret_that_cannot_be_read_stops_start_up() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("missing-tokens.toml");
    let missing = missing.to_string_lossy();
    let empty = dir.path().join("empty-tokens.toml");
    std::fs::write(&empty, "# no tokens yet\n").expect("write");
    let empty = empty.to_string_lossy();
    let malformed = dir.path().join("malformed-tokens.toml");
    std::fs::write(&malformed, "[[tokens]]\ntoken = \"t\"\nrole = \"admin\"\n").expect("write");
    let malformed = malformed.to_string_lossy();
    let blank = dir.path().join("blank-token");
    std::fs::write(&blank, " \n").expect("write");
    let blank = blank.to_string_lossy();
    for name in ["registry-server", "stats-server"] {
        for (case, file) in [
            ("missing", &missing),
            ("empty", &empty),
            ("malformed", &malformed),
        ] {
            assert_refused(name, case, &[("AUTOINTEL_AUTH__TOKENS_FILE", file)], file);
        }
        assert_refused(
            name,
            "blank-inline",
            &[("AUTOINTEL_AUTH__TOKENS", " , ")],
            "auth.tokens",
        );
    }
    // stats' token towards the registry fails closed too.
    for (case, file) in [
        ("registry-token-missing", &missing),
        ("registry-token-blank", &blank),
    ] {
        assert_refused(
            "stats-server",
            case,
            &[
                ("AUTOINTEL_AUTH__DISABLED", "true"),
                ("AUTOINTEL_REGISTRY__TOKEN_FILE", file),
            ],
            file,
        );
    }
}

#[test]
fn serving_without_authentication_must_be_said_explicitly() {
    for name in ["registry-server", "stats-server"] {
        assert_refused(name, "no-auth", &[], "auth.disabled");
        assert_refused(
            name,
            "contradiction",
            &[
                ("AUTOINTEL_AUTH__DISABLED", "true"),
                ("AUTOINTEL_AUTH__TOKENS", "reader:r"),
            ],
            "contradicts",
        );
    }
}

#[test]
fn a_port_in_use_stops_start_up_before_the_database() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    for name in ["registry-server", "stats-server"] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database = dir.path().join("db.sqlite");
        let c = server(
            name,
            &database,
            port,
            &[("AUTOINTEL_AUTH__DISABLED", "true")],
        );
        let (code, stderr) = run_to_exit(name, c, dir.path());
        assert_eq!(code, Some(2), "{name}: exit status\n{stderr}");
        assert_eq!(
            stderr.matches(&format!("127.0.0.1:{port}")).count(),
            1,
            "{name}: the address is named once:\n{stderr}"
        );
        assert!(
            !database.exists(),
            "{name}: database touched before binding"
        );
    }
}

#[test]
fn every_binary_says_its_version() {
    // (autointel-bench is not built by `cargo test`; its flag is the same clap attribute)
    for name in ["registry-server", "stats-server", "autointel"] {
        let out = command(name)
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {stdout}");
        assert!(
            stdout.starts_with(&format!("{name} {}", env!("CARGO_PKG_VERSION"))),
            "{name}: {stdout}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_written_to_a_file_carry_no_terminal_colours() {
    let stack = crate::harness::Stack::start(&crate::harness::Backend::Sqlite, false).await;
    let logs = format!(
        "{}{}",
        stack.registry.process.stdout(),
        stack.stats.process.stdout()
    );
    assert!(logs.contains("serving"), "{logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "ANSI escapes in a log file:\n{logs}"
    );
}
