//! Editions: print, ebook, audiobook, vinyl — with ISBNs, prices and contributors.

use sea_orm::ConnectionTrait;

use crate::db::{Database, Read};
use crate::entity::enums::{ContributorRole, EditionAccess, EditionFormat};
pub use crate::repo::edition::{EditionFields, EditionFilter};
use crate::repo::edition_view;
pub use crate::repo::edition_view::EditionView;
use crate::repo::{self, Page};
use crate::service::auth::Principal;
use crate::service::validate::{self, Checked, Checks};
use crate::service::{ServiceError, ServiceResult};

pub const MAX_CONTRIBUTORS: usize = 50;

/// An edition as submitted: the ISBN in any spelling, the currency in any case.
pub struct EditionInput {
    pub fields: EditionFields,
    pub contributors: Vec<(i64, ContributorRole)>,
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Default)]
pub struct EditionPatch {
    pub format: Option<EditionFormat>,
    pub isbn: Option<Option<String>>,
    pub catalog_number: Option<Option<String>>,
    pub publisher: Option<Option<String>>,
    pub release_date: Option<Option<chrono::NaiveDate>>,
    pub language: Option<Option<String>>,
    pub pages: Option<Option<i32>>,
    pub duration_seconds: Option<Option<i64>>,
    pub price_minor: Option<Option<i64>>,
    pub currency: Option<Option<String>>,
    pub access: Option<EditionAccess>,
    pub title: Option<Option<String>>,
    pub subtitle: Option<Option<String>>,
    pub contributors: Option<Vec<(i64, ContributorRole)>>,
}

/// An edition's fields as the catalog keeps them, or why not.
pub fn checked(mut fields: EditionFields) -> ServiceResult<Checked<EditionFields>> {
    check_fields(&mut fields)?;
    Ok(Checked::new(fields))
}

/// Checks the fields together (a price needs a currency; vinyl has no ISBN) and normalises
/// them: ISBN-13 digits, upper-case currency, a tidy language tag. The one place the edition
/// rules live, for the API and the catalog's batch writes alike.
pub(super) fn check_fields(fields: &mut EditionFields) -> ServiceResult<()> {
    let mut checks = Checks::default();
    if let Some(isbn) = &mut fields.isbn {
        if fields.format == EditionFormat::Vinyl {
            checks.check(
                "isbn",
                Err("a vinyl record has a catalog_number, not an ISBN".into()),
            );
        } else {
            checks.check("isbn", super::isbn::normalize_in_place(isbn));
        }
    }
    for title in [&mut fields.title, &mut fields.subtitle] {
        if let Some(text) = title {
            validate::trim(text);
            if text.is_empty() {
                *title = None;
            }
        }
    }
    for (field, value, max) in [
        ("title", &fields.title, 500),
        ("subtitle", &fields.subtitle, 500),
        ("catalog_number", &fields.catalog_number, 100),
        ("publisher", &fields.publisher, 300),
    ] {
        if let Some(value) = value {
            checks.check(field, validate::text(value, 1, max));
        }
    }
    if let Some(language) = &fields.language {
        match super::normalize_language(language) {
            Ok(normalized) => fields.language = Some(normalized),
            Err(message) => {
                checks.check("language", Err(message));
            }
        }
    }
    if fields.pages.is_some_and(|p| !(1..=100_000).contains(&p)) {
        checks.check("pages", Err("must be from 1 to 100000".into()));
    }
    if fields
        .duration_seconds
        .is_some_and(|d| !(1..=10_000_000).contains(&d))
    {
        checks.check("duration_seconds", Err("must be from 1 to 10000000".into()));
    }
    if fields
        .price_minor
        .is_some_and(|p| !(0..=1_000_000_000_000).contains(&p))
    {
        checks.check(
            "price_minor",
            Err("must be from 0 to 1000000000000 minor units".into()),
        );
    }
    match (&fields.price_minor, &fields.currency) {
        (Some(_), None) => {
            checks.check("currency", Err("is required with a price".into()));
        }
        (None, Some(_)) => {
            checks.check("price_minor", Err("is required with a currency".into()));
        }
        (_, Some(currency)) => match super::currency::normalize(currency) {
            Ok(code) => fields.currency = Some(code),
            Err(message) => {
                checks.check("currency", Err(message));
            }
        },
        (None, None) => {}
    }
    checks.finish()
}

async fn check_contributors(
    conn: &impl sea_orm::ConnectionTrait,
    contributors: &[(i64, ContributorRole)],
) -> ServiceResult<()> {
    let mut checks = Checks::default();
    if contributors.len() > MAX_CONTRIBUTORS {
        checks.check("contributors", Err(format!("at most {MAX_CONTRIBUTORS}")));
    }
    let mut seen = std::collections::HashSet::new();
    if contributors.iter().any(|c| !seen.insert(*c)) {
        checks.check(
            "contributors",
            Err("the same author is listed twice in one role".into()),
        );
    }
    let ids: Vec<i64> = contributors.iter().map(|(id, _)| *id).collect();
    let missing = repo::author::missing(conn, &ids).await?;
    if !missing.is_empty() {
        checks.check(
            "contributors",
            Err(format!("no author has the id(s) {missing:?}")),
        );
    }
    checks.finish()
}

fn isbn_conflict(e: crate::db::DbError) -> ServiceError {
    if e.violates(repo::edition::ISBN) {
        return ServiceError::Conflict {
            field: repo::edition::ISBN.field.into(),
            detail: "Another edition has this ISBN.".into(),
        };
    }
    e.into()
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.editions.create",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn create(
    db: &Database,
    who: &Principal,
    book_id: i64,
    mut input: EditionInput,
) -> ServiceResult<EditionView> {
    super::require_admin(who)?;
    check_fields(&mut input.fields)?;
    db.write(|tx| {
        Box::pin(async move {
            if repo::book::find(&**tx, book_id).await?.is_none() {
                return Err(ServiceError::NotFound("book".into()));
            }
            check_contributors(&**tx, &input.contributors).await?;
            let edition = repo::edition::insert(&**tx, book_id, input.fields)
                .await
                .map_err(isbn_conflict)?;
            repo::edition::set_contributors(&**tx, edition.id, &input.contributors).await?;
            // The edition's title, ISBN and contributors find its book.
            repo::search::refresh(&**tx, &[book_id]).await?;
            view(&**tx, edition.id).await
        })
    })
    .await
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.editions.get",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn get(db: &Database, id: i64) -> ServiceResult<EditionView> {
    view(db.reader(), id).await
}

/// The edition as the API shows it. Writes read it in their own unit of work, so a saved
/// edition is never answered 503 because the database went away right after COMMIT.
async fn view<C>(conn: &C, id: i64) -> ServiceResult<EditionView>
where
    C: ConnectionTrait,
    for<'a> &'a C: Into<Read<'a>>,
{
    let edition = repo::edition::find(conn, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("edition".into()))?;
    Ok(edition_view::with_contributors(conn, vec![edition])
        .await?
        .remove(0))
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.editions.update",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn update(
    db: &Database,
    who: &Principal,
    id: i64,
    patch: EditionPatch,
) -> ServiceResult<EditionView> {
    super::require_admin(who)?;
    db.write(|tx| {
        Box::pin(async move {
            let existing = repo::edition::find(&**tx, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound("edition".into()))?;
            let book_id = existing.book_id;
            let current = EditionFields::from(&existing);
            let mut fields = EditionFields {
                format: patch.format.unwrap_or(current.format),
                isbn: patch.isbn.unwrap_or(current.isbn),
                catalog_number: patch.catalog_number.unwrap_or(current.catalog_number),
                publisher: patch.publisher.unwrap_or(current.publisher),
                release_date: patch.release_date.unwrap_or(current.release_date),
                language: patch.language.unwrap_or(current.language),
                pages: patch.pages.unwrap_or(current.pages),
                duration_seconds: patch.duration_seconds.unwrap_or(current.duration_seconds),
                price_minor: patch.price_minor.unwrap_or(current.price_minor),
                currency: patch.currency.unwrap_or(current.currency),
                access: patch.access.unwrap_or(current.access),
                title: patch.title.unwrap_or(current.title),
                subtitle: patch.subtitle.unwrap_or(current.subtitle),
            };
            check_fields(&mut fields)?;
            repo::edition::update(&**tx, existing, fields)
                .await
                .map_err(isbn_conflict)?;
            if let Some(contributors) = &patch.contributors {
                check_contributors(&**tx, contributors).await?;
                repo::edition::set_contributors(&**tx, id, contributors).await?;
            }
            repo::search::refresh(&**tx, &[book_id]).await?;
            view(&**tx, id).await
        })
    })
    .await
}

/// Deletes an edition nobody bought; once purchased, a Conflict.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.editions.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(db: &Database, who: &Principal, id: i64) -> ServiceResult<()> {
    super::require_admin(who)?;
    super::delete_row(
        db,
        "edition",
        "This edition has been purchased and cannot be deleted.",
        |tx| {
            Box::pin(async move {
                let Some(edition) = repo::edition::find(&**tx, id).await? else {
                    return Ok(false);
                };
                let deleted = repo::edition::delete(&**tx, id).await?;
                repo::search::refresh(&**tx, &[edition.book_id]).await?;
                Ok(deleted)
            })
        },
    )
    .await
}

/// Editions by id, narrowed by book, format or ISBN (any spelling of it).
#[tracing::instrument(
    level = "info",
    name = "service.catalog.editions.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    db: &Database,
    mut filter: EditionFilter,
    after_id: Option<i64>,
    limit: u64,
) -> ServiceResult<Page<EditionView>> {
    if let Some(isbn) = &filter.isbn {
        let isbn13 = super::isbn::normalize(isbn).map_err(|m| ServiceError::invalid("isbn", m))?;
        filter.isbn = Some(isbn13);
    }
    if let Some(book_id) = filter.book_id
        && repo::book::find(db.reader(), book_id).await?.is_none()
    {
        return Err(ServiceError::NotFound("book".into()));
    }
    let page = repo::edition::page(db.reader(), &filter, after_id, limit).await?;
    Ok(Page {
        rows: edition_view::with_contributors(db.reader(), page.rows).await?,
        has_more: page.has_more,
    })
}
