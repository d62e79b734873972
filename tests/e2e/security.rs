//! Security over the real binaries:
//!
//! - every method of both services, enumerated from the descriptor set (so a new RPC
//!   cannot slip through), refuses calls without a token or with an unknown one
//!   (UNAUTHENTICATED), refuses a reader on anything that is not a query
//!   (PERMISSION_DENIED; queries are the `Get`/`List`/`Lookup`/`Compute`/`Watch`/`Diff` verbs,
//!   and Arrow Flight's reading methods, allow-lists kept here independently of the
//!   server's rule) and never refuses a writer for auth reasons; health needs no token;
//! - with `RUST_LOG=debug`, no token (client, stats → registry, or a wrong one) ever
//!   appears in either server's output, nor in the CLI's;
//! - SQL-looking text is stored and returned verbatim and text filters treat `%`, `_`
//!   and quotes literally (SQLite and PostgreSQL).

use std::collections::BTreeSet;
use std::io::Write as _;

use autointel_proto::registry as rwire;
use autointel_proto::stats as swire;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::harness::{Backend, Options, Stack, channel, on_each_backend};
use crate::raw::{Method, call, methods};

const READER: &str = "reader-9f1c4e2b7a6d8053-secret";
const WRITER: &str = "writer-3b8e0d9a51c27f64-secret";
const STATS_TO_REGISTRY: &str = "stats-to-registry-7c2a9e41d05b-secret";
const WRONG: &str = "wrong-5e6f7a8b9c0d1e2f-secret";

/// Verbs of methods a reader may call; everything else needs a writer.
const READ_VERBS: [&str; 7] = [
    "Get", "BatchGet", "List", "Lookup", "Compute", "Watch", "Diff",
];

/// Arrow Flight's methods a reader may call (its verbs say nothing about writing: `DoGet`
/// reads, `DoPut` and `DoAction` may write).
const FLIGHT_READS: [&str; 7] = [
    "Handshake",
    "ListFlights",
    "GetFlightInfo",
    "PollFlightInfo",
    "GetSchema",
    "DoGet",
    "ListActions",
];

fn is_read(method: &Method) -> bool {
    if method.service == "arrow.flight.protocol.FlightService" {
        return FLIGHT_READS.contains(&method.name.as_str());
    }
    READ_VERBS.iter().any(|v| method.name.starts_with(v))
}

fn secured() -> Options {
    let mut options = Options::default()
        .registry_env(
            "AUTOINTEL_AUTH__TOKENS",
            &format!("reader:{READER},writer:{WRITER},reader:{STATS_TO_REGISTRY}"),
        )
        .registry_env("RUST_LOG", "debug")
        .stats_env(
            "AUTOINTEL_AUTH__TOKENS",
            &format!("reader:{READER},writer:{WRITER}"),
        )
        .stats_env("AUTOINTEL_REGISTRY__TOKEN", STATS_TO_REGISTRY)
        .stats_env("RUST_LOG", "debug");
    options.cli_token = Some(WRITER.to_owned());
    options
}

fn is_auth_error(code: Code) -> bool {
    matches!(code, Code::Unauthenticated | Code::PermissionDenied)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_checks_tokens_and_roles_and_no_secret_is_logged() {
    let stack = Stack::start_with(&Backend::Sqlite, true, secured()).await;
    let registry = channel(&stack.registry.url()).await.expect("registry");
    let stats = channel(&stack.stats.url()).await.expect("stats");

    let all = methods();
    let services: BTreeSet<&str> = all.iter().map(|m| m.service.as_str()).collect();
    assert_eq!(
        services,
        BTreeSet::from([
            "arrow.flight.protocol.FlightService",
            "autointel.registry.v1.RegistryService",
            "autointel.stats.v1.StatsService"
        ])
    );
    assert!(
        all.iter().any(|m| m.client_streaming) && all.iter().any(|m| m.server_streaming),
        "the enumeration includes the streaming methods"
    );

    let mut problems = Vec::new();
    for method in &all {
        let channel = if method.service.contains("registry") {
            &registry
        } else {
            &stats
        };
        // An empty body is a valid protobuf message of any type (every field default).
        for (who, token) in [("no token", None), ("a wrong token", Some(WRONG))] {
            match call(channel, method, Vec::new(), token).await {
                Err(s) if s.code() == Code::Unauthenticated => {}
                other => problems.push(format!(
                    "{} with {who}: {other:?}, want UNAUTHENTICATED",
                    method.path()
                )),
            }
        }
        let reader = call(channel, method, Vec::new(), Some(READER)).await;
        match (&reader, is_read(method)) {
            (Err(s), false) if s.code() == Code::PermissionDenied => {}
            (_, false) => problems.push(format!(
                "{} with a reader token: {reader:?}, want PERMISSION_DENIED",
                method.path()
            )),
            (Err(s), true) if is_auth_error(s.code()) => problems.push(format!(
                "{} (a query) refused a reader: {s:?}",
                method.path()
            )),
            (_, true) => {}
        }
        match call(channel, method, Vec::new(), Some(WRITER)).await {
            Err(s) if is_auth_error(s.code()) => {
                problems.push(format!("{} refused a writer: {s:?}", method.path()))
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Health needs no token.
    for url in [stack.registry.url(), stack.stats.url()] {
        HealthClient::new(channel(&url).await.expect("channel"))
            .check(HealthCheckRequest::default())
            .await
            .expect("health without a token");
    }

    // Calls that make stats use its registry token, and a CLI call with a wrong token.
    let out = stack.cli().run(&[
        "rollup",
        "--org",
        "nissan-china",
        "--basis",
        "company_reported",
        "--period",
        "2023-01..2023-11",
    ]);
    out.assert_success();
    let refused =
        crate::harness::Cli::new(&stack.registry.url(), &stack.stats.url(), stack.dir.path()).run(
            &[
                "--token",
                WRONG,
                "total",
                "--org",
                "nissan-china",
                "--basis",
                "company_reported",
                "--period",
                "2023-01..2023-11",
            ],
        );
    assert_ne!(refused.code, 0, "{refused}");
    for (name, text) in [
        ("registry-server", stack.registry.process.describe()),
        ("stats-server", stack.stats.process.describe()),
        (
            "autointel (refused)",
            refused.to_string().replace(WRONG, ""),
        ),
    ] {
        assert!(
            text.contains("DEBUG") || name.starts_with("autointel"),
            "{name} logs at debug"
        );
        for secret in [READER, WRITER, STATS_TO_REGISTRY, WRONG] {
            assert!(
                !text.contains(secret),
                "{name}'s output contains a token ({secret})"
            );
        }
    }
    // The CLI's own output (not its echoed arguments) must not carry the token either.
    assert!(!refused.stdout.contains(WRONG) && !refused.stderr.contains(WRONG));
    let _ = writeln!(
        std::io::stderr(),
        "security: {} methods × (no token, wrong token, reader, writer) checked",
        all.len()
    );
}

on_each_backend!(sql_looking_text_is_stored_verbatim_and_filters_literally);

const NASTY: &str = "'); DROP TABLE organizations; --";

async fn sql_looking_text_is_stored_verbatim_and_filters_literally(backend: Backend) {
    let stack = Stack::start(&backend, true).await;
    let mut registry = stack.registry_client().await;
    let aliases = vec![
        "100% Motors".to_owned(),
        "under_score".to_owned(),
        "O'Brien \"Quoted\" \\ Backslash".to_owned(),
        "' OR '1'='1".to_owned(),
    ];
    let created = registry
        .create_organization(rwire::CreateOrganizationRequest {
            organization: Some(rwire::Organization {
                kind: rwire::OrganizationKind::Automaker as i32,
                english_name: NASTY.to_owned(),
                chinese_name: "汽车'; DELETE FROM sales_figures; --".to_owned(),
                aliases: aliases.clone(),
                country_code: "CN".to_owned(),
                ..Default::default()
            }),
            organization_id: "sql-literal".to_owned(),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .expect("create")
        .into_inner();
    let got = registry
        .get_organization(rwire::GetOrganizationRequest {
            name: "organizations/sql-literal".to_owned(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, created);
    assert_eq!(got.english_name, NASTY);
    assert_eq!(got.aliases, aliases);

    let everything = registry
        .list_organizations(rwire::ListOrganizationsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .organizations;
    assert!(everything.len() > 10, "the table is still there");
    for text in [
        "%",
        "_",
        "'",
        "\"",
        "\\",
        "--",
        "' OR '1'='1",
        "100%",
        "r_s",
        "DROP TABLE",
    ] {
        let listed: BTreeSet<String> = registry
            .list_organizations(rwire::ListOrganizationsRequest {
                page_size: 1000,
                text: text.to_owned(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("list text={text:?}: {e:?}"))
            .into_inner()
            .organizations
            .into_iter()
            .map(|o| o.name)
            .collect();
        let needle = text.to_lowercase();
        let literal: BTreeSet<String> = everything
            .iter()
            .filter(|o| {
                std::iter::once(&o.english_name)
                    .chain(std::iter::once(&o.chinese_name))
                    .chain(o.aliases.iter())
                    .any(|n| n.to_lowercase().contains(&needle))
            })
            .map(|o| o.name.clone())
            .collect();
        assert_eq!(listed, literal, "text filter {text:?} is literal");
    }
    for (query, expected) in [(NASTY, 1), ("%", 0), ("_", 0), ("' OR '1'='1", 1)] {
        let found = registry
            .lookup_organizations(rwire::LookupOrganizationsRequest {
                query: query.to_owned(),
            })
            .await
            .expect("lookup")
            .into_inner()
            .organizations;
        assert_eq!(found.len(), expected, "lookup {query:?}: {found:?}");
    }

    // A note in stats, through the import path (bulk COPY on PostgreSQL).
    let mut stats = stack.stats_client().await;
    let note = "'); DROP TABLE sales_figures; -- 100% _x_ \\N \t\"q\"";
    let month = autointel_proto::types::YearMonth {
        year: 2020,
        month: 3,
    };
    let figure = swire::SalesFigure {
        series: Some(autointel_proto::types::SeriesKey {
            market: "SQL".to_owned(),
            ..crate::faults::nissan_china()
        }),
        period: Some(autointel_proto::types::MonthRange {
            start: Some(month),
            end: Some(month),
        }),
        quantity: Some(swire::sales_figure::Quantity::Units(7)),
        source: crate::flows::SOURCE.to_owned(),
        stage: swire::ReleaseStage::Final as i32,
        as_of_date: Some(autointel_proto::google::r#type::Date {
            year: 2020,
            month: 4,
            day: 1,
        }),
        note: note.to_owned(),
        ..Default::default()
    };
    stats
        .import_sales_figures(tokio_stream::iter([swire::ImportSalesFiguresRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            figures: vec![figure],
        }]))
        .await
        .expect("import");
    let listed = stats
        .list_sales_figures(swire::ListSalesFiguresRequest {
            market: "SQL".to_owned(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .sales_figures;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].note, note);
    // And after a restart, read back from the database rather than the engine.
    let mut stack = stack;
    stack.restart(crate::harness::Stop::Term).await;
    let reread = stack
        .stats_client()
        .await
        .get_sales_figure(swire::GetSalesFigureRequest {
            name: listed[0].name.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(reread.note, note);
}
