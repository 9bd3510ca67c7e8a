-- Search over everything a reader might remember (issue 19): the index is rebuilt with the
-- editions' titles, the series and the ISBNs beside the book's title (weight A), authors (B),
-- contributors — narrators, translators… — (C) and the description (D). folio fills it from
-- Rust once this runs (the text is folded by text.rs, which SQL cannot do).
DROP TABLE book_search;

-- search_key orders matches as SQLite's index rowid does (repo/search.rs): popularity band,
-- then id; results are the same on both backends.
CREATE TABLE book_search (
    book_id BIGINT PRIMARY KEY,
    search_key BIGINT NOT NULL,
    document TSVECTOR NOT NULL,
    CONSTRAINT fk_book_search__book_id FOREIGN KEY (book_id) REFERENCES book (id) ON DELETE CASCADE
);
CREATE INDEX ix_book_search__document ON book_search USING GIN (document);
CREATE INDEX ix_book_search__search_key ON book_search (search_key);

CREATE OR REPLACE FUNCTION book_search_rekey() RETURNS trigger AS $$
BEGIN
    IF ({key_old}) <> ({key_new}) THEN
        UPDATE book_search SET search_key = ({key_new}) WHERE book_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER book_search_rekey AFTER UPDATE OF popularity_prior, activity ON book
FOR EACH ROW EXECUTE FUNCTION book_search_rekey();

-- Every word of the index with the number of books it finds: what a query word may be the
-- beginning of (a range of the key), and where typos are corrected from. `shape` is the
-- word's first letter and length ("h006" for "hobbit"): a typo's candidates share the first
-- letter and a length within two, a few shapes of the second index.
-- Byte order ("C"), so a range of words by their beginning is a range of the index.
CREATE TABLE search_term (
    term TEXT COLLATE "C" PRIMARY KEY,
    books BIGINT NOT NULL,
    shape TEXT NOT NULL
);
CREATE INDEX ix_search_term__shape ON search_term (shape, term, books);
