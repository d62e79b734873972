//! Which served connections are idle: every request (health included) counts on its
//! connection from its first byte until its response ends, and a connection with none open
//! for `server.idle_connection_timeout_seconds` is closed (HTTP/2 keepalive PINGs are not
//! requests, so a client that only keeps a connection alive does not hold it forever).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// The served connections of one listener, by peer address (unique per open connection).
#[derive(Debug, Default)]
pub struct Connections {
    open: Mutex<HashMap<SocketAddr, Arc<Activity>>>,
}

/// One connection's requests.
#[derive(Debug)]
pub struct Activity {
    requests: AtomicUsize,
    idle_since: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self {
            requests: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
        }
    }

    /// When the connection has been without requests since, if it has none open.
    fn idle_since(&self) -> Option<Instant> {
        if self.requests.load(Ordering::Acquire) > 0 {
            return None;
        }
        self.idle_since.lock().ok().map(|since| *since)
    }
}

/// A request open on its connection, until dropped (when its response has ended).
#[derive(Debug)]
pub struct OpenRequest(Arc<Activity>);

impl Drop for OpenRequest {
    fn drop(&mut self) {
        if let Ok(mut since) = self.0.idle_since.lock() {
            *since = Instant::now();
        }
        self.0.requests.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Connections {
    /// Counts a request on `peer`'s connection until the returned guard is dropped; none
    /// for a connection this listener did not accept (an in-process transport).
    pub fn open_request(&self, peer: Option<SocketAddr>) -> Option<OpenRequest> {
        let activity = self.open.lock().ok()?.get(&peer?)?.clone();
        activity.requests.fetch_add(1, Ordering::AcqRel);
        Some(OpenRequest(activity))
    }

    /// Starts watching a newly accepted connection from `peer`; it closes after `timeout`
    /// without requests.
    pub fn accepted(self: &Arc<Self>, peer: SocketAddr, timeout: Duration) -> IdleWatch {
        let activity = Arc::new(Activity::new());
        if let Ok(mut open) = self.open.lock() {
            open.insert(peer, activity.clone());
        }
        IdleWatch {
            connections: self.clone(),
            peer,
            activity,
            timeout,
            timer: None,
        }
    }

    /// Connections currently open.
    pub fn len(&self) -> usize {
        self.open.lock().map_or(0, |open| open.len())
    }

    /// True when no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The idle clock of one accepted connection; it stops being tracked when dropped.
#[derive(Debug)]
pub struct IdleWatch {
    connections: Arc<Connections>,
    peer: SocketAddr,
    activity: Arc<Activity>,
    timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl IdleWatch {
    /// True once the connection has had no request open for the timeout. Called when a
    /// read finds nothing to read; otherwise arranges to be woken when the timeout would
    /// pass (a request starting or ending wakes the connection anyway).
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(since) = self.activity.idle_since() else {
            self.timer = None;
            return false;
        };
        let deadline = since + self.timeout;
        if Instant::now() >= deadline {
            return true;
        }
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        matches!(timer.as_mut().poll(cx), Poll::Ready(()))
    }
}

impl Drop for IdleWatch {
    fn drop(&mut self) {
        if let Ok(mut open) = self.connections.open.lock()
            && open
                .get(&self.peer)
                .is_some_and(|a| Arc::ptr_eq(a, &self.activity))
        {
            open.remove(&self.peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 40_000))
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_expires_only_after_the_timeout_without_requests() {
        let connections = Arc::new(Connections::default());
        let mut watch = connections.accepted(peer(), Duration::from_secs(10));
        assert!(!poll_fn(|cx| Poll::Ready(watch.poll_expired(cx))).await);

        let request = connections.open_request(Some(peer())).expect("tracked");
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(
            !poll_fn(|cx| Poll::Ready(watch.poll_expired(cx))).await,
            "a request is open, however long"
        );
        drop(request);
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(!poll_fn(|cx| Poll::Ready(watch.poll_expired(cx))).await);
        // the timer registered above fires at the deadline
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(poll_fn(|cx| Poll::Ready(watch.poll_expired(cx))).await);

        assert_eq!(connections.len(), 1);
        drop(watch);
        assert!(connections.is_empty());
        assert!(connections.open_request(Some(peer())).is_none());
    }
}
