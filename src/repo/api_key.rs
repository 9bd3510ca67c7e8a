//! API keys, stored as digests.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::Page;
use crate::db::DbError;
use crate::entity::{api_key, user};

#[tracing::instrument(
    level = "debug",
    name = "repo.api_key.insert",
    skip_all,
    fields(user_id),
    err(level = "debug")
)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    user_id: i64,
    name: String,
    prefix: String,
    key_hash: String,
) -> Result<api_key::Model, DbError> {
    Ok(api_key::ActiveModel {
        user_id: Set(user_id),
        name: Set(name),
        prefix: Set(prefix),
        key_hash: Set(key_hash),
        created_at: Set(crate::db::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.api_key.page",
    skip_all,
    fields(user_id, limit),
    err(level = "debug")
)]
pub async fn page(
    conn: &impl ConnectionTrait,
    user_id: i64,
    after_id: Option<i64>,
    limit: u64,
) -> Result<Page<api_key::Model>, DbError> {
    let mut query = api_key::Entity::find()
        .filter(api_key::Column::UserId.eq(user_id))
        .order_by_asc(api_key::Column::Id)
        .limit(limit + 1);
    if let Some(after) = after_id {
        query = query.filter(api_key::Column::Id.gt(after));
    }
    Ok(Page::from_overfetch(query.all(conn).await?, limit))
}

/// Deletes the key if it is `user_id`'s; `false` when there was no such key of theirs.
#[tracing::instrument(
    level = "debug",
    name = "repo.api_key.delete",
    skip_all,
    fields(user_id, id),
    err(level = "debug")
)]
pub async fn delete(conn: &impl ConnectionTrait, user_id: i64, id: i64) -> Result<bool, DbError> {
    let result = api_key::Entity::delete_many()
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::UserId.eq(user_id))
        .exec(conn)
        .await
        .map_err(DbError::on_delete)?;
    Ok(result.rows_affected == 1)
}

/// Deletes every key of `user_id`; how many there were.
#[tracing::instrument(
    level = "debug",
    name = "repo.api_key.delete_all",
    skip_all,
    fields(user_id),
    err(level = "debug")
)]
pub async fn delete_all(conn: &impl ConnectionTrait, user_id: i64) -> Result<u64, DbError> {
    let result = api_key::Entity::delete_many()
        .filter(api_key::Column::UserId.eq(user_id))
        .exec(conn)
        .await
        .map_err(DbError::on_delete)?;
    Ok(result.rows_affected)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.api_key.find_with_user",
    skip_all,
    err(level = "debug")
)]
pub async fn find_with_user(
    conn: &impl ConnectionTrait,
    key_hash: &str,
) -> Result<Option<(api_key::Model, user::Model)>, DbError> {
    let found = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(key_hash))
        .find_also_related(user::Entity)
        .one(conn)
        .await?;
    Ok(found.and_then(|(key, user)| user.map(|u| (key, u))))
}

#[tracing::instrument(
    level = "debug",
    name = "repo.api_key.touch",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn touch(conn: &impl ConnectionTrait, id: i64) -> Result<(), DbError> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Expr::val(crate::db::now()))
        .filter(api_key::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}
