use sea_orm::entity::prelude::*;

/// A file of an edition (its EPUB or PDF, or one of its audiobook's tracks); the bytes are the
/// storage's object named by `sha256`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "edition_file")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub edition_id: i64,
    /// 1-based reading order within the edition.
    pub position: i32,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    pub duration_seconds: Option<f64>,
    /// What was read from the file, as JSON text (`service::files::FileMetadata`).
    pub metadata: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::edition::Entity",
        from = "Column::EditionId",
        to = "super::edition::Column::Id",
        on_delete = "Cascade"
    )]
    Edition,
}

impl Related<super::edition::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Edition.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
