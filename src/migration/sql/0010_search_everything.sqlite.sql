-- Search over everything a reader might remember (issue 19): the index is rebuilt with the
-- editions' titles, the series and the ISBNs beside the book's title, and the contributors
-- (narrators, translators…) in a column of their own. folio fills it from Rust once this
-- runs (the text is folded by text.rs, which SQL cannot do).
DROP TRIGGER book_search_after_delete;
DROP TABLE book_search;

-- The rowid is the book's search key (repo/search.rs): its popularity band in the high bits
-- and its id in the low 40, so the index hands out every match most popular first and a page
-- of the best results stops reading once it is full. Prefix indexes for 2 and 3 letters make
-- short prefixes ("ha", "tol") one doclist instead of a merge of every word they begin.
CREATE VIRTUAL TABLE book_search USING fts5(
    title,
    authors,
    contributors,
    body,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

-- A deleted book leaves the index in the same statement, however it was deleted.
CREATE TRIGGER book_search_after_delete AFTER DELETE ON book BEGIN
    DELETE FROM book_search WHERE rowid = ({key_old});
END;

-- A book whose popularity changes band moves in the index's order.
CREATE TRIGGER book_search_rekey AFTER UPDATE OF popularity_prior, activity ON book
WHEN ({key_old}) <> ({key_new}) BEGIN
    UPDATE book_search SET rowid = ({key_new}) WHERE rowid = ({key_old});
END;

-- Every word of the index with the number of books it finds: what a query word may be the
-- beginning of (a range of the key), and where typos are corrected from. `shape` is the
-- word's first letter and length ("h006" for "hobbit"): a typo's candidates share the first
-- letter and a length within two, a few shapes of the second index.
CREATE TABLE search_term (
    term TEXT PRIMARY KEY,
    books BIGINT NOT NULL,
    shape TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_search_term__shape ON search_term (shape, term, books);
