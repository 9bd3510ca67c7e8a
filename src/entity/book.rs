use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "book")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    /// `title` folded (lower case, no accents): sorting.
    pub title_folded: String,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    pub original_year: Option<i32>,
    pub language: Option<String>,
    pub rating_count: i64,
    pub rating_sum: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::book_author::Entity")]
    BookAuthor,
    #[sea_orm(has_many = "super::book_category::Entity")]
    BookCategory,
    #[sea_orm(has_many = "super::edition::Entity")]
    Edition,
    #[sea_orm(has_many = "super::comment::Entity")]
    Comment,
}

impl Related<super::edition::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Edition.def()
    }
}

impl Related<super::comment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Comment.def()
    }
}

impl Related<super::author::Entity> for Entity {
    fn to() -> RelationDef {
        super::book_author::Relation::Author.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::book_author::Relation::Book.def().rev())
    }
}

impl Related<super::category::Entity> for Entity {
    fn to() -> RelationDef {
        super::book_category::Relation::Category.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::book_category::Relation::Book.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
