//! The autointel domain: entities, value types, validation, period and ratio arithmetic.
//!
//! Pure and synchronous: no I/O, no wire or storage types. Services convert at their edges
//! and rely on the invariants checked here: value types are valid by construction
//! (`parse`/`new`), entities have public fields and a `validate` that reports every
//! violated invariant with its field path.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod change;
pub mod date;
pub mod enums;
pub mod event;
pub mod ids;
pub mod organization;
pub mod ownership;
pub mod partnership;
pub mod period;
pub mod person;
pub mod query;
pub mod relationship;
pub mod sales;
pub mod series;
pub mod source;
pub mod target;
pub mod text;
pub mod units;
pub mod validation;

pub use change::*;
pub use date::*;
pub use enums::*;
pub use event::*;
pub use ids::*;
pub use organization::*;
pub use ownership::{OwnershipHistory, Segment, split_by};
pub use partnership::*;
pub use period::*;
pub use person::*;
pub use query::*;
pub use relationship::*;
pub use sales::*;
pub use series::*;
pub use source::*;
pub use target::*;
pub use text::{match_key, nfc};
pub use units::*;
pub use validation::*;
