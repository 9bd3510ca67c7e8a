//! The closed sets of values the schema checks, as Rust enums stored as text.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Who may fetch an edition's files (admins always may).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum EditionAccess {
    /// Anyone, signed in or not: public-domain works.
    #[sea_orm(string_value = "public")]
    Public,
    /// Any signed-in account.
    #[sea_orm(string_value = "members")]
    Members,
    /// Accounts with a paid purchase of the edition, until it is refunded.
    #[default]
    #[sea_orm(string_value = "buyers")]
    Buyers,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum EditionFormat {
    #[sea_orm(string_value = "print")]
    Print,
    #[sea_orm(string_value = "ebook")]
    Ebook,
    #[sea_orm(string_value = "audiobook")]
    Audiobook,
    #[sea_orm(string_value = "vinyl")]
    Vinyl,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum ContributorRole {
    #[sea_orm(string_value = "narrator")]
    Narrator,
    #[sea_orm(string_value = "translator")]
    Translator,
    #[sea_orm(string_value = "performer")]
    Performer,
    #[sea_orm(string_value = "illustrator")]
    Illustrator,
    #[sea_orm(string_value = "editor")]
    Editor,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    #[sea_orm(string_value = "reader")]
    Reader,
    #[sea_orm(string_value = "admin")]
    Admin,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum ReadingStatus {
    #[sea_orm(string_value = "reading")]
    Reading,
    #[sea_orm(string_value = "finished")]
    Finished,
    #[sea_orm(string_value = "abandoned")]
    Abandoned,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "paid")]
    Paid,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "refunded")]
    Refunded,
}

impl PurchaseStatus {
    /// The stored value, as a label (the metrics' purchases by status).
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Failed => "failed",
            Self::Refunded => "refunded",
        }
    }
}
