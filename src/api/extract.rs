//! Folio's own extractors, so that every rejection is a problem+json like every other error:
//! JSON and form bodies, query strings, path ids, the signed-in user, the client's address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::{ApiError, AppState};
use crate::service::FieldError;
use crate::service::auth::Principal;

/// A JSON body. Malformed JSON is a 400; JSON of the wrong shape a 422 naming the field.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !has_content_type(request.headers(), "application/json") {
            return Err(ApiError::UnsupportedMediaType(
                "Send the body as application/json.".into(),
            ));
        }
        let bytes = read_body(request, state).await?;
        parse_json(&bytes).map(Self)
    }
}

/// A JSON body or an HTML form (`application/x-www-form-urlencoded`), for the sign-in
/// endpoint that the docs page's OAuth2 "Authorize" button posts a form to.
pub struct JsonOrForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonOrForm<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let headers = request.headers().clone();
        if has_content_type(&headers, "application/json") {
            parse_json(&read_body(request, state).await?).map(Self)
        } else if has_content_type(&headers, "application/x-www-form-urlencoded") {
            parse_form(&read_body(request, state).await?).map(Self)
        } else {
            Err(ApiError::UnsupportedMediaType(
                "Send the body as application/json.".into(),
            ))
        }
    }
}

/// A query string, checked like a body.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_form(parts.uri.query().unwrap_or("").as_bytes()).map(Self)
    }
}

/// Path parameters; a value of the wrong type (`/users/abc`) is a 422 naming the parameter.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let field = match e.kind() {
                    axum::extract::path::ErrorKind::ParseErrorAtKey { key, .. }
                    | axum::extract::path::ErrorKind::DeserializeError { key, .. } => key.clone(),
                    // A single value is parsed without its name; the route has it.
                    _ => single_path_param(parts).unwrap_or_else(|| "path".to_string()),
                };
                Err(ApiError::Validation(vec![FieldError::new(
                    field,
                    e.body_text(),
                )]))
            }
            Err(other) => Err(ApiError::internal(other.body_text())),
        }
    }
}

/// The name of the route's only `{parameter}`, if it has exactly one.
fn single_path_param(parts: &Parts) -> Option<String> {
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()?
        .as_str();
    let mut names = route
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'));
    let name = names.next()?;
    names.next().is_none().then(|| name.to_string())
}

async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("The request body is too large.".into())
            } else {
                ApiError::BadRequest(format!(
                    "The body could not be read: {}",
                    rejection.body_text()
                ))
            }
        })
}

fn has_content_type(headers: &HeaderMap, wanted: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(wanted))
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => field_error(&path, &inner.to_string()),
            _ => ApiError::BadRequest(format!("The body is not valid JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::BadRequest(format!("The body is not valid JSON: {e}")))?;
    Ok(value)
}

fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        field_error(&path, &e.into_inner().to_string())
    })
}

/// A 422 for a value of the wrong shape. serde names a missing field only in its message
/// ("missing field `password`"), so the name is taken from there when the path is the root.
fn field_error(path: &str, message: &str) -> ApiError {
    let message = message.split(" at line ").next().unwrap_or(message);
    let field = if path.is_empty() || path == "." {
        message
            .split('`')
            .nth(1)
            .filter(|_| message.starts_with("missing field"))
            .unwrap_or("body")
            .to_string()
    } else {
        path.to_string()
    };
    ApiError::Validation(vec![FieldError::new(field, message)])
}

/// The credential a request carries: `Authorization: Bearer …` or `X-Api-Key: …`.
fn credential(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().map_err(|_| {
            ApiError::Unauthorized("The Authorization header is not readable.".into())
        })?;
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::Unauthorized(
                "Use Authorization: Bearer <access token or API key>.".into(),
            ));
        }
        return Ok(Some(token.trim().to_string()));
    }
    if let Some(value) = headers.get("x-api-key") {
        let key = value
            .to_str()
            .map_err(|_| ApiError::Unauthorized("The X-Api-Key header is not readable.".into()))?;
        return Ok(Some(key.trim().to_string()));
    }
    Ok(None)
}

/// The signed-in user; a request without valid credentials is a 401.
pub struct CurrentUser(pub Principal);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let credential = credential(&parts.headers)?.ok_or_else(|| {
            ApiError::Unauthorized(
                "Sign in first: send Authorization: Bearer <token>, or X-Api-Key.".into(),
            )
        })?;
        Ok(Self(state.auth.authenticate(&credential).await?))
    }
}

/// A signed-in admin; a reader is a 403.
pub struct AdminUser(pub Principal);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentUser(principal) = CurrentUser::from_request_parts(parts, state).await?;
        if principal.is_admin() {
            Ok(Self(principal))
        } else {
            Err(ApiError::Forbidden("This needs an admin.".into()))
        }
    }
}

/// The signed-in user if credentials were sent. Credentials that were sent but are wrong are
/// still a 401: a typo in a token must not silently turn into an anonymous request.
pub struct MaybeUser(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match credential(&parts.headers)? {
            None => Ok(Self(None)),
            Some(credential) => Ok(Self(Some(state.auth.authenticate(&credential).await?))),
        }
    }
}

/// The address of the client, for per-address limits.
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(Self::of(parts))
    }
}

impl ClientAddress {
    /// The address a request came from (unspecified where the server did not say, in tests
    /// that drive the router directly); for extractors of their own (OPDS, KOReader sync).
    /// Behind a trusted proxy (`FOLIO_TRUSTED_PROXIES`) it is the address the proxy saw.
    pub fn of(parts: &Parts) -> Self {
        if let Some(crate::server::ClientIp(ip)) = parts.extensions.get() {
            return Self(*ip);
        }
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Self(address)
    }
}
