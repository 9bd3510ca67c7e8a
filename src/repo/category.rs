//! Categories: genres in a tree.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::Page;
use crate::db::DbError;
use crate::entity::category;

#[tracing::instrument(
    level = "debug",
    name = "repo.category.insert",
    skip_all,
    err(level = "debug")
)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    name: String,
    slug: String,
    parent_id: Option<i64>,
) -> Result<category::Model, DbError> {
    let now = crate::db::now();
    Ok(category::ActiveModel {
        name: Set(name),
        slug: Set(slug),
        parent_id: Set(parent_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.category.find",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn find(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<category::Model>, DbError> {
    Ok(category::Entity::find_by_id(id).one(conn).await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.category.find_by_slug",
    skip_all,
    err(level = "debug")
)]
pub async fn find_by_slug(
    conn: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<category::Model>, DbError> {
    Ok(category::Entity::find()
        .filter(category::Column::Slug.eq(slug))
        .one(conn)
        .await?)
}

/// The ids among `ids` that name no category.
#[tracing::instrument(
    level = "debug",
    name = "repo.category.missing",
    skip_all,
    err(level = "debug")
)]
pub async fn missing(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<i64>, DbError> {
    super::missing_ids::<category::Entity>(conn, category::Column::Id, ids).await
}

/// Categories by name, after the cursor `(name, id)`; only the children of `parent_id` when
/// given.
#[tracing::instrument(
    level = "debug",
    name = "repo.category.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    conn: &impl ConnectionTrait,
    parent_id: Option<i64>,
    after: Option<(String, i64)>,
    limit: u64,
) -> Result<Page<category::Model>, DbError> {
    let mut query = category::Entity::find()
        .order_by_asc(category::Column::Name)
        .order_by_asc(category::Column::Id)
        .limit(limit + 1);
    if let Some(parent) = parent_id {
        query = query.filter(category::Column::ParentId.eq(parent));
    }
    if let Some((name, id)) = after {
        query = query.filter(
            Condition::any()
                .add(category::Column::Name.gt(name.clone()))
                .add(
                    Condition::all()
                        .add(category::Column::Name.eq(name))
                        .add(category::Column::Id.gt(id)),
                ),
        );
    }
    Ok(Page::from_overfetch(query.all(conn).await?, limit))
}

/// `root_id` and every category below it, in one recursive query.
#[tracing::instrument(
    level = "debug",
    name = "repo.category.subtree",
    skip_all,
    fields(root_id),
    err(level = "debug")
)]
pub async fn subtree(conn: &impl ConnectionTrait, root_id: i64) -> Result<Vec<i64>, DbError> {
    let sql = "WITH RECURSIVE tree(id) AS ( \
                   SELECT id FROM category WHERE id = ? \
                   UNION \
                   SELECT c.id FROM category c JOIN tree t ON c.parent_id = t.id) \
               SELECT id FROM tree";
    let statement = super::statement(conn.get_database_backend(), sql, vec![root_id.into()]);
    let rows = conn.query_all_raw(statement).await?;
    rows.iter()
        .map(|row| row.try_get::<i64>("", "id").map_err(DbError::from))
        .collect()
}

/// The key of the PostgreSQL advisory lock that tree moves take (an arbitrary constant,
/// "folio" and "cat" in ASCII, so that it is recognisable in `pg_locks`).
const TREE_LOCK_KEY: i64 = 0x666f_6c69_6f63_6174;

/// Serialises moves in the category tree until the unit of work ends. Two moves that are each
/// acyclic can together make a cycle (X under Y while Y goes under X), and under PostgreSQL's
/// READ COMMITTED each would check a tree without the other's move. With this lock the second
/// checks the tree after the first committed. SQLite needs nothing: its units of work begin
/// with `BEGIN IMMEDIATE` and so already run one at a time.
#[tracing::instrument(
    level = "debug",
    name = "repo.category.lock_tree",
    skip_all,
    err(level = "debug")
)]
pub async fn lock_tree(conn: &impl ConnectionTrait) -> Result<(), DbError> {
    let backend = conn.get_database_backend();
    if backend == DbBackend::Postgres {
        let sql = "SELECT pg_advisory_xact_lock(?)";
        let statement = super::statement(backend, sql, vec![TREE_LOCK_KEY.into()]);
        conn.execute_raw(statement).await?;
    }
    Ok(())
}

#[derive(Default)]
pub struct CategoryChanges {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub parent_id: Option<Option<i64>>,
}

#[tracing::instrument(
    level = "debug",
    name = "repo.category.update",
    skip_all,
    err(level = "debug")
)]
pub async fn update(
    conn: &impl ConnectionTrait,
    existing: category::Model,
    changes: CategoryChanges,
) -> Result<category::Model, DbError> {
    let mut active: category::ActiveModel = existing.into();
    if let Some(name) = changes.name {
        active.name = Set(name);
    }
    if let Some(slug) = changes.slug {
        active.slug = Set(slug);
    }
    if let Some(parent_id) = changes.parent_id {
        active.parent_id = Set(parent_id);
    }
    active.updated_at = Set(crate::db::now());
    Ok(active.update(conn).await?)
}

/// Deletes the category (its books lose the tag); a Conflict while it has sub-categories.
#[tracing::instrument(
    level = "debug",
    name = "repo.category.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(conn: &impl ConnectionTrait, id: i64) -> Result<bool, DbError> {
    let result = category::Entity::delete_by_id(id)
        .exec(conn)
        .await
        .map_err(DbError::on_delete)?;
    Ok(result.rows_affected == 1)
}
