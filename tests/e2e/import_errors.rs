//! `autointel import` of bad files: each bad row reported with its line and reason, a
//! non-zero exit code, and nothing written.

use crate::flows::HEADER;
use crate::harness::{Backend, Stack, on_each_backend};

on_each_backend!(
    bad_csv_rows_are_reported_by_line_and_nothing_is_written,
    rows_the_server_rejects_are_reported_by_line_and_nothing_is_written,
);

const GOOD: &str = "nissan-china,retail,total,CN,all,all,2023-05,50000,,,article-nissan-china-exports-2023,final,2023-06-10,";

async fn bad_csv_rows_are_reported_by_line_and_nothing_is_written(backend: Backend) {
    let stack = Stack::start(&backend, true).await;
    let before = stack.all_figures().await;
    assert_eq!(before.len(), 2, "the seed figures");

    let path = stack.dir.path().join("bad.csv");
    std::fs::write(
        &path,
        format!(
            "{HEADER}{GOOD}\n\
             nissan-china,retail,total,CN,all,all,2023-06,60000,,,article-nissan-china-exports-2023,final,2023-07-10,\n\
             nissan-china,bogus_basis,total,CN,all,all,2023-07,70000,,,article-nissan-china-exports-2023,final,2023-08-10,\n\
             nissan-china,retail,total,CN,all,all,2023-08,-5,,,article-nissan-china-exports-2023,final,2023-09-10,\n"
        ),
    )
    .expect("write CSV");
    let out = stack.cli().run(&["import", &path.to_string_lossy()]);
    assert_eq!(out.code, 3, "{out}");
    for needle in ["line 4, basis", "line 5, units", "nothing imported"] {
        assert!(out.stderr.contains(needle), "missing {needle:?} in\n{out}");
    }
    assert!(!out.stderr.contains("line 2"), "{out}");
    assert!(!out.stderr.contains("line 3"), "{out}");

    assert_eq!(stack.all_figures().await, before, "nothing was written");
    let total = stack.cli().run(&[
        "total",
        "--org",
        "nissan-china",
        "--basis",
        "retail",
        "--period",
        "2023-05",
    ]);
    assert!(
        !total.stdout.contains("50,000"),
        "the good rows of a bad file are not imported either\n{total}"
    );
}

async fn rows_the_server_rejects_are_reported_by_line_and_nothing_is_written(backend: Backend) {
    let stack = Stack::start(&backend, true).await;
    let before = stack.all_figures().await;

    // Well-formed, but the organisation does not exist in the registry.
    let path = stack.dir.path().join("unknown-org.csv");
    std::fs::write(
        &path,
        format!(
            "{HEADER}{GOOD}\n\
             no-such-organization,retail,total,CN,all,all,2023-05,1,,,article-nissan-china-exports-2023,final,2023-06-10,\n"
        ),
    )
    .expect("write CSV");
    let out = stack.cli().run(&["import", &path.to_string_lossy()]);
    // FAILED_PRECONDITION → exit 5, naming the organisation.
    assert_eq!(out.code, 5, "{out}");
    assert!(out.stderr.contains("no-such-organization"), "{out}");
    assert_eq!(stack.all_figures().await, before, "nothing was written");
}
