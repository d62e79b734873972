//! The stats service's own Prometheus metrics (the gRPC ones come from autointel-server).

use autointel_server::prometheus_client::metrics::counter::Counter;
use autointel_server::prometheus_client::metrics::family::Family;
use autointel_server::prometheus_client::metrics::gauge::Gauge;
use autointel_server::prometheus_client::registry::Registry;

/// Engine size, imports and registry-call outcomes. Clones share the same series.
#[derive(Clone, Debug, Default)]
pub struct StatsMetrics {
    /// `stats_engine_figures`: figures in the in-memory engine.
    pub engine_figures: Gauge,
    /// `stats_engine_applied_sequence`: the store sequence the engine has applied up to.
    pub applied_sequence: Gauge,
    /// `stats_engine_last_refresh_timestamp_seconds`: when the engine last caught up with
    /// the store (alert on `time() -` it: a stuck refresh).
    pub last_refresh: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// `stats_engine_loaded`: 1 once the start-up load finished (the service is ready).
    pub loaded: Gauge,
    /// `stats_import_figures_total`: figures stored by imports on this replica.
    pub import_figures: Counter,
    /// `stats_registry_calls_total{method,outcome}`.
    registry_calls: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// `stats_engine_snapshot_timestamp_seconds`: when the newest snapshot this replica
    /// wrote or read was written (its age is `time() -` it).
    pub snapshot_timestamp: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// `stats_engine_snapshot_bytes`: size of the last snapshot written.
    pub snapshot_bytes: Gauge,
    /// `stats_engine_snapshot_write_seconds`: how long the last snapshot took to write.
    pub snapshot_write_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// `stats_engine_snapshot_load_seconds`: how long reading the snapshot took at start.
    pub snapshot_load_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// `stats_engine_snapshot_fallbacks_total{reason}`: starts that replayed every figure.
    snapshot_fallbacks: Family<Vec<(&'static str, &'static str)>, Counter>,
}

impl StatsMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "stats_engine_figures",
            "Sales figures held by the in-memory engine",
            self.engine_figures.clone(),
        );
        registry.register(
            "stats_engine_applied_sequence",
            "The store sequence number the in-memory engine has applied up to",
            self.applied_sequence.clone(),
        );
        registry.register(
            "stats_engine_last_refresh_timestamp_seconds",
            "When the engine last caught up with the store, seconds since the Unix epoch",
            self.last_refresh.clone(),
        );
        registry.register(
            "stats_engine_loaded",
            "1 once the start-up load of the engine finished",
            self.loaded.clone(),
        );
        registry.register(
            "stats_import_figures",
            "Sales figures stored by imports on this replica",
            self.import_figures.clone(),
        );
        registry.register(
            "stats_registry_calls",
            "Calls to the registry by method and outcome (ok, not_found, unavailable, timeout, error)",
            self.registry_calls.clone(),
        );
        registry.register(
            "stats_engine_snapshot_timestamp_seconds",
            "When the newest engine snapshot this replica wrote or read was written, seconds since the Unix epoch",
            self.snapshot_timestamp.clone(),
        );
        registry.register(
            "stats_engine_snapshot_bytes",
            "Size of the last engine snapshot written, in bytes",
            self.snapshot_bytes.clone(),
        );
        registry.register(
            "stats_engine_snapshot_write_seconds",
            "How long writing the last engine snapshot took",
            self.snapshot_write_seconds.clone(),
        );
        registry.register(
            "stats_engine_snapshot_load_seconds",
            "How long reading the engine snapshot took at start",
            self.snapshot_load_seconds.clone(),
        );
        registry.register(
            "stats_engine_snapshot_fallbacks",
            "Starts that loaded every figure instead of a snapshot, by reason (missing, rebuild, ahead_of_store, foreign, truncated, corrupted, other_format, unreadable, store_unavailable)",
            self.snapshot_fallbacks.clone(),
        );
    }

    /// Counts a start that did not use a snapshot.
    pub fn snapshot_fallback(&self, reason: &'static str) {
        self.snapshot_fallbacks
            .get_or_create(&vec![("reason", reason)])
            .inc();
    }

    /// Counts one registry call (after retries) and its outcome.
    pub fn registry_call(&self, method: &'static str, outcome: &'static str) {
        self.registry_calls
            .get_or_create(&vec![("method", method), ("outcome", outcome)])
            .inc();
    }
}
