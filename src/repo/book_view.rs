//! Books and editions with everything the API shows of them, loaded for a whole page in a
//! fixed number of statements (never one per row): authors, categories, editions, and the
//! editions' contributors, each one `… WHERE id IN (…)`.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use crate::db::DbError;
use crate::entity::enums::ContributorRole;
use crate::entity::{book, edition};

#[derive(Debug, Clone, FromQueryResult)]
pub struct AuthorRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct CategoryRef {
    pub id: i64,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone)]
pub struct ContributorRef {
    pub author_id: i64,
    pub name: String,
    pub role: ContributorRole,
}

#[derive(Debug, Clone)]
pub struct EditionView {
    pub edition: edition::Model,
    pub contributors: Vec<ContributorRef>,
}

#[derive(Debug, Clone)]
pub struct BookView {
    pub book: book::Model,
    pub authors: Vec<AuthorRef>,
    pub categories: Vec<CategoryRef>,
    pub editions: Vec<EditionView>,
}

#[derive(FromQueryResult)]
struct Credit {
    book_id: i64,
    id: i64,
    name: String,
}

#[derive(FromQueryResult)]
struct Tag {
    book_id: i64,
    id: i64,
    name: String,
    slug: String,
}

#[derive(FromQueryResult)]
struct Contribution {
    edition_id: i64,
    author_id: i64,
    name: String,
    role: ContributorRole,
}

fn in_list(ids: &[i64]) -> (String, Vec<Value>) {
    (
        vec!["?"; ids.len()].join(", "),
        ids.iter().map(|id| (*id).into()).collect(),
    )
}

/// The page of books with their authors (in credit order), categories and editions: four
/// statements for any number of books.
pub async fn books(
    conn: &impl ConnectionTrait,
    books: Vec<book::Model>,
) -> Result<Vec<BookView>, DbError> {
    if books.is_empty() {
        return Ok(vec![]);
    }
    let backend = conn.get_database_backend();
    let ids: Vec<i64> = books.iter().map(|b| b.id).collect();
    let (placeholders, values) = in_list(&ids);

    let credits = Credit::find_by_statement(super::statement(
        backend,
        &format!(
            "SELECT ba.book_id, a.id, a.name FROM book_author ba JOIN author a ON a.id = ba.author_id \
             WHERE ba.book_id IN ({placeholders}) ORDER BY ba.book_id, ba.position"
        ),
        values.clone(),
    ))
    .all(conn)
    .await?;
    let tags = Tag::find_by_statement(super::statement(
        backend,
        &format!(
            "SELECT bc.book_id, c.id, c.name, c.slug FROM book_category bc \
             JOIN category c ON c.id = bc.category_id \
             WHERE bc.book_id IN ({placeholders}) ORDER BY bc.book_id, c.name"
        ),
        values.clone(),
    ))
    .all(conn)
    .await?;
    let editions = edition::Model::find_by_statement(super::statement(
        backend,
        &format!("SELECT * FROM edition WHERE book_id IN ({placeholders}) ORDER BY book_id, id"),
        values,
    ))
    .all(conn)
    .await?;
    let editions = with_contributors(conn, editions).await?;

    let mut authors: HashMap<i64, Vec<AuthorRef>> = HashMap::new();
    for c in credits {
        authors.entry(c.book_id).or_default().push(AuthorRef {
            id: c.id,
            name: c.name,
        });
    }
    let mut categories: HashMap<i64, Vec<CategoryRef>> = HashMap::new();
    for t in tags {
        categories.entry(t.book_id).or_default().push(CategoryRef {
            id: t.id,
            name: t.name,
            slug: t.slug,
        });
    }
    let mut by_book: HashMap<i64, Vec<EditionView>> = HashMap::new();
    for e in editions {
        by_book.entry(e.edition.book_id).or_default().push(e);
    }
    Ok(books
        .into_iter()
        .map(|book| BookView {
            authors: authors.remove(&book.id).unwrap_or_default(),
            categories: categories.remove(&book.id).unwrap_or_default(),
            editions: by_book.remove(&book.id).unwrap_or_default(),
            book,
        })
        .collect())
}

/// Editions with their contributors (in order): one statement for any number of editions.
pub async fn with_contributors(
    conn: &impl ConnectionTrait,
    editions: Vec<edition::Model>,
) -> Result<Vec<EditionView>, DbError> {
    if editions.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i64> = editions.iter().map(|e| e.id).collect();
    let (placeholders, values) = in_list(&ids);
    let rows = Contribution::find_by_statement(super::statement(
        conn.get_database_backend(),
        &format!(
            "SELECT ec.edition_id, ec.author_id, a.name, ec.role FROM edition_contributor ec \
             JOIN author a ON a.id = ec.author_id \
             WHERE ec.edition_id IN ({placeholders}) ORDER BY ec.edition_id, ec.position"
        ),
        values,
    ))
    .all(conn)
    .await?;
    let mut contributors: HashMap<i64, Vec<ContributorRef>> = HashMap::new();
    for r in rows {
        contributors
            .entry(r.edition_id)
            .or_default()
            .push(ContributorRef {
                author_id: r.author_id,
                name: r.name,
                role: r.role,
            });
    }
    Ok(editions
        .into_iter()
        .map(|edition| EditionView {
            contributors: contributors.remove(&edition.id).unwrap_or_default(),
            edition,
        })
        .collect())
}
