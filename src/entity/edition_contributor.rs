use sea_orm::entity::prelude::*;

use super::enums::ContributorRole;

/// Someone who made an edition what it is: a narrator, translator, performer…
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "edition_contributor")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub edition_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub author_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: ContributorRole,
    pub position: i32,
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
    #[sea_orm(
        belongs_to = "super::author::Entity",
        from = "Column::AuthorId",
        to = "super::author::Column::Id"
    )]
    Author,
}

impl Related<super::author::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Author.def()
    }
}

impl Related<super::edition::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Edition.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
