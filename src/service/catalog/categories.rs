//! Categories: genres in a tree, addressed by id or slug.

use crate::db::Database;
use crate::entity::category;
pub use crate::repo::category::CategoryChanges;
use crate::repo::{self, Page};
use crate::service::auth::Principal;
use crate::service::validate::{self, Checked, Checks};
use crate::service::{ServiceError, ServiceResult};

/// Lower-case letters and digits in words joined by `-`; not all digits, so that a slug can
/// never be taken for an id.
pub fn check_slug(slug: &str) -> Result<(), String> {
    let words_ok = slug.split('-').all(|word| {
        !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_alphanumeric() && !c.is_uppercase())
    });
    if slug.chars().count() > 100 || !words_ok {
        return Err("must be lower-case letters and digits in words joined by '-'".into());
    }
    if slug.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return Err("must contain a letter, so that it is not taken for an id".into());
    }
    Ok(())
}

/// A slug made from a name: "Science Fiction & Fantasy" → "science-fiction-fantasy".
pub fn slug_from(name: &str) -> String {
    crate::text::fold(name).replace(' ', "-")
}

/// A category as an import or the seeder brings it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCategory {
    pub name: String,
    pub slug: String,
}

/// The name (trimmed) and slug a new category gets, or why not.
pub fn checked(mut name: String, slug: String) -> ServiceResult<Checked<NewCategory>> {
    validate::trim(&mut name);
    check_new(&name, &slug)?;
    Ok(Checked::new(NewCategory { name, slug }))
}

fn check_new(name: &str, slug: &str) -> ServiceResult<()> {
    Checks::default()
        .check("name", validate::text(name, 1, 100))
        .check("slug", check_slug(slug))
        .finish()
}

/// A category named by id (digits) or slug.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.categories.find",
    skip_all,
    err(level = "debug")
)]
pub async fn find(db: &Database, id_or_slug: &str) -> ServiceResult<category::Model> {
    let found = match id_or_slug.parse::<i64>() {
        Ok(id) => repo::category::find(db.reader(), id).await?,
        Err(_) => repo::category::find_by_slug(db.reader(), id_or_slug).await?,
    };
    found.ok_or_else(|| ServiceError::NotFound("category".into()))
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.categories.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    db: &Database,
    parent_id: Option<i64>,
    after: Option<(String, i64)>,
    limit: u64,
) -> ServiceResult<Page<category::Model>> {
    Ok(repo::category::page(db.reader(), parent_id, after, limit).await?)
}

/// The categories as a tree for a picker: each with its depth, parents before their
/// children, siblings by name; at most `max` of them (the first by name).
#[tracing::instrument(
    level = "info",
    name = "service.catalog.categories.tree",
    skip_all,
    err(level = "debug")
)]
pub async fn tree(db: &Database, max: u64) -> ServiceResult<Vec<(usize, category::Model)>> {
    let all = repo::category::page(db.reader(), None, None, max)
        .await?
        .rows;
    let ids: std::collections::HashSet<i64> = all.iter().map(|c| c.id).collect();
    let mut children: std::collections::HashMap<Option<i64>, Vec<&category::Model>> =
        std::collections::HashMap::new();
    for category in &all {
        // A parent beyond the first `max` leaves its child at the top rather than hidden.
        let parent = category.parent_id.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(category);
    }
    let mut out = Vec::with_capacity(all.len());
    let mut stack: Vec<(usize, &category::Model)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|c| (0, *c)).collect())
        .unwrap_or_default();
    while let Some((depth, category)) = stack.pop() {
        out.push((depth, category.clone()));
        if let Some(below) = children.get(&Some(category.id)) {
            stack.extend(below.iter().rev().map(|c| (depth + 1, *c)));
        }
    }
    Ok(out)
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.categories.create",
    skip_all,
    err(level = "debug")
)]
pub async fn create(
    db: &Database,
    who: &Principal,
    name: String,
    slug: Option<String>,
    parent_id: Option<i64>,
) -> ServiceResult<category::Model> {
    super::require_admin(who)?;
    let name = name.trim().to_string();
    let slug = slug.unwrap_or_else(|| slug_from(&name));
    check_new(&name, &slug)?;
    db.write(|tx| {
        Box::pin(async move {
            if let Some(parent) = parent_id
                && repo::category::find(&**tx, parent).await?.is_none()
            {
                return Err(ServiceError::invalid(
                    "parent_id",
                    "no category has this id",
                ));
            }
            Ok(repo::category::insert(&**tx, name, slug, parent_id).await?)
        })
    })
    .await
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.categories.update",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn update(
    db: &Database,
    who: &Principal,
    id: i64,
    changes: CategoryChanges,
) -> ServiceResult<category::Model> {
    super::require_admin(who)?;
    let mut checks = Checks::default();
    if let Some(name) = &changes.name {
        checks.check("name", validate::text(name.trim(), 1, 100));
    }
    if let Some(slug) = &changes.slug {
        checks.check("slug", check_slug(slug));
    }
    checks.finish()?;
    db.write(|tx| {
        Box::pin(async move {
            if let Some(Some(_)) = changes.parent_id {
                // Before anything is read: the cycle check and the move must see one tree.
                repo::category::lock_tree(&**tx).await?;
            }
            let existing = repo::category::find(&**tx, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound("category".into()))?;
            if let Some(Some(parent)) = changes.parent_id {
                // A category cannot move below itself: that would cut its branch off the tree.
                let below = repo::category::subtree(&**tx, id).await?;
                if below.contains(&parent) {
                    return Err(ServiceError::invalid(
                        "parent_id",
                        "a category cannot be placed under itself or its own sub-categories",
                    ));
                }
                if repo::category::find(&**tx, parent).await?.is_none() {
                    return Err(ServiceError::invalid(
                        "parent_id",
                        "no category has this id",
                    ));
                }
            }
            Ok(repo::category::update(&**tx, existing, changes).await?)
        })
    })
    .await
}

/// Deletes a category; its books lose the tag. While it has sub-categories, a Conflict.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.categories.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(db: &Database, who: &Principal, id: i64) -> ServiceResult<()> {
    super::require_admin(who)?;
    super::delete_row(
        db,
        "category",
        "The category has sub-categories; move or delete them first.",
        |tx| Box::pin(async move { repo::category::delete(&**tx, id).await }),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(check_slug("science-fiction").is_ok());
        assert!(check_slug("фантастика").is_ok());
        assert!(check_slug("Sci-Fi").is_err());
        assert!(check_slug("a--b").is_err());
        assert!(check_slug("-a").is_err());
        assert!(check_slug("1984").is_err());
        assert_eq!(
            slug_from("Science Fiction & Fantasy"),
            "science-fiction-fantasy"
        );
        assert_eq!(slug_from("Brontë Sisters"), "bronte-sisters");
    }
}
