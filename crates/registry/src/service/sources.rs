//! Sources: create and list.

use autointel_domain::{Source, SourceId, SourceKind, Violations};
use autointel_proto::convert::WireEnum;
use autointel_proto::registry as wire;

use super::Result;
use super::paging::list_page;
use super::request::accepted;
use super::resource::{idempotency, new_resource, resource};
use crate::store::{SourceFilter, Store, to_wire_with_meta};

resource!(Source, SourceId, 's');

/// `CreateSource`.
pub(super) async fn create(store: &Store, req: wire::CreateSourceRequest) -> Result<wire::Source> {
    let mut v = Violations::new();
    let idem = idempotency("CreateSource", &req, &req.request_id, &mut v);
    let value = new_resource::<Source>(&mut v, req.source.as_ref(), &req.source_id);
    let value = accepted(v, value, "source", "is invalid")?;
    Ok(to_wire_with_meta(
        &store.create(value, idem.as_ref()).await?,
    ))
}

/// `ListSources`: by kind.
pub(super) async fn list(
    store: &Store,
    req: wire::ListSourcesRequest,
) -> Result<wire::ListSourcesResponse> {
    let mut v = Violations::new();
    let filter = SourceFilter {
        kind: v
            .check("kind", SourceKind::from_wire_filter(req.kind))
            .flatten(),
    };
    let (sources, next_page_token) = list_page(store, &req, v, &filter).await?;
    Ok(wire::ListSourcesResponse {
        sources,
        next_page_token,
    })
}
