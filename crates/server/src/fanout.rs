//! One mechanism for every resumable watch stream (registry's `WatchEvents`, later watches
//! of releases): a single shared poll of the change log feeds all subscribers, a cap on
//! subscribers, bounded buffers for slow consumers, cursors checked against the log, and a
//! clean end of every stream when the server starts draining.
//!
//! A subscriber first catches up from the log (reading [`Feed::after`] its cursor), then
//! follows the shared broadcast. Positions are consecutive sequence numbers in commit
//! order, so a subscriber that falls behind the broadcast (a slow consumer) or sees a gap
//! goes back to reading the log from its cursor: no change is skipped or repeated, and
//! memory stays bounded by the broadcast's capacity plus each subscriber's small buffer.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::sync::{Semaphore, broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

/// A change log: positions are consecutive sequence numbers in commit order.
pub trait Feed: Clone + Send + Sync + 'static {
    /// What a change carries.
    type Item: Clone + Send + Sync + 'static;
    /// Up to `limit` changes after position `after`, in order.
    fn after(
        &self,
        after: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(i64, Self::Item)>, Status>> + Send;
    /// The latest position.
    fn latest(&self) -> impl Future<Output = Result<i64, Status>> + Send;
}

/// Limits of a [`Fanout`].
#[derive(Clone, Copy, Debug)]
pub struct FanoutLimits {
    /// Open streams at once; more are refused with `RESOURCE_EXHAUSTED`.
    pub max_subscribers: usize,
    /// How often the shared poll reads the log for other replicas' writes.
    pub poll_interval: Duration,
    /// Changes read from the log at once.
    pub batch: i64,
    /// Changes buffered per subscriber before it waits for its client.
    pub buffer: usize,
    /// Changes the shared broadcast holds for subscribers that are behind.
    pub broadcast: usize,
}

impl Default for FanoutLimits {
    fn default() -> Self {
        Self {
            max_subscribers: 1_000,
            poll_interval: Duration::from_secs(1),
            batch: 500,
            buffer: 64,
            broadcast: 1_024,
        }
    }
}

/// Fans one change log out to many watch streams.
#[derive(Debug)]
pub struct Fanout<F: Feed> {
    feed: F,
    limits: FanoutLimits,
    live: broadcast::Sender<(i64, F::Item)>,
    permits: Arc<Semaphore>,
    draining: watch::Receiver<bool>,
    poller: tokio::task::JoinHandle<()>,
}

impl<F: Feed> Drop for Fanout<F> {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

impl<F: Feed> Fanout<F>
where
    F::Item: std::fmt::Debug,
{
    /// Starts the shared poll of `feed`: every `poll_interval`, and at once when `wake`
    /// changes (a write of this process). Streams end when `draining` turns true.
    pub fn start(
        feed: F,
        mut wake: watch::Receiver<i64>,
        draining: watch::Receiver<bool>,
        limits: FanoutLimits,
    ) -> Self {
        let (live, _) = broadcast::channel(limits.broadcast.max(1));
        let poller = {
            let feed = feed.clone();
            let live = live.clone();
            tokio::spawn(async move {
                let mut head = None;
                loop {
                    wake.borrow_and_update();
                    match poll(&feed, &live, head, limits.batch).await {
                        Ok(h) => head = Some(h),
                        Err(e) => tracing::warn!(error = %e.message(), "watch poll failed"),
                    }
                    tokio::select! {
                        changed = wake.changed() => {
                            if changed.is_err() {
                                tokio::time::sleep(limits.poll_interval).await;
                            }
                        }
                        () = tokio::time::sleep(limits.poll_interval) => {}
                    }
                }
            })
        };
        Self {
            feed,
            limits,
            live,
            permits: Arc::new(Semaphore::new(limits.max_subscribers)),
            draining,
            poller,
        }
    }

    /// Open streams now.
    pub fn subscribers(&self) -> usize {
        self.limits.max_subscribers - self.permits.available_permits()
    }

    /// A stream of the changes after `cursor` (`None`: from now on), each with its
    /// position. Refused with `RESOURCE_EXHAUSTED` over the subscriber limit, and with
    /// `OUT_OF_RANGE` for a cursor past the end of the log (`describe` names a position
    /// for the message, e.g. as the client's opaque cursor).
    pub async fn subscribe(
        &self,
        cursor: Option<i64>,
        describe: impl Fn(i64) -> String,
    ) -> Result<ReceiverStream<Result<(i64, F::Item), Status>>, Status> {
        if *self.draining.borrow() {
            return Err(Status::unavailable(
                "the server is shutting down; watch another replica",
            ));
        }
        let permit = self.permits.clone().try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "too many open watch streams on this server (limit {}); retry later or on another replica",
                self.limits.max_subscribers
            ))
        })?;
        let latest = self.feed.latest().await?;
        let start = match cursor {
            Some(c) if c > latest => {
                return Err(Status::out_of_range(format!(
                    "cursor {} is past the end of the change log, whose latest cursor is {} \
                     (was the database restored from an older backup?)",
                    describe(c),
                    describe(latest)
                )));
            }
            Some(c) => c,
            None => latest,
        };
        let (tx, rx) = mpsc::channel(self.limits.buffer.max(1));
        let live = self.live.subscribe();
        let feed = self.feed.clone();
        let draining = self.draining.clone();
        let batch = self.limits.batch;
        tokio::spawn(async move {
            let _permit = permit;
            follow(feed, live, draining, tx, start, batch).await;
        });
        Ok(ReceiverStream::new(rx))
    }
}

/// Reads every change after `head` (the first time: from the latest) into the broadcast;
/// returns the new head.
async fn poll<F: Feed>(
    feed: &F,
    live: &broadcast::Sender<(i64, F::Item)>,
    head: Option<i64>,
    batch: i64,
) -> Result<i64, Status> {
    let mut head = match head {
        Some(h) => h,
        None => feed.latest().await?,
    };
    loop {
        let changes = feed.after(head, batch).await?;
        let full = i64::try_from(changes.len()).unwrap_or(i64::MAX) >= batch;
        for (seq, item) in changes {
            head = seq;
            // No receiver is fine: nobody is watching.
            let _ = live.send((seq, item));
        }
        if !full {
            return Ok(head);
        }
    }
}

/// One subscriber: catch up from the log, then follow the broadcast; back to the log on a
/// lag or a gap. Ends when the client leaves, the log fails, or draining starts.
async fn follow<F: Feed>(
    feed: F,
    mut live: broadcast::Receiver<(i64, F::Item)>,
    mut draining: watch::Receiver<bool>,
    tx: mpsc::Sender<Result<(i64, F::Item), Status>>,
    mut cursor: i64,
    batch: i64,
) {
    let shutting_down = || {
        Status::unavailable(
            "the server is shutting down; resume from the last cursor on another replica",
        )
    };
    'catch_up: loop {
        loop {
            let changes = tokio::select! {
                changes = feed.after(cursor, batch) => changes,
                () = until_draining(&mut draining) => {
                    let _ = tx.send(Err(shutting_down())).await;
                    return;
                }
            };
            let changes = match changes {
                Ok(changes) => changes,
                Err(status) => {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
            };
            let full = i64::try_from(changes.len()).unwrap_or(i64::MAX) >= batch;
            for (seq, item) in changes {
                cursor = seq;
                if !send(&tx, &mut draining, (seq, item)).await {
                    return;
                }
            }
            if !full {
                break;
            }
        }
        loop {
            let next = tokio::select! {
                next = live.recv() => next,
                () = tx.closed() => return,
                () = until_draining(&mut draining) => {
                    let _ = tx.send(Err(shutting_down())).await;
                    return;
                }
            };
            match next {
                Ok((seq, _)) if seq <= cursor => {}
                Ok((seq, item)) if seq == cursor + 1 => {
                    cursor = seq;
                    if !send(&tx, &mut draining, (seq, item)).await {
                        return;
                    }
                }
                // a gap (joined the broadcast mid-way) or fell behind it: read the log
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue 'catch_up,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// Sends one change, waiting for a slow client but not past draining; false when the
/// stream is over.
async fn send<T>(
    tx: &mpsc::Sender<Result<T, Status>>,
    draining: &mut watch::Receiver<bool>,
    item: T,
) -> bool {
    tokio::select! {
        sent = tx.send(Ok(item)) => sent.is_ok(),
        () = until_draining(draining) => {
            let _ = tx.try_send(Err(Status::unavailable(
                "the server is shutting down; resume from the last cursor on another replica",
            )));
            false
        }
    }
}

/// Completes when draining starts (or the server is gone).
async fn until_draining(draining: &mut watch::Receiver<bool>) {
    let _ = draining.wait_for(|d| *d).await.map(|_| ());
}

/// An opaque watch cursor for a change seq.
pub fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{seq}"))
}

/// The change seq of a cursor, if it is one of ours.
pub fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        (URL_SAFE_NO_PAD.encode(&bytes) == cursor).then_some(bytes)?
    };
    let text = String::from_utf8(bytes).ok()?;
    let seq: i64 = text.strip_prefix("v1:")?.parse().ok()?;
    (seq >= 0).then_some(seq)
}
