-- Edition titles, series and popularity (issue 19).
--
-- An edition keeps the title printed on it when that differs from the work's ("1984" for
-- "Nineteen Eighty-Four"); NULL means the book's own.
ALTER TABLE edition ADD COLUMN title TEXT;
ALTER TABLE edition ADD COLUMN subtitle TEXT;

-- A book's series: its name, the name folded for filtering (see text.rs), and its place in it.
ALTER TABLE book ADD COLUMN series TEXT;
ALTER TABLE book ADD COLUMN series_folded TEXT;
ALTER TABLE book ADD COLUMN series_number REAL;
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

CREATE TRIGGER comment_activity_after_insert AFTER INSERT ON comment BEGIN
    UPDATE book SET activity = activity + 1 WHERE id = new.book_id;
END;

CREATE TRIGGER comment_activity_after_delete AFTER DELETE ON comment BEGIN
    UPDATE book SET activity = activity - 1 WHERE id = old.book_id;
END;

CREATE TRIGGER progress_activity_after_insert AFTER INSERT ON progress BEGIN
    UPDATE book SET activity = activity + 1 WHERE id = new.book_id;
END;

CREATE TRIGGER progress_activity_after_delete AFTER DELETE ON progress BEGIN
    UPDATE book SET activity = activity - 1 WHERE id = old.book_id;
END;

CREATE TRIGGER purchase_activity_after_insert AFTER INSERT ON purchase
WHEN new.status = 'paid' BEGIN
    UPDATE book SET activity = activity + 1
    WHERE id = (SELECT book_id FROM edition WHERE id = new.edition_id);
END;

CREATE TRIGGER purchase_activity_after_update AFTER UPDATE OF status ON purchase
WHEN (old.status = 'paid') <> (new.status = 'paid') BEGIN
    UPDATE book SET activity = activity + (CASE WHEN new.status = 'paid' THEN 1 ELSE -1 END)
    WHERE id = (SELECT book_id FROM edition WHERE id = new.edition_id);
END;
