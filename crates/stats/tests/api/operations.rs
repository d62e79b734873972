//! Operations: auth, stats -> registry with its own token over mutual TLS, the registry
//! dependency's health, metrics.

use std::net::SocketAddr;
use std::time::Duration;

use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_proto::stats::{self as wire};
use autointel_server::settings::Secret;
use autointel_stats::{Application, REGISTRY_DEPENDENCY, Settings};
use tokio::sync::oneshot;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::fixtures::{figures, new_id, seed_figures};
use crate::harness::{sample, scrape};

struct Running {
    addr: SocketAddr,
    metrics: Option<SocketAddr>,
    _stop: oneshot::Sender<()>,
}

async fn start_registry(settings: autointel_registry::Settings) -> Running {
    let app = autointel_registry::Application::build(settings)
        .await
        .expect("registry builds");
    let (addr, metrics) = (app.local_addr(), app.metrics_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.serve_until(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        metrics,
        _stop: stop,
    }
}

fn registry_settings() -> autointel_registry::Settings {
    let mut settings = autointel_registry::Settings::default();
    settings.common.auth.disabled = true;
    settings.common.server.listen_address = "127.0.0.1:0".parse().unwrap();
    settings.common.database.url = "sqlite::memory:".to_owned();
    settings.seed.load = true;
    settings
}

fn stats_settings(registry: &str) -> Settings {
    let mut settings = Settings::default();
    settings.common.auth.disabled = true;
    settings.common.server.listen_address = "127.0.0.1:0".parse().unwrap();
    settings.common.database.url = "sqlite::memory:".to_owned();
    settings.registry.endpoint = registry.to_owned();
    settings.registry.refresh_interval_ms = 50;
    settings.engine.refresh_interval_ms = 200;
    settings
}

async fn start_stats(settings: Settings) -> Running {
    let app = Application::build(settings).await.expect("stats builds");
    let (addr, metrics) = (app.local_addr(), app.metrics_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.serve_until(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        metrics,
        _stop: stop,
    }
}

#[derive(Clone)]
struct Bearer(Option<&'static str>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = self.0 {
            let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

type Client = StatsServiceClient<InterceptedService<Channel, Bearer>>;

async fn client(addr: SocketAddr, token: Option<&'static str>) -> (Client, Channel) {
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    (
        StatsServiceClient::with_interceptor(channel.clone(), Bearer(token)),
        channel,
    )
}

async fn import(client: &mut Client, figures: Vec<wire::SalesFigure>) -> Result<i64, Status> {
    let request = wire::ImportSalesFiguresRequest {
        request_id: new_id(),
        figures,
    };
    client
        .import_sales_figures(tokio_stream::iter([request]))
        .await
        .map(|r| r.into_inner().imported_count)
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

async fn wait_for_health(channel: &Channel, service: &str, wanted: ServingStatus) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while health_of(channel.clone(), service).await != wanted {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{service:?} never became {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_reader_cannot_import_no_token_is_unauthenticated_and_health_needs_none() {
    let registry = start_registry(registry_settings()).await;
    let mut settings = stats_settings(&format!("http://{}", registry.addr));
    settings.common.auth.disabled = false;
    settings.common.auth.tokens =
        Some(Secret("reader:stats-reader,writer:stats-writer".to_owned()));
    let stats = start_stats(settings).await;

    let (mut anonymous, channel) = client(stats.addr, None).await;
    let status = anonymous
        .list_sales_figures(wire::ListSalesFiguresRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(
        import(&mut anonymous, seed_figures())
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );

    let (mut reader, _) = client(stats.addr, Some("stats-reader")).await;
    reader
        .list_sales_figures(wire::ListSalesFiguresRequest::default())
        .await
        .expect("a reader may query");
    let denied = import(&mut reader, seed_figures()).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    let (mut writer, _) = client(stats.addr, Some("stats-writer")).await;
    assert!(
        import(&mut writer, seed_figures())
            .await
            .expect("a writer imports")
            > 0
    );

    assert_eq!(health_of(channel.clone(), "").await, ServingStatus::Serving);
    assert_eq!(
        health_of(channel, autointel_stats::SERVICE_NAME).await,
        ServingStatus::Serving
    );
}

use autointel_testkit::pki::Pki;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_calls_registry_with_its_own_token_over_mutual_tls() {
    let pki = Pki::generate();
    let mut registry_settings = registry_settings();
    registry_settings.common.auth.disabled = false;
    registry_settings.common.auth.tokens = Some(Secret("reader:stats-to-registry".to_owned()));
    registry_settings.common.tls.cert_file = Some(pki.path("server.pem"));
    registry_settings.common.tls.key_file = Some(pki.path("server.key"));
    registry_settings.common.tls.client_ca_file = Some(pki.path("ca.pem"));
    let registry = start_registry(registry_settings).await;

    let token_file = pki.path("registry-token");
    std::fs::write(&token_file, "stats-to-registry\n").unwrap();
    let mut settings = stats_settings(&format!("https://localhost:{}", registry.addr.port()));
    settings.registry.token_file = Some(token_file);
    settings.registry.tls.ca_file = Some(pki.path("ca.pem"));
    settings.registry.tls.cert_file = Some(pki.path("client.pem"));
    settings.registry.tls.key_file = Some(pki.path("client.key"));
    let stats = start_stats(settings).await;

    let (mut writer, channel) = client(stats.addr, None).await;
    wait_for_health(&channel, REGISTRY_DEPENDENCY, ServingStatus::Serving).await;
    // Every organisation and source of the import is checked with the registry.
    assert!(
        import(&mut writer, seed_figures())
            .await
            .expect("import checks the registry")
            > 0
    );

    // Without the token registry refuses stats; the import cannot be checked.
    let mut tokenless = stats_settings(&format!("https://localhost:{}", registry.addr.port()));
    tokenless.registry.tls.ca_file = Some(pki.path("ca.pem"));
    tokenless.registry.tls.cert_file = Some(pki.path("client.pem"));
    tokenless.registry.tls.key_file = Some(pki.path("client.key"));
    let tokenless = start_stats(tokenless).await;
    let (mut tokenless, _) = client(tokenless.addr, None).await;
    assert!(import(&mut tokenless, seed_figures()).await.is_err());
}

/// stats' token towards registry (and its TLS files) are read again when they change:
/// a rotation needs no restart of stats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_registry_token_is_picked_up_without_a_restart() {
    let mut registry_settings = registry_settings();
    registry_settings.common.auth.disabled = false;
    registry_settings.common.auth.tokens = Some(Secret("reader:new-token".to_owned()));
    let registry = start_registry(registry_settings).await;

    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("registry-token");
    std::fs::write(&token_file, "old-token\n").unwrap();
    let mut settings = stats_settings(&format!("http://{}", registry.addr));
    settings.registry.token_file = Some(token_file.clone());
    settings.common.auth.reload_interval_seconds = 1;
    let stats = start_stats(settings).await;
    let (mut writer, _) = client(stats.addr, None).await;
    assert!(
        import(&mut writer, seed_figures()).await.is_err(),
        "the registry refuses the old token"
    );

    std::fs::write(&token_file, "new-token\n").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match import(&mut writer, seed_figures()).await {
            Ok(n) => {
                assert!(n > 0);
                break;
            }
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "the rotated token was not picked up: {e:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// gRPC-Web on stats, when on: a browser's HTTP/1.1 call with a token is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_is_answered_on_stats_when_on() {
    use autointel_testkit::grpc_web::{frame, http1};
    let registry = start_registry(registry_settings()).await;
    let mut settings = stats_settings(&format!("http://{}", registry.addr));
    settings.common.auth.disabled = false;
    settings.common.auth.tokens = Some(Secret("reader:web-reader".to_owned()));
    settings.common.server.grpc_web = true;
    settings.common.server.cors_allowed_origins = vec!["https://dash.example".to_owned()];
    let stats = start_stats(settings).await;
    let answer = http1(
        stats.addr,
        "POST",
        "/autointel.stats.v1.StatsService/ListSalesFigures",
        &[
            ("content-type", "application/grpc-web+proto"),
            ("origin", "https://dash.example"),
            ("authorization", "Bearer web-reader"),
        ],
        &frame(&[]),
    )
    .await
    .unwrap();
    assert!(answer.status_line.contains("200"), "{answer:?}");
    assert_eq!(answer.grpc_status().as_deref(), Some("0"), "{answer:?}");
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://dash.example")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_dependency_health_follows_registry_while_stats_stays_serving() {
    let registry = start_registry(registry_settings()).await;
    let stats = start_stats(stats_settings(&format!("http://{}", registry.addr))).await;
    let (_, channel) = client(stats.addr, None).await;
    wait_for_health(&channel, REGISTRY_DEPENDENCY, ServingStatus::Serving).await;

    drop(registry);
    wait_for_health(&channel, REGISTRY_DEPENDENCY, ServingStatus::NotServing).await;
    assert_eq!(health_of(channel.clone(), "").await, ServingStatus::Serving);
    assert_eq!(
        health_of(channel, autointel_stats::SERVICE_NAME).await,
        ServingStatus::Serving
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_balancing_spreads_registry_calls_over_every_address_and_follows_changes() {
    use std::sync::{Arc, Mutex};

    use autointel_stats::metrics::StatsMetrics;
    use autointel_stats::registry_client::{
        Balancing, RegistryClient, RegistryConnection, RegistryToken, Resolve,
    };

    let mut settings = registry_settings();
    settings.common.server.metrics_address = Some("127.0.0.1:0".parse().unwrap());
    let first = start_registry(settings.clone()).await;
    let second = start_registry(settings).await;
    let addresses = Arc::new(Mutex::new(vec![first.addr, second.addr]));
    let resolved_names = Arc::new(Mutex::new(Vec::new()));
    let resolve: Resolve = {
        let (addresses, resolved_names) = (addresses.clone(), resolved_names.clone());
        Arc::new(move |host: String, port: u16| {
            resolved_names.lock().unwrap().push((host, port));
            let list = addresses.lock().unwrap().clone();
            Box::pin(async move { Ok(list) })
        })
    };
    let client = RegistryClient::new(
        RegistryConnection {
            // a name no DNS knows: only the resolver can find the replicas
            endpoint: "http://registry.invalid:50051".to_owned(),
            timeout: Duration::from_secs(2),
            organization_ttl: Duration::from_millis(1),
            tls: None,
            token: RegistryToken::new(None).unwrap(),
            balancing: Balancing::Dns {
                refresh: Duration::from_millis(50),
                resolve,
            },
        },
        StatsMetrics::default(),
    )
    .unwrap();
    let source = autointel_domain::SourceId::parse("article-nissan-china-exports-2023").unwrap();
    let get_source = [r#"method="GetSource""#, r#"code="OK""#];
    let served = |text: &str| sample(text, "grpc_requests_total", &get_source);

    for _ in 0..40 {
        assert!(client.source(&source).await.unwrap().is_some());
    }
    let (on_first, on_second) = (
        served(&scrape(first.metrics.unwrap()).await),
        served(&scrape(second.metrics.unwrap()).await),
    );
    assert_eq!(on_first + on_second, 40.0);
    assert!(
        on_first > 0.0 && on_second > 0.0,
        "calls spread over both replicas: {on_first} and {on_second}"
    );
    assert_eq!(
        resolved_names.lock().unwrap()[0],
        ("registry.invalid".to_owned(), 50051)
    );

    // The second replica leaves the name (scaled down): later calls go to the first
    // only, and stopping the second then fails none.
    *addresses.lock().unwrap() = vec![first.addr];
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..20 {
        assert!(client.source(&source).await.unwrap().is_some());
    }
    assert_eq!(
        served(&scrape(first.metrics.unwrap()).await),
        on_first + 20.0,
        "every later call goes to the replica still resolved"
    );
    assert_eq!(
        served(&scrape(second.metrics.unwrap()).await),
        on_second,
        "nothing reached the removed replica"
    );
    drop(second);
    for _ in 0..5 {
        assert!(client.source(&source).await.unwrap().is_some());
    }

    // A failed resolution keeps the connections it has.
    addresses.lock().unwrap().clear();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(client.source(&source).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_imports_engine_size_and_registry_calls() {
    let registry = start_registry(registry_settings()).await;
    assert!(
        registry.metrics.is_none(),
        "metrics are off unless configured"
    );
    let mut settings = stats_settings(&format!("http://{}", registry.addr));
    settings.common.server.metrics_address = Some("127.0.0.1:0".parse().unwrap());
    let stats = start_stats(settings).await;
    let metrics = stats.metrics.expect("metrics are served");
    let (mut client, _) = client(stats.addr, None).await;

    let before = scrape(metrics).await;
    assert_eq!(
        sample(&before, "stats_engine_figures", &[]),
        0.0,
        "{before}"
    );
    let imported = import(&mut client, seed_figures()).await.unwrap();
    let after = scrape(metrics).await;

    let import_ok = [r#"method="ImportSalesFigures""#, r#"code="OK""#];
    assert_eq!(
        sample(&after, "grpc_requests_total", &import_ok),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, "stats_import_figures_total", &[]),
        imported as f64,
        "{after}"
    );
    // the organisations an import cites are checked in one batched call
    assert!(
        sample(
            &after,
            "stats_registry_calls_total",
            &[r#"method="BatchGetOrganizations""#, r#"outcome="ok""#]
        ) >= 1.0,
        "{after}"
    );

    // 2,500 unknown organisations: three registry calls, every one named (up to the
    // status's limit), nothing written
    let ghosts: Vec<String> = (0..2_500)
        .map(|i| {
            format!(
                "ghost-{i},wholesale,total,CN,all,all,2023-01,1,,,article-nissan-china-exports-2023,final,2023-12-17,"
            )
        })
        .collect();
    let ghosts: Vec<&str> = ghosts.iter().map(String::as_str).collect();
    let refused = import(&mut client, figures(&ghosts))
        .await
        .expect_err("unknown organisations");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let text = scrape(metrics).await;
    let batches = sample(
        &text,
        "stats_registry_calls_total",
        &[r#"method="BatchGetOrganizations""#],
    );
    assert!(batches <= 4.0, "{batches} batched calls:\n{text}");
    assert_eq!(
        sample(
            &text,
            "stats_registry_calls_total",
            &[r#"method="GetOrganization""#]
        ),
        0.0,
        "no call per organisation: {text}"
    );
    // The engine gauge follows within a refresh interval.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = scrape(metrics).await;
        if sample(&text, "stats_engine_figures", &[]) >= imported as f64 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
