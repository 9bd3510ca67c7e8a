use sea_orm::entity::prelude::*;

use super::enums::UserRole;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub username: String,
    pub email: String,
    /// `username` case-folded; unique, so usernames are unique without regard to case.
    pub username_folded: String,
    /// `email` case-folded; unique.
    pub email_folded: String,
    pub password_hash: String,
    pub role: UserRole,
    pub disabled: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The referral link this user signed up through.
    pub referred_by_link_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::comment::Entity")]
    Comment,
    #[sea_orm(has_many = "super::progress::Entity")]
    Progress,
    #[sea_orm(has_many = "super::note::Entity")]
    Note,
    #[sea_orm(has_many = "super::purchase::Entity")]
    Purchase,
    #[sea_orm(has_many = "super::api_key::Entity")]
    ApiKey,
    #[sea_orm(has_many = "super::auth_session::Entity")]
    AuthSession,
    #[sea_orm(
        belongs_to = "super::referral_link::Entity",
        from = "Column::ReferredByLinkId",
        to = "super::referral_link::Column::Id",
        on_delete = "SetNull"
    )]
    ReferredBy,
}

impl Related<super::referral_link::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReferredBy.def()
    }
}

impl Related<super::auth_session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuthSession.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
