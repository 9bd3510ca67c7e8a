//! Errors as pages: a handler (or the router, for a path nothing serves) answers with the
//! API's problem+json; for a browser it becomes a page in the reader's language with the same
//! status and headers, and the request id of a server error. No stack trace or internal
//! message reaches a page: a 5xx problem's detail is generic already.

use askama::Template;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::Ctx;
use crate::api::{AppState, PROBLEM_JSON};

/// The longest problem body read back; a problem is a few hundred bytes.
const MAX_PROBLEM: usize = 64 * 1024;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: Ctx,
    heading: String,
    message: String,
    detail: Option<String>,
    /// The fields at fault, as `field: what is wrong`.
    fields: Vec<String>,
    request_id: Option<String>,
}

/// `response` as a page if it is a problem and the browser asked for a page; else unchanged.
pub async fn page(state: &AppState, request: &Parts, response: Response) -> Response {
    let headers = &request.headers;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !is_problem || !wants_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let status = parts.status;
    let problem = axum::body::to_bytes(body, MAX_PROBLEM)
        .await
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    let detail = problem
        .as_ref()
        .and_then(|p| p.get("detail")?.as_str().map(str::to_string));

    let fields = problem
        .as_ref()
        .and_then(|p| p.get("errors")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            let field = e.get("field")?.as_str()?;
            let message = e.get("message")?.as_str()?;
            Some(format!("{field}: {message}"))
        })
        .collect();

    let ctx = Ctx::of(request, state).await;
    if status == StatusCode::UNAUTHORIZED {
        // Not signed in, or no longer: the sign-in page, which brings the reader back.
        return super::see_other(&format!("/signin?next={}", ctx.here_encoded()));
    }
    let key = match status.as_u16() {
        400 | 404 | 403 | 409 | 413 | 422 | 429 => status.as_u16(),
        500..=599 => 500,
        _ => 400,
    };
    let server_error = status.is_server_error();
    let page = ErrorPage {
        heading: ctx.t(&format!("error-{key}-title")),
        message: ctx.t(&format!("error-{key}")),
        detail: detail.filter(|_| !server_error),
        fields,
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        ctx,
    };
    let html = page.render().unwrap_or_else(|_| status.to_string());
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(html))
}
