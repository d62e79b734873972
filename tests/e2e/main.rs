//! End-to-end tests: the real `registry-server`, `stats-server` and `autointel` binaries,
//! started as child processes on free ports and driven over real gRPC, on SQLite files and
//! (when `AUTOINTEL_TEST_POSTGRES_URL` is set) on fresh PostgreSQL schemas.
//!
//! The binaries are taken from the target directory of this test (or `AUTOINTEL_BIN_DIR`):
//! `cargo test --workspace` builds them; otherwise run `cargo build --workspace --bins`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admission;
mod apply;
mod bad_input;
mod big_errors;
mod crash;
mod disk_full;
mod export;
mod faults;
mod flows;
mod harness;
mod import_errors;
mod import_limit;
mod long_chains;
mod pg_faults;
mod raw;
mod reflection;
mod restart;
mod rollback;
mod security;
mod seed_facts;
mod startup;
mod tracing;
mod up;
