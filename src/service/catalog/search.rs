//! What a search box's text asks the index for: its words, whether it is an ISBN or an
//! author's whole name, and the typos it may hold.
//!
//! **Typos** follow Meilisearch's rule, which readers of the field's search boxes know: a word
//! of 5 to 8 letters may have one typo, of 9 or more two ([`text::typo_budget`]), and the first
//! letter is never taken for one. A word's candidates are the index's words with its first
//! letter and a length within the budget (`search_term`, one range of its key), confirmed by
//! edit distance ([`text::edit_distance_within`]) — so both backends find the same ones. The
//! closest few (fewest edits, then most books) are searched beside the word itself, in tiers
//! of their own after every exact match. When the word as typed finds nothing, the search says
//! which word it was read as (`corrected`), for "showing results for…".
//!
//! **Prefixes** come from the vocabulary too: a word that begins a few of the index's words is
//! searched as those words, which FTS5 reads lazily in key order, where a prefix query first
//! gathers every match of every word it begins (bench/README.md); and a word that is not one of
//! the index's words rules out the tiers that need it whole.
//!
//! **Readings are kept**: the same text at the same vocabulary generation (which every change
//! to the vocabulary or to authors' names moves on, in its unit of work: migration 0011) reads
//! the same, so a search reads the generation, one row, and reuses what an earlier search of
//! that text found instead of looking its words up again (bench/README.md). On several
//! instances each keeps its own, and each sees the others' changes by the generation.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use crate::db::{DbError, Read};
use crate::repo;
use crate::repo::search::{Terms, Word};
use crate::text;

/// What the vocabulary holds of a query word: whether it is an indexed word, the indexed words
/// it begins (when few), and how many books those find.
type Held = (bool, Option<Vec<String>>, Option<i64>);

/// At most this many corrections of one word are searched.
const CORRECTIONS_PER_WORD: usize = 3;

/// A search as the index takes it, and the words it corrected (as typed → as read).
#[derive(Clone)]
pub struct Analysis {
    pub terms: Terms,
    pub corrected: BTreeMap<String, String>,
}

/// A word that begins more of the index's words than this is searched as a prefix; fewer,
/// as those words one by one.
const EXTENSIONS: usize = 16;

/// Readings kept per database, at most: a few hundred kilobytes. When full it starts again empty, which a
/// shop's traffic (the same few hundred searches over and over) refills at once.
const KEPT: usize = 4096;
/// A longer text is read afresh each time (nobody types the same paragraph twice).
const KEPT_TEXT: usize = 200;

/// Readings by database ([`crate::db::Database::instance`]), then text, with their generation.
type Readings = HashMap<u64, HashMap<String, (i64, Arc<Option<Analysis>>)>>;
static READINGS: LazyLock<Mutex<Readings>> = LazyLock::new(Mutex::default);

/// [`analyze`], or the reading of the same text at the same generation kept from an earlier
/// search of `database`.
pub async fn analyze_kept(
    read: Read<'_>,
    database: u64,
    query: &str,
) -> Result<Option<Analysis>, DbError> {
    if query.len() > KEPT_TEXT {
        return analyze(read, query).await;
    }
    let generation = repo::search::generation(read).await?;
    let kept = {
        let readings = READINGS.lock().unwrap_or_else(PoisonError::into_inner);
        readings
            .get(&database)
            .and_then(|kept| kept.get(query))
            .cloned()
    };
    if let Some((at, reading)) = kept
        && at == generation
    {
        return Ok(Option::clone(&reading));
    }
    let reading = analyze(read, query).await?;
    let mut readings = READINGS.lock().unwrap_or_else(PoisonError::into_inner);
    let kept = readings.entry(database).or_default();
    if kept.len() >= KEPT {
        kept.clear();
    }
    kept.insert(query.to_string(), (generation, Arc::new(reading.clone())));
    Ok(reading)
}

/// Reads `query` as the index takes it; `None` when it holds no word.
pub async fn analyze(read: Read<'_>, query: &str) -> Result<Option<Analysis>, DbError> {
    // An ISBN, with hyphens or spaces, or as an ISBN-10: the index holds its ISBN-13.
    if let Ok(isbn) = super::isbn::normalize(query.trim()) {
        return Ok(Some(Analysis {
            terms: Terms {
                // An ISBN names an edition, or a few.
                words: vec![Word {
                    books: Some(1),
                    ..Word::prefix(&isbn)
                }],
                phrase: vec![isbn],
                phrase_possible: true,
                author_name: false,
            },
            corrected: BTreeMap::new(),
        }));
    }
    let tokens = text::query_tokens(query);
    if tokens.is_empty() {
        return Ok(None);
    }
    let folded = text::fold(query);
    let phrase: Vec<String> = folded
        .split(' ')
        .filter(|w| !w.is_empty())
        .take(text::MAX_QUERY_TOKENS)
        .map(str::to_string)
        .collect();
    // What the index holds of each word: whether it is one of its words, which it begins, and
    // how many books those find.
    let mut held: HashMap<&str, Held> = HashMap::new();
    for word in phrase.iter().chain(&tokens) {
        if held.contains_key(word.as_str()) {
            continue;
        }
        let begun = repo::search::beginning_with(read, word, EXTENSIONS + 1).await?;
        let is_term = begun.first().is_some_and(|(term, _)| term == word);
        let (extensions, books) = if begun.len() > EXTENSIONS {
            (None, None)
        } else {
            let books = begun.iter().map(|(_, books)| books).sum();
            (
                Some(begun.into_iter().map(|(term, _)| term).collect()),
                Some(books),
            )
        };
        held.insert(word, (is_term, extensions, books));
    }
    let is_term = |word: &str| held.get(word).is_some_and(|(term, _, _)| *term);
    let phrase_possible = phrase[..phrase.len() - 1].iter().all(|w| is_term(w));
    let author_name = phrase.len() > 1 && repo::author::has_folded_name(read, &folded).await?;
    let mut corrected = BTreeMap::new();
    let mut words = Vec::with_capacity(tokens.len());
    for token in &tokens {
        let (is_term, extensions, books) = held.get(token.as_str()).cloned().unwrap_or_default();
        let (corrections, corrected_books): (Vec<String>, Vec<i64>) =
            corrections(read, token).await?.into_iter().unzip();
        let found = extensions.as_ref().is_none_or(|e| !e.is_empty());
        if let Some(best) = corrections.first()
            && !found
        {
            corrected.insert(token.clone(), best.clone());
        }
        words.push(Word {
            text: token.clone(),
            is_term,
            extensions,
            corrections,
            books: books.map(|b| b + corrected_books.iter().sum::<i64>()),
        });
    }
    Ok(Some(Analysis {
        terms: Terms {
            words,
            phrase,
            phrase_possible,
            author_name,
        },
        corrected,
    }))
}

/// The index's words `word` may be a typo of, closest first: fewest edits, then the most
/// books, then alphabetical, with how many books each finds. None for a short word or a
/// number.
async fn corrections(read: Read<'_>, word: &str) -> Result<Vec<(String, i64)>, DbError> {
    let budget = text::typo_budget(word);
    if budget == 0 || word.chars().all(|c| c.is_ascii_digit()) {
        return Ok(vec![]);
    }
    let length = word.chars().count();
    let lengths = length.saturating_sub(budget).max(1)..=length + budget;
    let mut near: Vec<(usize, i64, String)> = repo::search::words_like(read, word, lengths)
        .await?
        .into_iter()
        .filter(|(term, _)| term != word)
        .filter_map(|(term, books)| {
            let distance = text::edit_distance_within(word, &term, budget)?;
            Some((distance, -books, term))
        })
        .collect();
    near.sort_unstable();
    Ok(near
        .into_iter()
        .take(CORRECTIONS_PER_WORD)
        .map(|(_, books, term)| (term, -books))
        .collect())
}

/// Names, for each corrected word, the correction the first result was found by (of a word's
/// few candidates, "hobit" may be "hobbit" or "habit": the better known book decides), so
/// "showing results for…" says what the reader sees first.
pub async fn say_what_was_found(
    read: Read<'_>,
    terms: &Terms,
    first: &repo::book::BookRow,
    corrected: &mut BTreeMap<String, String>,
) -> Result<(), DbError> {
    let Some((tier, key)) = first.relevance else {
        return Ok(());
    };
    if corrected.is_empty() || tier < repo::search::Tier::CorrectedNamed {
        return Ok(());
    }
    let words = repo::search::words_of(read, key).await?;
    for word in &terms.words {
        if let Some(chosen) = corrected.get_mut(&word.text)
            && let Some(found) = word.corrections.iter().find(|c| words.contains(*c))
        {
            chosen.clone_from(found);
        }
    }
    Ok(())
}
