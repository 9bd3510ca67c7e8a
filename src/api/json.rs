//! JSON answers. axum's `Json` serialises into a `BytesMut` through `BufMut::put_slice`, a
//! call that is not inlined, once per token; a `Vec` takes the same bytes inline. The body and
//! its `Content-Type` are the same.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::ApiError;

/// Room for a book or a short list at once; a page of books grows it a few times.
const INITIAL_CAPACITY: usize = 4096;

/// A JSON answer, as axum's `Json` is one, with its own name so the two are never confused.
pub struct JsonResponse<T>(pub T);

impl<T: Serialize> IntoResponse for JsonResponse<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(INITIAL_CAPACITY);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(err) => {
                ApiError::internal(format!("an answer could not be written as JSON: {err}"))
                    .into_response()
            }
        }
    }
}
