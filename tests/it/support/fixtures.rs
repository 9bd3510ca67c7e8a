//! Rows for tests, inserted through the entities (or, where noted, the repositories).

use chrono::Utc;
use folio::db::DbError;
use folio::entity::enums::ContributorRole;
use folio::entity::enums::{EditionFormat, PurchaseStatus, ReadingStatus, UserRole};
use folio::entity::{
    api_key, auth_session, author, book, book_author, comment, edition, note, progress, purchase,
    refresh_token, user,
};
use folio::repo::edition::EditionFields;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};

pub async fn author(conn: &impl ConnectionTrait, name: &str) -> Result<author::Model, DbErr> {
    let now = Utc::now();
    author::ActiveModel {
        name: Set(name.to_string()),
        name_folded: Set(folio::text::fold(name)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
}

pub async fn book(conn: &impl ConnectionTrait, title: &str) -> Result<book::Model, DbErr> {
    let now = Utc::now();
    book::ActiveModel {
        title: Set(title.to_string()),
        title_folded: Set(folio::text::fold(title)),
        rating_count: Set(0),
        rating_sum: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
}

pub async fn credit(
    conn: &impl ConnectionTrait,
    book_id: i64,
    author_id: i64,
    position: i32,
) -> Result<book_author::Model, DbErr> {
    book_author::ActiveModel {
        book_id: Set(book_id),
        author_id: Set(author_id),
        position: Set(position),
    }
    .insert(conn)
    .await
}

pub async fn edition(
    conn: &impl ConnectionTrait,
    book_id: i64,
    price_minor: Option<i64>,
) -> Result<edition::Model, DbErr> {
    let now = Utc::now();
    edition::ActiveModel {
        book_id: Set(book_id),
        format: Set(EditionFormat::Ebook),
        price_minor: Set(price_minor),
        currency: Set(price_minor.map(|_| "EUR".to_string())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
}

/// The fields of an edition in `format` with nothing else known, and `price` (EUR minor units)
/// when given.
pub fn bare_edition(format: EditionFormat, price: Option<i64>) -> EditionFields {
    EditionFields {
        format,
        isbn: None,
        catalog_number: None,
        publisher: None,
        release_date: None,
        language: None,
        pages: None,
        duration_seconds: None,
        price_minor: price,
        currency: price.map(|_| "EUR".into()),
    }
}

/// An edition written by the repository, as the API writes one, with `narrator_id` credited
/// as its narrator.
pub async fn narrated_edition(
    conn: &impl ConnectionTrait,
    book_id: i64,
    fields: EditionFields,
    narrator_id: i64,
) -> Result<edition::Model, DbError> {
    let edition = folio::repo::edition::insert(conn, book_id, fields).await?;
    folio::repo::edition::set_contributors(
        conn,
        edition.id,
        &[(narrator_id, ContributorRole::Narrator)],
    )
    .await?;
    Ok(edition)
}

pub async fn user(conn: &impl ConnectionTrait, username: &str) -> Result<user::Model, DbErr> {
    let now = Utc::now();
    // Unique per call, so that only the username can collide.
    let email = format!("{}@example.org", uuid::Uuid::new_v4().simple());
    user::ActiveModel {
        username: Set(username.to_string()),
        username_folded: Set(username.to_lowercase()),
        email_folded: Set(email.clone()),
        email: Set(email),
        password_hash: Set("not-a-real-hash".to_string()),
        role: Set(UserRole::Reader),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
}

pub async fn comment(
    conn: &impl ConnectionTrait,
    user_id: i64,
    book_id: i64,
    rating: Option<i32>,
) -> Result<comment::Model, DbErr> {
    let now = Utc::now();
    comment::ActiveModel {
        user_id: Set(user_id),
        book_id: Set(book_id),
        text: Set("A fine read.".to_string()),
        rating: Set(rating),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
}

pub async fn progress(
    conn: &impl ConnectionTrait,
    user_id: i64,
    book_id: i64,
    percent: f64,
) -> Result<progress::Model, DbErr> {
    progress::ActiveModel {
        user_id: Set(user_id),
        book_id: Set(book_id),
        percent: Set(percent),
        status: Set(ReadingStatus::Reading),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await
}

pub async fn note(
    conn: &impl ConnectionTrait,
    user_id: i64,
    book_id: i64,
) -> Result<note::Model, DbErr> {
    let now = Utc::now();
    note::ActiveModel {
        user_id: Set(user_id),
        book_id: Set(book_id),
        locator: Set("epubcfi(/6/4!/4/2)".to_string()),
        text: Set(Some("remember this".to_string())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
}

pub async fn purchase(
    conn: &impl ConnectionTrait,
    user_id: i64,
    edition_id: i64,
) -> Result<purchase::Model, DbErr> {
    let now = Utc::now();
    purchase::ActiveModel {
        user_id: Set(user_id),
        edition_id: Set(edition_id),
        status: Set(PurchaseStatus::Paid),
        amount_minor: Set(999),
        currency: Set("EUR".to_string()),
        idempotency_key: Set(uuid::Uuid::new_v4().to_string()),
        request_fingerprint: Set("test".to_string()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
}

/// A sign-in with one refresh token, and an API key, for `user_id`.
pub async fn credentials(conn: &impl ConnectionTrait, user_id: i64) -> Result<(), DbErr> {
    let now = Utc::now();
    let session = auth_session::ActiveModel {
        user_id: Set(user_id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    refresh_token::ActiveModel {
        session_id: Set(session.id),
        token_hash: Set(uuid::Uuid::new_v4().to_string()),
        expires_at: Set(now + chrono::Duration::days(30)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    api_key::ActiveModel {
        user_id: Set(user_id),
        name: Set("e-reader".to_string()),
        prefix: Set("fk_test".to_string()),
        key_hash: Set(uuid::Uuid::new_v4().to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}
