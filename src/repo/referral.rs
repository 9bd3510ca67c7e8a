//! Referral links and the numbers their owners see.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, Set,
};

use super::Page;
use crate::db::DbError;
use crate::entity::referral_link;

#[tracing::instrument(
    level = "debug",
    name = "repo.referral.insert",
    skip_all,
    fields(owner_id),
    err(level = "debug")
)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    owner_id: i64,
    code: String,
) -> Result<referral_link::Model, DbError> {
    Ok(referral_link::ActiveModel {
        owner_id: Set(owner_id),
        code: Set(code),
        clicks: Set(0),
        created_at: Set(crate::db::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.referral.find_by_code",
    skip_all,
    err(level = "debug")
)]
pub async fn find_by_code(
    conn: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<referral_link::Model>, DbError> {
    Ok(referral_link::Entity::find()
        .filter(referral_link::Column::Code.eq(code))
        .one(conn)
        .await?)
}

/// Counts a click; `false` when there is no link with that code.
#[tracing::instrument(
    level = "debug",
    name = "repo.referral.count_click",
    skip_all,
    err(level = "debug")
)]
pub async fn count_click(conn: &impl ConnectionTrait, code: &str) -> Result<bool, DbError> {
    let result = referral_link::Entity::update_many()
        .col_expr(
            referral_link::Column::Clicks,
            Expr::col(referral_link::Column::Clicks).add(1),
        )
        .filter(referral_link::Column::Code.eq(code))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A link with what it brought: clicks, sign-ups, and paid purchases by those who signed up.
#[derive(Debug, Clone, FromQueryResult)]
pub struct LinkStats {
    pub id: i64,
    pub code: String,
    pub clicks: i64,
    pub signups: i64,
    pub purchases: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// One query for a whole page: the counts are correlated subqueries on indexed columns
/// (`user.referred_by_link_id`, `purchase.user_id`).
#[tracing::instrument(
    level = "debug",
    name = "repo.referral.page_with_stats",
    skip_all,
    fields(owner_id, limit),
    err(level = "debug")
)]
pub async fn page_with_stats(
    conn: &impl ConnectionTrait,
    owner_id: i64,
    after_id: Option<i64>,
    limit: u64,
) -> Result<Page<LinkStats>, DbError> {
    let sql = r#"SELECT l.id, l.code, l.clicks, l.created_at,
                  (SELECT COUNT(*) FROM "user" u WHERE u.referred_by_link_id = l.id) AS signups,
                  (SELECT COUNT(*) FROM purchase p JOIN "user" u ON u.id = p.user_id
                    WHERE u.referred_by_link_id = l.id AND p.status = 'paid') AS purchases
             FROM referral_link l
            WHERE l.owner_id = ? AND l.id > ?
            ORDER BY l.id
            LIMIT ?"#;
    let values = vec![
        owner_id.into(),
        after_id.unwrap_or(0).into(),
        ((limit + 1) as i64).into(),
    ];
    let statement = super::statement(conn.get_database_backend(), sql, values);
    let rows = LinkStats::find_by_statement(statement).all(conn).await?;
    Ok(Page::from_overfetch(rows, limit))
}
