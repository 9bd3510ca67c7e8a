//! Authors: writers, narrators, translators, performers.

use crate::db::Database;
use crate::entity::author;
use crate::repo::{self, Page};
use crate::service::auth::Principal;
use crate::service::validate::{self, Checked, Checks};
use crate::service::{ServiceError, ServiceResult};

pub struct AuthorPatch {
    pub name: Option<String>,
    /// `Some(None)` clears the bio.
    pub bio: Option<Option<String>>,
}

/// An author's name, trimmed: the one place the rule lives, for the API and the catalog's
/// batch writes alike.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    validate::text(name.trim(), 1, 300)
}

/// A name as a new author gets it (trimmed), or why not.
pub fn checked_name(mut name: String) -> ServiceResult<Checked<String>> {
    Checks::default()
        .check("name", check_name(&name))
        .finish()?;
    validate::trim(&mut name);
    Ok(Checked::new(name))
}

fn check(name: Option<&str>, bio: Option<&str>) -> ServiceResult<()> {
    let mut checks = Checks::default();
    if let Some(name) = name {
        checks.check("name", check_name(name));
    }
    if let Some(bio) = bio {
        checks.check("bio", validate::text(bio, 0, 10_000));
    }
    checks.finish()
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.authors.create",
    skip_all,
    err(level = "debug")
)]
pub async fn create(
    db: &Database,
    who: &Principal,
    name: String,
    bio: Option<String>,
) -> ServiceResult<author::Model> {
    super::require_admin(who)?;
    check(Some(&name), bio.as_deref())?;
    let name = name.trim().to_string();
    Ok(db
        .write(|tx| Box::pin(async move { repo::author::insert(&**tx, name, bio).await }))
        .await?)
}

/// The ids of the authors named, in order, each found by its exact name or created: what a
/// shop keeper typing "Ursula K. Le Guin, Anne Carson" into a book's form means.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.authors.by_names",
    skip_all,
    err(level = "debug")
)]
pub async fn by_names(db: &Database, who: &Principal, names: &[String]) -> ServiceResult<Vec<i64>> {
    super::require_admin(who)?;
    for name in names {
        check(Some(name), None)?;
    }
    let names: Vec<String> = names.iter().map(|n| n.trim().to_string()).collect();
    Ok(db
        .write(|tx| {
            Box::pin(async move {
                let mut ids = vec![];
                for name in names {
                    let id = match repo::author::find_by_name(&**tx, &name).await? {
                        Some(found) => found.id,
                        None => repo::author::insert(&**tx, name, None).await?.id,
                    };
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                Ok::<_, crate::db::DbError>(ids)
            })
        })
        .await?)
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.authors.get",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn get(db: &Database, id: i64) -> ServiceResult<author::Model> {
    repo::author::find(db.reader(), id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("author".into()))
}

/// Authors whose name starts with `query`, ignoring case and accents.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.authors.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    db: &Database,
    query: Option<&str>,
    after: Option<(String, i64)>,
    limit: u64,
) -> ServiceResult<Page<author::Model>> {
    let prefix = query.map(crate::text::fold);
    Ok(repo::author::page(db.reader(), prefix.as_deref(), after, limit).await?)
}

/// Renames and edits an author; a rename rewrites the search entries of their books.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.authors.update",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn update(
    db: &Database,
    who: &Principal,
    id: i64,
    patch: AuthorPatch,
) -> ServiceResult<author::Model> {
    super::require_admin(who)?;
    check(
        patch.name.as_deref(),
        patch.bio.as_ref().and_then(|b| b.as_deref()),
    )?;
    let name = patch.name.map(|n| n.trim().to_string());
    db.write(|tx| {
        Box::pin(async move {
            let existing = repo::author::find(&**tx, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound("author".into()))?;
            let renamed = name.as_ref().is_some_and(|n| *n != existing.name);
            let updated = repo::author::update(&**tx, existing, name, patch.bio).await?;
            if renamed {
                let books = repo::author::book_ids(&**tx, id).await?;
                repo::search::refresh(&**tx, &books).await?;
            }
            Ok(updated)
        })
    })
    .await
}

/// Deletes an author nobody credits; while a book or edition credits them, a Conflict.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.authors.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(db: &Database, who: &Principal, id: i64) -> ServiceResult<()> {
    super::require_admin(who)?;
    db.write(|tx| {
        Box::pin(async move {
            let credits = repo::author::credits(&**tx, id).await?;
            if credits > 0 {
                return Err(ServiceError::Conflict {
                    field: "id".into(),
                    detail: format!(
                        "The author is still credited {credits} times on books or editions; \
                         remove those credits first."
                    ),
                });
            }
            match repo::author::delete(&**tx, id).await? {
                true => Ok(()),
                false => Err(ServiceError::NotFound("author".into())),
            }
        })
    })
    .await
}
