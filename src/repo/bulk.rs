//! Many rows at once, for imports and seeding. Writes take their ids up front, so that rows
//! which refer to each other (a book, its authors, its edition) can be written table by table
//! in a few multi-row statements instead of several statements per book; reads take what an
//! import matches against, the whole catalog's keys, in three statements.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Statement,
};

use crate::db::DbError;
use crate::entity::enums::EditionFormat;

#[derive(FromQueryResult)]
pub struct AuthorName {
    pub id: i64,
    pub name: String,
}

/// An edition that a second import can recognise: by ISBN, or a record's catalog number.
#[derive(FromQueryResult)]
pub struct KnownEdition {
    pub id: i64,
    pub book_id: i64,
    pub format: EditionFormat,
    pub isbn: Option<String>,
    pub catalog_number: Option<String>,
    pub publisher: Option<String>,
}

/// A book by its folded title and its first author's folded name.
#[derive(FromQueryResult)]
pub struct BookTitle {
    pub id: i64,
    pub title_folded: String,
    pub name_folded: String,
}

fn raw(conn: &impl ConnectionTrait, sql: &str) -> Statement {
    Statement::from_string(conn.get_database_backend(), sql)
}

pub async fn author_names(conn: &impl ConnectionTrait) -> Result<Vec<AuthorName>, DbError> {
    let sql = "SELECT id, name FROM author";
    Ok(AuthorName::find_by_statement(raw(conn, sql))
        .all(conn)
        .await?)
}

pub async fn known_editions(conn: &impl ConnectionTrait) -> Result<Vec<KnownEdition>, DbError> {
    let sql = "SELECT id, book_id, format, isbn, catalog_number, publisher FROM edition \
               WHERE isbn IS NOT NULL OR (format = 'vinyl' AND catalog_number IS NOT NULL)";
    Ok(KnownEdition::find_by_statement(raw(conn, sql))
        .all(conn)
        .await?)
}

pub async fn book_titles(conn: &impl ConnectionTrait) -> Result<Vec<BookTitle>, DbError> {
    let sql = "SELECT b.id, b.title_folded, a.name_folded FROM book b \
               JOIN book_author ba ON ba.book_id = b.id AND ba.position = 0 \
               JOIN author a ON a.id = ba.author_id";
    Ok(BookTitle::find_by_statement(raw(conn, sql))
        .all(conn)
        .await?)
}

/// Rows per multi-row statement. folio's widest row (an edition) has 14 columns: 14,000 bound
/// values, under both SQLite's limit (32,766) and PostgreSQL's (65,535).
const ROWS_PER_STATEMENT: usize = 1000;

#[derive(FromQueryResult)]
struct Id {
    id: i64,
}

/// Takes `count` ids of `table` that no other row has or will be given.
///
/// On SQLite the caller's unit of work holds the write lock (`BEGIN IMMEDIATE`), so the ids
/// after the highest one ever given out (`sqlite_sequence`, which an `AUTOINCREMENT` table
/// never goes back on) are free until it commits; inserting them moves the sequence on. On
/// PostgreSQL the ids come from the table's identity sequence, which concurrent writers share
/// safely.
pub async fn reserve_ids(
    conn: &impl ConnectionTrait,
    table: &'static str,
    count: usize,
) -> Result<Vec<i64>, DbError> {
    if count == 0 {
        return Ok(vec![]);
    }
    let backend = conn.get_database_backend();
    match backend {
        DbBackend::Postgres => {
            let ids = Id::find_by_statement(super::statement(
                backend,
                "SELECT nextval(pg_get_serial_sequence(?, 'id')) AS id \
                 FROM generate_series(1, ?)",
                vec![table.into(), (count as i64).into()],
            ))
            .all(conn)
            .await?;
            Ok(ids.into_iter().map(|row| row.id).collect())
        }
        _ => {
            // `table` is one of folio's own table names, never input.
            let highest = Id::find_by_statement(super::statement(
                backend,
                &format!(
                    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), \
                     coalesce((SELECT max(id) FROM {table}), 0)) AS id"
                ),
                vec![table.into()],
            ))
            .one(conn)
            .await?
            .map_or(0, |row| row.id);
            Ok((1..=count as i64).map(|offset| highest + offset).collect())
        }
    }
}

/// Inserts `rows`, all with the same columns set, in as few statements as the backends'
/// limits on bound values allow.
pub async fn insert_all<A>(conn: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), DbError>
where
    A: ActiveModelTrait,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        A::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}
