//! Metrics read at scrape time: the process (resident memory, CPU, open file descriptors,
//! from `/proc/self` on Linux) and a database pool (connections open, idle, in use).

use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// `/proc` reports CPU time in clock ticks of `USER_HZ`, which Linux fixes at 100.
const TICKS_PER_SECOND: f64 = 100.0;

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// The process's own resources, in the names Prometheus client libraries use.
#[derive(Debug)]
pub struct ProcessCollector {
    start_time: f64,
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self {
            start_time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
        }
    }
}

/// `VmRSS` of `/proc/self/status`, in bytes.
fn resident_bytes() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// User plus system CPU time of `/proc/self/stat`, in seconds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the command name, which is in parentheses and may hold spaces
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

fn open_fds() -> Option<f64> {
    let count = std::fs::read_dir("/proc/self/fd").ok()?.count();
    Some(count as f64)
}

fn max_fds() -> Option<f64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if let Some(bytes) = resident_bytes() {
            gauge(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory of the process in bytes",
                bytes,
            )?;
        }
        if let Some(seconds) = cpu_seconds() {
            let metric = ConstCounter::new(seconds);
            metric.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "User and system CPU time of the process in seconds",
                None,
                metric.metric_type(),
            )?)?;
        }
        if let Some(fds) = open_fds() {
            gauge(
                &mut encoder,
                "process_open_fds",
                "Open file descriptors of the process",
                fds,
            )?;
        }
        if let Some(fds) = max_fds() {
            gauge(
                &mut encoder,
                "process_max_fds",
                "Most file descriptors the process may open",
                fds,
            )?;
        }
        gauge(
            &mut encoder,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds",
            self.start_time,
        )
    }
}

/// A database pool's connections.
#[derive(Debug)]
pub struct PoolCollector {
    pool: sqlx::AnyPool,
}

impl PoolCollector {
    /// Reports `pool`.
    pub fn new(pool: sqlx::AnyPool) -> Self {
        Self { pool }
    }
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let open = f64::from(self.pool.size());
        let idle = self.pool.num_idle() as f64;
        gauge(
            &mut encoder,
            "autointel_db_pool_connections",
            "Connections the database pool holds open",
            open,
        )?;
        gauge(
            &mut encoder,
            "autointel_db_pool_idle_connections",
            "Open connections of the database pool not in use",
            idle,
        )?;
        gauge(
            &mut encoder,
            "autointel_db_pool_max_connections",
            "Most connections the database pool may open (database.max_connections)",
            f64::from(self.pool.options().get_max_connections()),
        )
    }
}
