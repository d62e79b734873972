//! Running the real binaries: where they are, free ports, child processes that die with
//! the test, readiness over `grpc.health.v1`, the CLI, and per-test databases.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_proto::stats::{self as swire};
use autointel_testkit::PostgresSchema;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long a server may take to report SERVING.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one CLI command may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------ binaries

/// The directory of the binaries: `AUTOINTEL_BIN_DIR`, or the profile directory of the
/// target dir this test runs from (`…/target/<profile>/deps/e2e-…` → `…/target/<profile>`).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AUTOINTEL_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("the test executable has a path");
    let deps = exe.parent().expect("the test executable is in a directory");
    if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().unwrap_or(deps).to_path_buf()
    } else {
        deps.to_path_buf()
    }
}

/// The path of the binary `name`; fails with what to do when it is missing.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} not found: the end-to-end tests run the real binaries. Build them first with \
         `cargo build --workspace --bins` (same profile as the tests), or point \
         AUTOINTEL_BIN_DIR at the directory holding registry-server, stats-server and autointel.",
        path.display()
    );
    path
}

/// A command for the binary `name`, with every `AUTOINTEL_*` variable of the test's own
/// environment removed so that only the flags given count.
pub fn command(name: &str) -> Command {
    let mut command = Command::new(bin(name));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AUTOINTEL_") {
            command.env_remove(key);
        }
    }
    command.env("RUST_LOG", "info").stdin(Stdio::null());
    command
}

/// A port free at the time of asking (bound on 127.0.0.1:0, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("can bind 127.0.0.1:0")
}

// ------------------------------------------------------------------ processes

/// A child process whose output goes to files; killed when dropped.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Process {
    /// Starts `command`, writing its stdout and stderr to `<logs>/<name>.{out,err}`.
    pub fn spawn(name: &str, mut command: Command, logs: &Path) -> Self {
        let stdout = logs.join(format!("{name}.out"));
        let stderr = logs.join(format!("{name}.err"));
        let child = command
            .stdout(File::create(&stdout).expect("log file"))
            .stderr(File::create(&stderr).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        Self {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
            status: None,
        }
    }

    /// What it printed on stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Its exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits up to `timeout` for it to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (`INT`, `TERM`, …) with kill(1): the crate forbids `unsafe`, so no libc.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -s {signal} {} failed", self.name);
    }

    /// Asks it to stop with `signal` and waits; panics (with its output) if it does not.
    pub fn stop_with(&mut self, signal: &str, timeout: Duration) -> ExitStatus {
        self.signal(signal);
        match self.wait_timeout(timeout) {
            Some(status) => status,
            None => panic!(
                "{} did not stop within {timeout:?} of SIG{signal}\n{}",
                self.name,
                self.describe()
            ),
        }
    }

    /// Its name and output, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "--- {} stdout ---\n{}\n--- {} stderr ---\n{}",
            self.name,
            self.stdout(),
            self.name,
            self.stderr()
        )
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A connected channel to `url` (no retries).
pub async fn channel(url: &str) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
}

/// Waits until `url` answers SERVING for `service` ("" for the server as a whole), or
/// `process` exits (returns its status), or the timeout passes (panics).
pub async fn wait_until_serving(
    url: &str,
    service: &str,
    process: &mut Process,
) -> Result<(), ExitStatus> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut last;
    loop {
        if let Some(status) = process.try_wait() {
            return Err(status);
        }
        match channel(url).await {
            Ok(channel) => match HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: service.to_owned(),
                })
                .await
            {
                Ok(r) if r.get_ref().status == ServingStatus::Serving as i32 => return Ok(()),
                Ok(r) => last = format!("status {:?}", r.get_ref().status),
                Err(status) => last = format!("{status}"),
            },
            Err(e) => last = format!("{e}"),
        }
        assert!(
            Instant::now() < deadline,
            "{url} not SERVING after {READY_TIMEOUT:?} (last: {last})\n{}",
            process.describe()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ------------------------------------------------------------------ servers

/// A running server binary.
#[derive(Debug)]
pub struct Server {
    /// The process.
    pub process: Process,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Server {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Starts a server on a free port and waits until it serves; retries with another port
/// when the one picked was taken in between (the process exits early).
async fn start_server(
    name: &str,
    logs: &Path,
    health_service: &str,
    command: impl Fn(u16) -> Command,
) -> Server {
    let mut failures = Vec::new();
    for attempt in 1..=3 {
        let port = free_port();
        match try_start_on(name, logs, health_service, port, &command).await {
            Ok(server) => return server,
            Err(failure) => failures.push(format!("attempt {attempt}: {failure}")),
        }
    }
    panic!("{name} did not start:\n{}", failures.join("\n"));
}

/// Starts a server on `port` and waits until it serves; `Err` (its output) if it exits.
async fn try_start_on(
    name: &str,
    logs: &Path,
    health_service: &str,
    port: u16,
    command: &impl Fn(u16) -> Command,
) -> Result<Server, String> {
    let mut process = Process::spawn(
        &format!("{name}-{port}-{}", uuid::Uuid::new_v4().simple()),
        command(port),
        logs,
    );
    let url = format!("http://127.0.0.1:{port}");
    match wait_until_serving(&url, health_service, &mut process).await {
        Ok(()) => Ok(Server { process, port }),
        Err(status) => Err(format!("exited with {status}\n{}", process.describe())),
    }
}

/// Extra environment of the server processes of a [`Stack`] (e.g. tokens, limits).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `(name, value)` pairs set on `registry-server`.
    pub registry_env: Vec<(String, String)>,
    /// `(name, value)` pairs set on `stats-server`.
    pub stats_env: Vec<(String, String)>,
    /// Token the stack's CLI presents (`--token`).
    pub cli_token: Option<String>,
    /// Where the SQLite files go (default: the stack's temporary directory).
    pub sqlite_dir: Option<PathBuf>,
}

impl Options {
    /// Sets `name=value` on registry-server.
    #[must_use]
    pub fn registry_env(mut self, name: &str, value: &str) -> Self {
        self.registry_env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Puts the SQLite files in `dir` (a filesystem the test controls).
    #[must_use]
    pub fn sqlite_dir(mut self, dir: &Path) -> Self {
        self.sqlite_dir = Some(dir.to_owned());
        self
    }

    /// Sets `name=value` on stats-server.
    #[must_use]
    pub fn stats_env(mut self, name: &str, value: &str) -> Self {
        self.stats_env.push((name.to_owned(), value.to_owned()));
        self
    }
}

fn registry_command(
    database_url: &str,
    seed: bool,
    env: &[(String, String)],
    port: u16,
) -> Command {
    let mut c = command("registry-server");
    c.args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", database_url]);
    if seed {
        c.arg("--seed");
    }
    server_env(&mut c, env);
    c
}

/// Sets `env` on a server; a test that configures no auth runs without it, explicitly.
fn server_env(c: &mut Command, env: &[(String, String)]) {
    if !env.iter().any(|(k, _)| k.starts_with("AUTOINTEL_AUTH__")) {
        c.env("AUTOINTEL_AUTH__DISABLED", "true");
    }
    c.envs(env.iter().map(|(k, v)| (k, v)));
}

fn stats_command(
    database_url: &str,
    registry_url: &str,
    env: &[(String, String)],
    port: u16,
) -> Command {
    let mut c = command("stats-server");
    c.args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", database_url])
        .args(["--registry", registry_url]);
    server_env(&mut c, env);
    c
}

const REGISTRY_HEALTH: &str = "autointel.registry.v1.RegistryService";
const STATS_HEALTH: &str = "autointel.stats.v1.StatsService";

/// Starts `registry-server` on `database_url` (with the seed when `seed`) and `env`.
pub async fn start_registry_with(
    database_url: &str,
    seed: bool,
    logs: &Path,
    env: &[(String, String)],
) -> Server {
    start_server("registry-server", logs, REGISTRY_HEALTH, |port| {
        registry_command(database_url, seed, env, port)
    })
    .await
}

/// Starts `stats-server` on `database_url`, calling the registry at `registry_url`, with `env`.
pub async fn start_stats_with(
    database_url: &str,
    registry_url: &str,
    logs: &Path,
    env: &[(String, String)],
) -> Server {
    start_server("stats-server", logs, STATS_HEALTH, |port| {
        stats_command(database_url, registry_url, env, port)
    })
    .await
}

// ------------------------------------------------------------------ databases

/// Which database a test runs on (the testkit's, shared by every harness).
pub use autointel_testkit::Backend;

/// The two databases of one stack; PostgreSQL schemas are dropped with it.
#[derive(Debug)]
pub struct Databases {
    /// The registry's `--database-url`.
    pub registry: String,
    /// The stats service's `--database-url`.
    pub stats: String,
    schemas: Vec<PostgresSchema>,
}

impl Databases {
    /// The `application_name` the stats server's PostgreSQL connections carry.
    pub fn stats_application(&self) -> Option<&str> {
        self.schemas.get(1).map(PostgresSchema::name)
    }
}

impl Databases {
    /// Fresh databases on `backend`; SQLite files go in `dir`. Fails when PostgreSQL is
    /// configured but unreachable.
    pub async fn create(backend: &Backend, dir: &Path) -> Self {
        match backend {
            Backend::Sqlite => Self {
                registry: sqlite_url(&dir.join("registry.db")),
                stats: sqlite_url(&dir.join("stats.db")),
                schemas: Vec::new(),
            },
            Backend::Postgres(base) => {
                let connect = |label| async move {
                    PostgresSchema::create(base, label)
                        .await
                        .unwrap_or_else(|e| {
                            panic!("AUTOINTEL_TEST_POSTGRES_URL is set but unusable: {e}")
                        })
                };
                let registry = connect("e2e_registry").await;
                let stats = connect("e2e_stats").await;
                // each server's connections carry its schema's name, so a test can find them
                // in pg_stat_activity (to cut them, say)
                Self {
                    registry: format!("{}&application_name={}", registry.url(), registry.name()),
                    stats: format!("{}&application_name={}", stats.url(), stats.name()),
                    schemas: vec![registry, stats],
                }
            }
        }
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        PostgresSchema::drop_blocking(std::mem::take(&mut self.schemas));
    }
}

/// The URL of a SQLite file, created when missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

// ------------------------------------------------------------------ the stack

/// Both servers as processes, their databases and a temporary directory for files and
/// logs. Fields drop in order: servers first, then the databases, then the directory.
#[derive(Debug)]
pub struct Stack {
    /// The stats server.
    pub stats: Server,
    /// The registry server.
    pub registry: Server,
    /// Their databases.
    pub databases: Databases,
    /// Files and logs of the test.
    pub dir: tempfile::TempDir,
    /// Whether the registry starts with `--seed`.
    seed: bool,
    /// Extra environment of the servers, token of the CLI.
    pub options: Options,
}

/// How to stop a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM, then the process must exit 0 (graceful shutdown).
    Term,
    /// SIGKILL: no chance to clean up.
    Kill,
}

/// The seed sales figures shipped with the project.
pub fn seed_figures_csv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/seed/sales_figures.csv")
}

impl Stack {
    /// Starts registry (seeded when `seed`) and stats on fresh databases; with `seed`, the
    /// seed sales figures are imported with `autointel import`.
    pub async fn start(backend: &Backend, seed: bool) -> Self {
        Self::start_with(backend, seed, Options::default()).await
    }

    /// [`Self::start`] with extra environment for the servers (and a token for the CLI).
    pub async fn start_with(backend: &Backend, seed: bool, options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let sqlite_dir = options.sqlite_dir.clone();
        let databases =
            Databases::create(backend, sqlite_dir.as_deref().unwrap_or(dir.path())).await;
        let registry =
            start_registry_with(&databases.registry, seed, dir.path(), &options.registry_env).await;
        let stats = start_stats_with(
            &databases.stats,
            &registry.url(),
            dir.path(),
            &options.stats_env,
        )
        .await;
        let stack = Self {
            stats,
            registry,
            databases,
            dir,
            seed,
            options,
        };
        if seed {
            let figures = seed_figures_csv();
            let out = stack.cli().run(&["import", &figures.to_string_lossy()]);
            out.assert_success();
            assert!(out.stdout.contains("Imported 2 figures"), "{out}");
        }
        stack
    }

    /// Stops both servers (stats first) with `how`, then starts them again on the same
    /// databases, on new ports.
    pub async fn restart(&mut self, how: Stop) {
        self.stop(how);
        self.start_again().await;
    }

    /// Stops both servers (stats first) with `how`; [`Self::start_again`] starts them.
    pub fn stop(&mut self, how: Stop) {
        for server in [&mut self.stats, &mut self.registry] {
            match how {
                Stop::Term => {
                    let status = server.process.stop_with("TERM", Duration::from_secs(20));
                    assert!(
                        status.success(),
                        "not a clean exit on SIGTERM: {status}\n{}",
                        server.process.describe()
                    );
                }
                Stop::Kill => {
                    let _ = server.process.stop_with("KILL", Duration::from_secs(20));
                }
            }
        }
    }

    /// Starts both servers again on the same databases, on new ports.
    pub async fn start_again(&mut self) {
        self.registry = start_registry_with(
            &self.databases.registry,
            self.seed,
            self.dir.path(),
            &self.options.registry_env,
        )
        .await;
        self.stats = start_stats_with(
            &self.databases.stats,
            &self.registry.url(),
            self.dir.path(),
            &self.options.stats_env,
        )
        .await;
    }

    /// Starts registry-server again on the same port and database (after it was killed);
    /// stats keeps its channel and must reconnect by itself.
    pub async fn restart_registry_in_place(&mut self) {
        let port = self.registry.port;
        let (db, seed, env) = (
            self.databases.registry.clone(),
            self.seed,
            self.options.registry_env.clone(),
        );
        self.registry = start_in_place(
            "registry-server",
            self.dir.path(),
            REGISTRY_HEALTH,
            port,
            |p| registry_command(&db, seed, &env, p),
        )
        .await;
    }

    /// Starts stats-server again on the same port and database (after it was killed).
    pub async fn restart_stats_in_place(&mut self) {
        let port = self.stats.port;
        let (db, registry, env) = (
            self.databases.stats.clone(),
            self.registry.url(),
            self.options.stats_env.clone(),
        );
        self.stats = start_in_place("stats-server", self.dir.path(), STATS_HEALTH, port, |p| {
            stats_command(&db, &registry, &env, p)
        })
        .await;
    }

    /// The CLI pointed at this stack.
    pub fn cli(&self) -> Cli {
        let mut cli = Cli::new(&self.registry.url(), &self.stats.url(), self.dir.path());
        if let Some(token) = &self.options.cli_token {
            cli.endpoints.extend(["--token".to_owned(), token.clone()]);
        }
        cli
    }

    /// A registry client.
    pub async fn registry_client(&self) -> RegistryServiceClient<Channel> {
        RegistryServiceClient::new(channel(&self.registry.url()).await.expect("registry"))
    }

    /// A stats client.
    pub async fn stats_client(&self) -> StatsServiceClient<Channel> {
        StatsServiceClient::new(channel(&self.stats.url()).await.expect("stats"))
    }

    /// Every figure stats holds, superseded ones included.
    pub async fn all_figures(&self) -> Vec<swire::SalesFigure> {
        all_figures(&mut self.stats_client().await).await
    }
}

/// Every stored figure, superseded ones included, page by page.
pub async fn all_figures(stats: &mut StatsServiceClient<Channel>) -> Vec<swire::SalesFigure> {
    let mut figures = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = stats
            .list_sales_figures(swire::ListSalesFiguresRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                include_superseded: true,
                ..Default::default()
            })
            .await
            .expect("ListSalesFigures")
            .into_inner();
        figures.extend(page.sales_figures);
        if page.next_page_token.is_empty() {
            return figures;
        }
        page_token = page.next_page_token;
    }
}

/// Starts a server on the port it had before, retrying while the old listener's port is
/// still being released.
async fn start_in_place(
    name: &str,
    logs: &Path,
    health_service: &str,
    port: u16,
    command: impl Fn(u16) -> Command,
) -> Server {
    let mut failures = Vec::new();
    for attempt in 1..=5 {
        match try_start_on(name, logs, health_service, port, &command).await {
            Ok(server) => return server,
            Err(failure) => failures.push(format!("attempt {attempt}: {failure}")),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "{name} did not start again on port {port}:\n{}",
        failures.join("\n")
    );
}

// ------------------------------------------------------------------ the CLI

/// `autointel` with `--registry` and `--stats` set.
#[derive(Clone, Debug)]
pub struct Cli {
    endpoints: Vec<String>,
    logs: PathBuf,
}

/// What a CLI run did.
#[derive(Debug)]
pub struct Output {
    /// The arguments.
    pub args: Vec<String>,
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "autointel {}\n  exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }
}

impl Output {
    /// Panics with the whole output unless it exited 0.
    pub fn assert_success(&self) {
        assert_eq!(self.code, 0, "{self}");
    }
}

impl Cli {
    /// Against the services at these URLs; scratch files in `logs`.
    pub fn new(registry_url: &str, stats_url: &str, logs: &Path) -> Self {
        Self {
            endpoints: vec![
                "--registry".to_owned(),
                registry_url.to_owned(),
                "--stats".to_owned(),
                stats_url.to_owned(),
            ],
            logs: logs.to_path_buf(),
        }
    }

    /// Runs `autointel <endpoints> <args>` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = self.endpoints.clone();
        all.extend(args.iter().map(|a| (*a).to_owned()));
        run_cli(&all, &self.logs)
    }

    /// Runs the command, asserts success and returns stdout.
    pub fn table(&self, args: &[&str]) -> String {
        let out = self.run(args);
        out.assert_success();
        out.stdout
    }

    /// Runs the command with `-o json`, asserts success and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        let out = self.run(&args);
        out.assert_success();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{out}"))
    }
}

/// Runs `autointel args…` (no endpoints added) with a timeout.
pub fn run_cli(args: &[String], scratch: &Path) -> Output {
    let name = format!("autointel-{}", uuid::Uuid::new_v4().simple());
    let mut command = command("autointel");
    command.args(args);
    let mut process = Process::spawn(&name, command, scratch);
    let status = process.wait_timeout(CLI_TIMEOUT).unwrap_or_else(|| {
        panic!(
            "autointel {} did not finish within {CLI_TIMEOUT:?}\n{}",
            args.join(" "),
            process.describe()
        )
    });
    Output {
        args: args.to_vec(),
        code: status.code().unwrap_or(-1),
        stdout: process.stdout(),
        stderr: process.stderr(),
    }
}

/// Runs each named test on each backend (`name::sqlite`, `name::postgres`).
pub(crate) use autointel_testkit::on_each_backend;
