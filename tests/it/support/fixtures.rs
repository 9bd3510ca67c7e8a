//! Rows for tests, written through folio's repositories in the caller's unit of work, as the
//! services write them: `db::now()` timestamps, folded names, and a book's search entry
//! rewritten whenever what it is found by changes.

use folio::db::DbError;
use folio::entity::enums::UserRole;
use folio::entity::enums::{ContributorRole, EditionFormat, PurchaseStatus, ReadingStatus};
use folio::entity::{author, book, book_author, comment, edition, note, progress, purchase, user};
use folio::repo;
use folio::repo::book::BookFields;
use folio::repo::edition::EditionFields;
use sea_orm::{ConnectionTrait, Set};

pub async fn author(conn: &impl ConnectionTrait, name: &str) -> Result<author::Model, DbError> {
    repo::author::insert(conn, name.to_string(), None).await
}

/// A book with only a title, and its search entry.
pub async fn book(conn: &impl ConnectionTrait, title: &str) -> Result<book::Model, DbError> {
    let fields = BookFields {
        title: title.to_string(),
        ..Default::default()
    };
    let book = repo::book::insert(conn, fields).await?;
    repo::search::refresh(conn, &[book.id]).await?;
    Ok(book)
}

/// Many books at once, written as an import writes them (ids taken up front, a few multi-row
/// statements a table), each with `author_ids` credited in this order, and their search
/// entries. Their ids, in order.
pub async fn books_in_bulk(
    conn: &impl ConnectionTrait,
    books: Vec<BookFields>,
    author_ids: &[i64],
) -> Result<Vec<i64>, DbError> {
    let ids = repo::bulk::reserve_ids(conn, "book", books.len()).await?;
    let now = folio::db::now();
    let rows = books.into_iter().zip(&ids).map(|(fields, id)| {
        let mut row = repo::book::new_row(fields, now);
        row.id = Set(*id);
        row
    });
    repo::bulk::insert_all(conn, rows.collect()).await?;
    let credits = ids.iter().flat_map(|book_id| {
        let credited = author_ids.iter().enumerate();
        credited.map(|(position, author_id)| book_author::ActiveModel {
            book_id: Set(*book_id),
            author_id: Set(*author_id),
            position: Set(position as i32),
        })
    });
    repo::bulk::insert_all(conn, credits.collect()).await?;
    repo::search::refresh(conn, &ids).await?;
    Ok(ids)
}

/// Credits exactly `author_ids` on the book, in this order (replacing any credits before), and
/// rewrites its search entry, which holds the authors' names.
pub async fn credit(
    conn: &impl ConnectionTrait,
    book_id: i64,
    author_ids: &[i64],
) -> Result<(), DbError> {
    repo::book::set_authors(conn, book_id, author_ids).await?;
    repo::search::refresh(conn, &[book_id]).await
}

/// An ebook edition of the book, at `price_minor` EUR minor units when given.
pub async fn edition(
    conn: &impl ConnectionTrait,
    book_id: i64,
    price_minor: Option<i64>,
) -> Result<edition::Model, DbError> {
    repo::edition::insert(
        conn,
        book_id,
        bare_edition(EditionFormat::Ebook, price_minor),
    )
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
        access: Default::default(),
        title: None,
        subtitle: None,
    }
}

/// An edition of the book with `narrator_id` credited as its narrator.
pub async fn narrated_edition(
    conn: &impl ConnectionTrait,
    book_id: i64,
    fields: EditionFields,
    narrator_id: i64,
) -> Result<edition::Model, DbError> {
    let edition = repo::edition::insert(conn, book_id, fields).await?;
    repo::edition::set_contributors(
        conn,
        edition.id,
        &[(narrator_id, ContributorRole::Narrator)],
    )
    .await?;
    Ok(edition)
}

/// A reader named `username`, with an email address unique per call (so that only the
/// username can collide) and a password hash nothing matches.
pub async fn user(conn: &impl ConnectionTrait, username: &str) -> Result<user::Model, DbError> {
    let new = repo::user::NewUser {
        username: username.to_string(),
        email: format!("{}@example.org", uuid::Uuid::new_v4().simple()),
        password_hash: "not-a-real-hash".to_string(),
        role: UserRole::Reader,
        referred_by_link_id: None,
    };
    repo::user::insert(conn, new).await
}

pub async fn comment<C>(
    conn: &C,
    user_id: i64,
    book_id: i64,
    rating: Option<i32>,
) -> Result<comment::Model, DbError>
where
    for<'a> &'a C: Into<folio::db::Read<'a>>,
{
    let text = "A fine read.".to_string();
    repo::comment::insert(conn, user_id, book_id, text, rating).await
}

/// The reader's position in the book, as of now.
pub async fn progress(
    conn: &impl ConnectionTrait,
    user_id: i64,
    book_id: i64,
    percent: f64,
) -> Result<progress::Model, DbError> {
    let write = repo::progress::ProgressWrite {
        user_id,
        book_id,
        edition_id: None,
        percent,
        locator: None,
        status: ReadingStatus::Reading,
        device: None,
        updated_at: folio::db::now(),
    };
    repo::progress::upsert_if_newer(conn, write).await?;
    let stored = repo::progress::find(conn, user_id, book_id).await?;
    Ok(stored.expect("the progress just written"))
}

pub async fn note(
    conn: &impl ConnectionTrait,
    user_id: i64,
    book_id: i64,
) -> Result<note::Model, DbError> {
    let fields = repo::note::NoteFields {
        edition_id: None,
        locator: "epubcfi(/6/4!/4/2)".to_string(),
        text: Some("remember this".to_string()),
    };
    repo::note::insert(conn, user_id, book_id, fields).await
}

/// A paid purchase of the edition at 9.99 EUR: made pending, then moved to paid, as the store
/// and the payment webhook do.
pub async fn purchase<C>(
    conn: &C,
    user_id: i64,
    edition_id: i64,
) -> Result<purchase::Model, DbError>
where
    C: ConnectionTrait,
    for<'a> &'a C: Into<folio::db::Read<'a>>,
{
    let new = repo::purchase::NewPurchase {
        user_id,
        edition_id,
        amount_minor: 999,
        currency: "EUR".to_string(),
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        request_fingerprint: "test".to_string(),
    };
    let pending = repo::purchase::insert(conn, new).await?;
    let (from, to) = (PurchaseStatus::Pending, PurchaseStatus::Paid);
    let moved = repo::purchase::transition(conn, pending.id, from, to, None).await?;
    assert!(moved, "a new purchase is pending");
    let paid = repo::purchase::find(conn, pending.id).await?;
    Ok(paid.expect("the purchase just written"))
}

/// A sign-in with one refresh token, and an API key, for `user_id`.
pub async fn credentials(conn: &impl ConnectionTrait, user_id: i64) -> Result<(), DbError> {
    let session = repo::session::create(conn, user_id).await?;
    let token_hash = uuid::Uuid::new_v4().to_string();
    let expires_at = folio::db::now() + chrono::Duration::days(30);
    repo::session::add_refresh_token(conn, session.id, token_hash, expires_at).await?;
    let key_hash = uuid::Uuid::new_v4().to_string();
    let (name, prefix) = ("e-reader".to_string(), "fk_test".to_string());
    repo::api_key::insert(conn, user_id, name, prefix, key_hash).await?;
    Ok(())
}
