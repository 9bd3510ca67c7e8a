use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "author")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// `name` folded (lower case, no accents): prefix search and sorting.
    pub name_folded: String,
    pub bio: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::book_author::Entity")]
    BookAuthor,
    #[sea_orm(has_many = "super::edition_contributor::Entity")]
    EditionContributor,
}

impl Related<super::book_author::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BookAuthor.def()
    }
}

impl Related<super::book::Entity> for Entity {
    fn to() -> RelationDef {
        super::book_author::Relation::Book.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::book_author::Relation::Author.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
