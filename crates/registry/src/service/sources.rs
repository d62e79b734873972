//! Sources: create, list, update and delete.

use autointel_domain::{Source, SourceId, SourceKind, Violations};
use autointel_proto::convert::WireEnum;
use autointel_proto::registry as wire;

use super::Result;
use super::paging::list_page;
use super::request::{etag_opt, parse_name};
use super::resource::{self, Update, resource};
use crate::store::{SourceFilter, Store};

resource!(
    Source,
    SourceId,
    's',
    updatable [kind, publisher, title, uri, published_date]
);

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

/// `UpdateSource`.
pub(super) async fn update(store: &Store, req: wire::UpdateSourceRequest) -> Result<wire::Source> {
    Update::<Source>::read(req.source.as_ref(), req.update_mask.as_ref(), |_, _, _| {})?
        .apply(store, |_, next| Ok(next))
        .await
}

/// `DeleteSource`: refused while a relationship, partnership, event or target cites it.
pub(super) async fn delete(store: &Store, req: wire::DeleteSourceRequest) -> Result<()> {
    let id: SourceId = parse_name("name", &req.name)?;
    store
        .delete::<Source>(id.as_str(), etag_opt(&req.etag))
        .await
}
