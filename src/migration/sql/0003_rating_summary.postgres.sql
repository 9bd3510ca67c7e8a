-- The rating summary on book (rating_count, rating_sum) follows every comment insert, edit and
-- delete, including the deletes a user's or a book's deletion cascades to, in the same
-- statement. Reading it costs nothing.
CREATE OR REPLACE FUNCTION comment_rating_summary() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.rating IS NOT NULL THEN
        UPDATE book SET rating_count = rating_count - 1, rating_sum = rating_sum - OLD.rating
        WHERE id = OLD.book_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.rating IS NOT NULL THEN
        UPDATE book SET rating_count = rating_count + 1, rating_sum = rating_sum + NEW.rating
        WHERE id = NEW.book_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER comment_rating_summary AFTER INSERT OR DELETE OR UPDATE OF rating ON comment
FOR EACH ROW EXECUTE FUNCTION comment_rating_summary();
