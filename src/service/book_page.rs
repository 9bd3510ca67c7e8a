//! What a reader sees of one book: the book, what they may do with each edition, and a page of
//! its comments, read together. On SQLite the three run back to back on one of the rusqlite
//! readers, on the request's own thread; as three reads through the pool each would be a
//! round trip to a connection's thread, and those trips were most of the page's cost.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::db::Database;
use crate::repo::comment::CommentRow;
use crate::repo::{self, Page};
use crate::service::ServiceResult;
use crate::service::acquisition::{self, Offer};
use crate::service::auth::Principal;
use crate::service::catalog::books::{self, BookView};

pub struct BookPage {
    pub book: BookView,
    /// By edition id, as [`acquisition::offers`] answers.
    pub offers: HashMap<i64, Offer>,
    /// Newest first, after the cursor `(created_at, id)`.
    pub comments: Page<CommentRow>,
}

#[tracing::instrument(
    level = "info",
    name = "service.book_page.get",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn get(
    db: &Database,
    who: Option<&Principal>,
    id: i64,
    comments_after: Option<(DateTime<Utc>, i64)>,
    comments: u64,
) -> ServiceResult<BookPage> {
    let who = who.cloned();
    db.read_bounded(move |read| {
        let who = who.clone();
        Box::pin(async move {
            let book = books::view(read, id).await?;
            let editions: Vec<_> = book.editions.iter().map(|e| &e.edition).collect();
            let offers = acquisition::offers_in(read, who.as_ref(), &editions).await?;
            let comments = repo::comment::page_for_book(read, id, comments_after, comments).await?;
            Ok(BookPage {
                book,
                offers,
                comments,
            })
        })
    })
    .await
}
