//! Authors: the people credited on books and editions.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::Page;
use crate::db::DbError;
use crate::entity::{author, book_author, edition_contributor};
use crate::text;

/// A new author's row, not yet written; its id is the database's to give unless set.
pub fn new_row(
    name: String,
    bio: Option<String>,
    now: sea_orm::prelude::DateTimeUtc,
) -> author::ActiveModel {
    author::ActiveModel {
        name_folded: Set(text::fold(&name)),
        name: Set(name),
        bio: Set(bio),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// A book's credit of an author, in credit order from 0; not yet written.
pub fn credit_row(book_id: i64, author_id: i64, position: usize) -> book_author::ActiveModel {
    book_author::ActiveModel {
        book_id: Set(book_id),
        author_id: Set(author_id),
        position: Set(position as i32),
    }
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    name: String,
    bio: Option<String>,
) -> Result<author::Model, DbError> {
    Ok(new_row(name, bio, crate::db::now()).insert(conn).await?)
}

pub async fn find(conn: &impl ConnectionTrait, id: i64) -> Result<Option<author::Model>, DbError> {
    Ok(author::Entity::find_by_id(id).one(conn).await?)
}

pub async fn find_by_name(
    conn: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<author::Model>, DbError> {
    Ok(author::Entity::find()
        .filter(author::Column::Name.eq(name))
        .one(conn)
        .await?)
}

/// The ids among `ids` that name no author.
pub async fn missing(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<i64>, DbError> {
    super::missing_ids::<author::Entity>(conn, author::Column::Id, ids).await
}

/// Authors by folded name, after the cursor `(name_folded, id)`; with `prefix`, only those
/// with a word of the name starting with it ("bron" finds "emily bronte"). `prefix` is folded,
/// so it holds only letters, digits and spaces: no LIKE wildcards.
pub async fn page(
    conn: &impl ConnectionTrait,
    prefix: Option<&str>,
    after: Option<(String, i64)>,
    limit: u64,
) -> Result<Page<author::Model>, DbError> {
    let mut query = author::Entity::find()
        .order_by_asc(author::Column::NameFolded)
        .order_by_asc(author::Column::Id)
        .limit(limit + 1);
    if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
        query = query.filter(
            Condition::any()
                .add(author::Column::NameFolded.like(format!("{prefix}%")))
                .add(author::Column::NameFolded.like(format!("% {prefix}%"))),
        );
    }
    if let Some((name, id)) = after {
        query = query.filter(
            Condition::any()
                .add(author::Column::NameFolded.gt(name.clone()))
                .add(
                    Condition::all()
                        .add(author::Column::NameFolded.eq(name))
                        .add(author::Column::Id.gt(id)),
                ),
        );
    }
    Ok(Page::from_overfetch(query.all(conn).await?, limit))
}

pub async fn update(
    conn: &impl ConnectionTrait,
    existing: author::Model,
    name: Option<String>,
    bio: Option<Option<String>>,
) -> Result<author::Model, DbError> {
    let mut active: author::ActiveModel = existing.into();
    if let Some(name) = name {
        active.name_folded = Set(text::fold(&name));
        active.name = Set(name);
    }
    if let Some(bio) = bio {
        active.bio = Set(bio);
    }
    active.updated_at = Set(crate::db::now());
    Ok(active.update(conn).await?)
}

/// Deletes the author; a Conflict while they are still credited on a book or an edition.
pub async fn delete(conn: &impl ConnectionTrait, id: i64) -> Result<bool, DbError> {
    let result = author::Entity::delete_by_id(id)
        .exec(conn)
        .await
        .map_err(DbError::on_delete)?;
    Ok(result.rows_affected == 1)
}

/// How many books and editions credit the author: what stands in the way of deleting them.
pub async fn credits(conn: &impl ConnectionTrait, id: i64) -> Result<u64, DbError> {
    use sea_orm::PaginatorTrait;
    let books = book_author::Entity::find()
        .filter(book_author::Column::AuthorId.eq(id))
        .count(conn)
        .await?;
    let editions = edition_contributor::Entity::find()
        .filter(edition_contributor::Column::AuthorId.eq(id))
        .count(conn)
        .await?;
    Ok(books + editions)
}

/// The books that credit the author, whose search text holds the author's name.
pub async fn book_ids(conn: &impl ConnectionTrait, id: i64) -> Result<Vec<i64>, DbError> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(super::statement(
            backend,
            "SELECT book_id FROM book_author WHERE author_id = ? \
             UNION SELECT e.book_id FROM edition_contributor ec \
             JOIN edition e ON e.id = ec.edition_id WHERE ec.author_id = ?",
            vec![id.into(), id.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get_by_index::<i64>(0).map_err(DbError::from))
        .collect()
}

/// Whether some author's folded name is exactly `folded` ("j r r tolkien").
pub async fn has_folded_name(read: crate::db::Read<'_>, folded: &str) -> Result<bool, DbError> {
    let sql = super::numbered(
        read.backend(),
        "SELECT id FROM author WHERE name_folded = ? LIMIT 1",
    );
    let found: Vec<i64> = read.rows(&sql, &[folded.into()], |row| row.get(0)).await?;
    Ok(!found.is_empty())
}
