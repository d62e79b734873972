//! Prometheus metrics: the gRPC request metrics every server records, and the `/metrics`
//! HTTP endpoint on its own port.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// Labels `service`, `method` (and `code`), bounded: unknown paths are `unknown`.
pub type Labels = Vec<(&'static str, String)>;

fn latency_histogram() -> Histogram {
    // 50 µs .. ~52 s: the engine answers most queries in well under a millisecond
    Histogram::new(exponential_buckets(0.000_05, 2.0, 21))
}

/// The metrics of the gRPC layer.
#[derive(Clone, Debug)]
pub struct GrpcMetrics {
    requests: Family<Labels, Counter>,
    duration: Family<Labels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
}

impl GrpcMetrics {
    /// Registers `grpc_requests_total{service,method,code}`,
    /// `grpc_request_duration_seconds{service,method}` and `grpc_requests_in_flight`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
            in_flight: Gauge::default(),
        };
        registry.register(
            "grpc_requests",
            "gRPC requests handled, by service, method and status code",
            metrics.requests.clone(),
        );
        registry.register(
            "grpc_request_duration_seconds",
            "Time from request to the end of the response (stream), by service and method",
            metrics.duration.clone(),
        );
        registry.register(
            "grpc_requests_in_flight",
            "gRPC requests being handled now",
            metrics.in_flight.clone(),
        );
        metrics
    }

    pub(crate) fn started(&self) {
        self.in_flight.inc();
    }

    /// The handles of one method, resolved once per method instead of once per request.
    pub(crate) fn method(&self, service: &str, method: &str) -> MethodMetrics {
        MethodMetrics {
            service: service.to_owned(),
            method: method.to_owned(),
            ok: OnceLock::new(),
            duration: OnceLock::new(),
        }
    }

    pub(crate) fn finished(&self, m: &MethodMetrics, code: &'static str, seconds: f64) {
        self.in_flight.dec();
        if code == "OK" {
            m.ok.get_or_init(|| self.requests.get_or_create_owned(&m.labels(Some(code))))
                .inc();
        } else {
            self.requests.get_or_create(&m.labels(Some(code))).inc();
        }
        m.duration
            .get_or_init(|| self.duration.get_or_create_owned(&m.labels(None)))
            .observe(seconds);
    }
}

/// One method's metric handles. A label set appears in the exposition only once a request
/// of that method (with that code) has finished, as if it were looked up per request.
#[derive(Debug)]
pub(crate) struct MethodMetrics {
    pub(crate) service: String,
    pub(crate) method: String,
    ok: OnceLock<Counter>,
    duration: OnceLock<Histogram>,
}

impl MethodMetrics {
    fn labels(&self, code: Option<&'static str>) -> Labels {
        let mut labels = vec![
            ("service", self.service.clone()),
            ("method", self.method.clone()),
        ];
        if let Some(code) = code {
            labels.push(("code", code.to_owned()));
        }
        labels
    }
}

/// Serves `GET /metrics` (the text exposition format) on `listener` until dropped.
pub async fn serve_metrics(listener: TcpListener, registry: Arc<Registry>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "metrics listener cannot accept");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let registry = registry.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: http::Request<_>| {
                let response = respond(&request, &registry);
                async move { Ok::<_, Infallible>(response) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "metrics connection ended");
            }
        });
    }
}

fn respond<B>(request: &http::Request<B>, registry: &Registry) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::new()));
    if request.uri().path() != "/metrics" {
        *response.status_mut() = http::StatusCode::NOT_FOUND;
        return response;
    }
    if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
        *response.status_mut() = http::StatusCode::METHOD_NOT_ALLOWED;
        return response;
    }
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, registry) {
        tracing::error!(error = %e, "cannot encode metrics");
        *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        return response;
    }
    *response.body_mut() = Full::new(Bytes::from(text));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        // what prometheus-client writes: OpenMetrics text (with its `# EOF`)
        http::HeaderValue::from_static(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    );
    response
}
