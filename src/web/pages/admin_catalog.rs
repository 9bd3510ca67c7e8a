//! The keeper's pages for the catalog's shelves: categories (a tree: added, renamed, moved)
//! and authors (renamed, with a biography). Books name their authors by name, so authors are
//! added from the book form; these pages change what the catalog already has.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::api::extract::ApiPath;
use crate::api::{ApiError, AppState};
use crate::service::ServiceError;
use crate::service::catalog::authors::{self, AuthorPatch};
use crate::service::catalog::categories::{self, CategoryChanges};
use crate::web::pages::admin::{admin, given};
use crate::web::{Ctx, csrf, see_other};

#[derive(Template)]
#[template(path = "admin_categories.html")]
struct Categories {
    ctx: Ctx,
    rows: Vec<CategoryRow>,
}

struct CategoryRow {
    id: i64,
    depth: usize,
    name: String,
    slug: String,
    parent_id: Option<i64>,
}

/// `GET /admin/categories`
pub async fn categories(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    admin(&ctx)?;
    let rows = categories::tree(&state.db, 500)
        .await?
        .into_iter()
        .map(|(depth, c)| CategoryRow {
            id: c.id,
            depth,
            name: c.name,
            slug: c.slug,
            parent_id: c.parent_id,
        })
        .collect();
    crate::web::render(&Categories { ctx, rows })
}

#[derive(Deserialize)]
pub struct CategoryForm {
    name: String,
    /// A category's id, or blank for the top of the tree.
    parent: Option<String>,
}

impl CategoryForm {
    fn parent(&self) -> Result<Option<i64>, ApiError> {
        given(self.parent.clone())
            .map(|p| p.parse::<i64>())
            .transpose()
            .map_err(|_| ServiceError::invalid("parent_id", "is not one of the choices").into())
    }
}

/// `POST /admin/categories`
pub async fn create_category(
    State(state): State<AppState>,
    ctx: Ctx,
    csrf::Form(form): csrf::Form<CategoryForm>,
) -> Result<Response, ApiError> {
    let who = admin(&ctx)?;
    let parent = form.parent()?;
    let made = categories::create(&state.db, who, form.name, None, parent).await?;
    Ok(see_other(&format!(
        "/admin/categories#category-{}",
        made.id
    )))
}

/// `POST /admin/categories/{id}`: renamed and placed under another (or at the top); its
/// address (slug) stays, so links to it keep working.
pub async fn update_category(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(form): csrf::Form<CategoryForm>,
) -> Result<Response, ApiError> {
    let who = admin(&ctx)?;
    let changes = CategoryChanges {
        parent_id: Some(form.parent()?),
        name: Some(form.name),
        slug: None,
    };
    categories::update(&state.db, who, id, changes).await?;
    Ok(see_other(&format!("/admin/categories#category-{id}")))
}

#[derive(Template)]
#[template(path = "admin_author.html")]
struct Author {
    ctx: Ctx,
    id: i64,
    name: String,
    bio: String,
}

/// `GET /admin/authors/{id}`
pub async fn author(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    admin(&ctx)?;
    let found = authors::get(&state.db, id).await?;
    crate::web::render(&Author {
        ctx,
        id,
        name: found.name,
        bio: found.bio.unwrap_or_default(),
    })
}

#[derive(Deserialize)]
pub struct AuthorForm {
    name: String,
    bio: Option<String>,
}

/// `POST /admin/authors/{id}`: a rename reaches every book's search entry (the service's rule).
pub async fn update_author(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(form): csrf::Form<AuthorForm>,
) -> Result<Response, ApiError> {
    let who = admin(&ctx)?;
    let patch = AuthorPatch {
        name: Some(form.name),
        bio: Some(given(form.bio)),
    };
    authors::update(&state.db, who, id, patch).await?;
    Ok(see_other(&format!("/authors/{id}")))
}
