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
-- `repo::search::count_words`.) Once per statement, however many authors it touched.
CREATE FUNCTION search_generation_next() RETURNS trigger AS $$
BEGIN
    UPDATE search_generation SET generation = generation + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER author_names_generation AFTER INSERT OR DELETE OR UPDATE OF name_folded ON author
    FOR EACH STATEMENT EXECUTE FUNCTION search_generation_next();
