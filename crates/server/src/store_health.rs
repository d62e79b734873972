//! The store's writability as a named health status and a metric.
//!
//! A full disk (or a database that refuses writes) must be visible without restarting
//! anything: reads keep being served, so neither liveness nor readiness follows it; the
//! health service [`STORE_HEALTH`] turns NOT_SERVING and `autointel_store_writable` drops
//! to 0, and a probe write brings both back once the store takes writes again.

use std::time::Duration;

use autointel_db::Writability;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sqlx::AnyPool;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// The `grpc.health.v1` service name that reports whether the store takes writes.
pub const STORE_HEALTH: &str = "autointel.store.Writable";

/// How often a store that cannot write is probed with a write that changes nothing.
pub const WRITE_PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// The store behind a service, as the server watches it.
#[derive(Clone, Debug)]
pub struct StoreWatch {
    /// Updated by every write the store does.
    pub writability: Writability,
    /// The pool the write probe runs on.
    pub pool: AnyPool,
    /// A write that changes nothing, e.g. setting a counter row to itself.
    pub probe_sql: &'static str,
}

impl StoreWatch {
    /// Registers `autointel_store_writable` (1 when writes succeed, else 0).
    pub(crate) fn register(&self, registry: &mut Registry) -> Gauge {
        let gauge = Gauge::default();
        registry.register(
            "autointel_store_writable",
            "1 while the database takes writes, 0 after a write failed for want of storage until one commits again",
            gauge.clone(),
        );
        gauge.set(i64::from(self.writability.is_writable()));
        gauge
    }

    /// Follows writability into health and the gauge, and probes while unwritable; the
    /// returned tasks end when aborted.
    pub(crate) fn spawn(
        self,
        health: HealthReporter,
        gauge: Gauge,
    ) -> [tokio::task::JoinHandle<()>; 2] {
        let probe = autointel_db::spawn_write_probe(
            self.pool,
            self.probe_sql,
            self.writability.clone(),
            WRITE_PROBE_INTERVAL,
        );
        let mut changes = self.writability.subscribe();
        let follow = tokio::spawn(async move {
            loop {
                let writable = *changes.borrow_and_update();
                gauge.set(i64::from(writable));
                let status = if writable {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                health.set_service_status(STORE_HEALTH, status).await;
                if changes.changed().await.is_err() {
                    return;
                }
            }
        });
        [probe, follow]
    }
}
