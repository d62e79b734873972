//! The system clock, as the store records it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in unix microseconds.
pub(super) fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
