-- Full-text search over books, SQLite: an FTS5 table whose rowid is the book id. folio writes
-- folded text (see text.rs) in the same unit of work as the book, its authors or a rename.
CREATE VIRTUAL TABLE book_search USING fts5(
    title,
    authors,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- A deleted book leaves the index in the same statement, however it was deleted.
CREATE TRIGGER book_search_after_delete AFTER DELETE ON book BEGIN
    DELETE FROM book_search WHERE rowid = old.id;
END;
