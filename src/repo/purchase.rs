//! Purchases and the payment events that move them along.

use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};

use super::{Page, PerBackend};
use crate::db::{DbError, Read, Row, Unique};
use crate::entity::enums::PurchaseStatus;
use crate::entity::{payment_event, purchase};

pub struct NewPurchase {
    pub user_id: i64,
    pub edition_id: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub idempotency_key: String,
    pub request_fingerprint: String,
}

#[tracing::instrument(
    level = "debug",
    name = "repo.purchase.insert",
    skip_all,
    err(level = "debug")
)]
pub async fn insert<'a>(
    unit: impl Into<Read<'a>>,
    new: NewPurchase,
) -> Result<purchase::Model, DbError> {
    use purchase::Column as C;
    static INSERT: PerBackend = PerBackend::new();
    let now = crate::db::now();
    let row = vec![
        (C::UserId, new.user_id.into()),
        (C::EditionId, new.edition_id.into()),
        (C::Status, PurchaseStatus::Pending.to_value().into()),
        (C::AmountMinor, new.amount_minor.into()),
        (C::Currency, new.currency.into()),
        (C::IdempotencyKey, new.idempotency_key.into()),
        (C::RequestFingerprint, new.request_fingerprint.into()),
        (C::CreatedAt, now.into()),
        (C::UpdatedAt, now.into()),
    ];
    super::insert_one::<purchase::Entity, _>(unit.into(), &INSERT, row, decode).await
}

#[tracing::instrument(
    level = "debug",
    name = "repo.purchase.find",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn find(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<purchase::Model>, DbError> {
    Ok(purchase::Entity::find_by_id(id).one(conn).await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.purchase.find_by_key",
    skip_all,
    fields(user_id),
    err(level = "debug")
)]
pub async fn find_by_key<'a>(
    read: impl Into<Read<'a>>,
    user_id: i64,
    idempotency_key: &str,
) -> Result<Option<purchase::Model>, DbError> {
    let read = read.into();
    static BY_KEY: PerBackend = PerBackend::new();
    let sql = BY_KEY.sql(read.backend(), |backend| {
        purchase::Entity::find()
            .filter(purchase::Column::UserId.eq(0))
            .filter(purchase::Column::IdempotencyKey.eq(""))
            .build(backend)
            .sql
    });
    let values = [user_id.into(), idempotency_key.into()];
    Ok(read.rows(sql, &values, decode).await?.pop())
}

/// The user's pending or paid purchase of the edition, if any: at most one exists (the index
/// `uq_purchase__edition_id`).
#[tracing::instrument(
    level = "debug",
    name = "repo.purchase.open_purchase",
    skip_all,
    fields(user_id, edition_id),
    err(level = "debug")
)]
pub async fn open_purchase<'a>(
    read: impl Into<Read<'a>>,
    user_id: i64,
    edition_id: i64,
) -> Result<Option<purchase::Model>, DbError> {
    let read = read.into();
    static OPEN: PerBackend = PerBackend::new();
    let sql = OPEN.sql(read.backend(), |backend| {
        purchase::Entity::find()
            .filter(purchase::Column::UserId.eq(0))
            .filter(purchase::Column::EditionId.eq(0))
            .filter(purchase::Column::Status.is_in([PurchaseStatus::Pending, PurchaseStatus::Paid]))
            .build(backend)
            .sql
    });
    let values = [
        user_id.into(),
        edition_id.into(),
        PurchaseStatus::Pending.to_value().into(),
        PurchaseStatus::Paid.to_value().into(),
    ];
    Ok(read.rows(sql, &values, decode).await?.pop())
}

/// A `purchase` row, its columns in declaration order as SeaORM selects them.
/// `store::a_purchase_is_made_once_per_idempotency_key` reads a purchase both ways and
/// compares them.
fn decode(row: &Row<'_>) -> Result<purchase::Model, DbError> {
    Ok(purchase::Model {
        id: row.get(0)?,
        user_id: row.get(1)?,
        edition_id: row.get(2)?,
        status: row.stored(3)?,
        amount_minor: row.get(4)?,
        currency: row.get(5)?,
        idempotency_key: row.get(6)?,
        request_fingerprint: row.get(7)?,
        provider_ref: row.get(8)?,
        created_at: row.get(9)?,
        updated_at: row.get(10)?,
    })
}

/// Which of these editions the user owns (a paid purchase, not refunded).
#[tracing::instrument(
    level = "debug",
    name = "repo.purchase.owned_of",
    skip_all,
    fields(user_id),
    err(level = "debug")
)]
pub async fn owned_of<'a>(
    read: impl Into<Read<'a>>,
    user_id: i64,
    edition_ids: &[i64],
) -> Result<Vec<i64>, DbError> {
    let read = read.into();
    let statement = purchase::Entity::find()
        .select_only()
        .column(purchase::Column::EditionId)
        .filter(purchase::Column::UserId.eq(user_id))
        .filter(purchase::Column::EditionId.is_in(edition_ids.iter().copied()))
        .filter(purchase::Column::Status.eq(PurchaseStatus::Paid))
        .build(read.backend());
    read.statement(&statement, |row| row.get(0)).await
}

/// Moves the purchase from `from` to `to`, only if it is still in `from`: two payment events
/// racing cannot both apply. Returns whether it moved.
#[tracing::instrument(
    level = "debug",
    name = "repo.purchase.transition",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn transition(
    conn: &impl ConnectionTrait,
    id: i64,
    from: PurchaseStatus,
    to: PurchaseStatus,
    provider_ref: Option<String>,
) -> Result<bool, DbError> {
    use sea_orm::sea_query::Expr;
    let mut update = purchase::Entity::update_many()
        .col_expr(purchase::Column::Status, Expr::val(to))
        .col_expr(purchase::Column::UpdatedAt, Expr::val(crate::db::now()))
        .filter(purchase::Column::Id.eq(id))
        .filter(purchase::Column::Status.eq(from));
    if let Some(provider_ref) = provider_ref {
        update = update.col_expr(purchase::Column::ProviderRef, Expr::val(provider_ref));
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

#[derive(Debug, Clone, Default)]
pub struct PurchaseFilter {
    pub user_id: Option<i64>,
    pub edition_id: Option<i64>,
    pub status: Option<PurchaseStatus>,
}

/// Purchases, newest first, after the cursor (an id).
#[tracing::instrument(
    level = "debug",
    name = "repo.purchase.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    conn: &impl ConnectionTrait,
    filter: &PurchaseFilter,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Page<purchase::Model>, DbError> {
    let mut query = purchase::Entity::find()
        .order_by_desc(purchase::Column::Id)
        .limit(limit + 1);
    if let Some(user_id) = filter.user_id {
        query = query.filter(purchase::Column::UserId.eq(user_id));
    }
    if let Some(edition_id) = filter.edition_id {
        query = query.filter(purchase::Column::EditionId.eq(edition_id));
    }
    if let Some(status) = filter.status {
        query = query.filter(purchase::Column::Status.eq(status));
    }
    if let Some(before) = before_id {
        query = query.filter(purchase::Column::Id.lt(before));
    }
    Ok(Page::from_overfetch(query.all(conn).await?, limit))
}

/// An edition in a reader's library: what they bought, when, and which book it is.
#[derive(Debug, Clone, FromQueryResult)]
pub struct LibraryRow {
    pub purchase_id: i64,
    pub edition_id: i64,
    pub book_id: i64,
    pub title: String,
    pub format: crate::entity::enums::EditionFormat,
    pub purchased_at: chrono::DateTime<chrono::Utc>,
}

/// The editions the user owns (paid, not refunded), each once however often it was paid for,
/// most recent purchase first. The cursor is that purchase's id.
#[tracing::instrument(
    level = "debug",
    name = "repo.purchase.library",
    skip_all,
    fields(user_id, limit),
    err(level = "debug")
)]
pub async fn library(
    conn: &impl ConnectionTrait,
    user_id: i64,
    before_purchase_id: Option<i64>,
    limit: u64,
) -> Result<Page<LibraryRow>, DbError> {
    let mut sql = "SELECT MAX(p.id) AS purchase_id, e.id AS edition_id, b.id AS book_id, b.title, \
                          e.format, MAX(p.updated_at) AS purchased_at \
                   FROM purchase p JOIN edition e ON e.id = p.edition_id \
                   JOIN book b ON b.id = e.book_id \
                   WHERE p.user_id = ? AND p.status = 'paid' \
                   GROUP BY e.id, b.id, b.title, e.format"
        .to_string();
    let mut values = vec![user_id.into()];
    if let Some(before) = before_purchase_id {
        sql.push_str(" HAVING MAX(p.id) < ?");
        values.push(before.into());
    }
    sql.push_str(" ORDER BY purchase_id DESC LIMIT ?");
    values.push(((limit + 1) as i64).into());
    let rows =
        LibraryRow::find_by_statement(super::statement(conn.get_database_backend(), &sql, values))
            .all(conn)
            .await?;
    Ok(Page::from_overfetch(rows, limit))
}

/// One purchase per idempotency key and buyer.
pub const IDEMPOTENCY_KEY: Unique = Unique {
    field: "idempotency_key",
};
/// One open (pending or paid) purchase per buyer and edition (migration 0005).
pub const OPEN_PURCHASE: Unique = Unique {
    field: "edition_id",
};
/// One payment event per provider event id.
pub const EVENT_ID: Unique = Unique { field: "event_id" };

/// The payment event recorded under this id, if any.
/// The payment events of these purchases, oldest first: what the provider said of each.
#[tracing::instrument(
    level = "debug",
    name = "repo.purchase.events_of",
    skip_all,
    err(level = "debug")
)]
pub async fn events_of(
    conn: &impl ConnectionTrait,
    purchase_ids: &[i64],
) -> Result<Vec<payment_event::Model>, DbError> {
    if purchase_ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(payment_event::Entity::find()
        .filter(payment_event::Column::PurchaseId.is_in(purchase_ids.iter().copied()))
        .order_by_asc(payment_event::Column::ReceivedAt)
        .order_by_asc(payment_event::Column::Id)
        .all(conn)
        .await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.purchase.find_event",
    skip_all,
    err(level = "debug")
)]
pub async fn find_event(
    conn: &impl ConnectionTrait,
    event_id: &str,
) -> Result<Option<payment_event::Model>, DbError> {
    Ok(payment_event::Entity::find()
        .filter(payment_event::Column::EventId.eq(event_id))
        .one(conn)
        .await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.purchase.record_event",
    skip_all,
    fields(purchase_id),
    err(level = "debug")
)]
pub async fn record_event(
    conn: &impl ConnectionTrait,
    event_id: String,
    purchase_id: i64,
    status: PurchaseStatus,
) -> Result<(), DbError> {
    use sea_orm::ActiveEnum;
    payment_event::ActiveModel {
        event_id: Set(event_id),
        purchase_id: Set(purchase_id),
        status: Set(status.to_value()),
        received_at: Set(crate::db::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}
