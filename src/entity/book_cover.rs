use sea_orm::entity::prelude::*;

/// A book's cover: the original image and its two thumbnails, each a storage object named by
/// its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "book_cover")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub book_id: i64,
    pub sha256: String,
    pub media_type: String,
    pub thumb_sha256: String,
    pub medium_sha256: String,
    pub updated_at: DateTimeUtc,
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
}

impl ActiveModelBehavior for ActiveModel {}
