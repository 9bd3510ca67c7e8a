//! OPDS catalogs for e-reader apps: 1.2 (Atom) under `/opds/v1.2/`, 2.0 (JSON) under
//! `/opds/v2/`, the same feeds in both. A router of its own, outside `/api/v1` and its OpenAPI
//! document: apps sign in with HTTP Basic (the password or an API key), `X-Api-Key` or a bearer
//! token ([`Reader`]), and a 401 is answered as OPDS apps expect it ([`OpdsError`]). Feeds are
//! built from the services' answers in `feed.rs` and written by `atom.rs` or `json.rs`.

mod atom;
mod feed;
mod json;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine;
use serde::Deserialize;
use std::collections::HashMap;

use super::extract::ClientAddress;
use super::{ApiError, AppState};
use crate::repo::book::{BookOrder, SortKey, SortValue};
use crate::service::auth::Principal;
use crate::service::catalog::{authors, books, categories};
use crate::service::{ServiceError, acquisition, progress, store};
use feed::{Body, Cursor, Entry, Facet, Feed, Navigation, Pages};

/// Entries per page.
const PAGE: u64 = 20;
/// The realm of every Basic challenge.
const REALM: &str = "Basic realm=\"folio\", charset=\"UTF-8\"";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

pub fn router() -> Router<AppState> {
    let feeds = |version| {
        Router::new()
            .route("/catalog", get(catalog))
            .route("/new", get(new))
            .route("/popular", get(popular))
            .route("/authors", get(author_list))
            .route("/authors/{id}", get(author))
            .route("/categories", get(category_list))
            .route("/categories/{slug}", get(category))
            .route("/search", get(search))
            .route("/library", get(library))
            .route("/reading", get(reading))
            .layer(Extension(version))
    };
    Router::new()
        .nest(
            "/opds/v1.2",
            feeds(Version::V1).route("/opensearch.xml", get(atom::opensearch)),
        )
        .nest(
            "/opds/v2",
            feeds(Version::V2).route("/auth", get(json::authentication)),
        )
        .route("/opds/cover.png", get(placeholder_cover))
        .route(
            "/opds/files/{id}/content",
            get(download).layer(Extension(Version::V1)),
        )
        .route(
            "/opds/editions/{id}/manifest",
            get(audiobook_manifest).layer(Extension(Version::V2)),
        )
}

/// Who is asking, if anyone: HTTP Basic (a username with the password or an API key),
/// `X-Api-Key`, or a bearer token. Wrong credentials are a 401 even where none are needed, so
/// an app learns at once that what it saved is wrong.
pub struct Reader(pub Option<Principal>);

impl FromRequestParts<AppState> for Reader {
    type Rejection = OpdsError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, OpdsError> {
        let version = version_of(parts);
        let fail = |e: ServiceError| OpdsError::new(version, e);
        if let Some(key) = parts.headers.get("x-api-key") {
            let key = key.to_str().unwrap_or_default();
            let who = state.auth.authenticate_api_key(key).await.map_err(fail)?;
            return Ok(Self(Some(who)));
        }
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Self(None));
        };
        let value = value.to_str().unwrap_or_default();
        let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
        let who = if scheme.eq_ignore_ascii_case("basic") {
            let (login, secret) = basic(credentials.trim()).ok_or_else(|| {
                fail(ServiceError::Unauthenticated(
                    "The Basic credentials are not base64 of username:password.".into(),
                ))
            })?;
            let ClientAddress(address) = ClientAddress::of(parts);
            state
                .auth
                .authenticate_basic(&login, &secret, address)
                .await
        } else if scheme.eq_ignore_ascii_case("bearer") {
            state.auth.authenticate(credentials.trim()).await
        } else {
            Err(ServiceError::Unauthenticated(
                "Sign in with HTTP Basic, an API key or a bearer token.".into(),
            ))
        };
        Ok(Self(Some(who.map_err(fail)?)))
    }
}

fn basic(credentials: &str) -> Option<(String, String)> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (login, secret) = decoded.split_once(':')?;
    Some((login.to_string(), secret.to_string()))
}

fn version_of(parts: &Parts) -> Version {
    parts
        .extensions
        .get::<Version>()
        .copied()
        .unwrap_or(Version::V1)
}

/// A feed refused or failed. A 401 carries the Basic challenge apps answer with a sign-in
/// form, and under v2 the authentication document (as `Link` and as the body); anything
/// else is the API's problem+json.
pub struct OpdsError {
    version: Version,
    error: ServiceError,
}

impl OpdsError {
    fn new(version: Version, error: ServiceError) -> Self {
        Self { version, error }
    }
}

impl IntoResponse for OpdsError {
    fn into_response(self) -> Response {
        let ServiceError::Unauthenticated(message) = self.error else {
            return ApiError::from(self.error).into_response();
        };
        let mut response = match self.version {
            Version::V1 => (
                StatusCode::UNAUTHORIZED,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                message,
            )
                .into_response(),
            Version::V2 => {
                let mut response = json::authentication_response().into_response();
                *response.status_mut() = StatusCode::UNAUTHORIZED;
                response.headers_mut().insert(
                    header::LINK,
                    HeaderValue::from_static(
                        "</opds/v2/auth>; rel=\"http://opds-spec.org/auth/document\"; \
                         type=\"application/opds-authentication+json\"",
                    ),
                );
                response
            }
        };
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
        response
    }
}

fn refuse(version: Version) -> OpdsError {
    OpdsError::new(
        version,
        ServiceError::Unauthenticated("Sign in to see your books.".into()),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct FeedParams {
    cursor: Option<String>,
    sort: Option<String>,
    /// The search words (`q` in 1.2's OpenSearch template, `query` in 2.0's).
    q: Option<String>,
    query: Option<String>,
}

type Params = Result<Query<FeedParams>, axum::extract::rejection::QueryRejection>;

fn params(version: Version, params: Params) -> Result<FeedParams, OpdsError> {
    params
        .map(|Query(p)| p)
        .map_err(|e| OpdsError::new(version, ServiceError::Malformed(e.body_text())))
}

fn render(version: Version, feed: Feed) -> Response {
    match version {
        Version::V1 => atom::feed_response(&feed),
        Version::V2 => json::feed_response(&feed),
    }
}

async fn catalog(Extension(version): Extension<Version>, Reader(_): Reader) -> Response {
    let nav = |path: &str, title: &str, summary: &str, publications: bool| Navigation {
        id: format!("urn:folio:opds:{path}"),
        title: title.into(),
        path: path.into(),
        summary: Some(summary.into()),
        publications,
    };
    let body = Body::Navigation(vec![
        nav("new", "New", "Books most recently added", true),
        nav("popular", "Popular", "Books most rated by readers", true),
        nav("authors", "Authors", "Books by author", false),
        nav("categories", "Categories", "Books by category", false),
        nav(
            "reading",
            "Continue reading",
            "Your books, most recently read first",
            true,
        ),
        nav("library", "My library", "The editions you bought", true),
    ]);
    render(
        version,
        Feed {
            id: "urn:folio:opds:catalog".into(),
            title: "folio".into(),
            path: "catalog".into(),
            params: vec![],
            pages: Pages::default(),
            facets: vec![],
            body,
            updated: crate::db::now(),
        },
    )
}

/// What a feed of books lists, before its order and page.
struct BookList {
    path: String,
    title: String,
    author_id: Option<i64>,
    category: Option<String>,
    search: Option<String>,
    /// The order without a `sort` parameter.
    default_sort: &'static str,
    subsections: Vec<Navigation>,
}

impl BookList {
    fn new(path: impl Into<String>, title: impl Into<String>, default_sort: &'static str) -> Self {
        Self {
            path: path.into(),
            title: title.into(),
            author_id: None,
            category: None,
            search: None,
            default_sort,
            subsections: vec![],
        }
    }
}

/// The sort orders a feed of books offers, by parameter value.
fn order_of(sort: &str, searching: bool) -> Option<BookOrder> {
    let (key, descending) = match sort {
        "title" => (SortKey::Title, false),
        "new" => (SortKey::Created, true),
        "popular" => (SortKey::Popular, true),
        "relevance" if searching => (SortKey::Relevance, false),
        _ => return None,
    };
    Some(BookOrder { key, descending })
}

async fn books_feed(
    state: &AppState,
    version: Version,
    who: Option<&Principal>,
    list: BookList,
    params: FeedParams,
) -> Result<Feed, OpdsError> {
    let fail = |e: ServiceError| OpdsError::new(version, e);
    let searching = list.search.is_some();
    let sort = params
        .sort
        .as_deref()
        .unwrap_or(list.default_sort)
        .to_string();
    let order = order_of(&sort, searching).ok_or_else(|| {
        fail(ServiceError::Malformed(
            "sort must be title, new or popular (or relevance when searching).".into(),
        ))
    })?;
    let cursor = decode_cursor::<(SortValue, i64)>(version, params.cursor.as_deref(), &sort)?;
    let page = books::page(
        &state.db,
        books::BookQuery {
            search: list.search.clone(),
            author_id: list.author_id,
            category: list.category.clone(),
            format: None,
            year_from: None,
            year_to: None,
            language: None,
            series: None,
            acquirable: true,
            order,
            after: cursor.as_ref().and_then(|c| c.after.clone()),
            limit: PAGE,
        },
    )
    .await
    .map_err(fail)?
    .page;
    let last = page.rows.last().map(|b| b.position.clone());
    let pages = Cursor::pages(cursor.as_ref(), &sort, last, page.has_more);
    let views = page.rows.into_iter().map(|b| b.view).collect();
    let entries = entries(state, version, who, views, &HashMap::new()).await?;

    let mut params_out = vec![];
    if let Some(q) = &list.search {
        params_out.push((search_param(version), q.clone()));
    }
    let mut facets = vec![];
    let choices: &[(&str, &str)] = if searching {
        &[
            ("relevance", "Best match"),
            ("title", "Title"),
            ("new", "Newest"),
            ("popular", "Most popular"),
        ]
    } else {
        &[
            ("title", "Title"),
            ("new", "Newest"),
            ("popular", "Most popular"),
        ]
    };
    for (value, title) in choices {
        let mut with_sort = params_out.clone();
        with_sort.push(("sort", value.to_string()));
        facets.push(Facet {
            group: "Sort",
            title: title.to_string(),
            path: feed::path_with(&list.path, &with_sort),
            active: *value == sort,
        });
    }
    if params.sort.is_some() {
        params_out.push(("sort", sort.clone()));
    }
    Ok(Feed {
        id: format!("urn:folio:opds:{}", list.path),
        title: list.title,
        path: list.path,
        params: params_out,
        pages,
        facets,
        updated: entries
            .iter()
            .map(Entry::updated)
            .max()
            .unwrap_or_else(crate::db::now),
        body: Body::Publications {
            entries,
            subsections: list.subsections,
        },
    })
}

fn search_param(version: Version) -> &'static str {
    match version {
        Version::V1 => "q",
        Version::V2 => "query",
    }
}

/// The entries of these books with what this reader may do with each edition's files.
async fn entries(
    state: &AppState,
    version: Version,
    who: Option<&Principal>,
    views: Vec<crate::repo::book_view::BookView>,
    progress: &HashMap<i64, f64>,
) -> Result<Vec<Entry>, OpdsError> {
    let editions: Vec<_> = views
        .iter()
        .flat_map(|v| v.editions.iter().map(|e| &e.edition))
        .collect();
    let offers = acquisition::offers(&state.db, who, &editions)
        .await
        .map_err(|e| OpdsError::new(version, e))?;
    Ok(views
        .into_iter()
        .flat_map(|view| {
            let at = progress.get(&view.book.id).copied();
            Entry::of(view, &offers, at)
        })
        .collect())
}

fn decode_cursor<K: serde::de::DeserializeOwned>(
    version: Version,
    cursor: Option<&str>,
    sort: &str,
) -> Result<Option<Cursor<K>>, OpdsError> {
    let bad = || {
        OpdsError::new(
            version,
            ServiceError::Malformed(
                "This page's cursor is not one of this feed's; start from the feed again.".into(),
            ),
        )
    };
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let cursor: Cursor<K> = super::pagination::decode(cursor).map_err(|_| bad())?;
    if cursor.sort != sort {
        return Err(bad());
    }
    Ok(Some(cursor))
}

async fn new(
    State(state): State<AppState>,
    Extension(version): Extension<Version>,
    Reader(who): Reader,
    query: Params,
) -> Result<Response, OpdsError> {
    let list = BookList::new("new", "New", "new");
    let feed = books_feed(&state, version, who.as_ref(), list, params(version, query)?).await?;
    Ok(render(version, feed))
}

async fn popular(
    State(state): State<AppState>,
    Extension(version): Extension<Version>,
    Reader(who): Reader,
    query: Params,
) -> Result<Response, OpdsError> {
    let list = BookList::new("popular", "Popular", "popular");
    let feed = books_feed(&state, version, who.as_ref(), list, params(version, query)?).await?;
    Ok(render(version, feed))
}

async fn search(
    State(state): State<AppState>,
    Extension(version): Extension<Version>,
    Reader(who): Reader,
    query: Params,
) -> Result<Response, OpdsError> {
    let params = params(version, query)?;
    let words = params
        .q
        .clone()
        .or_else(|| params.query.clone())
        .map(|q| q.trim().to_string())
        .filter(|q| !q.is_empty())
        .ok_or_else(|| {
            OpdsError::new(
                version,
                ServiceError::Malformed("Say what to search for: q (1.2) or query (2.0).".into()),
            )
        })?;
    let list = BookList {
        search: Some(words.clone()),
        ..BookList::new("search", format!("Search: {words}"), "relevance")
    };
    let feed = books_feed(&state, version, who.as_ref(), list, params).await?;
    Ok(render(version, feed))
}

async fn author(
    State(state): State<AppState>,
    Extension(version): Extension<Version>,
    Reader(who): Reader,
    Path(id): Path<i64>,
    query: Params,
) -> Result<Response, OpdsError> {
    let params = params(version, query)?;
    let found = authors::get(&state.db, id)
        .await
        .map_err(|e| OpdsError::new(version, e))?;
    let list = BookList {
        author_id: Some(id),
        ..BookList::new(format!("authors/{id}"), found.name, "title")
    };
    let feed = books_feed(&state, version, who.as_ref(), list, params).await?;
    Ok(render(version, feed))
}

async fn category(
    State(state): State<AppState>,
    Extension(version): Extension<Version>,
    Reader(who): Reader,
    Path(slug): Path<String>,
    query: Params,
) -> Result<Response, OpdsError> {
    let params = params(version, query)?;
    let fail = |e| OpdsError::new(version, e);
    let found = categories::find(&state.db, &slug).await.map_err(fail)?;
    // A category's sub-categories are offered beside its books (its whole subtree is listed).
    let children = categories::page(&state.db, Some(found.id), None, 100)
        .await
        .map_err(fail)?;
    let list = BookList {
        category: Some(found.slug.clone()),
        subsections: children.rows.into_iter().map(category_link).collect(),
        ..BookList::new(format!("categories/{}", found.slug), found.name, "title")
    };
    let feed = books_feed(&state, version, who.as_ref(), list, params).await?;
    Ok(render(version, feed))
}

fn category_link(c: crate::entity::category::Model) -> Navigation {
    Navigation {
        id: format!("urn:folio:opds:categories/{}", c.slug),
        title: c.name,
        path: format!("categories/{}", c.slug),
        summary: None,
        publications: true,
    }
}

async fn author_list(
    State(state): State<AppState>,
    Extension(version): Extension<Version>,
    Reader(_): Reader,
    query: Params,
) -> Result<Response, OpdsError> {
    let params = params(version, query)?;
    let cursor = decode_cursor::<(String, i64)>(version, params.cursor.as_deref(), "name")?;
    let after = cursor.as_ref().and_then(|c| c.after.clone());
    let page = authors::page(&state.db, None, after, PAGE)
        .await
        .map_err(|e| OpdsError::new(version, e))?;
    let last = page.rows.last().map(|a| (crate::text::fold(&a.name), a.id));
    let pages = Cursor::pages(cursor.as_ref(), "name", last, page.has_more);
    let links = page
        .rows
        .into_iter()
        .map(|a| Navigation {
            id: format!("urn:folio:author:{}", a.id),
            title: a.name,
            path: format!("authors/{}", a.id),
            summary: None,
            publications: true,
        })
        .collect();
    Ok(render(
        version,
        navigation("authors", "Authors", pages, links),
    ))
}

async fn category_list(
    State(state): State<AppState>,
    Extension(version): Extension<Version>,
    Reader(_): Reader,
    query: Params,
) -> Result<Response, OpdsError> {
    let params = params(version, query)?;
    let cursor = decode_cursor::<(String, i64)>(version, params.cursor.as_deref(), "name")?;
    let after = cursor.as_ref().and_then(|c| c.after.clone());
    let page = categories::page(&state.db, None, after, PAGE)
        .await
        .map_err(|e| OpdsError::new(version, e))?;
    let last = page.rows.last().map(|c| (c.name.clone(), c.id));
    let pages = Cursor::pages(cursor.as_ref(), "name", last, page.has_more);
    let links = page.rows.into_iter().map(category_link).collect();
    Ok(render(
        version,
        navigation("categories", "Categories", pages, links),
    ))
}

fn navigation(path: &str, title: &str, pages: Pages, links: Vec<Navigation>) -> Feed {
    Feed {
        id: format!("urn:folio:opds:{path}"),
        title: title.into(),
        path: path.into(),
        params: vec![],
        pages,
        facets: vec![],
        body: Body::Navigation(links),
        updated: crate::db::now(),
    }
}

async fn library(
    State(state): State<AppState>,
    Extension(version): Extension<Version>,
    Reader(who): Reader,
    query: Params,
) -> Result<Response, OpdsError> {
    let who = who.ok_or_else(|| refuse(version))?;
    let params = params(version, query)?;
    let fail = |e| OpdsError::new(version, e);
    let cursor = decode_cursor::<i64>(version, params.cursor.as_deref(), "bought")?;
    let before = cursor.as_ref().and_then(|c| c.after);
    let page = store::library(&state.db, &who, before, PAGE)
        .await
        .map_err(fail)?;
    let last = page.rows.last().map(|r| r.purchase_id);
    let pages = Cursor::pages(cursor.as_ref(), "bought", last, page.has_more);
    let mut ids: Vec<i64> = vec![];
    for row in &page.rows {
        if !ids.contains(&row.book_id) {
            ids.push(row.book_id);
        }
    }
    let views = books::views(&state.db, ids).await.map_err(fail)?;
    let entries = entries(&state, version, Some(&who), views, &HashMap::new()).await?;
    Ok(render(
        version,
        owned_feed("library", "My library", pages, entries),
    ))
}

async fn reading(
    State(state): State<AppState>,
    Extension(version): Extension<Version>,
    Reader(who): Reader,
    query: Params,
) -> Result<Response, OpdsError> {
    let who = who.ok_or_else(|| refuse(version))?;
    let params = params(version, query)?;
    let fail = |e| OpdsError::new(version, e);
    type Key = (chrono::DateTime<chrono::Utc>, i64);
    let cursor = decode_cursor::<Key>(version, params.cursor.as_deref(), "read")?;
    let after = cursor.as_ref().and_then(|c| c.after);
    let page = progress::page(&state.db, &who, after, PAGE)
        .await
        .map_err(fail)?;
    let last = page.rows.last().map(|r| (r.updated_at, r.id));
    let pages = Cursor::pages(cursor.as_ref(), "read", last, page.has_more);
    let at: HashMap<i64, f64> = page.rows.iter().map(|r| (r.book_id, r.percent)).collect();
    let ids = page.rows.iter().map(|r| r.book_id).collect();
    let views = books::views(&state.db, ids).await.map_err(fail)?;
    let entries = entries(&state, version, Some(&who), views, &at).await?;
    Ok(render(
        version,
        owned_feed("reading", "Continue reading", pages, entries),
    ))
}

fn owned_feed(path: &str, title: &str, pages: Pages, entries: Vec<Entry>) -> Feed {
    Feed {
        id: format!("urn:folio:opds:{path}"),
        title: title.into(),
        path: path.into(),
        params: vec![],
        pages,
        facets: vec![],
        updated: entries
            .iter()
            .map(Entry::updated)
            .max()
            .unwrap_or_else(crate::db::now),
        body: Body::Publications {
            entries,
            subsections: vec![],
        },
    }
}

/// A file, as the feeds' acquisition links fetch it: the API's download (ranges, ETags, the
/// edition's access) to a reader signed in as apps sign in. A 401 is the Basic challenge.
async fn download(
    State(state): State<AppState>,
    Extension(version): Extension<Version>,
    Reader(who): Reader,
    Path(id): Path<i64>,
    method: axum::http::Method,
    headers: axum::http::HeaderMap,
) -> Response {
    let delivered = super::files::deliver(&state, who.as_ref(), id, false, &method, &headers).await;
    match delivered {
        Ok(response) => response,
        Err(ApiError::Unauthorized(message)) => {
            OpdsError::new(version, ServiceError::Unauthenticated(message)).into_response()
        }
        Err(other) => other.into_response(),
    }
}

/// An audiobook edition's Readium manifest whose tracks are fetched through [`download`].
async fn audiobook_manifest(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let manifest = super::files::manifest(&state, id, "/opds").await?;
    Ok((
        [(header::CONTENT_TYPE, super::files::AUDIOBOOK_MANIFEST)],
        manifest.to_string(),
    )
        .into_response())
}

/// The image of a book without a cover: OPDS 2.0 wants a JPEG, PNG, WebP or GIF for every
/// publication. A plain card, drawn once.
async fn placeholder_cover() -> Response {
    static PNG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let png = PNG.get_or_init(|| {
        let card = image::RgbImage::from_pixel(320, 480, image::Rgb([91, 103, 112]));
        let mut out = std::io::Cursor::new(Vec::new());
        card.write_to(&mut out, image::ImageFormat::Png)
            .expect("a plain image encodes");
        out.into_inner()
    });
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        png.clone(),
    )
        .into_response()
}
