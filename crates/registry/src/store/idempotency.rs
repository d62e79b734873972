//! Idempotent creates (AIP-155): a request id remembers its request and response.

use prost::Message;
use sqlx::{AnyConnection, Row};

use super::sql::is_unique_violation;
use super::{Record, Result, Store, Stored, to_wire_with_meta};
use crate::error::RegistryError;

/// A request id and the request it came with (AIP-155).
#[derive(Clone, Debug)]
pub struct Idempotency {
    /// The client's request id (a UUID).
    pub request_id: String,
    /// Full method name, e.g. `CreateOrganization`.
    pub method: &'static str,
    /// The encoded create request.
    pub request: Vec<u8>,
}

/// True for the errors a create gets when a concurrent create committed the same key first.
fn lost_race(err: &RegistryError) -> bool {
    match err {
        RegistryError::AlreadyExists(_) => true,
        RegistryError::Database(e) => is_unique_violation(e),
        _ => false,
    }
}

/// The stored response of an earlier create with the same request id, if any; INVALID_ARGUMENT
/// when the id came with a different request.
pub(super) async fn replay<T: Record>(
    conn: &mut AnyConnection,
    idem: Option<&Idempotency>,
) -> Result<Option<Stored<T>>> {
    let Some(idem) = idem else { return Ok(None) };
    let row = sqlx::query(
        "SELECT method, request_body, response_body FROM create_requests WHERE request_id = $1",
    )
    .bind(idem.request_id.clone())
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let method: String = row.try_get("method")?;
    let request: Vec<u8> = row.try_get("request_body")?;
    if method != idem.method || request != idem.request {
        return Err(RegistryError::invalid(
            "request_id",
            "was already used for a different request",
        ));
    }
    let response: Vec<u8> = row.try_get("response_body")?;
    let wire = T::Wire::decode(response.as_slice())
        .map_err(|e| RegistryError::Corrupt(format!("create_requests: {e}")))?;
    let value =
        T::from_wire(&wire).map_err(|e| RegistryError::Corrupt(format!("create_requests: {e}")))?;
    let meta = T::get_meta(&wire);
    Ok(Some(Stored {
        value,
        revision: meta.revision,
        create_time: meta.create_time,
        update_time: meta.update_time,
    }))
}

/// Remembers a create's request and response under its request id.
pub(super) async fn remember<T: Record>(
    conn: &mut AnyConnection,
    idem: Option<&Idempotency>,
    stored: &Stored<T>,
) -> Result<()> {
    let Some(idem) = idem else { return Ok(()) };
    sqlx::query(
        "INSERT INTO create_requests (request_id, method, request_body, resource_name, response_body) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(idem.request_id.clone())
    .bind(idem.method.to_owned())
    .bind(idem.request.clone())
    .bind(stored.value.resource_name())
    .bind(to_wire_with_meta(stored).encode_to_vec())
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// A create that lost a race with a concurrent create under the same request id (a
    /// unique-key conflict once the winner committed) answers like a retry: the winner's
    /// result, written once.
    pub(super) async fn settle_race<T: Record>(
        &self,
        result: Result<Stored<T>>,
        idem: Option<&Idempotency>,
    ) -> Result<Stored<T>> {
        match result {
            Err(e) if idem.is_some() && lost_race(&e) => {
                let mut conn = self.inner.pool.acquire().await?;
                match replay::<T>(&mut conn, idem).await? {
                    Some(stored) => Ok(stored),
                    None => Err(e),
                }
            }
            other => other,
        }
    }
}
