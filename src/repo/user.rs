//! Users: lookups by id or by sign-in name, keyset pages, updates.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::Page;
use crate::db::{DbError, Row};
use crate::entity::enums::UserRole;
use crate::entity::user::{self, Column};

pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub role: UserRole,
    pub referred_by_link_id: Option<i64>,
}

/// A `user` row, its columns in declaration order as SeaORM selects them.
/// `sqlite_hot_reads::a_signed_in_user_reads_the_same_through_rusqlite_as_through_the_orm`
/// reads a signed-in user both ways and compares them.
pub fn decode(row: &Row<'_>) -> Result<user::Model, DbError> {
    Ok(user::Model {
        id: row.get(0)?,
        username: row.get(1)?,
        email: row.get(2)?,
        username_folded: row.get(3)?,
        email_folded: row.get(4)?,
        password_hash: row.get(5)?,
        role: row.stored(6)?,
        disabled: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
        referred_by_link_id: row.get(10)?,
    })
}

#[tracing::instrument(
    level = "debug",
    name = "repo.user.insert",
    skip_all,
    err(level = "debug")
)]
pub async fn insert(conn: &impl ConnectionTrait, new: NewUser) -> Result<user::Model, DbError> {
    let now = crate::db::now();
    Ok(user::ActiveModel {
        username_folded: Set(fold(&new.username)),
        email_folded: Set(fold(&new.email)),
        username: Set(new.username),
        email: Set(new.email),
        password_hash: Set(new.password_hash),
        role: Set(new.role),
        disabled: Set(false),
        referred_by_link_id: Set(new.referred_by_link_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.user.find",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn find(conn: &impl ConnectionTrait, id: i64) -> Result<Option<user::Model>, DbError> {
    Ok(user::Entity::find_by_id(id).one(conn).await?)
}

/// The user, with their row locked until the unit of work ends (`FOR UPDATE` on PostgreSQL;
/// SQLite's units of work hold the database's one write lock already). Changes that depend on
/// what the row says (an admin's rights, a disabled flag) read it this way.
#[tracing::instrument(
    level = "debug",
    name = "repo.user.lock",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn lock(conn: &impl ConnectionTrait, id: i64) -> Result<Option<user::Model>, DbError> {
    Ok(user::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?)
}

/// How many accounts are admins and not disabled, `except` one.
#[tracing::instrument(
    level = "debug",
    name = "repo.user.count_active_admins_except",
    skip_all,
    err(level = "debug")
)]
pub async fn count_active_admins_except(
    conn: &impl ConnectionTrait,
    except: i64,
) -> Result<u64, DbError> {
    Ok(user::Entity::find()
        .filter(Column::Role.eq(UserRole::Admin))
        .filter(Column::Disabled.eq(false))
        .filter(Column::Id.ne(except))
        .count(conn)
        .await?)
}

/// The case-folded form that uniqueness and sign-in compare.
pub fn fold(value: &str) -> String {
    value.to_lowercase()
}

/// The user whose username or email is `identifier`, without regard to case: two lookups on
/// the unique folded columns.
#[tracing::instrument(
    level = "debug",
    name = "repo.user.find_by_login",
    skip_all,
    err(level = "debug")
)]
pub async fn find_by_login(
    conn: &impl ConnectionTrait,
    identifier: &str,
) -> Result<Option<user::Model>, DbError> {
    let folded = fold(identifier);
    Ok(user::Entity::find()
        .filter(
            Condition::any()
                .add(Column::UsernameFolded.eq(folded.clone()))
                .add(Column::EmailFolded.eq(folded)),
        )
        .one(conn)
        .await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.user.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    conn: &impl ConnectionTrait,
    after_id: Option<i64>,
    limit: u64,
) -> Result<Page<user::Model>, DbError> {
    let mut query = user::Entity::find()
        .order_by_asc(Column::Id)
        .limit(limit + 1);
    if let Some(after) = after_id {
        query = query.filter(Column::Id.gt(after));
    }
    Ok(Page::from_overfetch(query.all(conn).await?, limit))
}

/// The changes an update may make; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub role: Option<UserRole>,
    pub disabled: Option<bool>,
}

#[tracing::instrument(
    level = "debug",
    name = "repo.user.update",
    skip_all,
    err(level = "debug")
)]
pub async fn update(
    conn: &impl ConnectionTrait,
    existing: user::Model,
    changes: UserChanges,
) -> Result<user::Model, DbError> {
    let mut active: user::ActiveModel = existing.into();
    if let Some(email) = changes.email {
        active.email_folded = Set(fold(&email));
        active.email = Set(email);
    }
    if let Some(hash) = changes.password_hash {
        active.password_hash = Set(hash);
    }
    if let Some(role) = changes.role {
        active.role = Set(role);
    }
    if let Some(disabled) = changes.disabled {
        active.disabled = Set(disabled);
    }
    active.updated_at = Set(crate::db::now());
    Ok(active.update(conn).await?)
}
