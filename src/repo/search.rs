//! The full-text index of books (FTS5 on SQLite, a tsvector with a GIN index on PostgreSQL),
//! its vocabulary, and the statements that rank a search.
//!
//! Both backends index the same folded text (see `text.rs`) in four fields: the title (the
//! book's title and subtitle, its series, every edition's own title and subtitle, every
//! ISBN-13), the authors, the contributors (narrators, translators…) and the description.
//!
//! **Ranking** is by rules, the same on both backends, rather than by a text-statistics score
//! that each database computes its own way (Meilisearch's approach). A search is a list of
//! [`Tier`]s, best first — the query is an author's whole name; the words are a phrase of the
//! title; every word is a whole word of the title; a prefix of one; whole words of the title,
//! authors or contributors; …; matches only after typos were corrected last — and each book
//! falls in the first tier it matches. Within a tier books come by their **search key**: a
//! popularity band in the high bits and the id in the low 40 ([`search_key`]). On SQLite the
//! key is the index's rowid, so FTS5 hands out a tier's matches already in that order and a
//! page stops reading once it is full, instead of ranking every match first (bench/README.md).
//!
//! **The vocabulary** (`search_term`) holds every indexed word with the number of books it
//! finds, kept in step with the index in the same unit of work; typo corrections are looked
//! up in it (`service::catalog::search`).

use std::collections::{BTreeSet, HashMap};

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Value};
use serde::{Deserialize, Serialize};

use crate::db::{DbError, Read};
use crate::text;

/// The low bits of a search key are the book id.
const ID_BITS: u32 = 40;
const ID_MASK: i64 = (1 << ID_BITS) - 1;
/// Bands run from 10 (popularity 0) to 199 at most (a 19-digit popularity).
const TOP_BAND: i64 = 199;
/// What one act of a reader here (a comment, a purchase, a reading begun) weighs against one
/// rating counted by another catalog: a shop's own readers say more about its shelf than a
/// thousand strangers.
pub const ACTIVITY_WEIGHT: i64 = 1000;

/// How well known a book is: the imported prior plus folio's own activity, weighted.
pub fn popularity(prior: i64, activity: i64) -> i64 {
    prior
        .max(0)
        .saturating_add(activity.max(0).saturating_mul(ACTIVITY_WEIGHT))
}

/// Ten bands per power of ten, by the leading digit: 0 → 10, 7 → 17, 42 → 24, 4,602,479 → 74.
/// Coarse on purpose: a band changes (and the book moves in the index) rarely.
fn band(popularity: i64) -> i64 {
    let digits = popularity.max(0).to_string();
    digits.len() as i64 * 10 + i64::from(digits.as_bytes()[0] - b'0')
}

/// The book's place in every tier of a search: more popular books first, then by id.
pub fn search_key(id: i64, prior: i64, activity: i64) -> i64 {
    ((TOP_BAND - band(popularity(prior, activity))) << ID_BITS) | (id & ID_MASK)
}

/// The book a search key names.
pub fn book_of(key: i64) -> i64 {
    key & ID_MASK
}

/// [`search_key`] in SQL over a `book` row named `row` (`old`, `new`, `b`), for the triggers
/// that move a book in the index when its popularity changes band. A test holds the two equal.
pub fn key_sql(backend: DbBackend, row: &str) -> String {
    let prior =
        format!("(CASE WHEN {row}.popularity_prior > 0 THEN {row}.popularity_prior ELSE 0 END)");
    let activity = format!("(CASE WHEN {row}.activity > 0 THEN {row}.activity ELSE 0 END)");
    let digits = format!("CAST({prior} + {ACTIVITY_WEIGHT} * {activity} AS TEXT)");
    let band = format!("(length({digits}) * 10 + CAST(substr({digits}, 1, 1) AS INTEGER))");
    match backend {
        DbBackend::Postgres => {
            format!("((CAST({TOP_BAND} - {band} AS BIGINT) << {ID_BITS}) | {row}.id)")
        }
        _ => format!("((({TOP_BAND} - {band}) << {ID_BITS}) | {row}.id)"),
    }
}

/// What a book is found by, folded: the four fields of the index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    title: String,
    authors: String,
    contributors: String,
    body: String,
}

/// A book's parts as the index takes them.
pub struct Parts<'a> {
    pub title: &'a str,
    pub subtitle: Option<&'a str>,
    pub series: Option<&'a str>,
    /// Each edition's own title and subtitle, and its ISBN-13.
    pub editions: Vec<&'a str>,
    pub authors: &'a [String],
    pub contributors: Vec<&'a str>,
    pub description: Option<&'a str>,
}

impl Document {
    pub fn new(parts: &Parts<'_>) -> Self {
        let mut title: Vec<&str> = vec![parts.title];
        title.extend(parts.subtitle);
        title.extend(parts.series);
        title.extend(parts.editions.iter().copied());
        Self {
            title: text::fold(&title.join(" ")),
            authors: text::fold(&parts.authors.join(" ")),
            contributors: text::fold(&parts.contributors.join(" ")),
            body: text::fold(parts.description.unwrap_or_default()),
        }
    }

    /// Every word once: what the vocabulary counts.
    fn words(&self) -> BTreeSet<&str> {
        [&self.title, &self.authors, &self.contributors, &self.body]
            .into_iter()
            .flat_map(|field| field.split(' '))
            .filter(|w| !w.is_empty())
            .collect()
    }
}

#[derive(FromQueryResult)]
struct BookText {
    id: i64,
    title: String,
    subtitle: Option<String>,
    series: Option<String>,
    description: Option<String>,
    popularity_prior: i64,
    activity: i64,
}

#[derive(FromQueryResult)]
struct Named {
    book_id: i64,
    name: String,
}

#[derive(FromQueryResult)]
struct EditionText {
    book_id: i64,
    title: Option<String>,
    subtitle: Option<String>,
    isbn: Option<String>,
}

/// Rewrites the index entries of `book_ids` from the tables, and the vocabulary with them, in
/// the caller's unit of work: after any change to a book, its authors, editions or
/// contributors.
#[tracing::instrument(
    level = "debug",
    name = "repo.search.refresh",
    skip_all,
    err(level = "debug")
)]
pub async fn refresh(conn: &impl ConnectionTrait, book_ids: &[i64]) -> Result<(), DbError> {
    let counts = rewrite(conn, book_ids).await?;
    vocabulary_changed(conn, counts).await
}

/// Rewrites the entries of `book_ids` and says how the vocabulary's counts move.
async fn rewrite(
    conn: &impl ConnectionTrait,
    book_ids: &[i64],
) -> Result<HashMap<String, i64>, DbError> {
    let mut counts = HashMap::new();
    if book_ids.is_empty() {
        return Ok(counts);
    }
    let backend = conn.get_database_backend();
    let (placeholders, ids) = super::in_list(book_ids);
    let books = BookText::find_by_statement(super::statement(
        backend,
        &format!(
            "SELECT id, title, subtitle, series, description, popularity_prior, activity \
             FROM book WHERE id IN ({placeholders})"
        ),
        ids.clone(),
    ))
    .all(conn)
    .await?;
    let named = |sql: String| {
        Named::find_by_statement(super::statement(backend, &sql, ids.clone())).all(conn)
    };
    let authors = named(format!(
        "SELECT ba.book_id, a.name FROM book_author ba JOIN author a ON a.id = ba.author_id \
         WHERE ba.book_id IN ({placeholders}) ORDER BY ba.book_id, ba.position"
    ))
    .await?;
    let contributors = named(format!(
        "SELECT e.book_id, a.name FROM edition_contributor ec \
         JOIN edition e ON e.id = ec.edition_id JOIN author a ON a.id = ec.author_id \
         WHERE e.book_id IN ({placeholders}) ORDER BY e.book_id, e.id, ec.position"
    ))
    .await?;
    let editions = EditionText::find_by_statement(super::statement(
        backend,
        &format!(
            "SELECT book_id, title, subtitle, isbn FROM edition \
             WHERE book_id IN ({placeholders}) ORDER BY book_id, id"
        ),
        ids,
    ))
    .all(conn)
    .await?;

    let mut authors = group(authors.into_iter().map(|n| (n.book_id, n.name)));
    let mut contributors = group(contributors.into_iter().map(|n| (n.book_id, n.name)));
    let mut edition_texts = group(editions.into_iter().flat_map(|e| {
        [e.title, e.subtitle, e.isbn]
            .into_iter()
            .flatten()
            .map(move |text| (e.book_id, text))
    }));
    let mut entries = Vec::with_capacity(books.len());
    for book in &books {
        let authors = authors.remove(&book.id).unwrap_or_default();
        let contributors = contributors.remove(&book.id).unwrap_or_default();
        let editions = edition_texts.remove(&book.id).unwrap_or_default();
        let document = Document::new(&Parts {
            title: &book.title,
            subtitle: book.subtitle.as_deref(),
            series: book.series.as_deref(),
            editions: editions.iter().map(String::as_str).collect(),
            authors: &authors,
            contributors: contributors.iter().map(String::as_str).collect(),
            description: book.description.as_deref(),
        });
        let key = search_key(book.id, book.popularity_prior, book.activity);
        entries.push((key, document));
    }
    let keys: Vec<i64> = entries.iter().map(|(key, _)| *key).collect();
    forget(conn, &keys, &mut counts).await?;
    write(conn, &entries, &mut counts).await?;
    Ok(counts)
}

fn group(pairs: impl Iterator<Item = (i64, String)>) -> HashMap<i64, Vec<String>> {
    let mut grouped: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, text) in pairs {
        grouped.entry(id).or_default().push(text);
    }
    grouped
}

/// Removes the index entries of books about to be deleted, and their words from the
/// vocabulary. (The index entry would go with the book anyway; the counts would not.)
#[tracing::instrument(
    level = "debug",
    name = "repo.search.remove",
    skip_all,
    err(level = "debug")
)]
pub async fn remove(conn: &impl ConnectionTrait, book_ids: &[i64]) -> Result<(), DbError> {
    if book_ids.is_empty() {
        return Ok(());
    }
    let backend = conn.get_database_backend();
    let (placeholders, ids) = super::in_list(book_ids);
    let keys: Vec<i64> = conn
        .query_all_raw(super::statement(
            backend,
            &format!(
                "SELECT {} FROM book b WHERE b.id IN ({placeholders})",
                key_sql(backend, "b")
            ),
            ids,
        ))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<i64>(0))
        .collect::<Result<_, _>>()?;
    let mut counts = HashMap::new();
    forget(conn, &keys, &mut counts).await?;
    vocabulary_changed(conn, counts).await
}

/// Deletes the entries under `keys`, counting their words down in `counts`.
async fn forget(
    conn: &impl ConnectionTrait,
    keys: &[i64],
    counts: &mut HashMap<String, i64>,
) -> Result<(), DbError> {
    if keys.is_empty() {
        return Ok(());
    }
    let backend = conn.get_database_backend();
    let (placeholders, values) = super::in_list(keys);
    let (read, delete) = match backend {
        DbBackend::Postgres => (
            format!(
                "SELECT array_to_string(tsvector_to_array(document), ' ') FROM book_search \
                 WHERE search_key IN ({placeholders})"
            ),
            format!("DELETE FROM book_search WHERE search_key IN ({placeholders})"),
        ),
        _ => (
            format!(
                "SELECT title || ' ' || authors || ' ' || contributors || ' ' || body \
                 FROM book_search WHERE rowid IN ({placeholders})"
            ),
            format!("DELETE FROM book_search WHERE rowid IN ({placeholders})"),
        ),
    };
    let rows = conn
        .query_all_raw(super::statement(backend, &read, values.clone()))
        .await?;
    for row in rows {
        let words: String = row.try_get_by_index(0)?;
        let distinct: BTreeSet<&str> = words.split(' ').filter(|w| !w.is_empty()).collect();
        for word in distinct {
            *counts.entry(word.to_string()).or_default() -= 1;
        }
    }
    conn.execute_raw(super::statement(backend, &delete, values))
        .await?;
    Ok(())
}

/// Writes the entries of books that have none (new ones, or ones whose entries were just
/// deleted) from what the caller already holds, and counts their words into the vocabulary:
/// no reads, a statement per `ENTRIES_PER_STATEMENT` books and one per thousand words.
#[tracing::instrument(
    level = "debug",
    name = "repo.search.insert",
    skip_all,
    err(level = "debug")
)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    entries: &[(i64, Document)],
) -> Result<(), DbError> {
    let mut counts = HashMap::new();
    write(conn, entries, &mut counts).await?;
    vocabulary_changed(conn, counts).await
}

async fn write(
    conn: &impl ConnectionTrait,
    entries: &[(i64, Document)],
    counts: &mut HashMap<String, i64>,
) -> Result<(), DbError> {
    /// Five or six values an entry.
    const ENTRIES_PER_STATEMENT: usize = 1000;
    let backend = conn.get_database_backend();
    let (head, row) = match backend {
        DbBackend::Postgres => (
            "INSERT INTO book_search (book_id, search_key, document) VALUES ",
            "(?, ?, setweight(to_tsvector('simple', ?), 'A') || \
             setweight(to_tsvector('simple', ?), 'B') || \
             setweight(to_tsvector('simple', ?), 'C') || \
             setweight(to_tsvector('simple', ?), 'D'))",
        ),
        _ => (
            "INSERT INTO book_search (rowid, title, authors, contributors, body) VALUES ",
            "(?, ?, ?, ?, ?)",
        ),
    };
    for chunk in entries.chunks(ENTRIES_PER_STATEMENT) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 6);
        for (key, document) in chunk {
            for word in document.words() {
                *counts.entry(word.to_string()).or_default() += 1;
            }
            if backend == DbBackend::Postgres {
                values.push(book_of(*key).into());
            }
            values.push((*key).into());
            values.push(document.title.clone().into());
            values.push(document.authors.clone().into());
            values.push(document.contributors.clone().into());
            values.push(document.body.clone().into());
        }
        let sql = format!("{head}{}", vec![row; chunk.len()].join(", "));
        conn.execute_raw(super::statement(backend, &sql, values))
            .await?;
    }
    Ok(())
}

/// Counts the words into the vocabulary and, when any count moved, moves its generation on.
async fn vocabulary_changed(
    conn: &impl ConnectionTrait,
    counts: HashMap<String, i64>,
) -> Result<(), DbError> {
    if count_words(conn, counts).await? {
        next_generation(conn).await?;
    }
    Ok(())
}

/// Adds each word's change in books to the vocabulary, in word order (two units of work that
/// touch the same words lock them in the same order, so they cannot deadlock), and drops the
/// words no book has any more. Says whether any count moved.
async fn count_words(
    conn: &impl ConnectionTrait,
    counts: HashMap<String, i64>,
) -> Result<bool, DbError> {
    const WORDS_PER_STATEMENT: usize = 1000;
    let backend = conn.get_database_backend();
    let mut changed: Vec<(String, i64)> = counts.into_iter().filter(|(_, n)| *n != 0).collect();
    changed.sort_unstable();
    for chunk in changed.chunks(WORDS_PER_STATEMENT) {
        let values: Vec<Value> = chunk
            .iter()
            .flat_map(|(word, n)| {
                [
                    Value::from(word.clone()),
                    Value::from(*n),
                    Value::from(shape(word)),
                ]
            })
            .collect();
        let sql = format!(
            "INSERT INTO search_term (term, books, shape) VALUES {} \
             ON CONFLICT (term) DO UPDATE SET books = search_term.books + excluded.books",
            vec!["(?, ?, ?)"; chunk.len()].join(", ")
        );
        conn.execute_raw(super::statement(backend, &sql, values))
            .await?;
    }
    let fewer: Vec<Value> = changed
        .iter()
        .filter(|(_, n)| *n < 0)
        .map(|(word, _)| Value::from(word.clone()))
        .collect();
    for chunk in fewer.chunks(WORDS_PER_STATEMENT) {
        let sql = format!(
            "DELETE FROM search_term WHERE books <= 0 AND term IN ({})",
            vec!["?"; chunk.len()].join(", ")
        );
        conn.execute_raw(super::statement(backend, &sql, chunk.to_vec()))
            .await?;
    }
    Ok(!changed.is_empty())
}

/// Moves the vocabulary's generation on: what a query's words are read against has changed
/// (migration 0011; authors' names move it by trigger).
async fn next_generation(conn: &impl ConnectionTrait) -> Result<(), DbError> {
    conn.execute_unprepared("UPDATE search_generation SET generation = generation + 1")
        .await?;
    Ok(())
}

/// Merges the index into as few pieces as it can, after a bulk load. FTS5 writes each unit of
/// work's entries as a new segment and merges them only a few at a time as it goes, so a
/// million books imported in batches leave many segments, and every word of every search then
/// probes each of them: merged, the bench's searches went from 1,280 to 2,115 req/s on a
/// 1,000,000-book catalog, for 2 s of merging (bench/README.md). PostgreSQL's GIN index folds
/// its pending entries in by itself (autovacuum), so nothing there.
#[tracing::instrument(
    level = "info",
    name = "repo.search.compact",
    skip_all,
    err(level = "debug")
)]
pub async fn compact(conn: &impl ConnectionTrait) -> Result<(), DbError> {
    if conn.get_database_backend() == DbBackend::Sqlite {
        conn.execute_unprepared("INSERT INTO book_search (book_search) VALUES ('optimize')")
            .await?;
    }
    Ok(())
}

/// The vocabulary's generation now: the same number means the same reading of any query.
pub async fn generation(read: Read<'_>) -> Result<i64, DbError> {
    let found: Vec<i64> = read
        .rows(
            "SELECT generation FROM search_generation WHERE id = 1",
            &[],
            |row| row.get(0),
        )
        .await?;
    Ok(found.first().copied().unwrap_or_default())
}

/// Rebuilds the whole index and vocabulary from the tables, a thousand books at a time: the
/// migration that changed what the index holds (m0010) runs it once.
pub async fn rebuild(conn: &impl ConnectionTrait) -> Result<(), DbError> {
    let backend = conn.get_database_backend();
    conn.execute_raw(super::statement(backend, "DELETE FROM book_search", vec![]))
        .await?;
    conn.execute_raw(super::statement(backend, "DELETE FROM search_term", vec![]))
        .await?;
    let mut after = 0i64;
    loop {
        let ids: Vec<i64> = conn
            .query_all_raw(super::statement(
                backend,
                "SELECT id FROM book WHERE id > ? ORDER BY id LIMIT 1000",
                vec![after.into()],
            ))
            .await?
            .iter()
            .map(|row| row.try_get_by_index::<i64>(0))
            .collect::<Result<_, _>>()?;
        let Some(last) = ids.last() else {
            return Ok(());
        };
        after = *last;
        // Without moving the generation: m0010 runs this before m0011 made it, and a process
        // starts with no reading of any query kept.
        let counts = rewrite(conn, &ids).await?;
        count_words(conn, counts).await?;
    }
}

/// The words of the index entry under `key`, each once.
pub async fn words_of(read: Read<'_>, key: i64) -> Result<BTreeSet<String>, DbError> {
    let sql = match read.backend() {
        DbBackend::Postgres => {
            "SELECT array_to_string(tsvector_to_array(document), ' ') FROM book_search \
             WHERE search_key = $1"
        }
        _ => {
            "SELECT title || ' ' || authors || ' ' || contributors || ' ' || body \
             FROM book_search WHERE rowid = ?"
        }
    };
    let texts: Vec<String> = read.rows(sql, &[key.into()], |row| row.get(0)).await?;
    Ok(texts
        .iter()
        .flat_map(|t| t.split(' '))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect())
}

/// A word's first letter and length ("h006" for "hobbit"): typo candidates are looked up by
/// it (`search_term.shape`).
fn shape(word: &str) -> String {
    let initial = word.chars().next().unwrap_or(' ');
    format!("{initial}{:03}", word.chars().count())
}

/// The words of the index that are `word` or begin with it, in order, at most `limit`, with
/// how many books each finds.
pub async fn beginning_with(
    read: Read<'_>,
    word: &str,
    limit: usize,
) -> Result<Vec<(String, i64)>, DbError> {
    let sql = super::numbered(
        read.backend(),
        "SELECT term, books FROM search_term WHERE term >= ? ORDER BY term LIMIT ?",
    );
    let next: Vec<(String, i64)> = read
        .rows(&sql, &[word.into(), (limit as i64).into()], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .await?;
    Ok(next
        .into_iter()
        .take_while(|(t, _)| t.starts_with(word))
        .collect())
}

/// The words of the index with the first letter of `word` and a length in `lengths`, with how
/// many books each finds: the candidates for correcting a typo in it.
pub async fn words_like(
    read: Read<'_>,
    word: &str,
    lengths: std::ops::RangeInclusive<usize>,
) -> Result<Vec<(String, i64)>, DbError> {
    let Some(initial) = word.chars().next() else {
        return Ok(vec![]);
    };
    let shapes: Vec<Value> = lengths
        .map(|length| format!("{initial}{length:03}").into())
        .collect();
    let sql = super::numbered(
        read.backend(),
        &format!(
            "SELECT term, books FROM search_term WHERE shape IN ({})",
            vec!["?"; shapes.len()].join(", ")
        ),
    );
    read.rows(&sql, &shapes, |row| Ok((row.get(0)?, row.get(1)?)))
        .await
}

/// A query word: as typed (folded), what the index holds of it, and the words of the index it
/// may have been meant as.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    /// The word is itself a word of the index (it can match whole).
    pub is_term: bool,
    /// The index's words that begin with it, when few enough to be searched one by one (an
    /// `OR` that FTS5 reads lazily, in key order, where a prefix query first gathers every
    /// match of every word it begins); `None` when there are more (searched as a prefix).
    /// Empty when it begins no word: it matches nothing as typed.
    pub extensions: Option<Vec<String>>,
    pub corrections: Vec<String>,
    /// How many books it can match at most, as typed or corrected: the vocabulary's counts of
    /// its extensions and corrections; `None` when it is searched as a prefix (many).
    pub books: Option<i64>,
}

impl Word {
    /// A word known to begin more words than are worth listing, or nothing known of it.
    pub fn prefix(text: &str) -> Self {
        Self {
            text: text.to_string(),
            is_term: true,
            extensions: None,
            corrections: vec![],
            books: None,
        }
    }

    /// Whether it matches anything as typed.
    fn found(&self) -> bool {
        self.extensions.as_ref().is_none_or(|e| !e.is_empty())
    }
}

/// A search as the index takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Terms {
    /// The words every match has (each as a prefix, or as one of its corrections).
    pub words: Vec<Word>,
    /// Every word of the query in order, for the phrase tiers.
    pub phrase: Vec<String>,
    /// Every phrase word but the last is a word of the index (else no phrase can match).
    pub phrase_possible: bool,
    /// The query is some author's whole name.
    pub author_name: bool,
}

/// Where a book stands in a search, best first. Each book is in the first tier it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tier {
    /// The query is an author's whole name, and this is their book.
    Author,
    /// The words are a phrase of the title (the last word as a prefix).
    Phrase,
    /// Every word is a whole word of the title.
    TitleWhole,
    /// Every word begins a word of the title.
    TitlePrefix,
    /// Every word is a whole word of the title, authors or contributors.
    NamedWhole,
    NamedPrefix,
    /// … or of the description too.
    AnyWhole,
    AnyPrefix,
    /// Found only once a typo was corrected: in the title, authors or contributors …
    CorrectedNamed,
    /// … or anywhere.
    CorrectedAny,
}

/// Where a field is looked for.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    Title,
    Authors,
    Named,
    Any,
}

impl Terms {
    /// How many books any tier of this search can hold at most: every match has every word,
    /// so no more than the rarest word finds. `None` when no word's count is known.
    pub fn most_matches(&self) -> Option<i64> {
        self.words.iter().filter_map(|w| w.books).min()
    }

    fn corrected(&self) -> bool {
        self.words.iter().any(|w| !w.corrections.is_empty())
    }

    /// The tiers this search has, best first: only those that can hold a book. What the
    /// vocabulary says cannot match (a word that begins no indexed word, a whole word that is
    /// not one) costs no statement.
    pub fn tiers(&self) -> Vec<Tier> {
        use Tier::*;
        let mut tiers = vec![];
        if self.words.iter().all(Word::found) {
            let whole = self.words.iter().all(|w| w.is_term);
            if self.author_name && whole {
                tiers.push(Author);
            }
            if self.phrase.len() > 1 && self.phrase_possible {
                tiers.push(Phrase);
            }
            for (tier, needs_whole) in [
                (TitleWhole, true),
                (TitlePrefix, false),
                (NamedWhole, true),
                (NamedPrefix, false),
                (AnyWhole, true),
                (AnyPrefix, false),
            ] {
                if whole || !needs_whole {
                    tiers.push(tier);
                }
            }
        }
        let correctable = self
            .words
            .iter()
            .all(|w| w.found() || !w.corrections.is_empty());
        if self.corrected() && correctable {
            tiers.extend([CorrectedNamed, CorrectedAny]);
        }
        tiers
    }

    /// The match expression of the books in `tier` and in no earlier one: the tier's own
    /// condition, less the earlier tiers that are not already inside it. (Each tier lists
    /// only the earlier ones it does not contain: a phrase of the title is within "every
    /// word begins a title word", and so on; fewer terms, less reading.)
    pub fn tier_expression(&self, backend: DbBackend, tier: Tier) -> String {
        use Tier::*;
        let before: &[Tier] = match tier {
            Author => &[],
            Phrase => &[Author],
            TitleWhole => &[Author, Phrase],
            TitlePrefix => &[Author, Phrase, TitleWhole],
            NamedWhole => &[Author, TitlePrefix],
            NamedPrefix => &[TitlePrefix, NamedWhole],
            AnyWhole => &[NamedPrefix],
            AnyPrefix => &[NamedPrefix, AnyWhole],
            CorrectedNamed => &[AnyPrefix],
            CorrectedAny => &[AnyPrefix, CorrectedNamed],
        };
        let tiers = self.tiers();
        let earlier: Vec<String> = before
            .iter()
            .filter(|t| tiers.contains(t))
            .map(|t| self.condition(backend, *t))
            .collect();
        let own = self.condition(backend, tier);
        if earlier.is_empty() {
            return own;
        }
        let syntax = Syntax(backend);
        syntax.not(&own, &syntax.or(&earlier))
    }

    /// Every book the search finds, in any tier: for listings in another order. `None` when
    /// it can find none.
    pub fn everything(&self, backend: DbBackend) -> Option<String> {
        let widest = *self.tiers().last()?;
        Some(self.condition(backend, widest))
    }

    /// A tier's own condition.
    fn condition(&self, backend: DbBackend, tier: Tier) -> String {
        use Tier::*;
        let s = Syntax(backend);
        let all = |field: Field, whole: bool| {
            let words: Vec<String> = self
                .words
                .iter()
                .map(|w| {
                    if whole {
                        s.word(&w.text, field, true)
                    } else {
                        s.or(&s.beginnings(w, field))
                    }
                })
                .collect();
            s.within(field, &s.and(&words))
        };
        let corrected = |field: Field| {
            let words: Vec<String> = self
                .words
                .iter()
                .map(|w| {
                    let mut forms = s.beginnings(w, field);
                    forms.extend(w.corrections.iter().map(|c| s.word(c, field, true)));
                    s.or(&forms)
                })
                .collect();
            s.within(field, &s.and(&words))
        };
        match tier {
            Author => s.within(
                Field::Authors,
                &s.phrase(&self.phrase, Field::Authors, false),
            ),
            Phrase => s.within(Field::Title, &s.phrase(&self.phrase, Field::Title, true)),
            TitleWhole => all(Field::Title, true),
            TitlePrefix => all(Field::Title, false),
            NamedWhole => all(Field::Named, true),
            NamedPrefix => all(Field::Named, false),
            AnyWhole => all(Field::Any, true),
            AnyPrefix => all(Field::Any, false),
            CorrectedNamed => corrected(Field::Named),
            CorrectedAny => corrected(Field::Any),
        }
    }
}

/// The two query languages: FTS5's (column filters, `"word"*` prefixes) and tsquery's (weights
/// A–D for the fields, `word:*` prefixes, `<->` phrases). Words are folded letters and digits,
/// so they carry no syntax of either.
struct Syntax(DbBackend);

impl Syntax {
    fn pg(&self) -> bool {
        self.0 == DbBackend::Postgres
    }

    fn word(&self, word: &str, field: Field, whole: bool) -> String {
        if self.pg() {
            let weights = match field {
                Field::Title => "A",
                Field::Authors => "B",
                Field::Named => "ABC",
                Field::Any => "",
            };
            match (whole, weights) {
                (true, "") => word.to_string(),
                (true, w) => format!("{word}:{w}"),
                (false, w) => format!("{word}:*{w}"),
            }
        } else if whole {
            format!("\"{word}\"")
        } else {
            format!("\"{word}\"*")
        }
    }

    /// What matches a word as typed: each indexed word it begins, or the word as a prefix when
    /// it begins too many to list.
    fn beginnings(&self, word: &Word, field: Field) -> Vec<String> {
        match &word.extensions {
            Some(extensions) => extensions
                .iter()
                .map(|e| self.word(e, field, true))
                .collect(),
            None => vec![self.word(&word.text, field, false)],
        }
    }

    /// The words in order, adjacent; the last one a prefix when `prefix`.
    fn phrase(&self, words: &[String], field: Field, prefix: bool) -> String {
        if self.pg() {
            let last = words.len().saturating_sub(1);
            words
                .iter()
                .enumerate()
                .map(|(i, w)| self.word(w, field, !(prefix && i == last)))
                .collect::<Vec<_>>()
                .join(" <-> ")
        } else {
            format!("\"{}\"{}", words.join(" "), if prefix { "*" } else { "" })
        }
    }

    fn within(&self, field: Field, expression: &str) -> String {
        if self.pg() {
            return expression.to_string();
        }
        match field {
            Field::Title => format!("{{title}} : {expression}"),
            Field::Authors => format!("{{authors}} : {expression}"),
            Field::Named => format!("{{title authors contributors}} : {expression}"),
            Field::Any => expression.to_string(),
        }
    }

    fn and(&self, parts: &[String]) -> String {
        format!("({})", parts.join(if self.pg() { " & " } else { " AND " }))
    }

    fn or(&self, parts: &[String]) -> String {
        match parts {
            [one] => one.clone(),
            _ => format!("({})", parts.join(if self.pg() { " | " } else { " OR " })),
        }
    }

    fn not(&self, this: &str, those: &str) -> String {
        if self.pg() {
            format!("({this}) & !({those})")
        } else {
            format!("({this}) NOT ({those})")
        }
    }
}

/// The name of the subquery's column of matched book ids.
pub const MATCHED_ID: &str = "matched_id";

/// A subquery of every book `terms` finds, as `matched_id`: for listings in an order of the
/// book's own (title, year…), narrowed by the search.
pub fn matches(backend: DbBackend, terms: &Terms) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Alias, Expr, Query};
    // A search that can find nothing matches no row (the caller asks `everything` first).
    let expression = terms.everything(backend).unwrap_or_default();
    let mut query = Query::select();
    match backend {
        DbBackend::Postgres => {
            // sea-query binds PostgreSQL values only for `$n` placeholders.
            query
                .expr_as(Expr::cust("book_id"), Alias::new(MATCHED_ID))
                .from(Alias::new("book_search"))
                .and_where(Expr::cust_with_values(
                    "document @@ to_tsquery('simple', $1)",
                    [expression],
                ));
        }
        _ => {
            query
                .expr_as(
                    Expr::cust(format!("rowid & {ID_MASK}")),
                    Alias::new(MATCHED_ID),
                )
                .from(Alias::new("book_search"))
                .and_where(Expr::cust_with_values("book_search MATCH ?", [expression]));
        }
    }
    query
}

/// A tier's books in key order after `after_key`, as (key) column `search_key` beside the
/// book's id: the start of a relevance page's statement, which the caller joins to the book,
/// filters and limits.
pub fn tier_source(
    backend: DbBackend,
    terms: &Terms,
    tier: Tier,
) -> (String, String, sea_orm::sea_query::SimpleExpr) {
    use sea_orm::sea_query::Expr;
    let expression = terms.tier_expression(backend, tier);
    match backend {
        DbBackend::Postgres => {
            let test = match terms.plan() {
                Plan::MatchesFirst => "book_search.document @@ to_tsquery('simple', $1)",
                // The same test, in a form the GIN index cannot serve: the planner walks the
                // keys.
                Plan::KeyOrder => "ts_match_vq(book_search.document, to_tsquery('simple', $1))",
            };
            (
                "book_search.search_key".into(),
                "book_search.book_id".into(),
                Expr::cust_with_values(test, [expression]),
            )
        }
        _ => (
            "book_search.rowid".into(),
            format!("(book_search.rowid & {ID_MASK})"),
            Expr::cust_with_values("book_search MATCH ?", [expression]),
        ),
    }
}

/// A search's tiers may hold at most this many books for PostgreSQL to read their matches
/// first (the GIN index, then the few sorted by key); with more it walks the key index and
/// stops at a page. On 1,000,000 books either way past the other's side went from a few ms to
/// hundreds: the key walk over a word no book has read the whole index (82 ms), the matches of
/// "the" first took 560 ms where the walk took 0.08 ms.
const FEW_MATCHES: i64 = 5_000;

/// How PostgreSQL reads a tier. Its planner cannot choose well: the statement is prepared
/// once, and its generic plan picks one way for every word (bench/README.md: 10 searches a
/// second on a million books, some tiers taking 1.2 s). The vocabulary knows how many books
/// each word finds, so folio chooses. SQLite's index hands out matches in key order lazily
/// and needs no choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The matches from the GIN index, then sorted by key: few matches.
    MatchesFirst,
    /// The key index in order, each entry tested, until the page is full: many matches.
    KeyOrder,
}

impl Terms {
    /// How PostgreSQL is to read this search's tiers.
    pub fn plan(&self) -> Plan {
        match self.most_matches() {
            Some(books) if books <= FEW_MATCHES => Plan::MatchesFirst,
            _ => Plan::KeyOrder,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(words: &[&str]) -> Terms {
        Terms {
            words: words.iter().map(|w| Word::prefix(w)).collect(),
            phrase: words.iter().map(|w| w.to_string()).collect(),
            phrase_possible: true,
            author_name: false,
        }
    }

    #[test]
    fn more_popular_books_come_first_and_the_id_comes_back() {
        let famous = search_key(7, 4_602_479, 0);
        let known = search_key(3, 30_000, 2);
        let new = search_key(1, 0, 0);
        assert!(famous < known && known < new);
        assert_eq!(book_of(famous), 7);
        assert_eq!(book_of(new), 1);
        // A comment here counts as a thousand ratings elsewhere.
        assert_eq!(search_key(5, 0, 3), search_key(5, 3000, 0));
        assert_eq!(band(0), 10);
        assert_eq!(band(42), 24);
        assert_eq!(band(4_602_479), 74);
        assert_eq!(search_key(5, -7, -2), search_key(5, 0, 0));
    }

    #[test]
    fn tiers_read_as_each_query_language_says() {
        let harry = terms(&["harry", "pott"]);
        assert_eq!(
            harry.tier_expression(DbBackend::Sqlite, Tier::TitlePrefix),
            "({title} : (\"harry\"* AND \"pott\"*)) NOT (({title} : \"harry pott\"* OR \
             {title} : (\"harry\" AND \"pott\")))"
        );
        assert_eq!(
            harry.tier_expression(DbBackend::Postgres, Tier::TitlePrefix),
            "((harry:*A & pott:*A)) & !((harry:A <-> pott:*A | (harry:A & pott:A)))"
        );
        assert!(!harry.tiers().contains(&Tier::CorrectedAny));

        // A word the index has few continuations of is searched as those words.
        let mut hobbit = terms(&["hobb"]);
        hobbit.words[0].is_term = false;
        hobbit.words[0].extensions = Some(vec!["hobbit".into(), "hobbits".into()]);
        assert_eq!(
            hobbit.tiers(),
            [Tier::TitlePrefix, Tier::NamedPrefix, Tier::AnyPrefix],
            "no whole-word tier for a word that is not one"
        );
        assert_eq!(
            hobbit.tier_expression(DbBackend::Sqlite, Tier::TitlePrefix),
            "{title} : ((\"hobbit\" OR \"hobbits\"))"
        );

        // A word that begins nothing is searched only as its corrections.
        let mut hobit = terms(&["hobit"]);
        hobit.words[0].is_term = false;
        hobit.words[0].extensions = Some(vec![]);
        hobit.words[0].corrections = vec!["hobbit".into()];
        assert_eq!(hobit.tiers(), [Tier::CorrectedNamed, Tier::CorrectedAny]);
        assert_eq!(
            hobit.everything(DbBackend::Postgres).as_deref(),
            Some("(hobbit)")
        );
        assert_eq!(
            hobit.tier_expression(DbBackend::Sqlite, Tier::CorrectedNamed),
            "{title authors contributors} : (\"hobbit\")"
        );
        hobit.words[0].corrections.clear();
        assert!(hobit.tiers().is_empty());
        assert_eq!(hobit.everything(DbBackend::Sqlite), None);
    }
}
