//! Values folio keeps for itself in the database.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::db::DbError;
use crate::entity::app_setting;

#[tracing::instrument(
    level = "debug",
    name = "repo.app_setting.get",
    skip_all,
    err(level = "debug")
)]
pub async fn get(conn: &impl ConnectionTrait, key: &str) -> Result<Option<String>, DbError> {
    Ok(app_setting::Entity::find_by_id(key.to_string())
        .one(conn)
        .await?
        .map(|setting| setting.value))
}

/// Stores `value` under `key` unless a value is there already; returns the value that won,
/// so two processes starting at once agree.
#[tracing::instrument(
    level = "debug",
    name = "repo.app_setting.get_or_insert",
    skip_all,
    err(level = "debug")
)]
pub async fn get_or_insert(
    conn: &impl ConnectionTrait,
    key: &str,
    value: String,
) -> Result<String, DbError> {
    app_setting::Entity::insert(app_setting::ActiveModel {
        key: Set(key.to_string()),
        value: Set(value),
        created_at: Set(crate::db::now()),
    })
    .on_conflict(
        OnConflict::column(app_setting::Column::Key)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    get(conn, key)
        .await?
        .ok_or_else(|| DbError::NotFound(format!("setting {key}")))
}
