use sea_orm::entity::prelude::*;

use super::enums::{EditionAccess, EditionFormat};

/// A concrete format of a book that the store lists and sells.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "edition")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub book_id: i64,
    pub format: EditionFormat,
    /// ISBN-13, digits only.
    #[sea_orm(unique)]
    pub isbn: Option<String>,
    pub catalog_number: Option<String>,
    pub publisher: Option<String>,
    pub release_date: Option<Date>,
    pub language: Option<String>,
    pub pages: Option<i32>,
    pub duration_seconds: Option<i64>,
    /// Price in the currency's minor units (cents); never a float.
    pub price_minor: Option<i64>,
    /// ISO 4217 code, present exactly when there is a price.
    pub currency: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Who may fetch its files.
    pub access: EditionAccess,
    /// The title printed on this edition when it differs from the book's ("1984" for
    /// "Nineteen Eighty-Four"); `None` for the book's own.
    pub title: Option<String>,
    pub subtitle: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::book::Entity",
        from = "Column::BookId",
        to = "super::book::Column::Id",
        on_delete = "Cascade"
    )]
    Book,
    #[sea_orm(has_many = "super::edition_contributor::Entity")]
    EditionContributor,
    #[sea_orm(has_many = "super::purchase::Entity")]
    Purchase,
}

impl Related<super::book::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Book.def()
    }
}

impl Related<super::edition_contributor::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EditionContributor.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
