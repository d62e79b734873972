//! Rollback under the expand/contract policy: a newer release has added (expand)
//! migrations the current binary does not know. Marked compatible in the database, they
//! let the current binary start, serve and write; an unmarked (breaking) one makes it
//! refuse to start, naming the migration, instead of misreading the schema.

use std::time::Duration;

use autointel_proto::registry as rwire;
use sqlx::AnyPool;

use crate::harness::{Backend, Process, Stack, Stop, command, on_each_backend};

on_each_backend!(the_current_binary_runs_against_a_newer_compatible_schema);

/// What a newer release's migration would have done: its SQL, then its row.
async fn apply_future_migration(url: &str, version: i64, description: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url).await.expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&pool)
        .await
        .expect("future migration");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(version)
    .bind(description.to_owned())
    .bind(true)
    .bind(vec![0u8; 48])
    .bind(1i64)
    .execute(&pool)
    .await
    .expect("record the future migration");
    pool.close().await;
}

async fn the_current_binary_runs_against_a_newer_compatible_schema(backend: Backend) {
    let mut stack = Stack::start(&backend, true).await;
    stack.stop(Stop::Term);
    apply_future_migration(
        &stack.databases.registry,
        90,
        "organisation match keys [expand; works with binaries of schema 1]",
        "ALTER TABLE organizations ADD COLUMN match_key TEXT",
    )
    .await;
    apply_future_migration(
        &stack.databases.stats,
        90,
        "figure confidence [expand; works with binaries of schema 1]",
        "ALTER TABLE sales_figures ADD COLUMN confidence TEXT NOT NULL DEFAULT 'stated'",
    )
    .await;

    // Rolled back: the current binaries start on the newer schema, serve and write.
    stack.start_again().await;
    let out = stack.cli().run(&[
        "compare",
        "--org",
        "nissan-china",
        "--basis",
        "company_reported",
        "--period",
        "2023-01..2023-11",
    ]);
    out.assert_success();
    assert!(out.stdout.contains("694,900"), "{out}");
    let mut registry = stack.registry_client().await;
    registry
        .create_organization(rwire::CreateOrganizationRequest {
            organization: Some(rwire::Organization {
                kind: rwire::OrganizationKind::Automaker as i32,
                english_name: "Rollback Motors".to_owned(),
                country_code: "CN".to_owned(),
                ..Default::default()
            }),
            organization_id: "rollback-motors".to_owned(),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .expect("writes work on the newer schema");
    let csv = stack.dir.path().join("after-rollback.csv");
    std::fs::write(
        &csv,
        "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,\
         comparable_prior_units,source,stage,as_of_date,note\n\
         rollback-motors,wholesale,total,CN,all,all,2024-01,1234,,,\
         article-nissan-china-exports-2023,final,2024-02-01,\n",
    )
    .expect("write csv");
    let out = stack.cli().run(&["import", &csv.to_string_lossy()]);
    out.assert_success();

    // A breaking migration of a newer release: the current binary refuses, naming it.
    stack.stop(Stop::Term);
    apply_future_migration(
        &stack.databases.registry,
        91,
        "drop a column older binaries read",
        "SELECT 1",
    )
    .await;
    let mut c = command("registry-server");
    c.args(["--listen", "127.0.0.1:0"])
        .args(["--database-url", &stack.databases.registry])
        .env("AUTOINTEL_AUTH__DISABLED", "true");
    let mut process = Process::spawn("registry-refuses", c, stack.dir.path());
    let status = process
        .wait_timeout(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("kept running:\n{}", process.describe()));
    assert_eq!(status.code(), Some(1), "{}", process.describe());
    let stderr = process.stderr();
    assert!(
        stderr.contains("migration 91") && stderr.contains("drop a column older binaries read"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("migration 90 "),
        "the compatible one is not blamed: {stderr}"
    );
}
