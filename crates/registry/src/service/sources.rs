//! Sources: create and list.

use autointel_domain::{Source, SourceId, SourceKind, Violations};
use autointel_proto::convert::WireEnum;
use autointel_proto::registry as wire;

use super::Result;
use super::paging::list_page;
use super::resource::{self, resource};
use crate::store::{SourceFilter, Store};

resource!(Source, SourceId, 's');

/// `CreateSource`.
pub(super) async fn create(store: &Store, req: wire::CreateSourceRequest) -> Result<wire::Source> {
    resource::create::<Source>(
        store,
        "CreateSource",
        &req,
        &req.request_id,
        req.source.as_ref(),
        &req.source_id,
    )
    .await
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
