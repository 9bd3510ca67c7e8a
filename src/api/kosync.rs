//! KOReader's progress sync under `/kosync`, as KOReader's client speaks it and its reference
//! server (koreader-sync-server) answers: `x-auth-user` and `x-auth-key` (the MD5 of the
//! password) on every request, `{code, message}` errors with the reference's codes and
//! statuses, and whatever `Accept` and `Content-Type` KOReader sends. Its own router, auth
//! extractor and errors; the rules are `service::kosync`'s.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::ClientAddress;
use super::{ApiError, AppState};
use crate::service::ServiceError;
use crate::service::auth::Principal;
use crate::service::kosync::{self, Position, Push};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/kosync/users/create", post(create_user))
        .route("/kosync/users/auth", get(authorize))
        .route("/kosync/syncs/progress", put(update_progress))
        .route("/kosync/syncs/progress/{document}", get(get_progress))
        .route("/kosync/healthcheck", get(healthcheck))
}

/// The reference server's errors: its code, its status, its message.
#[derive(Debug)]
pub enum KosyncError {
    Unauthorized,
    UserExists,
    InvalidFields,
    DocumentMissing,
    RegistrationDisabled,
    /// Anything else (the database is down, too many attempts…), as the API answers it.
    Other(ApiError),
}

impl KosyncError {
    fn parts(&self) -> (u16, StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (2001, StatusCode::UNAUTHORIZED, "Unauthorized"),
            Self::UserExists => (
                2002,
                StatusCode::PAYMENT_REQUIRED,
                "Username is already registered.",
            ),
            Self::InvalidFields => (2003, StatusCode::FORBIDDEN, "Invalid request"),
            Self::DocumentMissing => (
                2004,
                StatusCode::FORBIDDEN,
                "Field 'document' not provided.",
            ),
            Self::RegistrationDisabled => (
                2005,
                StatusCode::PAYMENT_REQUIRED,
                "User registration is disabled.",
            ),
            Self::Other(_) => (2000, StatusCode::BAD_GATEWAY, "Unknown server error."),
        }
    }
}

impl From<ServiceError> for KosyncError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Unauthenticated(_) => Self::Unauthorized,
            ServiceError::Validation(errors) if errors.iter().any(|f| f.field == "document") => {
                Self::DocumentMissing
            }
            ServiceError::Validation(_) | ServiceError::Malformed(_) => Self::InvalidFields,
            ServiceError::Conflict { .. } => Self::UserExists,
            other => Self::Other(other.into()),
        }
    }
}

impl IntoResponse for KosyncError {
    fn into_response(self) -> Response {
        if let Self::Other(e) = self {
            return e.into_response();
        }
        let (code, status, message) = self.parts();
        (status, Json(json!({"code": code, "message": message}))).into_response()
    }
}

/// The reader a request signs in as, from `x-auth-user` and `x-auth-key`.
pub struct KoreaderUser(pub Principal);

impl FromRequestParts<AppState> for KoreaderUser {
    type Rejection = KosyncError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, KosyncError> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let (Some(user), Some(key)) = (header("x-auth-user"), header("x-auth-key")) else {
            return Err(KosyncError::Unauthorized);
        };
        let ClientAddress(address) = ClientAddress::of(parts);
        let who = state
            .auth
            .authenticate_kosync(&user, &key.to_ascii_lowercase(), address)
            .await?;
        Ok(Self(who))
    }
}

/// A JSON body whatever `Content-Type` says (KOReader's varies by version); extra fields are
/// ignored, as the reference server ignores them.
fn body<T: for<'de> Deserialize<'de>>(bytes: &Bytes) -> Result<T, KosyncError> {
    serde_json::from_slice(bytes).map_err(|_| KosyncError::InvalidFields)
}

#[derive(Deserialize)]
struct NewUser {
    username: Option<String>,
    password: Option<String>,
}

async fn create_user(State(state): State<AppState>, bytes: Bytes) -> Result<Response, KosyncError> {
    if !state.settings.kosync_registration {
        return Err(KosyncError::RegistrationDisabled);
    }
    let form: NewUser = body(&bytes)?;
    let (Some(username), Some(password)) = (form.username, form.password) else {
        return Err(KosyncError::InvalidFields);
    };
    kosync::register(&state.db, state.auth.hasher(), &username, &password).await?;
    Ok((StatusCode::CREATED, Json(json!({"username": username}))).into_response())
}

async fn authorize(KoreaderUser(_): KoreaderUser) -> Json<Value> {
    Json(json!({"authorized": "OK"}))
}

#[derive(Deserialize)]
struct ProgressBody {
    document: Option<String>,
    progress: Option<Value>,
    percentage: Option<Value>,
    device: Option<String>,
    device_id: Option<String>,
}

async fn update_progress(
    State(state): State<AppState>,
    KoreaderUser(who): KoreaderUser,
    bytes: Bytes,
) -> Result<Json<Value>, KosyncError> {
    let form: ProgressBody = body(&bytes)?;
    let document = form
        .document
        .filter(|d| !d.is_empty())
        .ok_or(KosyncError::DocumentMissing)?;
    // KOReader sends the progress as a string (an XPointer or a page) and the percentage as a
    // number; older versions sent either as the other.
    let progress = match form.progress {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(KosyncError::InvalidFields),
    };
    let percentage = match form.percentage {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or(KosyncError::InvalidFields)?;
    let push = Push {
        document: document.clone(),
        progress,
        percentage,
        device: form.device.unwrap_or_default(),
        device_id: form.device_id.unwrap_or_default(),
    };
    let timestamp = kosync::push(&state.db, &who, push).await?;
    Ok(Json(json!({"document": document, "timestamp": timestamp})))
}

async fn get_progress(
    State(state): State<AppState>,
    KoreaderUser(who): KoreaderUser,
    Path(document): Path<String>,
) -> Result<Json<Value>, KosyncError> {
    let found = kosync::pull(&state.db, &who, &document).await?;
    Ok(Json(match found {
        // An unknown document is an empty object, not an error.
        None => json!({}),
        Some(Position {
            document,
            progress,
            percentage,
            device,
            device_id,
            timestamp,
        }) => json!({
            "document": document, "progress": progress, "percentage": percentage,
            "device": device, "device_id": device_id, "timestamp": timestamp,
        }),
    }))
}

async fn healthcheck() -> Json<Value> {
    Json(json!({"state": "OK"}))
}
