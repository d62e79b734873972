//! Reading figures: one by name, a filtered listing, a revision chain; the last two in
//! pages (`paging`).

use autointel_domain::SalesFigureId;
use autointel_proto::convert::ResourceId;
use autointel_proto::stats as wire;

use super::answers;
use super::paging::{self, history_request, list_request};
use super::state::State;
use crate::error::StatsError;

/// `GetSalesFigure`.
pub(super) fn get(
    state: &State,
    r: &wire::GetSalesFigureRequest,
) -> Result<wire::SalesFigure, StatsError> {
    let id =
        SalesFigureId::from_resource_name(&r.name).map_err(|e| StatsError::invalid("name", e.0))?;
    let engine = state.read()?;
    let f = engine
        .find(&id)
        .ok_or_else(|| StatsError::NotFound(id.resource_name()))?;
    answers::figure(&engine, f)
}

/// `ListSalesFigures`: one page of the figures matching the filters, in list-key order, as
/// the engine held them at the listing's sequence mark: the first page takes the engine's
/// mark (every figure stored up to it is applied) and its token carries it, so every page
/// of one listing reads one state however many imports land between them. A replica that
/// has not yet applied a token's mark catches up first, and answers UNAVAILABLE (retry)
/// when it still lacks figures up to it.
pub(super) async fn list(
    state: &State,
    r: &wire::ListSalesFiguresRequest,
) -> Result<wire::ListSalesFiguresResponse, StatsError> {
    let (filter, page) = list_request(r)?;
    let mark = read_mark(state, page.mark()).await?;
    let engine = state.read()?;
    let (after, size) = page.window();
    let (figures, more) = engine.list_page(&filter, after, size, Some(mark));
    let next_page_token = page.next_token(&figures, more, mark);
    let sales_figures = figures
        .iter()
        .map(|&(_, f)| answers::figure_at(&engine, f, mark))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(wire::ListSalesFiguresResponse {
        sales_figures,
        next_page_token,
    })
}

/// The sequence mark a read pinned at `mark` is read at, or (`None`) the engine's current
/// one. A replica that has not yet applied a pinned mark catches up first, and answers
/// UNAVAILABLE (retry) when it still lacks figures up to it.
pub(super) async fn read_mark(state: &State, mark: Option<i64>) -> Result<i64, StatsError> {
    let Some(mark) = mark else {
        return Ok(state.read()?.last_seq());
    };
    if state.read()?.last_seq() < mark {
        state.refresh().await?;
        let applied = state.read()?.last_seq();
        if applied < mark {
            return Err(StatsError::NotCaughtUp { mark, applied });
        }
    }
    Ok(mark)
}

/// `GetRevisionHistory`: one page of a revision chain, oldest first. An altered token, or
/// one of another series or period, is refused; a page costs a logarithmic lookup and the
/// page.
pub(super) fn revision_history(
    state: &State,
    r: &wire::GetRevisionHistoryRequest,
) -> Result<wire::GetRevisionHistoryResponse, StatsError> {
    let (q, page) = history_request(r)?;
    let engine = state.read()?;
    let chain = engine
        .revision_page(&q.series, q.period, page.after(&engine)?, page.size)
        .ok_or_else(paging::not_a_revision)?;
    Ok(wire::GetRevisionHistoryResponse {
        revisions: answers::revisions(&engine, &chain)?,
        next_page_token: page.next_token(&engine, &chain)?,
    })
}
