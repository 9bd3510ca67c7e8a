//! Signing in, registering and signing out in the browser, and the language switch.
//!
//! A wrong password or a taken name shows the form again with the reader's input and what to
//! fix; only the password is never sent back.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::extract::{ApiQuery, ClientAddress};
use crate::api::{ApiError, AppState};
use crate::service::ServiceError;
use crate::service::accounts::{self, Registration};
use crate::web::context::local_path;
use crate::web::i18n::{LANG_COOKIE, Locale};
use crate::web::{Ctx, cookies, csrf, see_other};

#[derive(Template)]
#[template(path = "signin.html")]
struct SignIn {
    ctx: Ctx,
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
    /// A referral link's code, carried to the registration form.
    #[serde(rename = "ref")]
    referral: Option<String>,
}

/// `GET /signin`
pub async fn signin_form(
    ctx: Ctx,
    ApiQuery(params): ApiQuery<NextParam>,
) -> Result<Response, ApiError> {
    crate::web::render(&SignIn {
        next: local_path(params.next.as_deref()),
        ctx,
        username: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct SignInForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// `POST /signin`: sets the session cookie and goes back where the reader was.
pub async fn signin(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientAddress(address): ClientAddress,
    headers: axum::http::HeaderMap,
    csrf::Form(form): csrf::Form<SignInForm>,
) -> Result<Response, ApiError> {
    let next = local_path(form.next.as_deref());
    let outcome = state
        .auth
        .login_browser(&form.username, &form.password, address)
        .await;
    match outcome {
        Ok((token, _)) => {
            let mut response = see_other(&next);
            let secure = cookies::secure(state.settings.cookie_secure, &headers);
            let ttl = state.auth.browser_session_ttl().as_secs();
            response.headers_mut().append(
                header::SET_COOKIE,
                cookies::set(cookies::SESSION, &token, ttl, secure),
            );
            Ok(response)
        }
        Err(error) => {
            let (status, message) = match &error {
                ServiceError::Unauthenticated(_) => {
                    (axum::http::StatusCode::UNAUTHORIZED, "signin-wrong")
                }
                ServiceError::Forbidden(_) => {
                    (axum::http::StatusCode::FORBIDDEN, "signin-disabled")
                }
                ServiceError::RateLimited { .. } => {
                    (axum::http::StatusCode::TOO_MANY_REQUESTS, "signin-too-many")
                }
                _ => return Err(error.into()),
            };
            let page = SignIn {
                error: Some(ctx.t(message)),
                ctx,
                username: form.username,
                next,
            };
            // The form again, with the status the failure deserves (a test or a password
            // manager can tell), and as HTML: this is not an error page.
            let mut response = crate::web::render(&page)?;
            *response.status_mut() = status;
            Ok(response)
        }
    }
}

#[derive(Template)]
#[template(path = "register.html")]
struct Register {
    ctx: Ctx,
    username: String,
    email: String,
    referral: String,
    /// (field, message) for each field to fix.
    errors: Vec<(String, String)>,
}

impl Register {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// `GET /register`
pub async fn register_form(
    ctx: Ctx,
    ApiQuery(params): ApiQuery<NextParam>,
) -> Result<Response, ApiError> {
    crate::web::render(&Register {
        ctx,
        username: String::new(),
        email: String::new(),
        referral: params.referral.unwrap_or_default(),
        errors: vec![],
    })
}

#[derive(Deserialize)]
pub struct RegisterForm {
    username: String,
    email: String,
    password: String,
    referral_code: Option<String>,
}

/// `POST /register`: creates the account and signs it in.
pub async fn register(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientAddress(address): ClientAddress,
    headers: axum::http::HeaderMap,
    csrf::Form(form): csrf::Form<RegisterForm>,
) -> Result<Response, ApiError> {
    state.auth.throttle_address(address).await?;
    let referral = form
        .referral_code
        .clone()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let registration = Registration {
        username: form.username.clone(),
        email: form.email.clone(),
        password: form.password.clone(),
        referral_code: referral.clone(),
    };
    let created = accounts::register(&state.db, state.auth.hasher(), registration, None).await;
    let errors = match created {
        Ok(_) => vec![],
        Err(ServiceError::Validation(fields)) => fields
            .into_iter()
            .map(|f| {
                let message = field_message(ctx.locale, &f.field, &f.message);
                (f.field, message)
            })
            .collect(),
        Err(ServiceError::Conflict { field, .. }) => {
            let message = ctx.t(&format!("register-taken-{}", known_field(&field)));
            vec![(known_field(&field).to_string(), message)]
        }
        Err(other) => return Err(other.into()),
    };
    if !errors.is_empty() {
        let page = Register {
            ctx,
            username: form.username,
            email: form.email,
            referral: referral.unwrap_or_default(),
            errors,
        };
        let mut response = crate::web::render(&page)?;
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    let (token, _) = state
        .auth
        .login_browser_registered(&form.username, &form.password, address)
        .await?;
    let mut response = see_other("/");
    let secure = cookies::secure(state.settings.cookie_secure, &headers);
    let ttl = state.auth.browser_session_ttl().as_secs();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(cookies::SESSION, &token, ttl, secure),
    );
    Ok(response)
}

/// The registration fields a message is kept for; anything else is the form's.
fn known_field(field: &str) -> &'static str {
    match field {
        "username" => "username",
        "email" => "email",
        "password" => "password",
        "referral_code" => "referral_code",
        _ => "form",
    }
}

/// What to fix in a field, in the reader's language. The service's own words are English; in
/// English they are shown as they are (they say exactly what is wrong), in Russian the
/// catalogue's sentence for the field.
fn field_message(locale: Locale, field: &str, message: &str) -> String {
    match locale {
        Locale::En => {
            let mut message = message.to_string();
            if let Some(first) = message.get(..1) {
                message.replace_range(..1, &first.to_uppercase());
            }
            message
        }
        _ => locale.t(&format!("register-invalid-{}", known_field(field))),
    }
}

/// `POST /signout`: ends this sign-in (its cookie stops working everywhere at once).
pub async fn signout(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    csrf::Form(_): csrf::Form<serde::de::IgnoredAny>,
) -> Result<Response, ApiError> {
    if let Some(session_id) = ctx.user.as_ref().and_then(|u| u.session_id) {
        state.auth.logout(session_id).await?;
    }
    Ok(signed_out(&state, &headers))
}

/// Back to the start page with the session cookie gone: what every way of signing this
/// browser out answers.
pub(crate) fn signed_out(state: &AppState, headers: &axum::http::HeaderMap) -> Response {
    let mut response = see_other("/");
    let secure = cookies::secure(state.settings.cookie_secure, headers);
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(cookies::SESSION, "", 0, secure),
    );
    response
}

#[derive(Deserialize)]
pub struct LanguageForm {
    lang: String,
    next: Option<String>,
}

/// `POST /lang`: the language switch; remembered for a year.
pub async fn language(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    csrf::Form(form): csrf::Form<LanguageForm>,
) -> Result<Response, ApiError> {
    let locale = Locale::parse(&form.lang)
        .ok_or_else(|| ApiError::BadRequest("lang must be en or ru.".into()))?;
    let mut response = see_other(&local_path(form.next.as_deref()));
    let secure = cookies::secure(state.settings.cookie_secure, &headers);
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(LANG_COOKIE, locale.tag(), 365 * 86_400, secure),
    );
    Ok(response.into_response())
}
