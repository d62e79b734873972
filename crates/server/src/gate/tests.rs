#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use tokio::sync::Notify;
use tower_layer::Layer as _;
use tower_service::Service as _;

use super::*;

/// Answers every request once released.
#[derive(Clone)]
struct Held(Arc<Notify>);

impl<B: Send + 'static> tower_service::Service<http::Request<B>> for Held {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<B>) -> Self::Future {
        let release = self.0.clone();
        Box::pin(async move {
            release.notified().await;
            Ok(http::Response::new(tonic::body::Body::empty()))
        })
    }
}

fn request(path: &str) -> http::Request<http_body_util::Empty<Bytes>> {
    http::Request::builder()
        .uri(path)
        .body(http_body_util::Empty::new())
        .unwrap()
}

/// A request from the connection of `peer`.
fn request_from(path: &str, peer: u16) -> http::Request<http_body_util::Empty<Bytes>> {
    let mut request = request(path);
    let info = tonic::transport::server::TcpConnectInfo {
        local_addr: None,
        remote_addr: Some(std::net::SocketAddr::from(([127, 0, 0, 1], peer))),
    };
    request.extensions_mut().insert(info);
    request
}

#[tokio::test]
async fn a_loading_service_holds_requests_briefly_then_refuses_but_health_passes() {
    let mut registry = prometheus_client::registry::Registry::default();
    let (ready, ready_rx) = tokio::sync::watch::channel(false);
    let layer = GateLayer::new(
        Tokens::default(),
        false,
        8,
        GrpcMetrics::register(&mut registry),
        "test.autointel",
        &[],
    )
    .with_readiness(ready_rx, Duration::from_millis(100));
    let release = Arc::new(Notify::new());
    let mut service = layer.layer(Held(release.clone()));
    let api = "/autointel.registry.v1.RegistryService/ListOrganizations";

    let refused = service.call(request(api)).await.unwrap();
    assert_eq!(
        grpc_status(&refused),
        Some("14"),
        "UNAVAILABLE while loading"
    );
    let health = tokio::spawn(service.call(request("/grpc.health.v1.Health/Check")));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !health.is_finished(),
        "health passes to the service at once"
    );

    let waiting = tokio::spawn(service.call(request(api)));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let _ = ready.send(true);
    tokio::time::sleep(Duration::from_millis(20)).await;
    release.notify_waiters();
    assert_eq!(
        grpc_status(&waiting.await.unwrap().unwrap()),
        None,
        "a request that arrives during the last moments of the load is served"
    );
    health.await.unwrap().unwrap();
}

#[tokio::test]
async fn one_connection_cannot_take_every_slot() {
    let mut registry = prometheus_client::registry::Registry::default();
    let layer = GateLayer::new(
        Tokens::default(),
        false,
        8,
        GrpcMetrics::register(&mut registry),
        "test.autointel",
        &[],
    )
    .with_per_connection_limit(2);
    let release = Arc::new(Notify::new());
    let mut service = layer.layer(Held(release.clone()));
    let api = "/autointel.registry.v1.RegistryService/ListOrganizations";
    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(service.call(request_from(api, 1000))))
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let refused = service.call(request_from(api, 1000)).await.unwrap();
    assert_eq!(grpc_status(&refused), Some("8"), "RESOURCE_EXHAUSTED");
    let details = Status::from_header_map(refused.headers())
        .map(|s| s.get_error_details().retry_info().is_some());
    assert_eq!(details, Some(true), "RetryInfo says when to come back");
    let other = tokio::spawn(service.call(request_from(api, 2000)));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!other.is_finished(), "another connection is admitted");
    release.notify_waiters();
    for handle in held {
        assert_eq!(grpc_status(&handle.await.unwrap().unwrap()), None);
    }
    assert_eq!(grpc_status(&other.await.unwrap().unwrap()), None);
    let again = tokio::spawn(service.call(request_from(api, 1000)));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!again.is_finished(), "slots are given back");
    release.notify_waiters();
    again.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_request_stream_idle_past_the_timeout_fails_with_deadline_exceeded() {
    use http_body_util::BodyExt as _;
    let silent = http_body_util::StreamBody::new(futures_util::stream::pending::<
        Result<Frame<Bytes>, Infallible>,
    >());
    let mut body = IdleBody::new(silent, Some(Duration::from_millis(50)));
    let error = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the idle timeout fires")
        .expect("an error frame")
        .expect_err("idle");
    let status = error.downcast::<Status>().expect("a status");
    assert_eq!(status.code(), Code::DeadlineExceeded);
}

fn grpc_status(response: &http::Response<tonic::body::Body>) -> Option<&str> {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn requests_over_the_limit_are_shed_at_once_but_health_is_not() {
    let mut registry = prometheus_client::registry::Registry::default();
    let layer = GateLayer::new(
        Tokens::default(),
        false,
        1,
        GrpcMetrics::register(&mut registry),
        "test.autointel",
        &[],
    );
    let release = Arc::new(Notify::new());
    let mut service = layer.layer(Held(release.clone()));
    let api = "/autointel.registry.v1.RegistryService/ListOrganizations";

    let first = tokio::spawn(service.call(request(api)));
    let shed = tokio::time::timeout(Duration::from_millis(500), service.call(request(api)))
        .await
        .expect("refused at once, not queued")
        .unwrap();
    assert_eq!(grpc_status(&shed), Some("8"), "RESOURCE_EXHAUSTED");

    let health = service.call(request("/grpc.health.v1.Health/Check"));
    let health = tokio::spawn(health);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!health.is_finished(), "health is admitted, not shed");

    release.notify_waiters();
    first.await.unwrap().unwrap();
    health.await.unwrap().unwrap();
    let after = service.call(request(api));
    let after = tokio::spawn(after);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!after.is_finished(), "the slot is free again");
    release.notify_waiters();
    assert_eq!(grpc_status(&after.await.unwrap().unwrap()), None);
}

#[tokio::test]
async fn a_request_past_the_time_limit_is_deadline_exceeded_in_status_and_metrics() {
    let mut registry = prometheus_client::registry::Registry::default();
    let layer = GateLayer::new(
        Tokens::default(),
        false,
        8,
        GrpcMetrics::register(&mut registry),
        "test.autointel",
        &[],
    )
    .with_request_timeout(Duration::from_millis(50));
    let mut service = layer.layer(Held(Arc::new(Notify::new())));
    let api = "/autointel.registry.v1.RegistryService/ListOrganizations";
    let answer = tokio::time::timeout(Duration::from_secs(5), service.call(request(api)))
        .await
        .expect("answered at the limit")
        .unwrap();
    assert_eq!(grpc_status(&answer), Some("4"), "DEADLINE_EXCEEDED");

    // A client's shorter deadline counts too.
    let mut short = request(api);
    short
        .headers_mut()
        .insert("grpc-timeout", "10m".parse().unwrap());
    let answer = service.call(short).await.unwrap();
    assert_eq!(grpc_status(&answer), Some("4"), "DEADLINE_EXCEEDED");

    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("grpc_requests_total")
            && l.contains("code=\"DEADLINE_EXCEEDED\"")
            && l.ends_with(" 2")),
        "{text}"
    );
    assert!(!text.contains("code=\"CANCELLED\""), "{text}");
}

#[test]
fn grpc_timeout_headers_parse() {
    let mut headers = http::HeaderMap::new();
    for (value, expected) in [
        ("5S", Some(Duration::from_secs(5))),
        ("250m", Some(Duration::from_millis(250))),
        ("1H", Some(Duration::from_secs(3600))),
        ("7u", Some(Duration::from_micros(7))),
        ("x", None),
        ("10", None),
    ] {
        headers.insert("grpc-timeout", value.parse().unwrap());
        assert_eq!(client_timeout(&headers), expected, "{value}");
    }
}

#[tokio::test]
async fn tokens_and_roles_are_checked_but_health_is_exempt() {
    let mut registry = prometheus_client::registry::Registry::default();
    let layer = GateLayer::new(
        Tokens::from_pairs([(Role::Reader, "r"), (Role::Writer, "w")]),
        false,
        8,
        GrpcMetrics::register(&mut registry),
        "test.autointel",
        &[],
    );
    let release = Arc::new(Notify::new());
    let mut service = layer.layer(Held(release.clone()));
    let call = |token: Option<&str>, path: &str| {
        let mut request = request(path);
        if let Some(token) = token {
            request.headers_mut().insert(
                http::header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
        }
        request
    };
    let create = "/autointel.registry.v1.RegistryService/CreateOrganization";
    let refused = service.call(call(None, create)).await.unwrap();
    assert_eq!(grpc_status(&refused), Some("16"), "UNAUTHENTICATED");
    let refused = service.call(call(Some("x"), create)).await.unwrap();
    assert_eq!(grpc_status(&refused), Some("16"), "UNAUTHENTICATED");
    let refused = service.call(call(Some("r"), create)).await.unwrap();
    assert_eq!(grpc_status(&refused), Some("7"), "PERMISSION_DENIED");

    let admitted = [
        service.call(call(Some("w"), create)),
        service.call(call(
            Some("r"),
            "/autointel.registry.v1.RegistryService/GetOrganization",
        )),
        service.call(call(None, "/grpc.health.v1.Health/Check")),
        service.call(call(
            None,
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        )),
    ]
    .map(tokio::spawn);
    tokio::time::sleep(Duration::from_millis(50)).await;
    release.notify_waiters();
    for handle in admitted {
        assert_eq!(grpc_status(&handle.await.unwrap().unwrap()), None);
    }
}
