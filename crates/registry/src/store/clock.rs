//! The system clock: write times, and today's date for "as of" queries.

use std::time::{SystemTime, UNIX_EPOCH};

use autointel_domain::Date;

use super::Result;
use crate::error::RegistryError;

/// Now, in unix microseconds.
pub(super) fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Today's date (UTC).
pub(crate) fn today() -> Result<Date> {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i32::try_from(d.as_secs() / 86_400).unwrap_or(0))
        .unwrap_or(0);
    Date::from_days_since_epoch(days)
        .map_err(|e| RegistryError::Corrupt(format!("system clock: {e}")))
}
