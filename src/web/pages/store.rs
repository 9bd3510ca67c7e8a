//! Buying and owning: "Buy" on a book page, the purchase's page while it is paid, the test
//! checkout, the reader's library, and the files as the browser fetches them.
//!
//! "Buy" carries an idempotency key made when the book page was drawn, so a double click or a
//! resent form finds the purchase the first one made. Where it goes next: the provider's
//! hosted page (`FOLIO_CHECKOUT_URL`), else the built-in test checkout
//! (`FOLIO_PAYMENT_TEST_MODE`), else the purchase's own page, which waits for the webhook.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde::Deserialize;

use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::{ApiError, AppState};
use crate::entity::enums::PurchaseStatus;
use crate::entity::purchase;
use crate::service::auth::Principal;
use crate::service::catalog::books;
use crate::service::{ServiceError, acquisition, payments, store};
use crate::web::view::{self, Card, EditionRow};
use crate::web::{Ctx, csrf, see_other};

fn reader(ctx: &Ctx) -> Result<&Principal, ApiError> {
    ctx.user
        .as_ref()
        .ok_or_else(|| ApiError::Unauthorized("Sign in first.".into()))
}

#[derive(Deserialize)]
pub struct BuyForm {
    key: String,
}

/// `POST /editions/{id}/buy`
pub async fn buy(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(edition_id): ApiPath<i64>,
    csrf::Form(form): csrf::Form<BuyForm>,
) -> Result<Response, ApiError> {
    let who = reader(&ctx)?;
    let purchase = match store::purchase(&state.db, who, edition_id, form.key).await {
        Ok(made) => made.purchase,
        // Bought or being paid for already (another tab, an earlier visit): that purchase.
        Err(ServiceError::Conflict { .. }) => store::open_of(&state.db, who, edition_id)
            .await?
            .ok_or_else(|| ApiError::Conflict {
                field: "edition_id".into(),
                detail: "The purchase could not be started.".into(),
            })?,
        Err(other) => return Err(other.into()),
    };
    Ok(see_other(&next_step(&state, &purchase)))
}

/// Where a purchase goes from here.
fn next_step(state: &AppState, purchase: &purchase::Model) -> String {
    if purchase.status != PurchaseStatus::Pending {
        return format!("/purchases/{}", purchase.id);
    }
    if let Some(template) = &state.settings.checkout_url {
        return template
            .replace("{purchase_id}", &purchase.id.to_string())
            .replace("{amount_minor}", &purchase.amount_minor.to_string())
            .replace("{currency}", &purchase.currency);
    }
    if state.settings.payment_test_mode {
        return format!("/checkout/{}", purchase.id);
    }
    format!("/purchases/{}", purchase.id)
}

#[derive(Template)]
#[template(path = "purchase.html")]
struct PurchasePage {
    ctx: Ctx,
    book_id: i64,
    title: String,
    format: String,
    amount: String,
    status: PurchaseStatus,
    /// The provider's page or the test checkout, while it is pending.
    pay_at: Option<String>,
}

impl PurchasePage {
    fn pending(&self) -> bool {
        self.status == PurchaseStatus::Pending
    }
    fn paid(&self) -> bool {
        self.status == PurchaseStatus::Paid
    }
}

/// `GET /purchases/{id}`: where a purchase stands; reloads itself while pending.
pub async fn purchase_page(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let who = reader(&ctx)?;
    let purchase = store::own(&state.db, who, id).await?;
    let edition = crate::service::catalog::editions::get(&state.db, purchase.edition_id).await?;
    let book = books::get(&state.db, edition.edition.book_id).await?;
    let pay_at = (purchase.status == PurchaseStatus::Pending)
        .then(|| next_step(&state, &purchase))
        .filter(|to| !to.starts_with("/purchases/"));
    let page = PurchasePage {
        book_id: book.book.id,
        title: book.book.title,
        format: view::format_name(edition.edition.format, ctx.locale),
        amount: ctx.locale.price(purchase.amount_minor, &purchase.currency),
        status: purchase.status,
        pay_at,
        ctx,
    };
    crate::web::render(&page)
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct Checkout {
    ctx: Ctx,
    id: i64,
    title: String,
    amount: String,
}

fn test_mode(state: &AppState) -> Result<&crate::config::Secret, ApiError> {
    match (
        &state.settings.payment_test_mode,
        &state.settings.payment_webhook_secret,
    ) {
        (true, Some(secret)) => Ok(secret),
        _ => Err(ApiError::NotFound("No resource at this path.".into())),
    }
}

/// `GET /checkout/{id}`: the test checkout (only with `FOLIO_PAYMENT_TEST_MODE=true`).
pub async fn checkout(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    test_mode(&state)?;
    let who = reader(&ctx)?;
    let purchase = store::own(&state.db, who, id).await?;
    if purchase.status != PurchaseStatus::Pending {
        return Ok(see_other(&format!("/purchases/{id}")));
    }
    let edition = crate::service::catalog::editions::get(&state.db, purchase.edition_id).await?;
    let book = books::get(&state.db, edition.edition.book_id).await?;
    let page = Checkout {
        id,
        title: book.book.title,
        amount: ctx.locale.price(purchase.amount_minor, &purchase.currency),
        ctx,
    };
    crate::web::render(&page)
}

#[derive(Deserialize)]
pub struct CheckoutForm {
    outcome: String,
}

/// `POST /checkout/{id}`: pays or fails the purchase by the signed webhook.
pub async fn settle(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(form): csrf::Form<CheckoutForm>,
) -> Result<Response, ApiError> {
    let secret = test_mode(&state)?;
    let who = reader(&ctx)?;
    let purchase = store::own(&state.db, who, id).await?;
    let paid = match form.outcome.as_str() {
        "paid" => true,
        "failed" => false,
        _ => {
            return Err(ApiError::BadRequest(
                "outcome must be paid or failed.".into(),
            ));
        }
    };
    if purchase.status == PurchaseStatus::Pending {
        payments::settle_for_test(&state.db, secret, &purchase, paid).await?;
    }
    Ok(see_other(&format!("/purchases/{id}")))
}

#[derive(Template)]
#[template(path = "library.html")]
struct Library {
    ctx: Ctx,
    items: Vec<Owned>,
    more: Option<String>,
    /// Editions anyone may read, first page: the library's free shelf.
    free: Vec<Owned>,
}

/// An edition the reader owns, with its book's card.
struct Owned {
    card: Card,
    edition: EditionRow,
    bought: String,
}

#[derive(Deserialize)]
pub struct LibraryParams {
    before: Option<i64>,
}

const LIBRARY_PAGE: u64 = 24;

/// `GET /library`: the editions the reader bought, newest purchase first.
pub async fn library(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(params): ApiQuery<LibraryParams>,
) -> Result<Response, ApiError> {
    let who = reader(&ctx)?;
    let page = store::library(&state.db, who, params.before, LIBRARY_PAGE).await?;
    let mut ids: Vec<i64> = vec![];
    for row in &page.rows {
        if !ids.contains(&row.book_id) {
            ids.push(row.book_id);
        }
    }
    let views = books::views(&state.db, ids).await?;
    let editions: Vec<_> = views
        .iter()
        .flat_map(|v| v.editions.iter().map(|e| &e.edition))
        .filter(|e| page.rows.iter().any(|r| r.edition_id == e.id))
        .collect();
    let offers = acquisition::offers(&state.db, Some(who), &editions).await?;
    let mut items = vec![];
    for row in &page.rows {
        let Some(view) = views.iter().find(|v| v.book.id == row.book_id) else {
            continue;
        };
        let Some(edition) = EditionRow::of(view, &offers, ctx.locale)
            .into_iter()
            .find(|e| e.id == row.edition_id)
        else {
            continue;
        };
        items.push(Owned {
            card: Card::of(view, ctx.locale),
            edition,
            bought: ctx.locale.date(row.purchased_at.date_naive()),
        });
    }
    let more = match (page.has_more, page.rows.last()) {
        (true, Some(last)) => Some(format!("/library?before={}", last.purchase_id)),
        _ => None,
    };
    let free = if params.before.is_none() {
        free_shelf(&state, who, &ctx).await?
    } else {
        vec![]
    };
    crate::web::render(&Library {
        ctx,
        items,
        more,
        free,
    })
}

/// Editions open to anyone that have something to read or hear, newest added first.
async fn free_shelf(state: &AppState, who: &Principal, ctx: &Ctx) -> Result<Vec<Owned>, ApiError> {
    let filter = crate::repo::edition::EditionFilter {
        access: Some(crate::entity::enums::EditionAccess::Public),
        ..Default::default()
    };
    let public = crate::service::catalog::editions::page(&state.db, filter, None, LIBRARY_PAGE)
        .await?
        .rows;
    let mut ids: Vec<i64> = vec![];
    for e in &public {
        if !ids.contains(&e.edition.book_id) {
            ids.push(e.edition.book_id);
        }
    }
    let views = books::views(&state.db, ids).await?;
    let editions: Vec<_> = public.iter().map(|e| &e.edition).collect();
    let offers = acquisition::offers(&state.db, Some(who), &editions).await?;
    let mut shelf = vec![];
    for e in &public {
        let Some(view) = views.iter().find(|v| v.book.id == e.edition.book_id) else {
            continue;
        };
        let Some(row) = EditionRow::of(view, &offers, ctx.locale)
            .into_iter()
            .find(|r| r.id == e.edition.id && r.download.is_some())
        else {
            continue;
        };
        shelf.push(Owned {
            card: Card::of(view, ctx.locale),
            edition: row,
            bought: String::new(),
        });
    }
    Ok(shelf)
}

#[derive(Deserialize)]
pub struct FileParams {
    inline: Option<u8>,
}

/// `GET /files/{id}/content`: a file as the signed-in browser may fetch it (ranges, ETags,
/// the edition's access), inline for the browser's own PDF viewer and the player.
pub async fn file(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<FileParams>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let inline = params.inline == Some(1);
    crate::api::deliver(&state, ctx.user.as_ref(), id, inline, &method, &headers).await
}
