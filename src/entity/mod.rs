//! SeaORM entities: one module per table, with their relations. Nothing else lives here.

pub mod api_key;
pub mod app_setting;
pub mod auth_session;
pub mod author;
pub mod book;
pub mod book_author;
pub mod book_category;
pub mod book_cover;
pub mod category;
pub mod comment;
pub mod edition;
pub mod edition_contributor;
pub mod edition_file;
pub mod enums;
pub mod note;
pub mod payment_event;
pub mod progress;
pub mod purchase;
pub mod referral_link;
pub mod refresh_token;
pub mod user;

use sea_orm::{ColumnTrait, ColumnType, EntityName, IdenStatic, Iterable};

/// Every column of every entity, as (table, column, the type SeaORM decodes it as): what
/// SQLite's writer types the values of a row by (`db::sqlite_writer`).
pub(crate) fn column_types() -> impl Iterator<Item = (&'static str, &'static str, ColumnType)> {
    macro_rules! tables {
        ($($table:ident),*) => {{
            let mut all = Vec::new();
            $(
                let table = $table::Entity.table_name();
                all.extend($table::Column::iter().map(|column| {
                    (table, column.as_str(), column.def().get_column_type().clone())
                }));
            )*
            all.into_iter()
        }};
    }
    tables!(
        api_key,
        app_setting,
        auth_session,
        author,
        book,
        book_author,
        book_category,
        book_cover,
        category,
        comment,
        edition,
        edition_contributor,
        edition_file,
        note,
        payment_event,
        progress,
        purchase,
        referral_link,
        refresh_token,
        user
    )
}
