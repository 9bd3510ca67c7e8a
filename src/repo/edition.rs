//! Editions: the formats of a book that the store lists and sells, and their contributors.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
};

use super::{Page, PerBackend};
use crate::db::{DbError, Read, Row, Unique};
use crate::entity::enums::{ContributorRole, EditionAccess, EditionFormat};
use crate::entity::{edition, edition_contributor};

/// One edition per ISBN.
pub const ISBN: Unique = Unique { field: "isbn" };

/// The editable fields of an edition.
#[derive(Debug, Clone)]
pub struct EditionFields {
    pub format: EditionFormat,
    /// ISBN-13 digits, already checked.
    pub isbn: Option<String>,
    pub catalog_number: Option<String>,
    pub publisher: Option<String>,
    pub release_date: Option<chrono::NaiveDate>,
    pub language: Option<String>,
    pub pages: Option<i32>,
    pub duration_seconds: Option<i64>,
    pub price_minor: Option<i64>,
    pub currency: Option<String>,
    pub access: EditionAccess,
    /// The title printed on the edition, when it differs from the book's.
    pub title: Option<String>,
    pub subtitle: Option<String>,
}

impl From<&edition::Model> for EditionFields {
    fn from(e: &edition::Model) -> Self {
        Self {
            format: e.format,
            isbn: e.isbn.clone(),
            catalog_number: e.catalog_number.clone(),
            publisher: e.publisher.clone(),
            release_date: e.release_date,
            language: e.language.clone(),
            pages: e.pages,
            duration_seconds: e.duration_seconds,
            price_minor: e.price_minor,
            currency: e.currency.clone(),
            access: e.access,
            title: e.title.clone(),
            subtitle: e.subtitle.clone(),
        }
    }
}

fn apply(active: &mut edition::ActiveModel, fields: EditionFields) {
    active.format = Set(fields.format);
    active.isbn = Set(fields.isbn);
    active.catalog_number = Set(fields.catalog_number);
    active.publisher = Set(fields.publisher);
    active.release_date = Set(fields.release_date);
    active.language = Set(fields.language);
    active.pages = Set(fields.pages);
    active.duration_seconds = Set(fields.duration_seconds);
    active.price_minor = Set(fields.price_minor);
    active.currency = Set(fields.currency);
    active.access = Set(fields.access);
    active.title = Set(fields.title);
    active.subtitle = Set(fields.subtitle);
}

/// A new edition's row, not yet written; its id is the database's to give unless set.
pub fn new_row(
    book_id: i64,
    fields: EditionFields,
    now: sea_orm::prelude::DateTimeUtc,
) -> edition::ActiveModel {
    let mut active = edition::ActiveModel {
        book_id: Set(book_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(&mut active, fields);
    active
}

#[tracing::instrument(
    level = "debug",
    name = "repo.edition.insert",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    book_id: i64,
    fields: EditionFields,
) -> Result<edition::Model, DbError> {
    Ok(new_row(book_id, fields, crate::db::now())
        .insert(conn)
        .await?)
}

/// Adds many editions, each to its book, in a few statements.
#[tracing::instrument(
    level = "debug",
    name = "repo.edition.insert_all",
    skip_all,
    err(level = "debug")
)]
pub async fn insert_all(
    conn: &impl ConnectionTrait,
    editions: Vec<(i64, EditionFields)>,
) -> Result<(), DbError> {
    let now = crate::db::now();
    let rows = editions
        .into_iter()
        .map(|(book_id, fields)| new_row(book_id, fields, now))
        .collect();
    super::bulk::insert_all(conn, rows).await
}

#[tracing::instrument(
    level = "debug",
    name = "repo.edition.find",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn find<'a>(
    read: impl Into<Read<'a>>,
    id: i64,
) -> Result<Option<edition::Model>, DbError> {
    let read = read.into();
    // Built once per backend, and decoded by `decode`: through SeaORM this one-row lookup
    // (the heart of a purchase) cost more than the rest of the purchase's statements.
    static BY_ID: PerBackend = PerBackend::new();
    let sql = BY_ID.sql(read.backend(), |backend| {
        edition::Entity::find_by_id(0).build(backend).sql
    });
    Ok(read.rows(sql, &[id.into()], decode).await?.pop())
}

/// The edition with this ISBN (13 digits), if any.
#[tracing::instrument(
    level = "debug",
    name = "repo.edition.find_by_isbn",
    skip_all,
    err(level = "debug")
)]
pub async fn find_by_isbn(
    conn: &impl ConnectionTrait,
    isbn: &str,
) -> Result<Option<edition::Model>, DbError> {
    Ok(edition::Entity::find()
        .filter(edition::Column::Isbn.eq(isbn))
        .one(conn)
        .await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.edition.update",
    skip_all,
    err(level = "debug")
)]
pub async fn update(
    conn: &impl ConnectionTrait,
    existing: edition::Model,
    fields: EditionFields,
) -> Result<edition::Model, DbError> {
    let mut active: edition::ActiveModel = existing.into();
    apply(&mut active, fields);
    active.updated_at = Set(crate::db::now());
    Ok(active.update(conn).await?)
}

/// Deletes the edition; a Conflict once it has been purchased.
#[tracing::instrument(
    level = "debug",
    name = "repo.edition.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(conn: &impl ConnectionTrait, id: i64) -> Result<bool, DbError> {
    let result = edition::Entity::delete_by_id(id)
        .exec(conn)
        .await
        .map_err(DbError::on_delete)?;
    Ok(result.rows_affected == 1)
}

/// Replaces the edition's contributors, in the order given.
#[tracing::instrument(
    level = "debug",
    name = "repo.edition.set_contributors",
    skip_all,
    fields(edition_id),
    err(level = "debug")
)]
pub async fn set_contributors(
    conn: &impl ConnectionTrait,
    edition_id: i64,
    contributors: &[(i64, ContributorRole)],
) -> Result<(), DbError> {
    edition_contributor::Entity::delete_many()
        .filter(edition_contributor::Column::EditionId.eq(edition_id))
        .exec(conn)
        .await?;
    if contributors.is_empty() {
        return Ok(());
    }
    let rows = contributors
        .iter()
        .enumerate()
        .map(
            |(position, (author_id, role))| edition_contributor::ActiveModel {
                edition_id: Set(edition_id),
                author_id: Set(*author_id),
                role: Set(*role),
                position: Set(position as i32),
            },
        );
    edition_contributor::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct EditionFilter {
    pub book_id: Option<i64>,
    pub isbn: Option<String>,
    pub format: Option<EditionFormat>,
    /// Only editions open to this audience (the web library's free editions: `public`).
    pub access: Option<EditionAccess>,
}

#[tracing::instrument(
    level = "debug",
    name = "repo.edition.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    conn: &impl ConnectionTrait,
    filter: &EditionFilter,
    after_id: Option<i64>,
    limit: u64,
) -> Result<Page<edition::Model>, DbError> {
    let mut query = edition::Entity::find()
        .order_by_asc(edition::Column::Id)
        .limit(limit + 1);
    if let Some(book_id) = filter.book_id {
        query = query.filter(edition::Column::BookId.eq(book_id));
    }
    if let Some(isbn) = &filter.isbn {
        query = query.filter(edition::Column::Isbn.eq(isbn.clone()));
    }
    if let Some(format) = filter.format {
        query = query.filter(edition::Column::Format.eq(format));
    }
    if let Some(access) = filter.access {
        query = query.filter(edition::Column::Access.eq(access));
    }
    if let Some(after) = after_id {
        query = query.filter(edition::Column::Id.gt(after));
    }
    Ok(Page::from_overfetch(query.all(conn).await?, limit))
}

/// An `edition` row, its columns in declaration order as SeaORM selects them. The hot-read
/// tests compare pages read this way with SeaORM's own decoding, field by field.
pub fn decode(row: &Row<'_>) -> Result<edition::Model, DbError> {
    decode_from(row, 0)
}

/// An `edition` row's columns from `first` on (after another table's, in a join).
pub fn decode_from(row: &Row<'_>, first: usize) -> Result<edition::Model, DbError> {
    Ok(edition::Model {
        id: row.get(first)?,
        book_id: row.get(first + 1)?,
        format: row.stored(first + 2)?,
        isbn: row.get(first + 3)?,
        catalog_number: row.get(first + 4)?,
        publisher: row.get(first + 5)?,
        release_date: row.get(first + 6)?,
        language: row.get(first + 7)?,
        pages: row.get(first + 8)?,
        duration_seconds: row.get(first + 9)?,
        price_minor: row.get(first + 10)?,
        currency: row.get(first + 11)?,
        created_at: row.get(first + 12)?,
        updated_at: row.get(first + 13)?,
        access: row.stored(first + 14)?,
        title: row.get(first + 15)?,
        subtitle: row.get(first + 16)?,
    })
}
