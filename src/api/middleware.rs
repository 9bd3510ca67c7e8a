//! The layers around every route, and the answers for routes and methods that do not exist.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, State};
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::{Level, Span};

use super::error::Failure;
use super::{ApiError, DatabaseUnavailable};
use crate::config::RequestLimits;
use crate::db::Database;
use crate::telemetry::metrics;

/// Wraps every route. A request still running after `limits.request_timeout` is answered with
/// 503 and its work is dropped, which rolls back any unit of work it held.
pub fn wrap(router: Router, limits: &RequestLimits) -> Router {
    let timeout = limits.request_timeout;
    router.layer(
        ServiceBuilder::new()
            // Outermost first. What a handler left of the body is read before the answer
            // goes, so a refused upload's client reads the refusal.
            .layer(axum::middleware::from_fn(super::linger::linger))
            // The id exists before the span opens and is echoed on every response,
            // including the ones the inner layers make up.
            .layer(axum::middleware::map_request(drop_unusable_request_id))
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_request(())
                    .on_response(log_response)
                    .on_failure(()),
            )
            .layer(axum::middleware::from_fn(security_headers))
            .layer(axum::middleware::from_fn(measure))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(axum::middleware::from_fn(move |request, next| {
                with_timeout(timeout, request, next)
            }))
            .layer(DefaultBodyLimit::max(limits.max_body_bytes)),
    )
}

/// The longest client-sent request id kept; a longer one, or one with other characters than
/// `[A-Za-z0-9._-]`, is replaced by a generated one. A client's id is echoed and written into
/// every log line of its request: unchecked, a 60,000-character id made a 60,000-character log
/// line, and a newline or control character in it could forge one.
const MAX_REQUEST_ID: usize = 64;

async fn drop_unusable_request_id(mut request: Request<Body>) -> Request<Body> {
    let usable = request.headers().get("x-request-id").is_none_or(|id| {
        let id = id.as_bytes();
        !id.is_empty()
            && id.len() <= MAX_REQUEST_ID
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    if !usable {
        request.headers_mut().remove("x-request-id");
    }
    request
}

/// Headers every answer carries: `nosniff`, so a browser never runs a JSON or an uploaded
/// file as something else; and `Cache-Control: no-store` on everything answered to a signed-in
/// request and on the sign-in routes themselves (tokens), so no shared or browser cache keeps a
/// reader's data or credentials. A handler that set its own `Cache-Control` keeps it.
async fn security_headers(request: Request<Body>, next: axum::middleware::Next) -> Response<Body> {
    let private = request.headers().contains_key(header::AUTHORIZATION)
        || request.headers().contains_key("x-api-key")
        || request.uri().path().starts_with("/api/v1/auth/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if private && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Counts and times every request for the metrics (a panic's 500 and a timeout's 503
/// included: both are answered inside), labelled by the route as declared. Nothing at all
/// when the metrics listener is off.
async fn measure(request: Request<Body>, next: axum::middleware::Next) -> Response<Body> {
    if !metrics::enabled() {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let handling = metrics::Handling::begin();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    handling.answered(method.as_str(), route, response.status().as_u16());
    response
}

/// The span every log line of a request is written in. Only the path is recorded: query
/// strings may carry things that must not reach the log.
fn request_span(request: &Request<Body>) -> Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    // The route as declared (`/api/v1/books/{id}`), so a slow or failing endpoint's lines group
    // together whatever ids were asked for; `-` for a path no route matched.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("-", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        route = %route,
        path = %request.uri().path(),
    )
}

/// The response line of every request and, before it, the one line of a fault behind it
/// (`ApiError` leaves it on the response as a [`Failure`]): a fault is logged here and nowhere
/// else, inside the request's span, so with its request id.
fn log_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    if let Some(failure) = response.extensions().get::<Failure>() {
        match failure.level {
            Level::ERROR => tracing::error!(error = %failure.chain, "request failed"),
            _ => tracing::warn!(error = %failure.chain, "request failed"),
        }
    }
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if response.status().is_server_error() {
        tracing::event!(Level::WARN, status, latency_ms, "response");
    } else {
        tracing::event!(Level::INFO, status, latency_ms, "response");
    }
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}

async fn with_timeout(
    timeout: Duration,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response<Body> {
    // An upload runs as long as its client takes to send it; its parts are written to disk as
    // they come, so it holds no more memory for being slow.
    let uploading = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|route| route.as_str() == super::files::UPLOAD_ROUTE)
        && request.method() == axum::http::Method::POST;
    if uploading {
        return next.run(request).await;
    }
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable(format!(
            "The request did not finish within {} seconds.",
            timeout.as_secs()
        ))
        .into_response(),
    }
}

/// Refuses a request at once while PostgreSQL is known to be down, rather than letting it wait
/// out the pool timeout; a response that found the database unavailable starts that state
/// (`db::outage`). The probes (`/health`, `/ready`) always run: `/ready` asks the database
/// itself.
pub async fn while_database_down(
    State(db): State<Database>,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response<Body> {
    let probe = matches!(request.uri().path(), "/health" | "/ready");
    if db.is_known_down() && !probe {
        return ApiError::Unavailable("The database is unavailable; try again shortly.".into())
            .into_response();
    }
    let response = next.run(request).await;
    if response.extensions().get::<DatabaseUnavailable>().is_some() {
        db.report_unavailable();
    }
    response
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("No resource at this path.".into())
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
