//! Distributed tracing: with `log.otlp_endpoint` set, both servers export a span per gRPC
//! request over OTLP/gRPC to a collector (here one in the test, speaking the real OTLP
//! protocol). A query that calls the registry makes one trace across both services: the
//! caller's `traceparent` is the parent of stats' server span, stats' call to the registry
//! is its child, and the registry's server span is the child of that call. Spans still
//! queued at shutdown are flushed before the process exits.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use autointel_proto::stats as swire;
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

use crate::faults::{nissan_china, seed_period};
use crate::harness::{Backend, Options, Stack, channel};

/// Every span received, with the `service.name` of the process that sent it.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<(String, Span)>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.as_ref())
                .map(|v| match v {
                    Value::StringValue(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push((service.clone(), span));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Collector {
    async fn start(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let service = TraceServiceServer::new(self.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
        });
        address
    }

    /// The span from `service` named `name`, of `kind`, in trace `trace_id`.
    fn find(&self, service: &str, name: &str, kind: SpanKind, trace_id: &[u8]) -> Span {
        let spans = self.0.lock().unwrap();
        let found: Vec<&Span> = spans
            .iter()
            .filter(|(s, span)| {
                s == service
                    && span.name == name
                    && span.kind == kind as i32
                    && span.trace_id == trace_id
            })
            .map(|(_, span)| span)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one {kind:?} span {name} from {service} in the trace; all spans: {:#?}",
            spans
                .iter()
                .map(|(s, span)| (s, &span.name, span.kind, hex(&span.trace_id)))
                .collect::<Vec<_>>()
        );
        found[0].clone()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn int_attribute(span: &Span, key: &str) -> Option<i64> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::IntValue(v) => Some(*v),
            _ => None,
        })
}

// The collector must keep serving while the test thread waits for the servers to stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_spans_the_caller_stats_and_registry() {
    let collector = Collector::default();
    let address = collector.start().await;
    let endpoint = format!("http://{address}");
    let options = Options::default()
        .registry_env("AUTOINTEL_LOG__OTLP_ENDPOINT", &endpoint)
        .stats_env("AUTOINTEL_LOG__OTLP_ENDPOINT", &endpoint);
    let mut stack = Stack::start_with(&Backend::Sqlite, true, options).await;

    let trace_id: [u8; 16] = *uuid::Uuid::new_v4().as_bytes();
    let caller_span: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
    let traceparent = format!("00-{}-{}-01", hex(&trace_id), hex(&caller_span));
    let mut stats = StatsServiceClient::new(channel(&stack.stats.url()).await.unwrap());
    let mut request = tonic::Request::new(swire::ComputeRollupRequest {
        source: String::new(),
        series: Some(nissan_china()),
        period: Some(seed_period()),
        hierarchy_date: Some(autointel_proto::google::r#type::Date {
            year: 2023,
            month: 12,
            day: 31,
        }),
        as_of_date: None,
        mode: swire::RollupMode::Gross as i32,
    });
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    stats.compute_rollup(request).await.unwrap();

    // A graceful stop flushes the spans still queued in each process.
    for server in [&mut stack.stats, &mut stack.registry] {
        let status = server.process.stop_with("TERM", Duration::from_secs(20));
        assert!(status.success(), "{}", server.process.describe());
    }

    let rollup = collector.find(
        "autointel-stats",
        "autointel.stats.v1.StatsService/ComputeRollup",
        SpanKind::Server,
        &trace_id,
    );
    assert_eq!(
        rollup.parent_span_id, caller_span,
        "the caller's span is the parent"
    );
    assert_eq!(int_attribute(&rollup, "rpc.grpc.status_code"), Some(0));

    let call = collector.find(
        "autointel-stats",
        "autointel.registry.v1.RegistryService/ListDescendants",
        SpanKind::Client,
        &trace_id,
    );
    assert_eq!(
        call.parent_span_id, rollup.span_id,
        "the registry call is the query's child"
    );

    let served = collector.find(
        "autointel-registry",
        "autointel.registry.v1.RegistryService/ListDescendants",
        SpanKind::Server,
        &trace_id,
    );
    assert_eq!(
        served.parent_span_id, call.span_id,
        "the registry joins stats' trace"
    );
    assert_eq!(int_attribute(&served, "rpc.grpc.status_code"), Some(0));
    assert!(served.start_time_unix_nano >= call.start_time_unix_nano);
}
