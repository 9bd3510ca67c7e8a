//! Text folding for search and sorting, done by folio so that SQLite and PostgreSQL index and
//! compare exactly the same tokens: lower case, accents removed ("Brontë" → "bronte"), every
//! run of non-alphanumeric characters a single space.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds `text` to space-separated alphanumeric tokens.
pub fn fold(text: &str) -> String {
    // ASCII text has nothing to decompose: skipping NFKD makes imports of mostly English
    // catalogs markedly faster, with the same result.
    if text.is_ascii() {
        fold_chars(text.chars(), text.len())
    } else {
        fold_chars(text.nfkd().filter(|c| !is_combining_mark(*c)), text.len())
    }
}

fn fold_chars(chars: impl Iterator<Item = char>, capacity: usize) -> String {
    let mut folded = String::with_capacity(capacity);
    let mut pending_space = false;
    for c in chars {
        if c.is_alphanumeric() {
            if pending_space && !folded.is_empty() {
                folded.push(' ');
            }
            pending_space = false;
            folded.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    folded
}

/// The tokens of a search query, folded as the index is; at most `MAX_QUERY_TOKENS`.
///
/// Every token must match as a prefix, so a repeated token, or one that begins another
/// ("harr" beside "harry"), narrows nothing: it is dropped before the query, which would
/// otherwise pay for it (`a a a a …` made SQLite match and rank the whole catalog once a word).
pub fn query_tokens(query: &str) -> Vec<String> {
    let folded = fold(query);
    let words: Vec<&str> = folded.split(' ').filter(|t| !t.is_empty()).collect();
    let mut kept: Vec<String> = vec![];
    for (i, word) in words.iter().enumerate() {
        let longer_elsewhere = words
            .iter()
            .enumerate()
            .any(|(j, other)| j != i && other.len() > word.len() && other.starts_with(word));
        if !longer_elsewhere && !kept.iter().any(|k| k == word) {
            kept.push(word.to_string());
        }
        if kept.len() == MAX_QUERY_TOKENS {
            break;
        }
    }
    kept
}

/// More words than this add nothing to finding a book and only cost time.
pub const MAX_QUERY_TOKENS: usize = 12;

/// How many typos a query word may have and still find what it was meant as: none in a word
/// under 5 characters, one in 5 to 8, two from 9 (Meilisearch's rule, which readers of the
/// field's search boxes are used to).
pub fn typo_budget(word: &str) -> usize {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// The edit distance between `a` and `b` when it is at most `max`: insertions, deletions,
/// substitutions and two neighbours swapped each count one ("optimal string alignment"), so
/// "hobit" is one from "hobbit" and "teh" one from "the". `None` when further apart; the
/// lengths alone often say so without the table.
pub fn edit_distance_within(a: &str, b: &str, max: usize) -> Option<usize> {
    /// Words longer than this are compared on the heap; a vocabulary's are shorter.
    const ON_STACK: usize = 48;
    let (mut a_chars, mut b_chars) = (['\0'; ON_STACK], ['\0'; ON_STACK]);
    let (a_heap, b_heap): (Vec<char>, Vec<char>);
    let a: &[char] = match fill(&mut a_chars, a) {
        Some(n) => &a_chars[..n],
        None => {
            a_heap = a.chars().collect();
            &a_heap
        }
    };
    let b: &[char] = match fill(&mut b_chars, b) {
        Some(n) => &b_chars[..n],
        None => {
            b_heap = b.chars().collect();
            &b_heap
        }
    };
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    // Three rows of the table: the one before the previous (for swaps), the previous, this.
    let width = b.len() + 1;
    let mut rows = vec![0usize; 3 * width];
    let (before, rest) = rows.split_at_mut(width);
    let (previous, current) = rest.split_at_mut(width);
    let (mut before, mut previous, mut current) = (before, previous, current);
    for (j, cell) in previous.iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_min = current[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
            row_min = row_min.min(best);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    let distance = previous[b.len()];
    (distance <= max).then_some(distance)
}

/// `word`'s characters into `buffer`, and how many; `None` when they do not fit.
fn fill(buffer: &mut [char], word: &str) -> Option<usize> {
    let mut n = 0;
    for c in word.chars() {
        *buffer.get_mut(n)? = c;
        n += 1;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_accents_and_punctuation() {
        assert_eq!(fold("Brontë"), "bronte");
        assert_eq!(
            fold("  Harry Potter and the Philosopher's Stone "),
            "harry potter and the philosopher s stone"
        );
        assert_eq!(fold("Gabriel García Márquez"), "gabriel garcia marquez");
        assert_eq!(fold("Ｆｕｌｌ-width №5"), "full width no5");
        assert_eq!(fold("Мастер и Маргарита"), "мастер и маргарита");
        assert_eq!(fold("'; DROP TABLE book; --"), "drop table book");
        assert_eq!(fold("\u{0}"), "");
    }

    #[test]
    fn query_tokens_are_folded_and_bounded() {
        assert_eq!(query_tokens("harr pott"), vec!["harr", "pott"]);
        assert_eq!(query_tokens("BRONTË!"), vec!["bronte"]);
        assert!(query_tokens("\"*:&|!()").is_empty());
        let many: String = (0..100).map(|i| format!("w{i:03} ")).collect();
        assert_eq!(query_tokens(&many).len(), MAX_QUERY_TOKENS);
    }

    #[test]
    fn repeated_words_and_words_another_begins_are_dropped() {
        assert_eq!(query_tokens(&"a ".repeat(100)), vec!["a"]);
        assert_eq!(
            query_tokens("Harry harry HARRY potter"),
            vec!["harry", "potter"]
        );
        assert_eq!(query_tokens("harr harry pott"), vec!["harry", "pott"]);
        assert_eq!(query_tokens("potter p harry"), vec!["potter", "harry"]);
    }

    #[test]
    fn the_typo_budget_grows_with_the_word() {
        assert_eq!(typo_budget("hobb"), 0);
        assert_eq!(typo_budget("hobit"), 1);
        assert_eq!(typo_budget("prejdice"), 1);
        assert_eq!(typo_budget("prejudice"), 2);
        // Characters, not bytes: "мастер" is six letters.
        assert_eq!(typo_budget("маст"), 0);
        assert_eq!(typo_budget("мастер"), 1);
    }

    #[test]
    fn edit_distance_counts_each_kind_of_typo_once() {
        assert_eq!(edit_distance_within("hobit", "hobbit", 1), Some(1));
        assert_eq!(edit_distance_within("prejdice", "prejudice", 1), Some(1));
        assert_eq!(edit_distance_within("runer", "runner", 1), Some(1));
        assert_eq!(edit_distance_within("hobbti", "hobbit", 1), Some(1));
        assert_eq!(edit_distance_within("habit", "hobbit", 1), None);
        assert_eq!(edit_distance_within("habit", "hobbit", 2), Some(2));
        assert_eq!(edit_distance_within("same", "same", 0), Some(0));
        assert_eq!(edit_distance_within("a", "abcd", 2), None);
        assert_eq!(edit_distance_within("", "ab", 2), Some(2));
    }
}
