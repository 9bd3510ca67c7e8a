//! The reader's account: who they are, their password and sign-ins, API keys (a new one shown
//! once), the addresses their reading apps use, referral links with what they brought, notes,
//! and the export of their data.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::extract::ApiPath;
use crate::api::{ApiError, AppState};
use crate::service::auth::{PasswordChange, Principal};
use crate::service::{ServiceError, accounts, api_keys, notes, referrals};
use crate::web::pages::account::signed_out;
use crate::web::{Ctx, csrf, see_other};

fn reader(ctx: &Ctx) -> Result<&Principal, ApiError> {
    ctx.user
        .as_ref()
        .ok_or_else(|| ApiError::Unauthorized("Sign in first.".into()))
}

#[derive(Template)]
#[template(path = "account.html")]
struct Account {
    ctx: Ctx,
    username: String,
    email: String,
    since: String,
    /// This site's address as the reader's apps reach it.
    origin: String,
    keys: Vec<(i64, String, String, String)>,
    /// Sign-ins still in use: id, when it began, what it is, whether it is this browser.
    sign_ins: Vec<(i64, String, String, bool)>,
    /// A key just made: shown this once.
    new_key: Option<String>,
    links: Vec<(String, i64, i64, i64)>,
    notes: Vec<(i64, String, String)>,
    /// What the last form did, said back.
    notice: Option<String>,
    /// What is wrong with the password form.
    password_error: Option<String>,
}

/// The address the browser reached folio at (behind a TLS proxy, its scheme).
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:8000");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

async fn page(
    state: &AppState,
    ctx: Ctx,
    headers: &HeaderMap,
    new_key: Option<String>,
    notice: Option<String>,
    password_error: Option<String>,
) -> Result<Response, ApiError> {
    let who = reader(&ctx)?.clone();
    let user = accounts::get(&state.db, who.user_id).await?;
    let keys = api_keys::page(&state.db, &who, None, 100)
        .await?
        .rows
        .into_iter()
        .map(|k| {
            let used = k
                .last_used_at
                .map(|t| ctx.locale.date(t.date_naive()))
                .unwrap_or_else(|| ctx.t("account-never"));
            (k.id, k.name, format!("{}…", k.prefix), used)
        })
        .collect();
    let sign_ins = state
        .auth
        .sign_ins(&who)
        .await?
        .into_iter()
        .map(|live| {
            let current = who.session_id == Some(live.session.id);
            let kind = match (current, live.app) {
                (true, _) => "account-sign-in-this",
                (false, true) => "account-sign-in-app",
                (false, false) => "account-sign-in-browser",
            };
            let at = live.session.created_at;
            let began = format!(
                "{} {} UTC",
                ctx.locale.date(at.date_naive()),
                at.format("%H:%M")
            );
            (live.session.id, began, ctx.t(kind), current)
        })
        .collect();
    let links = referrals::page(&state.db, &who, None, 100)
        .await?
        .rows
        .into_iter()
        .map(|l| (l.code, l.clicks, l.signups, l.purchases))
        .collect();
    let notes = notes::page(&state.db, &who, None, None, 20)
        .await?
        .rows
        .into_iter()
        .map(|n| {
            (
                n.book_id,
                n.text.unwrap_or_default(),
                ctx.locale.date(n.updated_at.date_naive()),
            )
        })
        .collect();
    let page = Account {
        username: user.username,
        email: user.email,
        since: ctx.locale.date(user.created_at.date_naive()),
        origin: origin(headers),
        keys,
        sign_ins,
        new_key,
        links,
        notes,
        notice,
        password_error,
        ctx,
    };
    crate::web::render(&page)
}

/// `GET /account`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, ctx, &headers, None, None, None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    keep_api_keys: Option<String>,
}

/// `POST /account/password`: every other sign-in ends; API keys too unless kept.
pub async fn password(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    csrf::Form(form): csrf::Form<PasswordForm>,
) -> Result<Response, ApiError> {
    let who = reader(&ctx)?.clone();
    let change = PasswordChange {
        current_password: form.current_password,
        new_password: form.new_password,
        keep_api_keys: form.keep_api_keys.is_some(),
    };
    match state.auth.change_password(&who, change).await {
        Ok(revoked) => {
            let notice = ctx.locale.t2(
                "account-password-changed",
                ("sessions", revoked.sessions as i64),
                ("keys", revoked.api_keys as i64),
            );
            page(&state, ctx, &headers, None, Some(notice), None).await
        }
        Err(ServiceError::Validation(fields)) => {
            let message = fields
                .iter()
                .map(|f| match f.field.as_str() {
                    "old_password" | "current_password" => ctx.t("account-wrong-password"),
                    _ => ctx.t("register-invalid-password"),
                })
                .next()
                .unwrap_or_default();
            let mut response = page(&state, ctx, &headers, None, None, Some(message)).await?;
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /account/signout-everywhere`
pub async fn signout_everywhere(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    csrf::Form(_): csrf::Form<serde::de::IgnoredAny>,
) -> Result<Response, ApiError> {
    let who = reader(&ctx)?;
    state.auth.logout_everywhere(who).await?;
    Ok(signed_out(&state, &headers))
}

/// `POST /account/sign-ins/{id}/end`: one other browser or app signed out.
pub async fn end_sign_in(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(_): csrf::Form<serde::de::IgnoredAny>,
) -> Result<Response, ApiError> {
    let who = reader(&ctx)?.clone();
    state.auth.end_sign_in(&who, id).await?;
    if who.session_id == Some(id) {
        return Ok(signed_out(&state, &headers));
    }
    let notice = ctx.t("account-sign-in-ended");
    page(&state, ctx, &headers, None, Some(notice), None).await
}

#[derive(Deserialize)]
pub struct KeyForm {
    name: String,
}

/// `POST /account/api-keys`: the new key is on the page this once, never again.
pub async fn create_key(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    csrf::Form(form): csrf::Form<KeyForm>,
) -> Result<Response, ApiError> {
    let who = reader(&ctx)?.clone();
    let (_, key) = api_keys::create(&state.db, &who, form.name).await?;
    let mut response = page(&state, ctx, &headers, Some(key), None, None).await?;
    // The key is in this page: no cache may keep it.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /account/api-keys/{id}/revoke`
pub async fn revoke_key(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(_): csrf::Form<serde::de::IgnoredAny>,
) -> Result<Response, ApiError> {
    api_keys::revoke(&state.db, reader(&ctx)?, id).await?;
    Ok(see_other("/account#api-keys"))
}

#[derive(Deserialize)]
pub struct LinkForm {
    code: Option<String>,
}

/// `POST /account/referral-links`
pub async fn create_link(
    State(state): State<AppState>,
    ctx: Ctx,
    csrf::Form(form): csrf::Form<LinkForm>,
) -> Result<Response, ApiError> {
    let code = form
        .code
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    referrals::create(&state.db, reader(&ctx)?, code).await?;
    Ok(see_other("/account#referrals"))
}

/// `GET /account/export`: everything folio keeps of the reader, as one JSON file.
pub async fn export(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    let who = reader(&ctx)?;
    let mut out = Vec::new();
    crate::export::user(&state.db, &who.username, &mut out)
        .await
        .map_err(|e| ApiError::internal(format!("the reader's export failed: {e}")))?;
    let mut response = out.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"folio-export.json\""),
    );
    Ok(response)
}
