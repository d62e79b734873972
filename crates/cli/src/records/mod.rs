//! Registry records as a whole, in the seed's file format
//! (`autointel_registry::record_file`): `apply` makes the registry hold a file's records,
//! `export` writes them all.
//!
//! `kinds` describes the seven kinds of record alike (wire message, updatable fields, the
//! standard methods), `diff` compares a record field by field, `plan` decides each record's
//! step from one read of the registry, `apply` writes the plan, `export` reads everything.

mod apply;
mod diff;
mod export;
mod kinds;
mod plan;

pub(crate) use apply::run as apply;
pub(crate) use export::run as export;
