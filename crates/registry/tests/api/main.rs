//! The registry over real gRPC: a server on 127.0.0.1:0 per test, driven by the generated
//! client, against SQLite and (when `AUTOINTEL_TEST_POSTGRES_URL` is set) PostgreSQL.
//!
//! One test binary: `harness` starts servers over fresh databases and runs each suite on
//! both backends, `fixtures` builds requests and reads error details; one module a feature.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod fixtures;
mod harness;

mod chinese_names;
mod deletes;
mod names;
mod operations;
mod pagination;
mod resources;
mod successors;
mod watch;
mod writes;
