-- Full-text search over books, PostgreSQL: a stored tsvector per book with a GIN index. folio
-- writes it from folded text (see text.rs) in the same unit of work as the book, its authors or
-- a rename; the 'simple' configuration keeps the tokens exactly as folded, as SQLite does.
CREATE TABLE book_search (
    book_id BIGINT PRIMARY KEY,
    document TSVECTOR NOT NULL,
    CONSTRAINT fk_book_search__book_id FOREIGN KEY (book_id) REFERENCES book (id) ON DELETE CASCADE
);
CREATE INDEX ix_book_search__document ON book_search USING GIN (document);
