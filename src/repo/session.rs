//! Sign-ins (auth_session) and their rotating refresh tokens.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};

use super::PerBackend;
use crate::db::{DbError, Read};
use crate::entity::{auth_session, refresh_token, user};

#[tracing::instrument(
    level = "debug",
    name = "repo.session.create",
    skip_all,
    fields(user_id),
    err(level = "debug")
)]
pub async fn create(
    conn: &impl ConnectionTrait,
    user_id: i64,
) -> Result<auth_session::Model, DbError> {
    Ok(auth_session::ActiveModel {
        user_id: Set(user_id),
        created_at: Set(crate::db::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.session.add_refresh_token",
    skip_all,
    fields(session_id),
    err(level = "debug")
)]
pub async fn add_refresh_token(
    conn: &impl ConnectionTrait,
    session_id: i64,
    token_hash: String,
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    refresh_token::ActiveModel {
        session_id: Set(session_id),
        token_hash: Set(token_hash),
        expires_at: Set(expires_at),
        created_at: Set(crate::db::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// A refresh token with the sign-in it belongs to.
#[tracing::instrument(
    level = "debug",
    name = "repo.session.find_refresh_token",
    skip_all,
    err(level = "debug")
)]
pub async fn find_refresh_token(
    conn: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<(refresh_token::Model, auth_session::Model)>, DbError> {
    let found = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token_hash))
        .find_also_related(auth_session::Entity)
        .one(conn)
        .await?;
    Ok(found.and_then(|(token, session)| session.map(|s| (token, s))))
}

/// Marks the token used, if nobody did first. `false` means it was already used: a replay.
#[tracing::instrument(
    level = "debug",
    name = "repo.session.use_refresh_token",
    skip_all,
    fields(token_id),
    err(level = "debug")
)]
pub async fn use_refresh_token(
    conn: &impl ConnectionTrait,
    token_id: i64,
) -> Result<bool, DbError> {
    let result = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::val(crate::db::now()))
        .filter(refresh_token::Column::Id.eq(token_id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.session.revoke",
    skip_all,
    fields(session_id),
    err(level = "debug")
)]
pub async fn revoke(conn: &impl ConnectionTrait, session_id: i64) -> Result<(), DbError> {
    auth_session::Entity::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::val(crate::db::now()))
        .filter(auth_session::Column::Id.eq(session_id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes every sign-in of `user_id` except `keep` (the one asking, if any).
#[tracing::instrument(
    level = "debug",
    name = "repo.session.revoke_all_but",
    skip_all,
    fields(user_id),
    err(level = "debug")
)]
pub async fn revoke_all_but(
    conn: &impl ConnectionTrait,
    user_id: i64,
    keep: Option<i64>,
) -> Result<u64, DbError> {
    let mut update = auth_session::Entity::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::val(crate::db::now()))
        .filter(auth_session::Column::UserId.eq(user_id))
        .filter(auth_session::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(auth_session::Column::Id.ne(keep));
    }
    Ok(update.exec(conn).await?.rows_affected)
}

/// The user behind a live sign-in, in one indexed lookup: what every request with an access
/// token costs. `None` when the sign-in is unknown or revoked.
#[tracing::instrument(
    level = "debug",
    name = "repo.session.live_user",
    skip_all,
    fields(session_id, user_id),
    err(level = "debug")
)]
pub async fn live_user<'a>(
    read: impl Into<Read<'a>>,
    session_id: i64,
    user_id: i64,
) -> Result<Option<user::Model>, DbError> {
    let read = read.into();
    static LIVE: PerBackend = PerBackend::new();
    let sql = LIVE.sql(read.backend(), |backend| {
        user::Entity::find()
            .inner_join(auth_session::Entity)
            .filter(auth_session::Column::Id.eq(0))
            .filter(auth_session::Column::RevokedAt.is_null())
            .filter(user::Column::Id.eq(0))
            .build(backend)
            .sql
    });
    let values = [session_id.into(), user_id.into()];
    Ok(read.rows(sql, &values, super::user::decode).await?.pop())
}

/// A sign-in still in use, for the reader's list of them.
pub struct LiveSession {
    pub session: auth_session::Model,
    /// Signed in by an app (it holds refresh tokens) rather than a browser.
    pub app: bool,
}

/// The account's sign-ins that can still be used, newest first: not revoked, and either
/// started after `since` (a browser's sign-in lasts that long) or holding a refresh token
/// not yet used or expired (an app's lasts as long as it keeps refreshing).
#[tracing::instrument(
    level = "debug",
    name = "repo.session.live_of",
    skip_all,
    fields(user_id),
    err(level = "debug")
)]
pub async fn live_of(
    conn: &impl ConnectionTrait,
    user_id: i64,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<LiveSession>, DbError> {
    let now = crate::db::now();
    let renewable = refresh_token::Entity::find()
        .select_only()
        .column(refresh_token::Column::SessionId)
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .into_query();
    let sessions = auth_session::Entity::find()
        .filter(auth_session::Column::UserId.eq(user_id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(auth_session::Column::CreatedAt.gte(since))
                .add(auth_session::Column::Id.in_subquery(renewable)),
        )
        .order_by_desc(auth_session::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    let ids: Vec<i64> = sessions.iter().map(|s| s.id).collect();
    // An app's sign-in holds refresh tokens; a browser's never has one.
    let apps: Vec<i64> = refresh_token::Entity::find()
        .select_only()
        .column(refresh_token::Column::SessionId)
        .distinct()
        .filter(refresh_token::Column::SessionId.is_in(ids))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(sessions
        .into_iter()
        .map(|session| LiveSession {
            app: apps.contains(&session.id),
            session,
        })
        .collect())
}

/// Revokes one of `user_id`'s sign-ins; false when it is not theirs or already ended.
#[tracing::instrument(
    level = "debug",
    name = "repo.session.revoke_of",
    skip_all,
    fields(user_id, session_id),
    err(level = "debug")
)]
pub async fn revoke_of(
    conn: &impl ConnectionTrait,
    user_id: i64,
    session_id: i64,
) -> Result<bool, DbError> {
    let done = auth_session::Entity::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::val(crate::db::now()))
        .filter(auth_session::Column::Id.eq(session_id))
        .filter(auth_session::Column::UserId.eq(user_id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}
