//! The bodies the gate wraps around a request and its answer: a request body with an idle
//! timeout between messages, and an answer body that records the outcome, hands its data
//! over in chunks and holds the request's slot until it ends.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use tonic::{Code, Status};

use super::{ConnectionSlot, Recorder};
use crate::connections::OpenRequest;

/// A request body that fails with `DEADLINE_EXCEEDED` when its client sends nothing for
/// the idle timeout while the server waits for the next message.
#[derive(Debug)]
pub struct IdleBody<B> {
    inner: B,
    timeout: Option<Duration>,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> IdleBody<B> {
    pub(super) fn new(inner: B, timeout: Option<Duration>) -> Self {
        Self {
            inner,
            timeout,
            timer: None,
        }
    }
}

impl<B> http_body::Body for IdleBody<B>
where
    B: http_body::Body + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = B::Data;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let Some(timeout) = this.timeout else {
                    return Poll::Pending;
                };
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.timer = None;
                        Poll::Ready(Some(Err(Box::new(Status::deadline_exceeded(format!(
                            "the client sent no request message for {timeout:?} \
                             (server.message_idle_timeout_seconds)"
                        ))))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Largest DATA chunk handed to HTTP/2 at once: HTTP/2 takes what it is given into its
/// send buffer, so a large answer is handed over in chunks it accepts only as the client
/// reads, and the answer's slot is held until the last one.
const RESPONSE_CHUNK: usize = 64 * 1024;

/// A response body that records the status from its trailers when it ends, hands its data
/// over in chunks, and holds the request's slot and its place on the connection until it
/// ends.
pub(super) struct Metered {
    pub(super) inner: tonic::body::Body,
    pub(super) recorder: Recorder,
    /// What is left of a data frame after the chunk handed over.
    pub(super) rest: Option<Bytes>,
    /// The request's admission slot, for a unary answer.
    pub(super) held: Option<(tokio::sync::OwnedSemaphorePermit, Option<ConnectionSlot>)>,
    pub(super) _open: Option<OpenRequest>,
}

impl Metered {
    /// The next chunk of `data`, keeping the rest for the next poll.
    fn chunk(&mut self, mut data: Bytes) -> Frame<Bytes> {
        if data.len() > RESPONSE_CHUNK {
            self.rest = Some(data.split_off(RESPONSE_CHUNK));
        }
        Frame::data(data)
    }
}

impl http_body::Body for Metered {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        if let Some(rest) = this.rest.take() {
            return Poll::Ready(Some(Ok(this.chunk(rest))));
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        let ended = match polled {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => return Poll::Ready(Some(Ok(this.chunk(data)))),
                Err(frame) => {
                    if let Some(trailers) = frame.trailers_ref() {
                        let code = trailers
                            .get("grpc-status")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<i32>().ok())
                            .map_or(Code::Unknown, Code::from_i32);
                        this.recorder.finish(code);
                    }
                    Poll::Ready(Some(Ok(frame)))
                }
            },
            Poll::Ready(Some(Err(status))) => {
                this.recorder.finish(status.code());
                Poll::Ready(Some(Err(status)))
            }
            Poll::Ready(None) => {
                this.recorder.finish(Code::Unknown);
                Poll::Ready(None)
            }
            Poll::Pending => return Poll::Pending,
        };
        this.held = None;
        ended
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let rest = self.rest.as_ref().map_or(0, |r| r.len() as u64);
        let inner = self.inner.size_hint();
        let mut hint = http_body::SizeHint::new();
        hint.set_lower(inner.lower() + rest);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + rest);
        }
        hint
    }
}
