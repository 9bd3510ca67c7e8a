//! The shop keeper's pages: adding and editing books and their editions, uploading files with
//! a progress bar and applying what they say, and the users. Every rule is the services':
//! these pages only gather a form and show what came of it.

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use crate::api::extract::ApiPath;
use crate::api::{ApiError, AppState};
use crate::entity::enums::{EditionAccess, EditionFormat, UserRole};
use crate::repo::book::BookFields;
use crate::repo::edition::EditionFields;
use crate::service::auth::Principal;
use crate::service::catalog::books::{self, BookInput, BookPatch};
use crate::service::catalog::editions::{self, EditionInput};
use crate::service::catalog::{authors, categories};
use crate::service::{ServiceError, accounts, files};
use crate::web::view::{self, format_name};
use crate::web::{Ctx, csrf, see_other};

pub(super) fn admin(ctx: &Ctx) -> Result<&Principal, ApiError> {
    match &ctx.user {
        None => Err(ApiError::Unauthorized("Sign in first.".into())),
        Some(who) if who.is_admin() => Ok(who),
        Some(_) => Err(ApiError::Forbidden(
            "This page is for the shop's keepers.".into(),
        )),
    }
}

/// A blank form field is no value.
pub(super) fn given(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[derive(Template)]
#[template(path = "admin.html")]
struct Dashboard {
    ctx: Ctx,
    categories: Vec<(usize, String, i64, bool)>,
}

/// `GET /admin`: the shop's start page, with the form that adds a book.
pub async fn dashboard(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    admin(&ctx)?;
    let categories = categories::tree(&state.db, 500)
        .await?
        .into_iter()
        .map(|(depth, c)| (depth, c.name, c.id, false))
        .collect();
    crate::web::render(&Dashboard { ctx, categories })
}

#[derive(Deserialize)]
pub struct BookForm {
    title: String,
    subtitle: Option<String>,
    description: Option<String>,
    original_year: Option<String>,
    language: Option<String>,
    series: Option<String>,
    series_number: Option<String>,
    /// Names, separated by commas.
    authors: Option<String>,
    /// The other fields: a checkbox `category-{id}` for each category chosen.
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

impl BookForm {
    fn year(&self) -> Result<Option<i32>, ApiError> {
        given(self.original_year.clone())
            .map(|y| y.parse::<i32>())
            .transpose()
            .map_err(|_| ServiceError::invalid("original_year", "a year is a whole number").into())
    }

    fn series_number(&self) -> Result<Option<f64>, ApiError> {
        given(self.series_number.clone())
            .map(|n| n.replace(',', ".").parse::<f64>())
            .transpose()
            .map_err(|_| {
                ServiceError::invalid("series_number", "is a number such as 1 or 2.5").into()
            })
    }

    fn author_names(&self) -> Vec<String> {
        self.authors
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn category_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .rest
            .keys()
            .filter_map(|k| k.strip_prefix("category-")?.parse().ok())
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// `POST /admin/books`
pub async fn create_book(
    State(state): State<AppState>,
    ctx: Ctx,
    csrf::Form(form): csrf::Form<BookForm>,
) -> Result<Response, ApiError> {
    let who = admin(&ctx)?;
    let author_ids = authors::by_names(&state.db, who, &form.author_names()).await?;
    let input = BookInput {
        fields: BookFields {
            title: form.title.clone(),
            subtitle: given(form.subtitle.clone()),
            description: given(form.description.clone()),
            original_year: form.year()?,
            language: given(form.language.clone()),
            series: given(form.series.clone()),
            series_number: form.series_number()?,
            popularity_prior: 0,
        },
        author_ids,
        category_ids: form.category_ids(),
    };
    let book = books::create(&state.db, who, input).await?;
    Ok(see_other(&format!("/admin/books/{}", book.book.id)))
}

#[derive(Template)]
#[template(path = "admin_book.html")]
struct BookAdmin {
    ctx: Ctx,
    id: i64,
    title: String,
    subtitle: String,
    description: String,
    year: String,
    language: String,
    series: String,
    series_number: String,
    authors: String,
    /// Each author's id and name, for their own page.
    author_links: Vec<(i64, String)>,
    categories: Vec<(usize, String, i64, bool)>,
    editions: Vec<EditionAdmin>,
    formats: Vec<(String, String)>,
    accesses: Vec<(String, String)>,
}

struct EditionAdmin {
    id: i64,
    format: String,
    price: Option<String>,
    access: String,
    /// The fields as the edit form shows them.
    access_value: String,
    price_input: String,
    currency: String,
    isbn: String,
    publisher: String,
    facts: Vec<String>,
    files: Vec<FileAdmin>,
    takes_files: bool,
}

/// A stored file and what it was read to say.
struct FileAdmin {
    name: String,
    size: String,
    says: Vec<(String, String)>,
}

/// `GET /admin/books/{id}`
pub async fn book(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    admin(&ctx)?;
    let book = books::get(&state.db, id).await?;
    let mut editions = vec![];
    for e in &book.editions {
        let edition = &e.edition;
        let mut files_read = vec![];
        for (file, read) in files::metadata(&state.db, edition.id).await? {
            let mut says = vec![];
            let mut say = |label: &str, value: Option<String>| {
                if let Some(value) = value.filter(|v| !v.is_empty()) {
                    says.push((ctx.t(label), value));
                }
            };
            say("meta-title", read.title.clone());
            say(
                "meta-creators",
                Some(
                    read.creators
                        .iter()
                        .map(|c| c.name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            );
            say("meta-language", read.language.clone());
            say("meta-isbn", read.isbn.clone());
            say("meta-publisher", read.publisher.clone());
            say("meta-date", read.date.clone());
            say("meta-pages", read.pages.map(|p| p.to_string()));
            say(
                "meta-duration",
                file.duration_seconds
                    .map(|s| view::duration(s.round() as i64, ctx.locale)),
            );
            say("meta-description", read.description.clone());
            files_read.push(FileAdmin {
                size: file_size(file.size),
                name: file.name,
                says,
            });
        }
        let mut facts = vec![];
        if let Some(pages) = edition.pages {
            facts.push(ctx.t1("count-pages", "count", i64::from(pages)));
        }
        if let Some(seconds) = edition.duration_seconds {
            facts.push(view::duration(seconds, ctx.locale));
        }
        if let Some(publisher) = &edition.publisher {
            facts.push(publisher.clone());
        }
        if let Some(isbn) = &edition.isbn {
            facts.push(format!("ISBN {isbn}"));
        }
        editions.push(EditionAdmin {
            id: edition.id,
            format: format_name(edition.format, ctx.locale),
            price: edition
                .price_minor
                .zip(edition.currency.as_deref())
                .map(|(m, c)| ctx.locale.price(m, c)),
            access: ctx.t(access_label(edition.access)),
            access_value: enum_value(&edition.access),
            price_input: edition
                .price_minor
                .zip(edition.currency.as_deref())
                .map(|(m, c)| crate::service::catalog::currency::decimal(m, c))
                .unwrap_or_default(),
            currency: edition.currency.clone().unwrap_or_default(),
            isbn: edition.isbn.clone().unwrap_or_default(),
            publisher: edition.publisher.clone().unwrap_or_default(),
            facts,
            files: files_read,
            takes_files: matches!(
                edition.format,
                EditionFormat::Ebook | EditionFormat::Audiobook
            ),
        });
    }
    let chosen: Vec<i64> = book.categories.iter().map(|c| c.id).collect();
    let categories = categories::tree(&state.db, 500)
        .await?
        .into_iter()
        .map(|(depth, c)| (depth, c.name, c.id, chosen.contains(&c.id)))
        .collect();
    let formats = [
        EditionFormat::Ebook,
        EditionFormat::Audiobook,
        EditionFormat::Print,
        EditionFormat::Vinyl,
    ]
    .into_iter()
    .map(|f| (enum_value(&f), format_name(f, ctx.locale)))
    .collect();
    let accesses = [
        EditionAccess::Buyers,
        EditionAccess::Members,
        EditionAccess::Public,
    ]
    .into_iter()
    .map(|a| (enum_value(&a), ctx.t(access_label(a))))
    .collect();
    let page = BookAdmin {
        id,
        title: book.book.title.clone(),
        subtitle: book.book.subtitle.clone().unwrap_or_default(),
        description: book.book.description.clone().unwrap_or_default(),
        year: book
            .book
            .original_year
            .map(|y| y.to_string())
            .unwrap_or_default(),
        language: book.book.language.clone().unwrap_or_default(),
        series: book.book.series.clone().unwrap_or_default(),
        series_number: book
            .book
            .series_number
            .map(|n| n.to_string())
            .unwrap_or_default(),
        authors: view::authors(&book),
        author_links: book
            .authors
            .iter()
            .map(|a| (a.id, a.name.clone()))
            .collect(),
        categories,
        editions,
        formats,
        accesses,
        ctx,
    };
    crate::web::render(&page)
}

/// A file's size as a person reads it: "640 KB", "48.3 MB".
fn file_size(bytes: i64) -> String {
    if bytes < 1_000_000 {
        format!("{} KB", (bytes + 999) / 1000)
    } else {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    }
}

fn access_label(access: EditionAccess) -> &'static str {
    match access {
        EditionAccess::Public => "access-public",
        EditionAccess::Members => "access-members",
        EditionAccess::Buyers => "access-buyers",
    }
}

/// An enum as the API writes it (`ebook`, `buyers`).
fn enum_value(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn enum_of<T: serde::de::DeserializeOwned>(field: &str, value: &str) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| ServiceError::invalid(field, "is not one of the choices").into())
}

/// `POST /admin/books/{id}`
pub async fn update_book(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(form): csrf::Form<BookForm>,
) -> Result<Response, ApiError> {
    let who = admin(&ctx)?;
    let author_ids = authors::by_names(&state.db, who, &form.author_names()).await?;
    let patch = BookPatch {
        title: Some(form.title.clone()),
        subtitle: Some(given(form.subtitle.clone())),
        description: Some(given(form.description.clone())),
        original_year: Some(form.year()?),
        language: Some(given(form.language.clone())),
        series: Some(given(form.series.clone())),
        series_number: Some(form.series_number()?),
        author_ids: Some(author_ids),
        category_ids: Some(form.category_ids()),
    };
    books::update(&state.db, who, id, patch).await?;
    Ok(see_other(&format!("/admin/books/{id}")))
}

#[derive(Deserialize)]
pub struct EditionForm {
    /// Only when adding: an edition's format does not change.
    format: Option<String>,
    access: String,
    price: Option<String>,
    currency: Option<String>,
    isbn: Option<String>,
    publisher: Option<String>,
}

impl EditionForm {
    /// The price as the keeper types it ("12.99") in the currency's minor units, with the
    /// currency; a blank price is none, and then no currency either.
    fn price(&self) -> Result<(Option<i64>, Option<String>), ApiError> {
        let currency = given(self.currency.clone()).map(|c| c.to_ascii_uppercase());
        match (given(self.price.clone()), currency) {
            (None, _) => Ok((None, None)),
            (Some(price), Some(code)) => Ok((Some(minor_units(&price, &code)?), Some(code))),
            (Some(_), None) => {
                Err(ServiceError::invalid("currency", "a price needs its currency").into())
            }
        }
    }
}

/// `POST /admin/books/{id}/editions`
pub async fn create_edition(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(form): csrf::Form<EditionForm>,
) -> Result<Response, ApiError> {
    let who = admin(&ctx)?;
    let (price_minor, currency) = form.price()?;
    let fields = EditionFields {
        format: enum_of("format", form.format.as_deref().unwrap_or_default())?,
        isbn: given(form.isbn),
        catalog_number: None,
        publisher: given(form.publisher),
        release_date: None,
        language: None,
        pages: None,
        duration_seconds: None,
        price_minor,
        currency,
        access: enum_of("access", &form.access)?,
        title: None,
        subtitle: None,
    };
    let input = EditionInput {
        fields,
        contributors: vec![],
    };
    editions::create(&state.db, who, id, input).await?;
    Ok(see_other(&format!("/admin/books/{id}#editions")))
}

/// `POST /admin/editions/{id}`: its access, price, ISBN and publisher as the form has them
/// (a blank field clears it); the format and what its files said stay.
pub async fn update_edition(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(form): csrf::Form<EditionForm>,
) -> Result<Response, ApiError> {
    let who = admin(&ctx)?;
    let (price_minor, currency) = form.price()?;
    let patch = editions::EditionPatch {
        access: Some(enum_of("access", &form.access)?),
        price_minor: Some(price_minor),
        currency: Some(currency),
        isbn: Some(given(form.isbn)),
        publisher: Some(given(form.publisher)),
        ..Default::default()
    };
    let edition = editions::update(&state.db, who, id, patch).await?;
    Ok(see_other(&format!(
        "/admin/books/{}#edition-{id}",
        edition.edition.book_id
    )))
}

/// "12.99" in EUR is 1299; "1299" in JPY is 1299. No float in between.
fn minor_units(price: &str, code: &str) -> Result<i64, ApiError> {
    let digits = crate::service::catalog::currency::minor_digits(code) as usize;
    let bad = || {
        ApiError::from(ServiceError::invalid(
            "price",
            "write a price such as 12.99",
        ))
    };
    let price = price.trim().replace(',', ".");
    let (whole, fraction) = price.split_once('.').unwrap_or((&price, ""));
    if whole.is_empty() || fraction.len() > digits || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let padded = format!("{fraction:0<digits$}");
    format!("{whole}{padded}").parse::<i64>().map_err(|_| bad())
}

#[derive(Deserialize)]
pub struct UploadQuery {
    csrf: Option<String>,
    apply: Option<u8>,
}

/// `POST /admin/editions/{id}/files`: the upload form's files, streamed to storage. The page's
/// script sends it with a progress bar and reads the answer as JSON; without the script the
/// form posts and comes back to the book.
pub async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(edition_id): ApiPath<i64>,
    Query(query): Query<UploadQuery>,
    seed: Option<Extension<csrf::Seed>>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let seed = seed.as_ref().map(|Extension(s)| s);
    csrf::check_script(&state, seed, &headers, query.csrf.as_deref())?;
    let who = admin(&ctx)?;
    let apply = query.apply == Some(1);
    let added = crate::api::receive(&state, who, edition_id, apply, multipart).await?;
    let book_id = editions::get(&state.db, edition_id).await?.edition.book_id;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if wants_json {
        let names: Vec<_> = added.iter().map(|f| f.name.clone()).collect();
        return Ok(Json(serde_json::json!({
            "added": names,
            "book": format!("/admin/books/{book_id}"),
        }))
        .into_response());
    }
    Ok(see_other(&format!(
        "/admin/books/{book_id}#edition-{edition_id}"
    )))
}

/// `POST /admin/editions/{id}/apply`: fills what the edition and book lack from its files.
pub async fn apply(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(edition_id): ApiPath<i64>,
    csrf::Form(_): csrf::Form<serde::de::IgnoredAny>,
) -> Result<Response, ApiError> {
    let who = admin(&ctx)?;
    files::apply_stored(&state.db, who, edition_id).await?;
    let book_id = editions::get(&state.db, edition_id).await?.edition.book_id;
    Ok(see_other(&format!(
        "/admin/books/{book_id}#edition-{edition_id}"
    )))
}

/// `POST /admin/books/{id}/cover`: one image part, read whole (a cover is at most 20 MiB and is
/// decoded to be checked), set as the book's cover with its thumbnails.
pub async fn cover(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(book_id): ApiPath<i64>,
    Query(query): Query<UploadQuery>,
    seed: Option<Extension<csrf::Seed>>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let seed = seed.as_ref().map(|Extension(s)| s);
    csrf::check_script(&state, seed, &headers, query.csrf.as_deref())?;
    let who = admin(&ctx)?;
    let unreadable = |_| ApiError::BadRequest("The image could not be read.".into());
    let mut field = multipart
        .next_field()
        .await
        .map_err(unreadable)?
        .ok_or_else(|| ServiceError::invalid("cover", "choose an image"))?;
    let mut image = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        if image.len() + chunk.len() > crate::service::covers::MAX_COVER_BYTES {
            return Err(ApiError::PayloadTooLarge(format!(
                "A cover may be at most {} bytes.",
                crate::service::covers::MAX_COVER_BYTES
            )));
        }
        image.extend_from_slice(&chunk);
    }
    crate::service::covers::set(&state.db, &state.storage, who, book_id, image.into()).await?;
    Ok(see_other(&format!("/admin/books/{book_id}")))
}

#[derive(Template)]
#[template(path = "admin_purchases.html")]
struct Purchases {
    ctx: Ctx,
    rows: Vec<PurchaseRow>,
    statuses: Vec<(String, String, bool)>,
    user: String,
    more: Option<String>,
}

struct PurchaseRow {
    id: i64,
    user_id: i64,
    edition_id: i64,
    amount: String,
    status: String,
    date: String,
    events: Vec<String>,
}

#[derive(Deserialize)]
pub struct PurchasesQuery {
    status: Option<String>,
    user: Option<String>,
    before: Option<i64>,
}

/// `GET /admin/purchases`: newest first, by status and buyer, each with its webhook events.
pub async fn purchases(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<PurchasesQuery>,
) -> Result<Response, ApiError> {
    let who = admin(&ctx)?;
    let status = given(query.status.clone());
    let user = given(query.user.clone());
    let filter = crate::service::store::PurchaseFilter {
        user_id: user
            .as_deref()
            .map(|u| u.parse::<i64>())
            .transpose()
            .map_err(|_| ServiceError::invalid("user", "a user id is a whole number"))?,
        edition_id: None,
        status: status
            .as_deref()
            .map(|s| enum_of("status", s))
            .transpose()?,
    };
    let page = crate::service::store::page(&state.db, filter, query.before, 50).await?;
    let ids: Vec<i64> = page.rows.iter().map(|p| p.id).collect();
    let events = crate::service::store::events_of(&state.db, who, &ids).await?;
    let status_label = |value: &str| ctx.t(&format!("status-{value}"));
    let rows = page
        .rows
        .iter()
        .map(|p| PurchaseRow {
            id: p.id,
            user_id: p.user_id,
            edition_id: p.edition_id,
            amount: ctx.locale.price(p.amount_minor, &p.currency),
            status: status_label(&enum_value(&p.status)),
            date: ctx.locale.date(p.created_at.date_naive()),
            events: events
                .iter()
                .filter(|e| e.purchase_id == p.id)
                .map(|e| {
                    format!(
                        "{} → {} ({})",
                        e.event_id,
                        status_label(&e.status),
                        ctx.locale.date(e.received_at.date_naive())
                    )
                })
                .collect(),
        })
        .collect();
    let more = match (page.has_more, page.rows.last()) {
        (true, Some(last)) => {
            let mut next = format!("/admin/purchases?before={}", last.id);
            if let Some(s) = &status {
                next.push_str(&format!("&status={s}"));
            }
            if let Some(u) = &user {
                next.push_str(&format!("&user={u}"));
            }
            Some(next)
        }
        _ => None,
    };
    let statuses = ["pending", "paid", "failed", "refunded"]
        .into_iter()
        .map(|s| (s.to_string(), status_label(s), status.as_deref() == Some(s)))
        .collect();
    crate::web::render(&Purchases {
        ctx,
        rows,
        statuses,
        user: user.unwrap_or_default(),
        more,
    })
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct Users {
    ctx: Ctx,
    users: Vec<UserRow>,
    more: Option<String>,
}

struct UserRow {
    id: i64,
    username: String,
    email: String,
    admin: bool,
    disabled: bool,
    since: String,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    after: Option<i64>,
}

/// `GET /admin/users`
pub async fn users(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<UsersQuery>,
) -> Result<Response, ApiError> {
    admin(&ctx)?;
    let page = accounts::page(&state.db, query.after, 50).await?;
    let more = match (page.has_more, page.rows.last()) {
        (true, Some(last)) => Some(format!("/admin/users?after={}", last.id)),
        _ => None,
    };
    let users = page
        .rows
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            since: ctx.locale.date(u.created_at.date_naive()),
            username: u.username,
            email: u.email,
            admin: u.role == UserRole::Admin,
            disabled: u.disabled,
        })
        .collect();
    crate::web::render(&Users { ctx, users, more })
}

#[derive(Deserialize)]
pub struct UserForm {
    role: Option<String>,
    disabled: Option<String>,
}

/// `POST /admin/users/{id}`: a role or the account's being disabled, changed.
pub async fn update_user(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(form): csrf::Form<UserForm>,
) -> Result<Response, ApiError> {
    let who = admin(&ctx)?;
    let role = form
        .role
        .as_deref()
        .map(|r| enum_of("role", r))
        .transpose()?;
    let disabled = form.disabled.as_deref().map(|d| d == "true");
    accounts::update_by_admin(&state.db, who, id, role, disabled).await?;
    Ok(see_other("/admin/users"))
}

#[cfg(test)]
mod tests {
    use super::minor_units;

    #[test]
    fn prices_are_typed_in_major_units() {
        assert_eq!(minor_units("12.99", "EUR").unwrap(), 1299);
        assert_eq!(minor_units("12,5", "EUR").unwrap(), 1250);
        assert_eq!(minor_units("7", "EUR").unwrap(), 700);
        assert_eq!(minor_units("1299", "JPY").unwrap(), 1299);
        assert_eq!(minor_units("1.299", "KWD").unwrap(), 1299);
        for bad in ["12.999", "abc", "-1", "", "1.2.3", "12.9x"] {
            assert!(minor_units(bad, "EUR").is_err(), "{bad}");
        }
        assert!(minor_units("12.5", "JPY").is_err());
    }
}
