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

use std::collections::BTreeMap;

use crate::db::{DbError, Read};
use crate::repo;
use crate::repo::search::{Terms, Word};
use crate::text;

/// At most this many corrections of one word are searched.
const CORRECTIONS_PER_WORD: usize = 3;

/// A search as the index takes it, and the words it corrected (as typed → as read).
pub struct Analysis {
    pub terms: Terms,
    pub corrected: BTreeMap<String, String>,
}

/// Reads `query` as the index takes it; `None` when it holds no word.
pub async fn analyze(read: Read<'_>, query: &str) -> Result<Option<Analysis>, DbError> {
    // An ISBN, with hyphens or spaces, or as an ISBN-10: the index holds its ISBN-13.
    if let Ok(isbn) = super::isbn::normalize(query.trim()) {
        return Ok(Some(Analysis {
            terms: Terms {
                words: vec![Word {
                    text: isbn.clone(),
                    corrections: vec![],
                }],
                phrase: vec![isbn],
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
    let author_name = phrase.len() > 1 && repo::author::has_folded_name(read, &folded).await?;
    let mut corrected = BTreeMap::new();
    let mut words = Vec::with_capacity(tokens.len());
    for token in tokens {
        let corrections = corrections(read, &token).await?;
        if let Some(best) = corrections.first()
            && !repo::search::has_prefix(read, &token).await?
        {
            corrected.insert(token.clone(), best.clone());
        }
        words.push(Word {
            text: token,
            corrections,
        });
    }
    Ok(Some(Analysis {
        terms: Terms {
            words,
            phrase,
            author_name,
        },
        corrected,
    }))
}

/// The index's words `word` may be a typo of, closest first: fewest edits, then the most
/// books, then alphabetical. None for a short word or a number.
async fn corrections(read: Read<'_>, word: &str) -> Result<Vec<String>, DbError> {
    let budget = text::typo_budget(word);
    let Some(initial) = word.chars().next() else {
        return Ok(vec![]);
    };
    if budget == 0 || word.chars().all(|c| c.is_ascii_digit()) {
        return Ok(vec![]);
    }
    let length = word.chars().count();
    let lengths = length.saturating_sub(budget)..=length + budget;
    let mut near: Vec<(usize, i64, String)> = repo::search::words_like(read, initial, lengths)
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
        .map(|(_, _, term)| term)
        .collect())
}
