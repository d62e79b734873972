//! The registry service: organisations, their relationships, partnerships, events,
//! targets, people and sources, over gRPC (`autointel.registry.v1.RegistryService`).
//!
//! Layers: [`service`] converts wire requests into domain values and back; [`store`] keeps
//! domain entities in SQLite or PostgreSQL; [`error`] maps every failure to a gRPC status
//! in one place; [`startup`] wires the server; [`seed`] loads the bundled dataset, in the
//! registry-record file format of [`record_file`] (which the CLI's `apply` and `records
//! export` use too).

pub mod error;
pub mod record_file;
pub mod seed;
pub mod service;
pub mod settings;
pub mod startup;
pub mod store;

pub use error::RegistryError;
pub use settings::{ServiceSettings, Settings};
pub use startup::{Application, StartupError};
pub use store::Store;
