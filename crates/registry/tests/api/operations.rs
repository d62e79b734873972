//! Auth, TLS, health on shutdown and metrics: the server plumbing from autointel-server as
//! the registry wires it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use autointel_proto::registry as wire;
use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_registry::{Application, Settings};
use autointel_server::settings::Secret;
use autointel_testkit::metrics::{sample, scrape};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const HEALTH_NAME: &str = "autointel.registry.v1.RegistryService";

struct Running {
    addr: SocketAddr,
    metrics: Option<SocketAddr>,
    health: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.common.auth.disabled = true;
    settings.common.server.listen_address = "127.0.0.1:0".parse().unwrap();
    settings.common.database.url = "sqlite::memory:".to_owned();
    settings
}

async fn start(settings: Settings) -> Running {
    let app = Application::build(settings).await.expect("registry builds");
    let addr = app.local_addr();
    let metrics = app.metrics_addr();
    let health = app.health_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        app.serve_until(async {
            let _ = stopped.await;
        })
        .await
        .expect("registry serves and stops cleanly");
    });
    Running {
        addr,
        metrics,
        health,
        stop: Some(stop),
        task,
    }
}

/// One `ListOrganizations` call over a fresh connection to `endpoint`.
async fn list_once(endpoint: Endpoint) -> Result<(), Box<dyn std::error::Error>> {
    let channel = endpoint.connect().await?;
    RegistryServiceClient::new(channel)
        .list_organizations(wire::ListOrganizationsRequest::default())
        .await?;
    Ok(())
}

async fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn with_token(
    request: wire::ListOrganizationsRequest,
    token: Option<&str>,
) -> Request<wire::ListOrganizationsRequest> {
    let mut request = Request::new(request);
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

fn create(id: &str, token: &str) -> Request<wire::CreateOrganizationRequest> {
    let mut request = Request::new(wire::CreateOrganizationRequest {
        organization: Some(crate::fixtures::org(&format!("Organisation {id}"))),
        organization_id: id.to_owned(),
        request_id: String::new(),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

async fn health_of(channel: Channel, service: &str) -> ServingStatus {
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .expect("health answers without a token")
        .into_inner();
    ServingStatus::try_from(response.status).unwrap()
}

#[tokio::test]
async fn reader_cannot_write_no_token_is_unauthenticated_and_health_needs_none() {
    let mut settings = settings();
    settings.common.auth.disabled = false;
    settings.common.auth.tokens = Some(Secret(
        "reader:reader-secret,writer:writer-secret".to_owned(),
    ));
    let server = start(settings).await;
    let channel = channel(server.addr).await;
    let mut client = RegistryServiceClient::new(channel.clone());

    let none = client
        .list_organizations(with_token(Default::default(), None))
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated, "{none:?}");
    let wrong = client
        .list_organizations(with_token(Default::default(), Some("reader-secre")))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");
    assert!(!wrong.message().contains("reader-secre"));

    client
        .list_organizations(with_token(Default::default(), Some("reader-secret")))
        .await
        .expect("a reader may query");
    let denied = client
        .create_organization(create("reader-made", "reader-secret"))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    client
        .create_organization(create("writer-made", "writer-secret"))
        .await
        .expect("a writer may create");
    let listed = client
        .list_organizations(with_token(Default::default(), Some("writer-secret")))
        .await
        .expect("a writer may also read")
        .into_inner();
    assert_eq!(listed.organizations.len(), 1);

    assert_eq!(health_of(channel.clone(), "").await, ServingStatus::Serving);
    assert_eq!(
        health_of(channel, HEALTH_NAME).await,
        ServingStatus::Serving
    );
}

#[tokio::test]
async fn health_turns_not_serving_on_shutdown_before_connections_drain() {
    let mut settings = settings();
    settings.common.server.drain_delay_ms = 1_500;
    let mut server = start(settings).await;
    let channel = channel(server.addr).await;
    assert_eq!(health_of(channel.clone(), "").await, ServingStatus::Serving);

    let _ = server.stop.take().unwrap().send(());
    // Within the drain delay the server still accepts and answers, reporting NOT_SERVING.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        if health_of(channel.clone(), "").await == ServingStatus::NotServing {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still SERVING");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        health_of(channel.clone(), HEALTH_NAME).await,
        ServingStatus::NotServing
    );
    let fresh = Endpoint::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .expect("new connections are still accepted while draining");
    assert_eq!(health_of(fresh, "").await, ServingStatus::NotServing);
    assert!(!server.task.is_finished(), "stopped before the drain delay");

    tokio::time::timeout(Duration::from_secs(10), &mut server.task)
        .await
        .expect("stops after the drain delay")
        .unwrap();
    assert!(
        Endpoint::from_shared(format!("http://{}", server.addr))
            .unwrap()
            .connect()
            .await
            .is_err(),
        "a stopped server refuses connections"
    );
}

#[tokio::test]
async fn metrics_endpoint_counts_requests_by_method_and_code() {
    let mut settings = settings();
    settings.common.server.metrics_address = Some("127.0.0.1:0".parse().unwrap());
    let server = start(settings).await;
    let metrics = server.metrics.expect("metrics are served");
    let mut client = RegistryServiceClient::new(channel(server.addr).await);
    let ok = [r#"method="ListOrganizations""#, r#"code="OK""#];
    let not_found = [r#"method="GetOrganization""#, r#"code="NOT_FOUND""#];

    let before = scrape(metrics).await;
    assert!(
        before
            .to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text"),
        "the content type says OpenMetrics, as the body is:\n{before}"
    );
    assert!(before.trim_end().ends_with("# EOF"), "{before}");
    for (metric, at_least) in [
        ("process_resident_memory_bytes", 1_000_000.0),
        ("process_open_fds", 3.0),
        ("process_cpu_seconds_total", 0.0),
        ("process_start_time_seconds", 1.0),
        ("autointel_db_pool_max_connections", 1.0),
        ("autointel_store_writable", 1.0),
    ] {
        let value = sample(&before, metric, &[]);
        assert!(
            before.lines().any(|l| l.starts_with(metric)) && value >= at_least,
            "{metric} = {value}:\n{before}"
        );
    }
    assert!(
        before.contains("autointel_build_info{version=\"")
            && before.contains(&format!("revision=\"{}\"", autointel_server::GIT_REVISION)),
        "{before}"
    );

    for _ in 0..3 {
        client
            .list_organizations(wire::ListOrganizationsRequest::default())
            .await
            .unwrap();
    }
    let missing = client
        .get_organization(wire::GetOrganizationRequest {
            name: "organizations/nobody".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let after = scrape(metrics).await;
    assert!(
        after.contains("le=\"0.0001\""),
        "latency buckets resolve sub-millisecond answers: {after}"
    );

    assert_eq!(
        sample(&after, "grpc_requests_total", &ok) - sample(&before, "grpc_requests_total", &ok),
        3.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, "grpc_requests_total", &not_found)
            - sample(&before, "grpc_requests_total", &not_found),
        1.0,
        "{after}"
    );
    assert!(
        sample(
            &after,
            "grpc_request_duration_seconds_count",
            &[r#"method="ListOrganizations""#]
        ) >= 3.0,
        "{after}"
    );
    assert!(after.contains("grpc_requests_in_flight"), "{after}");
}

pub(super) use autointel_testkit::pki::Pki;

fn pem(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn mutual_tls_serves_clients_with_a_certificate_and_refuses_others() {
    let pki = Pki::generate();
    let mut settings = settings();
    settings.common.tls.cert_file = Some(pki.path("server.pem"));
    settings.common.tls.key_file = Some(pki.path("server.key"));
    settings.common.tls.client_ca_file = Some(pki.path("ca.pem"));
    let server = start(settings).await;
    let url = format!("https://localhost:{}", server.addr.port());
    let ca = Certificate::from_pem(pem(&pki.path("ca.pem")));

    let channel = Endpoint::from_shared(url.clone())
        .unwrap()
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(ca.clone())
                .identity(Identity::from_pem(
                    pki.read("client.pem"),
                    pki.read("client.key"),
                ))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .expect("a client with a certificate connects over TLS");
    let mut client = RegistryServiceClient::new(channel.clone());
    client
        .list_organizations(wire::ListOrganizationsRequest::default())
        .await
        .expect("queries work over mutual TLS");
    assert_eq!(health_of(channel, "").await, ServingStatus::Serving);

    // No client certificate: the handshake (or the first call) fails.
    let anonymous = list_once(
        Endpoint::from_shared(url.clone())
            .unwrap()
            .tls_config(
                ClientTlsConfig::new()
                    .ca_certificate(ca)
                    .domain_name("localhost"),
            )
            .unwrap(),
    );
    assert!(
        anonymous.await.is_err(),
        "mutual TLS admits no anonymous client"
    );

    // Plain text to a TLS port fails too.
    let plain = list_once(Endpoint::from_shared(format!("http://{}", server.addr)).unwrap());
    assert!(plain.await.is_err());
}

/// Watch streams: a cap on open streams, a cursor past the end refused (naming the
/// end), and every open stream ended with UNAVAILABLE as soon as draining starts, so
/// that shutdown does not wait out the grace period for them.
#[tokio::test]
async fn watch_streams_are_capped_checked_and_end_when_draining_starts() {
    let mut settings = settings();
    settings.watch.max_subscribers = 2;
    settings.common.server.shutdown_grace_seconds = 20;
    let mut server = start(settings).await;
    let mut client = RegistryServiceClient::new(channel(server.addr).await);
    let watch = |cursor: String| wire::WatchEventsRequest { cursor };
    let mut first = client
        .watch_events(watch(String::new()))
        .await
        .expect("first stream")
        .into_inner();
    let second = client
        .watch_events(watch(String::new()))
        .await
        .expect("second stream")
        .into_inner();
    let refused = client
        .watch_events(watch(String::new()))
        .await
        .expect_err("over the cap");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("limit 2"), "{refused:?}");

    drop(second);
    let past_end = autointel_registry::service::encode_cursor(1_000_000);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let refused = loop {
        match client.watch_events(watch(past_end.clone())).await {
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert!(tokio::time::Instant::now() < deadline, "slot not freed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(status) => break status,
            Ok(_) => panic!("a cursor past the end was accepted"),
        }
    };
    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
    let end = autointel_registry::service::encode_cursor(0);
    assert!(
        refused.message().contains(&end),
        "names the end: {refused:?}"
    );

    let stopping = std::time::Instant::now();
    let _ = server.stop.take().expect("running").send(());
    let ended = tokio::time::timeout(Duration::from_secs(5), first.message())
        .await
        .expect("the stream ends when draining starts");
    let status = ended.expect_err("ended with a status");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    tokio::time::timeout(Duration::from_secs(5), &mut server.task)
        .await
        .expect("shutdown does not wait for watch streams")
        .expect("clean stop");
    assert!(stopping.elapsed() < Duration::from_secs(5));
}

/// A rotated tokens file is put in force without a restart; a broken one keeps the
/// tokens in force.
#[tokio::test]
async fn rotated_tokens_are_picked_up_and_a_broken_rotation_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.toml");
    let file = |token: &str| format!("[[tokens]]\ntoken = \"{token}\"\nrole = \"reader\"\n");
    std::fs::write(&path, file("old-token")).unwrap();
    let mut settings = settings();
    settings.common.auth.disabled = false;
    settings.common.auth.tokens_file = Some(path.clone());
    settings.common.auth.reload_interval_seconds = 1;
    let server = start(settings).await;
    let mut client = RegistryServiceClient::new(channel(server.addr).await);
    let list = |token: &str| with_token(wire::ListOrganizationsRequest::default(), Some(token));
    client
        .list_organizations(list("old-token"))
        .await
        .expect("old token");

    std::fs::write(&path, file("new-token")).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while client.list_organizations(list("new-token")).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new token was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let old = client
        .list_organizations(list("old-token"))
        .await
        .unwrap_err();
    assert_eq!(
        old.code(),
        Code::Unauthenticated,
        "the old token is retired"
    );

    std::fs::write(&path, "this is not toml [[").unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    client
        .list_organizations(list("new-token"))
        .await
        .expect("a broken file keeps the tokens in force");
}

/// A renewed certificate (here: one from another CA, with the client CA renewed too)
/// is served to new connections without a restart; a half-written renewal keeps the
/// configuration in force.
#[tokio::test]
async fn renewed_certificates_are_served_without_a_restart() {
    let (old, new) = (Pki::generate(), Pki::generate());
    let live = Pki::generate(); // the files the server reads, overwritten in place
    for file in ["server.pem", "server.key", "ca.pem"] {
        std::fs::write(live.path(file), old.read(file)).unwrap();
    }
    let mut settings = settings();
    settings.common.tls.cert_file = Some(live.path("server.pem"));
    settings.common.tls.key_file = Some(live.path("server.key"));
    settings.common.tls.client_ca_file = Some(live.path("ca.pem"));
    settings.common.tls.reload_interval_seconds = 1;
    let server = start(settings).await;
    let url = format!("https://localhost:{}", server.addr.port());
    let connect = |pki: &Pki| {
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(pki.read("ca.pem")))
            .identity(Identity::from_pem(
                pki.read("client.pem"),
                pki.read("client.key"),
            ))
            .domain_name("localhost");
        let endpoint = Endpoint::from_shared(url.clone())
            .unwrap()
            .tls_config(tls)
            .unwrap();
        list_once(endpoint)
    };
    connect(&old)
        .await
        .expect("the first certificate is served");
    assert!(connect(&new).await.is_err(), "not yet renewed");

    // a half-written renewal: the key is missing its end
    std::fs::write(live.path("server.key"), &new.read("server.key")[..40]).unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    connect(&old)
        .await
        .expect("a broken renewal keeps the configuration in force");

    for file in ["server.pem", "server.key", "ca.pem"] {
        std::fs::write(live.path(file), new.read(file)).unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while connect(&new).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renewal was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        connect(&old).await.is_err(),
        "the old certificate is retired"
    );
}

/// gRPC-Web, when on: a browser's HTTP/1.1 call is answered with the same tokens and
/// roles, a preflight from an allowed origin is answered without a token, another origin
/// gets no CORS grant; when off, HTTP/1.1 is refused.
#[tokio::test]
async fn grpc_web_is_answered_when_on_and_refused_when_off() {
    use autointel_testkit::grpc_web::{frame, http1};
    let path = "/autointel.registry.v1.RegistryService/ListOrganizations";
    let web = [
        ("content-type", "application/grpc-web+proto"),
        ("x-grpc-web", "1"),
        ("origin", "https://dash.example"),
    ];

    let mut settings = settings();
    settings.common.auth.disabled = false;
    settings.common.auth.tokens = Some(Secret("reader:web-reader".to_owned()));
    settings.common.server.grpc_web = true;
    settings.common.server.cors_allowed_origins = vec!["https://dash.example".to_owned()];
    let server = start(settings).await;

    let mut with_token = web.to_vec();
    with_token.push(("authorization", "Bearer web-reader"));
    let ok = http1(server.addr, "POST", path, &with_token, &frame(&[]))
        .await
        .unwrap();
    assert!(ok.status_line.contains("200"), "{ok:?}");
    assert!(
        ok.header("content-type")
            .is_some_and(|c| c.starts_with("application/grpc-web")),
        "{ok:?}"
    );
    assert_eq!(ok.grpc_status().as_deref(), Some("0"), "{ok:?}");
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://dash.example")
    );
    assert!(
        ok.header("access-control-expose-headers")
            .is_some_and(|h| h.contains("grpc-status")),
        "scripts may read the status: {ok:?}"
    );

    let refused = http1(server.addr, "POST", path, &web, &frame(&[]))
        .await
        .unwrap();
    assert_eq!(
        refused.grpc_status().as_deref(),
        Some("16"),
        "UNAUTHENTICATED without a token"
    );

    let preflight = http1(
        server.addr,
        "OPTIONS",
        path,
        &[
            ("origin", "https://dash.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type,x-grpc-web",
            ),
        ],
        &[],
    )
    .await
    .unwrap();
    assert!(preflight.status_line.contains("200"), "{preflight:?}");
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://dash.example")
    );
    let stranger = http1(
        server.addr,
        "OPTIONS",
        path,
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        stranger.header("access-control-allow-origin"),
        None,
        "{stranger:?}"
    );

    let off = start(self::settings()).await;
    let answer = http1(off.addr, "POST", path, &web, &frame(&[])).await;
    assert!(
        answer
            .as_ref()
            .map_or(true, |a| !a.status_line.contains("200")),
        "gRPC-Web is off by default: {answer:?}"
    );
}

/// Under mutual TLS the kubelet's plaintext gRPC probes use the health-only port: it
/// answers without TLS, certificate or token, and serves nothing but health.
#[tokio::test]
async fn the_plaintext_health_port_answers_probes_under_mutual_tls() {
    let pki = Pki::generate();
    let mut settings = settings();
    settings.common.tls.cert_file = Some(pki.path("server.pem"));
    settings.common.tls.key_file = Some(pki.path("server.key"));
    settings.common.tls.client_ca_file = Some(pki.path("ca.pem"));
    settings.common.server.health_address = Some("127.0.0.1:0".parse().unwrap());
    let server = start(settings).await;
    let health = server.health.expect("a health port is bound");
    assert_ne!(health, server.addr);
    let plain = channel(health).await;
    for name in ["", HEALTH_NAME, autointel_server::LIVENESS] {
        assert_eq!(
            health_of(plain.clone(), name).await,
            ServingStatus::Serving,
            "{name:?}"
        );
    }
    let refused = RegistryServiceClient::new(plain)
        .list_organizations(wire::ListOrganizationsRequest::default())
        .await
        .expect_err("the health port serves health only");
    assert_eq!(refused.code(), Code::Unimplemented, "{refused:?}");
}
