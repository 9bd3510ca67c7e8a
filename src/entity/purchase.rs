use sea_orm::entity::prelude::*;

use super::enums::PurchaseStatus;

/// A user buying an edition: pending → paid | failed; paid → refunded.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "purchase")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub edition_id: i64,
    pub status: PurchaseStatus,
    /// Copied from the edition when the purchase is made.
    pub amount_minor: i64,
    pub currency: String,
    /// Unique per user: the same key returns the same purchase.
    pub idempotency_key: String,
    /// A digest of the request body, to refuse a reused key with a different body.
    pub request_fingerprint: String,
    pub provider_ref: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
    #[sea_orm(
        belongs_to = "super::edition::Entity",
        from = "Column::EditionId",
        to = "super::edition::Column::Id"
    )]
    Edition,
}

impl Related<super::edition::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Edition.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
