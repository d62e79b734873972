//! `WatchReleases`: figures as releases arrive, from the store's commit-ordered sequence
//! numbers through the one shared fan-out (`autointel_server::fanout`), so every replica
//! streams the same figures in the same order, resumable by cursor across restarts and
//! replicas; the request's filter is applied per stream.

use std::pin::Pin;
use std::sync::Arc;

use autointel_domain::{ReleaseWatch, SalesFigure, Violations};
use autointel_proto::convert::stats::sales_figure_to_wire;
use autointel_proto::stats as wire;
use autointel_server::fanout::{Fanout, Feed, decode_cursor, encode_cursor};
use tokio_stream::{Stream, StreamExt};
use tonic::Status;

use super::answers;
use super::state::State;
use super::{finish, present};
use crate::store::{Store, StoredFigure};

/// The store's figures as a change log: positions are sequence numbers.
#[derive(Clone, Debug)]
pub struct FigureFeed(pub Store);

impl Feed for FigureFeed {
    type Item = Arc<StoredFigure>;

    async fn after(&self, after: i64, limit: i64) -> Result<Vec<(i64, Self::Item)>, Status> {
        let figures = self
            .0
            .figures_after(after, limit)
            .await
            .map_err(Status::from)?;
        Ok(figures.into_iter().map(|f| (f.seq, Arc::new(f))).collect())
    }

    async fn latest(&self) -> Result<i64, Status> {
        self.0.last_seq().await.map_err(Status::from)
    }
}

/// What `WatchReleases` streams.
pub type ReleaseStream =
    Pin<Box<dyn Stream<Item = Result<wire::WatchReleasesResponse, Status>> + Send + 'static>>;

/// True when `figure` is one `watch` selects.
fn selects(watch: &ReleaseWatch, figure: &SalesFigure) -> bool {
    let (f, k) = (&watch.filter, &figure.key);
    f.organization
        .as_ref()
        .is_none_or(|o| k.organization.as_ref() == Some(o))
        && f.basis.is_none_or(|b| k.basis == b)
        && f.flow.is_none_or(|x| k.flow == x)
        && f.market.as_ref().is_none_or(|m| &k.market == m)
        && watch
            .source
            .as_ref()
            .is_none_or(|s| &figure.provenance.source == s)
}

/// `WatchReleases`: every figure stored after the request's cursor (or from now) that its
/// filter selects, each with the cursor to resume after it and its change from the figure
/// it supersedes.
pub(super) async fn watch(
    state: Arc<State>,
    fanout: &Fanout<FigureFeed>,
    r: &wire::WatchReleasesRequest,
) -> Result<ReleaseStream, Status> {
    let mut v = Violations::new();
    let start = match r.cursor.as_str() {
        "" if r.from_start => Some(0),
        "" => None,
        cursor => {
            let start = decode_cursor(cursor);
            if start.is_none() {
                v.push("cursor", "is malformed");
            }
            start
        }
    };
    let filter = v.check_nested("", ReleaseWatch::try_from(r));
    finish(v)?;
    let filter = present(filter)?;
    let changes = fanout.subscribe(start, encode_cursor).await?;
    let stream = changes.filter_map(move |change| match change {
        Err(status) => Some(Err(status)),
        Ok((seq, stored)) if selects(&filter, &stored.figure) => {
            Some(Ok(response(&state, seq, &stored)))
        }
        Ok(_) => None,
    });
    Ok(Box::pin(stream))
}

/// One streamed figure: its wire form with its import time, and its change from the figure
/// it supersedes when this replica holds that one.
fn response(state: &State, seq: i64, stored: &StoredFigure) -> wire::WatchReleasesResponse {
    let figure = &stored.figure;
    let mut w = sales_figure_to_wire(figure, None);
    w.create_time = Some(answers::timestamp(stored.create_time_micros));
    let delta_units = figure.provenance.supersedes.as_ref().and_then(|previous| {
        let engine = state.read().ok()?;
        let before = engine.units(engine.find(previous)?)?;
        Some(answers::units(figure.units.get()) - answers::units(before))
    });
    wire::WatchReleasesResponse {
        figure: Some(w),
        delta_units,
        cursor: encode_cursor(seq),
    }
}
