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

-- Every word of the index with the number of books it finds: where typos are corrected from.
CREATE TABLE search_term (
    term TEXT PRIMARY KEY,
    books BIGINT NOT NULL
) WITHOUT ROWID;
