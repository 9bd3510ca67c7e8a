//! Reading the rest of a request body that its handler left unread, before answering.
//!
//! A handler that refuses a request early (a JSON body over the limit, an upload over
//! `FOLIO_MAX_UPLOAD_BYTES`, a wrong token on a POST) answers while the client is still
//! sending. hyper then closes the connection with bytes unread, the kernel answers the
//! client's next segment with a reset, and the client sees "broken pipe" or "connection reset"
//! instead of the 413 or 401 that says what was wrong. Servers like nginx read and drop the
//! rest for a while first ("lingering close"); this layer does the same, within a budget of
//! bytes and time, so a client that sent a little too much reads its answer and one that sends
//! gigabytes is still cut off.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};
use tokio::sync::oneshot;

/// The most of a body read and dropped after its answer is ready. A body with more than this
/// left (by its `Content-Length`) is not read at all: the connection closes.
const LINGER_BYTES: u64 = 16 * 1024 * 1024;

/// The longest the answer waits for the rest of the body.
const LINGER_TIME: Duration = Duration::from_secs(5);

/// The outermost layer: the request's body comes back here when the handler drops it unread.
pub async fn linger(request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let (back, mut returned) = oneshot::channel();
    let request = request.map(|body| {
        Body::new(Returning {
            body: Some(body),
            read: 0,
            back: Some(back),
        })
    });
    let response = next.run(request).await;
    // Only a body the handler has dropped comes back; one still held elsewhere is left alone.
    if let Ok((rest, read)) = returned.try_recv() {
        let left = declared.map(|length| length.saturating_sub(read));
        if left.is_none_or(|left| left <= LINGER_BYTES) {
            let _ = tokio::time::timeout(LINGER_TIME, drop_rest(rest)).await;
        }
    }
    response
}

async fn drop_rest(body: Body) {
    let mut budget = LINGER_BYTES;
    let mut stream = body.into_data_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        budget = budget.saturating_sub(chunk.len() as u64);
        if budget == 0 {
            return;
        }
    }
}

/// A request body that sends itself back, with how much of it was read, when dropped before
/// its end.
struct Returning {
    body: Option<Body>,
    read: u64,
    back: Option<oneshot::Sender<(Body, u64)>>,
}

impl HttpBody for Returning {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(body) = self.body.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.read += data.len() as u64;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if let (Some(body), Some(back)) = (self.body.take(), self.back.take())
            && !body.is_end_stream()
        {
            let _ = back.send((body, self.read));
        }
    }
}
