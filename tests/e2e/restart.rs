//! Restarts keep every record: both servers stopped (SIGTERM, then SIGKILL) and started
//! again on the same SQLite files (or PostgreSQL schemas) answer everything as before.

use autointel_proto::registry as rwire;

use crate::flows::{create_org, import_rows, link};
use crate::harness::{Backend, Stack, Stop, on_each_backend};

on_each_backend!(a_restart_keeps_all_data);

/// What the test wrote, read back.
async fn snapshot(stack: &Stack) -> (Vec<String>, Vec<String>, usize, String, String) {
    let mut registry = stack.registry_client().await;
    let mut organizations: Vec<String> = registry
        .list_organizations(rwire::ListOrganizationsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("ListOrganizations")
        .into_inner()
        .organizations
        .into_iter()
        .map(|o| o.name)
        .collect();
    organizations.sort();
    let mut relationships: Vec<String> = registry
        .list_relationships(rwire::ListRelationshipsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("ListRelationships")
        .into_inner()
        .relationships
        .into_iter()
        .map(|r| format!("{} -> {}", r.parent, r.child))
        .collect();
    relationships.sort();
    let figures = stack.all_figures().await.len();
    let cli = stack.cli();
    let compare = cli.table(&[
        "compare",
        "--org",
        "nissan-china",
        "--basis",
        "company_reported",
        "--period",
        "2023-01..2023-11",
    ]);
    let rollup = cli.table(&[
        "rollup",
        "--org",
        "e2e-restart-parent",
        "--basis",
        "wholesale",
        "--period",
        "2023-01..2023-03",
    ]);
    (organizations, relationships, figures, compare, rollup)
}

async fn a_restart_keeps_all_data(backend: Backend) {
    let mut stack = Stack::start(&backend, true).await;
    create_org(&stack, "e2e-restart-parent", rwire::OrganizationKind::Group).await;
    create_org(
        &stack,
        "e2e-restart-child",
        rwire::OrganizationKind::Automaker,
    )
    .await;
    link(&stack, "e2e-restart-parent", "e2e-restart-child").await;
    let rows: Vec<String> = (1..=3)
        .map(|m| format!("e2e-restart-child,wholesale,total,CN,all,all,2023-{m:02},{},,,article-nissan-china-exports-2023,final,2023-04-10,", 1000 * m))
        .collect();
    import_rows(&stack, "restart.csv", &rows);

    let written = snapshot(&stack).await;
    assert_eq!(written.0.len(), 16, "14 seed organisations and 2 new ones");
    assert_eq!(written.2, 5, "2 seed figures and 3 new ones");
    assert!(written.3.contains("-28.7%"), "{}", written.3);
    assert!(written.4.contains("Rollup: 6,000"), "{}", written.4);

    stack.restart(Stop::Term).await;
    assert_eq!(snapshot(&stack).await, written, "after SIGTERM and restart");

    stack.restart(Stop::Kill).await;
    assert_eq!(snapshot(&stack).await, written, "after SIGKILL and restart");
}
