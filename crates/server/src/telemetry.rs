//! Logging and tracing: `tracing` to stdout as text or JSON, filtered by `log.level` (or
//! `RUST_LOG`), and, when `log.otlp_endpoint` is set, every gRPC request as an OpenTelemetry
//! server span exported over OTLP/gRPC, joined to the caller's trace through the W3C
//! `traceparent` header.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::settings::{LogFormat, LogSettings};

/// Set once spans are exported: request spans are only made when someone receives them.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Deadline of one export call to the collector.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
#[error("log.otlp_endpoint: {0}")]
pub struct TelemetryError(String);

/// Keeps telemetry running; dropping it flushes the spans not yet exported (bounded by the
/// export timeout).
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            EXPORTING.store(false, Ordering::Relaxed);
            if let Err(e) = provider.shutdown() {
                eprintln!("flushing traces to the OTLP collector failed: {e}");
            }
        }
    }
}

/// True when request spans are exported (`log.otlp_endpoint` is set and telemetry started).
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Installs the global subscriber; call it inside the Tokio runtime (the exporter's
/// connection lives there). `RUST_LOG`, when set, overrides `log.level` for the log lines;
/// exported spans are those at `info` and above. `service` names the service in the
/// exported resource (`service.name`).
pub fn init(
    settings: &LogSettings,
    service: &'static str,
) -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let provider = match &settings.otlp_endpoint {
        Some(endpoint) => Some(provider(endpoint, settings, service)?),
        None => None,
    };
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service))
            .with_filter(LevelFilter::INFO)
    });
    let registry = tracing_subscriber::registry().with(otel);
    let result = match settings.format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    // colours only for a person at a terminal, never into files or pipes
                    .with_ansi(std::io::stdout().is_terminal())
                    .with_filter(filter),
            )
            .try_init(),
    };
    if result.is_err() {
        tracing::debug!("a tracing subscriber was already installed");
        return Ok(TelemetryGuard { provider });
    }
    if provider.is_some() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        EXPORTING.store(true, Ordering::Relaxed);
        tracing::info!(
            endpoint = settings.otlp_endpoint.as_deref(),
            "exporting traces over OTLP"
        );
    }
    Ok(TelemetryGuard { provider })
}

fn provider(
    endpoint: &str,
    settings: &LogSettings,
    service: &'static str,
) -> Result<SdkTracerProvider, TelemetryError> {
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(EXPORT_TIMEOUT);
    if endpoint.starts_with("https://") {
        let tls = settings
            .otlp_tls
            .load()
            .map_err(|e| TelemetryError(e.to_string()))?;
        builder = builder.with_tls_config(tls);
    }
    let exporter = builder.build().map_err(|e| TelemetryError(e.to_string()))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .build())
}

/// The span of one gRPC request, a child of the caller's span when its `traceparent`
/// header names one; `None` unless spans are exported.
pub fn request_span(
    headers: &http::HeaderMap,
    service: &str,
    method: &str,
) -> Option<tracing::Span> {
    if !exporting() {
        return None;
    }
    let span = tracing::info_span!(
        "grpc.request",
        otel.name = %format_args!("{service}/{method}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    // a request without `traceparent` starts a trace of its own
    let _ = span.set_parent(parent);
    Some(span)
}

/// The span of one outgoing gRPC call made while handling a request (the registry calls of
/// stats); `None` unless spans are exported.
pub fn client_span(service: &str, method: &str) -> Option<tracing::Span> {
    exporting().then(|| {
        tracing::info_span!(
            "grpc.call",
            otel.name = %format_args!("{service}/{method}"),
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
        )
    })
}

/// Records a request's final gRPC status on its span.
pub fn record_status(span: &tracing::Span, code: tonic::Code) {
    span.record("rpc.grpc.status_code", code as i32);
    if code != tonic::Code::Ok {
        span.record("otel.status_code", "ERROR");
    }
}

/// Adds the current span's `traceparent` to an outgoing request's metadata, so the callee's
/// span joins this trace. Does nothing unless spans are exported.
pub fn inject_context(metadata: &mut tonic::metadata::MetadataMap) {
    if !exporting() {
        return;
    }
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut MetadataInjector(metadata));
    });
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}
