//! `POST /api/v1/books/{id}/comments` and `POST /api/v1/purchases`, as a signed-in reader:
//! folio's sign-in check (src/repo/session.rs), then one write transaction with folio's
//! statements (src/service/comments.rs, src/service/store.rs).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ApiError;
use crate::books::{BOOK_BY_ID, BookRow};
use crate::db::{Db, in_tx, read};

/// An `edition` row, in table order, as SeaORM's `find_by_id` selects it.
type EditionRow = (
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<chrono::NaiveDate>,
    Option<String>,
    Option<i32>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
);

const LIVE_USER: &str = r#"SELECT "user"."id", "user"."username", "user"."email", "user"."username_folded", "user"."email_folded", "user"."password_hash", "user"."role", "user"."disabled", "user"."created_at", "user"."updated_at", "user"."referred_by_link_id" FROM "user" INNER JOIN "auth_session" ON "user"."id" = "auth_session"."user_id" WHERE "auth_session"."id" = ? AND "auth_session"."revoked_at" IS NULL AND "user"."id" = ? LIMIT ?"#;

const INSERT_COMMENT: &str = r#"INSERT INTO "comment" ("user_id", "book_id", "text", "rating", "created_at", "updated_at") VALUES (?, ?, ?, ?, ?, ?) RETURNING "id", "user_id", "book_id", "text", "rating", "created_at", "updated_at""#;

const COMMENT_ROW: &str = r#"SELECT c.id, c.book_id, c.user_id, u.username, c.text, c.rating, c.created_at, c.updated_at FROM comment c JOIN "user" u ON u.id = c.user_id WHERE c.id = ?"#;

/// The purchase's columns as SeaORM selects them.
macro_rules! purchase_columns {
    () => {
        r#""purchase"."id", "purchase"."user_id", "purchase"."edition_id", "purchase"."status", "purchase"."amount_minor", "purchase"."currency", "purchase"."idempotency_key", "purchase"."request_fingerprint", "purchase"."provider_ref", "purchase"."created_at", "purchase"."updated_at""#
    };
}

const PURCHASE_BY_KEY: &str = concat!(
    "SELECT ",
    purchase_columns!(),
    r#" FROM "purchase" WHERE "purchase"."user_id" = ? AND "purchase"."idempotency_key" = ? LIMIT ?"#
);

const OPEN_PURCHASE: &str = concat!(
    "SELECT ",
    purchase_columns!(),
    r#" FROM "purchase" WHERE "purchase"."user_id" = ? AND "purchase"."edition_id" = ? AND "purchase"."status" IN (?, ?) LIMIT ?"#
);

const EDITION_BY_ID: &str = r#"SELECT "edition"."id", "edition"."book_id", "edition"."format", "edition"."isbn", "edition"."catalog_number", "edition"."publisher", "edition"."release_date", "edition"."language", "edition"."pages", "edition"."duration_seconds", "edition"."price_minor", "edition"."currency", "edition"."created_at", "edition"."updated_at" FROM "edition" WHERE "edition"."id" = ? LIMIT ?"#;

const INSERT_PURCHASE: &str = r#"INSERT INTO "purchase" ("user_id", "edition_id", "status", "amount_minor", "currency", "idempotency_key", "request_fingerprint", "created_at", "updated_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING "id", "user_id", "edition_id", "status", "amount_minor", "currency", "idempotency_key", "request_fingerprint", "provider_ref", "created_at", "updated_at""#;

/// A `user` row: id, username, email, username_folded, email_folded, password_hash, role,
/// disabled, created_at, updated_at, referred_by_link_id.
type UserRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<i64>,
);

/// A `purchase` row, in `purchase_columns!` order.
type PurchaseRow = (
    i64,
    i64,
    i64,
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

fn no_such_book() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "No such book.")
}

fn already_open() -> ApiError {
    let message = "This edition is already in your library or pending.";
    ApiError::new(StatusCode::CONFLICT, message)
}

/// What a purchase request came to on SQLite.
enum Made {
    /// The key made this purchase before.
    Replayed(PurchaseRow),
    Created(PurchaseRow),
}

/// The writes on SQLite: the same statements, on rusqlite, in one transaction of the writer
/// (see [`crate::db::Writer`]). Timestamps are bound as the text sqlx binds (RFC 3339), so the
/// rows read the same in folio.
mod sqlite {
    use chrono::{DateTime, SecondsFormat, Utc};
    use rusqlite::{OptionalExtension, Row, Transaction};

    use super::{
        BOOK_BY_ID, EDITION_BY_ID, INSERT_COMMENT, INSERT_PURCHASE, InsertedComment, Made,
        OPEN_PURCHASE, PURCHASE_BY_KEY, PurchaseRow, already_open, invalid, no_such_book,
    };
    use crate::ApiError;
    use crate::books::book_row;

    fn text(at: DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
    }

    pub fn add_comment(
        tx: &Transaction<'_>,
        user_id: i64,
        book_id: i64,
        comment: &str,
        rating: Option<i32>,
        at: DateTime<Utc>,
    ) -> Result<InsertedComment, ApiError> {
        let book = tx
            .prepare_cached(BOOK_BY_ID)?
            .query_row((book_id, 1_i64), book_row)
            .optional()?;
        if book.is_none() {
            return Err(no_such_book());
        }
        let at = text(at);
        let inserted = tx.prepare_cached(INSERT_COMMENT)?.query_row(
            (user_id, book_id, comment, rating, &at, &at),
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                ))
            },
        )?;
        Ok(inserted)
    }

    fn purchase_row(row: &Row<'_>) -> rusqlite::Result<PurchaseRow> {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
            row.get(7)?,
            row.get(8)?,
            row.get(9)?,
            row.get(10)?,
        ))
    }

    pub fn create_purchase(
        tx: &Transaction<'_>,
        user_id: i64,
        edition_id: i64,
        key: &str,
        print: &str,
        at: DateTime<Utc>,
    ) -> Result<Made, ApiError> {
        let existing = tx
            .prepare_cached(PURCHASE_BY_KEY)?
            .query_row((user_id, key, 1_i64), purchase_row)
            .optional()?;
        if let Some(existing) = existing {
            return Ok(Made::Replayed(existing));
        }
        // The edition's price and currency (columns 10 and 11 of the row folio reads).
        let edition = tx
            .prepare_cached(EDITION_BY_ID)?
            .query_row((edition_id, 1_i64), |row| {
                Ok((
                    row.get::<_, Option<i64>>(10)?,
                    row.get::<_, Option<String>>(11)?,
                ))
            })
            .optional()?;
        let edition = edition.ok_or_else(|| invalid("edition_id: no edition has this id"))?;
        let (Some(amount_minor), Some(currency)) = edition else {
            return Err(invalid("edition_id: this edition has no price"));
        };
        let open = tx
            .prepare_cached(OPEN_PURCHASE)?
            .query_row(
                (user_id, edition_id, "pending", "paid", 1_i64),
                purchase_row,
            )
            .optional()?;
        if open.is_some() {
            return Err(already_open());
        }
        let at = text(at);
        // The single writer serialises requests with one key: no other can have committed
        // one since the look above.
        let purchase = tx.prepare_cached(INSERT_PURCHASE)?.query_row(
            (
                user_id,
                edition_id,
                "pending",
                amount_minor,
                currency.as_str(),
                key,
                print,
                &at,
                &at,
            ),
            purchase_row,
        )?;
        Ok(Made::Created(purchase))
    }
}

/// The current time as folio's `db::now()` has it: microseconds, which both backends keep, so
/// the rows read back in folio exactly as written.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "The access token is invalid or expired.",
    )
}

fn invalid(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// What the baseline reads of a folio access token.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    sid: i64,
    exp: i64,
}

/// The signed-in user's id. The token's signature is not checked (one HMAC, which costs next
/// to nothing beside the query); its expiry is, and so is the sign-in, with folio's statement.
async fn signed_in(db: &Db, headers: &HeaderMap) -> Result<i64, ApiError> {
    let header = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let token = header
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(unauthorized)?;
    let claims: Claims = token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(unauthorized)?;
    let user_id: i64 = claims.sub.parse().map_err(|_| unauthorized())?;
    if claims.exp <= Utc::now().timestamp() {
        return Err(unauthorized());
    }
    // As folio: on SQLite a rusqlite reader, on the request's thread when one is idle.
    let disabled: Option<bool> = match db {
        Db::Sqlite { readers, .. } => {
            let sid = claims.sid;
            readers
                .run_here(move |conn| {
                    use rusqlite::OptionalExtension;
                    Ok(conn
                        .prepare_cached(LIVE_USER)?
                        .query_row((sid, user_id, 1_i64), |row| row.get(7))
                        .optional()?)
                })
                .await?
        }
        Db::Postgres(_) => {
            let user: Option<UserRow> = read!(
                db,
                fetch_optional(db.sql(LIVE_USER), claims.sid, user_id, 1_i64)
            )?;
            user.map(|user| user.7)
        }
    };
    match disabled {
        Some(false) => Ok(user_id),
        _ => Err(unauthorized()),
    }
}

#[derive(Deserialize)]
pub struct NewComment {
    text: String,
    rating: Option<i32>,
}

#[derive(Serialize)]
pub struct Comment {
    id: i64,
    book_id: i64,
    user: CommentAuthor,
    text: String,
    rating: Option<i32>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct CommentAuthor {
    id: i64,
    username: String,
}

type CommentRow = (
    i64,
    i64,
    i64,
    String,
    String,
    Option<i32>,
    DateTime<Utc>,
    DateTime<Utc>,
);

type InsertedComment = (
    i64,
    i64,
    i64,
    String,
    Option<i32>,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// folio's rule for a comment: 1 to 5,000 characters, no control characters but
/// line breaks and tabs.
fn check_text(text: &str) -> Result<(), ApiError> {
    let length = text.chars().count();
    let control = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'));
    if length == 0 || length > 5000 || control {
        return Err(invalid(
            "text must be 1 to 5000 characters, without control characters",
        ));
    }
    Ok(())
}

pub async fn create_comment(
    State(db): State<Arc<Db>>,
    headers: HeaderMap,
    book_id: Result<Path<i64>, PathRejection>,
    body: Result<Json<NewComment>, JsonRejection>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    let db = &*db;
    // In folio's order: the sign-in, then the path, then the body.
    let user_id = signed_in(db, &headers).await?;
    let Path(book_id) = book_id?;
    let Json(body) = body?;
    let text = body.text.trim();
    check_text(text)?;
    if body.rating.is_some_and(|r| !(1..=5).contains(&r)) {
        return Err(invalid("rating must be from 1 to 5"));
    }

    let at = now();
    let inserted: InsertedComment = match db {
        Db::Sqlite { writer, .. } => {
            writer
                .transaction(|tx| sqlite::add_comment(tx, user_id, book_id, text, body.rating, at))
                .await?
        }
        Db::Postgres(_) => {
            let mut tx = db.begin().await?;
            let book: Option<BookRow> =
                in_tx!(&mut tx, fetch_optional(db.sql(BOOK_BY_ID), book_id, 1_i64))?;
            if book.is_none() {
                // Dropping the transaction rolls it back.
                return Err(no_such_book());
            }
            let inserted = in_tx!(
                &mut tx,
                fetch_one(
                    db.sql(INSERT_COMMENT),
                    user_id,
                    book_id,
                    text,
                    body.rating,
                    at,
                    at
                )
            )?;
            tx.commit().await?;
            inserted
        }
    };

    // As folio: the comment with its author's name, read back after the commit.
    let row: Option<CommentRow> = read!(db, fetch_optional(db.sql(COMMENT_ROW), inserted.0))?;
    let (id, book_id, user_id, username, text, rating, created_at, updated_at) =
        row.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "No such comment."))?;
    let comment = Comment {
        id,
        book_id,
        user: CommentAuthor {
            id: user_id,
            username,
        },
        text,
        rating,
        created_at,
        updated_at,
    };
    Ok((StatusCode::CREATED, Json(comment)))
}

#[derive(Deserialize)]
pub struct NewPurchase {
    edition_id: i64,
}

#[derive(Serialize)]
pub struct Purchase {
    id: i64,
    user_id: i64,
    edition_id: i64,
    status: String,
    amount_minor: i64,
    currency: String,
    provider_ref: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<PurchaseRow> for Purchase {
    fn from(row: PurchaseRow) -> Self {
        Self {
            id: row.0,
            user_id: row.1,
            edition_id: row.2,
            status: row.3,
            amount_minor: row.4,
            currency: row.5,
            provider_ref: row.8,
            created_at: row.9,
            updated_at: row.10,
        }
    }
}

/// folio's digest of what a request asked for, so that a key reused for another edition is
/// recognised.
fn fingerprint(edition_id: i64) -> String {
    hex::encode(Sha256::digest(
        format!("purchase:edition_id={edition_id}").as_bytes(),
    ))
}

/// The purchase a key made before: 200 when this request asked for the same, 422 otherwise.
fn replay(existing: PurchaseRow, print: &str) -> Result<Response, ApiError> {
    if existing.7 != print {
        return Err(invalid(
            "Idempotency-Key was already used for a different purchase request",
        ));
    }
    let replayed = [("idempotent-replayed", HeaderValue::from_static("true"))];
    Ok((StatusCode::OK, replayed, Json(Purchase::from(existing))).into_response())
}

pub async fn create_purchase(
    State(db): State<Arc<Db>>,
    headers: HeaderMap,
    body: Result<Json<NewPurchase>, JsonRejection>,
) -> Result<Response, ApiError> {
    let db = &*db;
    let user_id = signed_in(db, &headers).await?;
    let Json(NewPurchase { edition_id }) = body?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| invalid("the Idempotency-Key header is required"))?;
    if !(1..=255).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    let print = fingerprint(edition_id);

    let at = now();
    if let Db::Sqlite { writer, .. } = db {
        let made = writer
            .transaction(|tx| sqlite::create_purchase(tx, user_id, edition_id, key, &print, at))
            .await?;
        return match made {
            Made::Replayed(existing) => replay(existing, &print),
            Made::Created(purchase) => {
                Ok((StatusCode::CREATED, Json(Purchase::from(purchase))).into_response())
            }
        };
    }
    let mut tx = db.begin().await?;
    let existing: Option<PurchaseRow> = in_tx!(
        &mut tx,
        fetch_optional(db.sql(PURCHASE_BY_KEY), user_id, key, 1_i64)
    )?;
    if let Some(existing) = existing {
        tx.commit().await?;
        return replay(existing, &print);
    }
    let edition: Option<EditionRow> = in_tx!(
        &mut tx,
        fetch_optional(db.sql(EDITION_BY_ID), edition_id, 1_i64)
    )?;
    let edition = edition.ok_or_else(|| invalid("edition_id: no edition has this id"))?;
    let (Some(amount_minor), Some(currency)) = (edition.10, edition.11) else {
        return Err(invalid("edition_id: this edition has no price"));
    };
    // As folio: one pending-or-paid purchase per buyer and edition.
    let open: Option<PurchaseRow> = in_tx!(
        &mut tx,
        fetch_optional(
            db.sql(OPEN_PURCHASE),
            user_id,
            edition_id,
            "pending",
            "paid",
            1_i64
        )
    )?;
    if open.is_some() {
        return Err(already_open());
    }
    let inserted: Result<PurchaseRow, sqlx::Error> = in_tx!(
        &mut tx,
        fetch_one(
            db.sql(INSERT_PURCHASE),
            user_id,
            edition_id,
            "pending",
            amount_minor,
            currency.as_str(),
            key,
            print.as_str(),
            at,
            at
        )
    );
    match inserted {
        Ok(purchase) => {
            tx.commit().await?;
            Ok((StatusCode::CREATED, Json(Purchase::from(purchase))).into_response())
        }
        // Another request with this key committed first (PostgreSQL; SQLite's single writer
        // serialises them): answer with its purchase, as folio does.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            drop(tx);
            let existing: Option<PurchaseRow> = read!(
                db,
                fetch_optional(db.sql(PURCHASE_BY_KEY), user_id, key, 1_i64)
            )?;
            let vanished = || ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "purchase vanished");
            replay(existing.ok_or_else(vanished)?, &print)
        }
        Err(e) => Err(e.into()),
    }
}
