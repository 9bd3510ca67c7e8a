-- Edition titles, series and popularity (issue 19).
--
-- An edition keeps the title printed on it when that differs from the work's ("1984" for
-- "Nineteen Eighty-Four"); NULL means the book's own.
ALTER TABLE edition ADD COLUMN title TEXT;
ALTER TABLE edition ADD COLUMN subtitle TEXT;

-- A book's series: its name, the name folded for filtering (see text.rs), and its place in it.
ALTER TABLE book ADD COLUMN series TEXT;
ALTER TABLE book ADD COLUMN series_folded TEXT;
ALTER TABLE book ADD COLUMN series_number DOUBLE PRECISION;
CREATE INDEX ix_book__series_folded ON book (series_folded, series_number, id);

-- How well known a book is, for ranking search results: a prior brought by an import (ratings
-- counted elsewhere, e.g. goodbooks' ratings_count) and folio's own activity — comments,
-- paid purchases and readers with progress — kept in step by the triggers below.
ALTER TABLE book ADD COLUMN popularity_prior BIGINT NOT NULL DEFAULT 0;
ALTER TABLE book ADD COLUMN activity BIGINT NOT NULL DEFAULT 0;

UPDATE book SET activity =
    (SELECT count(*) FROM comment WHERE comment.book_id = book.id)
  + (SELECT count(*) FROM progress WHERE progress.book_id = book.id)
  + (SELECT count(*) FROM purchase JOIN edition ON edition.id = purchase.edition_id
     WHERE edition.book_id = book.id AND purchase.status = 'paid');

CREATE OR REPLACE FUNCTION book_activity() RETURNS trigger AS $$
DECLARE
    delta BIGINT := 0;
    target BIGINT;
BEGIN
    IF TG_TABLE_NAME = 'purchase' THEN
        IF TG_OP = 'INSERT' THEN
            delta := CASE WHEN NEW.status = 'paid' THEN 1 ELSE 0 END;
        ELSE
            delta := (CASE WHEN NEW.status = 'paid' THEN 1 ELSE 0 END)
                   - (CASE WHEN OLD.status = 'paid' THEN 1 ELSE 0 END);
        END IF;
        IF delta <> 0 THEN
            UPDATE book SET activity = activity + delta
            WHERE id = (SELECT book_id FROM edition WHERE id = NEW.edition_id);
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE book SET activity = activity + 1 WHERE id = NEW.book_id;
    ELSE
        UPDATE book SET activity = activity - 1 WHERE id = OLD.book_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER comment_activity AFTER INSERT OR DELETE ON comment
FOR EACH ROW EXECUTE FUNCTION book_activity();
CREATE TRIGGER progress_activity AFTER INSERT OR DELETE ON progress
FOR EACH ROW EXECUTE FUNCTION book_activity();
CREATE TRIGGER purchase_activity AFTER INSERT OR UPDATE OF status ON purchase
FOR EACH ROW EXECUTE FUNCTION book_activity();
