use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "category")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    #[sea_orm(unique)]
    pub slug: String,
    pub parent_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "Entity", from = "Column::ParentId", to = "Column::Id")]
    Parent,
    #[sea_orm(has_many = "super::book_category::Entity")]
    BookCategory,
}

impl Related<super::book::Entity> for Entity {
    fn to() -> RelationDef {
        super::book_category::Relation::Book.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::book_category::Relation::Category.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
