//! The testkit starts real stacks: seeded or empty, on SQLite in memory or on PostgreSQL
//! (when `AUTOINTEL_TEST_POSTGRES_URL` is set), isolated from each other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;

use autointel_proto::registry::{GetOrganizationRequest, ListOrganizationsRequest};
use autointel_proto::stats::{Comparison, ComputeChangeRequest, ListSalesFiguresRequest};
use autointel_proto::types::{
    Flow, MeasureBasis, MonthRange, Powertrain, SeriesKey, VehicleScope, YearMonth,
};
use autointel_testkit::{TestStack, TestStackBuilder, postgres_url_from_env};
use sqlx::Connection as _;

fn nissan_china_jan_nov_2023_yoy() -> ComputeChangeRequest {
    ComputeChangeRequest {
        series: Some(SeriesKey {
            organization: "organizations/nissan-china".to_owned(),
            basis: MeasureBasis::CompanyReported as i32,
            flow: Flow::Total as i32,
            market: "CN".to_owned(),
            scope: VehicleScope::All as i32,
            powertrain: Powertrain::All as i32,
            destination: String::new(),
        }),
        period: Some(MonthRange {
            start: Some(YearMonth {
                year: 2023,
                month: 1,
            }),
            end: Some(YearMonth {
                year: 2023,
                month: 11,
            }),
        }),
        comparison: Comparison::YearOverYear as i32,
        ..Default::default()
    }
}

/// The PostgreSQL builder, or `None` after a visible skip line.
fn postgres() -> Option<TestStackBuilder> {
    match postgres_url_from_env() {
        Some(url) => Some(TestStack::builder().postgres(url)),
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "skipping: AUTOINTEL_TEST_POSTGRES_URL not set"
            );
            None
        }
    }
}

async fn seeded_stack_answers_the_articles_yoy(builder: TestStackBuilder) {
    let stack = builder.seed(true).start().await.unwrap();
    let mut stats = stack.stats_client().await.unwrap();
    let answer = stats
        .compute_change(nissan_china_jan_nov_2023_yoy())
        .await
        .unwrap()
        .into_inner();
    let change = answer.change.unwrap();
    assert_eq!(
        (
            change.current_units,
            change.prior_units,
            change.absolute_change
        ),
        (694_900, 974_700, -279_800)
    );
    assert_eq!(change.relative_change.unwrap().percent, "-28.7");

    let mut registry = stack.registry_client().await.unwrap();
    let org = registry
        .get_organization(GetOrganizationRequest {
            name: "organizations/dongfeng-nissan".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(org.chinese_name, "东风日产");
    stack.shutdown().await.unwrap();
}

async fn unseeded_stacks_are_empty_and_isolated(builder: TestStackBuilder) {
    let seeded = builder.clone().seed(true).start().await.unwrap();
    let empty = builder.start().await.unwrap();
    assert_ne!(seeded.stats_addr(), empty.stats_addr());

    let mut registry = empty.registry_client().await.unwrap();
    let orgs = registry
        .list_organizations(ListOrganizationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(orgs.organizations.is_empty(), "{orgs:?}");
    let mut stats = empty.stats_client().await.unwrap();
    let figures = stats
        .list_sales_figures(ListSalesFiguresRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(figures.sales_figures.is_empty(), "{figures:?}");

    let mut stats = seeded.stats_client().await.unwrap();
    let figures = stats
        .list_sales_figures(ListSalesFiguresRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(figures.sales_figures.len(), 2);
    empty.shutdown().await.unwrap();
    seeded.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_stack_answers_the_articles_yoy_on_sqlite() {
    seeded_stack_answers_the_articles_yoy(TestStack::builder()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_stack_answers_the_articles_yoy_on_postgres() {
    if let Some(builder) = postgres() {
        seeded_stack_answers_the_articles_yoy(builder).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unseeded_stacks_are_empty_and_isolated_on_sqlite() {
    unseeded_stacks_are_empty_and_isolated(TestStack::builder()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unseeded_stacks_are_empty_and_isolated_on_postgres() {
    if let Some(builder) = postgres() {
        unseeded_stacks_are_empty_and_isolated(builder).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drops_the_postgres_schemas() {
    let Some(builder) = postgres() else { return };
    let stack = builder.seed(true).start().await.unwrap();
    let schemas = stack.postgres_schemas();
    assert_eq!(schemas.len(), 2, "one schema per service");
    stack.shutdown().await.unwrap();

    let url = postgres_url_from_env().unwrap();
    let mut conn = sqlx::postgres::PgConnection::connect(&url).await.unwrap();
    let (left,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ANY($1)",
    )
    .bind(&schemas)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(left, 0, "schemas {schemas:?} were dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_postgres_is_an_error_naming_the_server_without_its_password() {
    let error = TestStack::builder()
        .postgres("postgres://someone:hunter2@127.0.0.1:1/none")
        .start()
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_csv_is_reported_with_its_line() {
    let stack = TestStack::builder().start().await.unwrap();
    let error = stack
        .import_csv("organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note\nnissan-china,bogus,total,CN,all,all,2023-01,1,,,s,final,2023-12-17,\n")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("line 2"), "{error}");
    stack.shutdown().await.unwrap();
}
