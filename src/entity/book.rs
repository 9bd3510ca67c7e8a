use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
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
    /// The series the book belongs to, if any.
    pub series: Option<String>,
    /// `series` folded: filtering by series ignores case and accents.
    pub series_folded: Option<String>,
    /// The book's place in its series (1, 2, 2.5…).
    pub series_number: Option<f64>,
    /// How well known the book is elsewhere (ratings counted by another catalog), from an
    /// import: a prior for ranking search results.
    pub popularity_prior: i64,
    /// folio's own activity around the book: comments, paid purchases, readers with progress
    /// (kept by triggers, migration 0009).
    pub activity: i64,
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
