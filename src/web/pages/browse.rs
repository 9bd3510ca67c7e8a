//! Finding books: the search page with its filters, and an author's or a category's books,
//! which are the same listing narrowed. Results come in the API's order (relevance when
//! searching) and page by keyset ("more" continues after the last book shown).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::{ApiError, AppState, pagination};
use crate::entity::enums::EditionFormat;
use crate::service::catalog::books::{self, BookOrder, SortKey, SortValue};
use crate::service::catalog::{authors, categories};
use crate::web::Ctx;
use crate::web::view::{Card, format_name};

const PAGE: u64 = 24;
/// The most categories the filter lists.
const MAX_CATEGORIES: u64 = 500;

/// The search form's fields; an empty field is no filter.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    q: Option<String>,
    author: Option<String>,
    category: Option<String>,
    format: Option<String>,
    year_from: Option<String>,
    year_to: Option<String>,
    language: Option<String>,
    sort: Option<String>,
    after: Option<String>,
}

fn filled(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// An option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct Listing {
    ctx: Ctx,
    heading: String,
    /// What the heading is about: an author's biography.
    intro: Option<String>,
    /// The form's action: `/search`, or the author's or category's own page.
    action: String,
    /// Subcategories to go down to: (path, name).
    below: Vec<(String, String)>,
    show_category_filter: bool,
    /// The author the search is narrowed to.
    author_filter: Option<AuthorFilter>,
    r: Results,
}

struct AuthorFilter {
    id: i64,
    name: String,
    /// The same search without the author.
    without: String,
}

/// The books found, and the form as the reader filled it.
struct Results {
    q: String,
    year_from: String,
    year_to: String,
    language: String,
    formats: Vec<Choice>,
    sorts: Vec<Choice>,
    categories: Vec<Choice>,
    cards: Vec<Card>,
    /// The next page's query string.
    more: Option<String>,
    /// "Showing results for …": the search with its corrected words, when a word found
    /// nothing as typed.
    read_as: Option<String>,
}

/// `GET /search`
pub async fn search(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Response, ApiError> {
    let author = match filled(&params.author).map(|a| a.parse::<i64>()) {
        Some(Ok(id)) => Some(authors::get(&state.db, id).await?),
        Some(Err(_)) => {
            return Err(ApiError::BadRequest(
                "author must be an author's id.".into(),
            ));
        }
        None => None,
    };
    let heading = match filled(&params.q) {
        Some(q) => ctx.t1("search-results-for", "query", q),
        None => ctx.t("search-title"),
    };
    let author_filter = author.map(|a| AuthorFilter {
        id: a.id,
        name: a.name,
        without: query_string("/search", &params_without(&params, "author")),
    });
    let r = listing(&state, &ctx, &params, Fixed::default()).await?;
    crate::web::render(&Listing {
        ctx,
        heading,
        intro: None,
        action: "/search".into(),
        below: vec![],
        show_category_filter: true,
        author_filter,
        r,
    })
}

/// `GET /authors/{id}`
pub async fn author(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Response, ApiError> {
    let author = authors::get(&state.db, id).await?;
    let fixed = Fixed {
        author_id: Some(id),
        ..Fixed::default()
    };
    let r = listing(&state, &ctx, &params, fixed).await?;
    crate::web::render(&Listing {
        ctx,
        heading: author.name,
        intro: author.bio,
        action: format!("/authors/{id}"),
        below: vec![],
        show_category_filter: true,
        author_filter: None,
        r,
    })
}

/// `GET /categories/{slug}`
pub async fn category(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Response, ApiError> {
    let found = categories::find(&state.db, &slug).await?;
    let below = categories::page(&state.db, Some(found.id), None, 100)
        .await?
        .rows
        .into_iter()
        .map(|c| (format!("/categories/{}", c.slug), c.name))
        .collect();
    let fixed = Fixed {
        category: Some(found.slug.clone()),
        ..Fixed::default()
    };
    let r = listing(&state, &ctx, &params, fixed).await?;
    crate::web::render(&Listing {
        ctx,
        heading: found.name,
        intro: None,
        action: format!("/categories/{}", found.slug),
        below,
        show_category_filter: false,
        author_filter: None,
        r,
    })
}

/// What a page fixes rather than the form: the author of an author's page, the category of
/// a category's.
#[derive(Default)]
struct Fixed {
    author_id: Option<i64>,
    category: Option<String>,
}

/// The books for `params` within `fixed`, with the form's choices.
async fn listing(
    state: &AppState,
    ctx: &Ctx,
    params: &Params,
    fixed: Fixed,
) -> Result<Results, ApiError> {
    let q = filled(&params.q);
    let searching = q.is_some();
    let sort = filled(&params.sort)
        .unwrap_or_else(|| if searching { "relevance" } else { "title" }.to_string());
    let order = match sort.as_str() {
        "title" => BookOrder {
            key: SortKey::Title,
            descending: false,
        },
        "new" => BookOrder {
            key: SortKey::Created,
            descending: true,
        },
        "popular" => BookOrder {
            key: SortKey::Popular,
            descending: true,
        },
        "year" => BookOrder {
            key: SortKey::Year,
            descending: true,
        },
        "relevance" if searching => BookOrder {
            key: SortKey::Relevance,
            descending: false,
        },
        _ => {
            return Err(ApiError::BadRequest(
                "sort is not one this page offers.".into(),
            ));
        }
    };
    let format = match filled(&params.format) {
        Some(f) => Some(
            serde_json::from_value::<EditionFormat>(serde_json::Value::String(f))
                .map_err(|_| ApiError::BadRequest("format is not one folio knows.".into()))?,
        ),
        None => None,
    };
    let year = |value: &Option<String>| -> Result<Option<i32>, ApiError> {
        filled(value)
            .map(|y| y.parse::<i32>())
            .transpose()
            .map_err(|_| ApiError::BadRequest("A year is a whole number.".into()))
    };
    let after = match filled(&params.after) {
        Some(cursor) => {
            let (cursor_sort, key): (String, (SortValue, i64)) = pagination::decode(&cursor)?;
            if cursor_sort != sort {
                return Err(pagination::invalid_cursor(
                    "This page's order changed; start again.",
                ));
            }
            Some(key)
        }
        None => None,
    };
    let category = fixed.category.clone().or_else(|| filled(&params.category));
    let found = books::page(
        &state.db,
        books::BookQuery {
            search: q.clone(),
            author_id: fixed.author_id,
            category: category.clone(),
            format,
            year_from: year(&params.year_from)?,
            year_to: year(&params.year_to)?,
            language: filled(&params.language),
            series: None,
            acquirable: false,
            order,
            after,
            limit: PAGE,
        },
    )
    .await?;
    let read_as = q
        .as_deref()
        .filter(|_| !found.corrected.is_empty())
        .map(|q| {
            let folded = crate::text::fold(q);
            folded
                .split(' ')
                .map(|word| found.corrected.get(word).map_or(word, String::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        });
    let page = found.page;
    let more = match (page.has_more, page.rows.last()) {
        (true, Some(last)) => {
            let cursor = pagination::encode(&(sort.clone(), last.position.clone()));
            let mut kept = params_without(params, "after");
            kept.push(("after", cursor));
            Some(query_string("", &kept))
        }
        _ => None,
    };
    let cards: Vec<Card> = page
        .rows
        .iter()
        .map(|b| Card::of(&b.view, ctx.locale))
        .collect();

    let chosen_format = filled(&params.format).unwrap_or_default();
    let mut formats = vec![Choice {
        value: String::new(),
        label: ctx.t("filter-any-format"),
        selected: chosen_format.is_empty(),
    }];
    for format in [
        EditionFormat::Ebook,
        EditionFormat::Audiobook,
        EditionFormat::Print,
        EditionFormat::Vinyl,
    ] {
        let value = serde_json::to_value(format)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        formats.push(Choice {
            selected: value == chosen_format,
            label: format_name(format, ctx.locale),
            value,
        });
    }
    let mut sorts = vec![];
    let mut offered = vec![
        ("title", "sort-title"),
        ("new", "sort-new"),
        ("popular", "sort-popular"),
        ("year", "sort-year"),
    ];
    if searching {
        offered.insert(0, ("relevance", "sort-relevance"));
    }
    for (value, label) in offered {
        sorts.push(Choice {
            value: value.into(),
            label: ctx.t(label),
            selected: value == sort,
        });
    }
    let chosen_category = category.unwrap_or_default();
    let mut category_choices = vec![Choice {
        value: String::new(),
        label: ctx.t("filter-any-category"),
        selected: chosen_category.is_empty(),
    }];
    for (depth, c) in categories::tree(&state.db, MAX_CATEGORIES).await? {
        category_choices.push(Choice {
            selected: c.slug == chosen_category,
            label: format!("{}{}", "\u{a0}\u{a0}".repeat(depth), c.name),
            value: c.slug,
        });
    }
    Ok(Results {
        q: q.unwrap_or_default(),
        year_from: filled(&params.year_from).unwrap_or_default(),
        year_to: filled(&params.year_to).unwrap_or_default(),
        language: filled(&params.language).unwrap_or_default(),
        formats,
        sorts,
        categories: category_choices,
        cards,
        more,
        read_as,
    })
}

/// The form's filled fields but `skip`, as query pairs.
fn params_without(params: &Params, skip: &str) -> Vec<(&'static str, String)> {
    let fields: [(&'static str, &Option<String>); 9] = [
        ("q", &params.q),
        ("author", &params.author),
        ("category", &params.category),
        ("format", &params.format),
        ("year_from", &params.year_from),
        ("year_to", &params.year_to),
        ("language", &params.language),
        ("sort", &params.sort),
        ("after", &params.after),
    ];
    fields
        .into_iter()
        .filter(|(name, _)| *name != skip)
        .filter_map(|(name, value)| filled(value).map(|v| (name, v)))
        .collect()
}

fn query_string(path: &str, pairs: &[(&str, String)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    format!("{path}?{query}")
}
