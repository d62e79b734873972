//! gRPC tests: a real registry server and a real stats server on 127.0.0.1, over SQLite
//! always and over PostgreSQL when `AUTOINTEL_TEST_POSTGRES_URL` is set.
//!
//! One test binary: `harness` starts the registry and stats in process over fresh
//! databases, `fixtures` builds figures and requests; one module a feature.
#![allow(clippy::unwrap_used)]

mod fixtures;
mod harness;

mod destinations;
mod flight;
mod imports;
mod listing_mark;
mod long_chains;
mod operations;
mod queries;
mod replicas;
mod revisions;
mod rollups;
mod snapshots;
mod staging;
mod vintages;
