-- The search vocabulary's generation: one number that every change to what a query's words
-- are read against (the vocabulary, authors' names) moves on, in the same unit of work as the
-- change. A search reads it first and reuses the analysis of the same text at the same
-- generation (service::catalog::search), on every instance of folio alike.
CREATE TABLE search_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO search_generation (id, generation) VALUES (1, 0);

-- A query that is an author's whole name ranks their books first: a new, renamed or removed
-- author changes how a query reads. (The vocabulary moves it from Rust, once per change:
-- `repo::search::count_words`.)
CREATE TRIGGER author_added_generation AFTER INSERT ON author
BEGIN
    UPDATE search_generation SET generation = generation + 1;
END;
CREATE TRIGGER author_renamed_generation AFTER UPDATE OF name_folded ON author
BEGIN
    UPDATE search_generation SET generation = generation + 1;
END;
CREATE TRIGGER author_removed_generation AFTER DELETE ON author
BEGIN
    UPDATE search_generation SET generation = generation + 1;
END;
