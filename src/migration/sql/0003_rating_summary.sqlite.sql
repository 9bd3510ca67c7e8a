-- The rating summary on book (rating_count, rating_sum) follows every comment insert, edit and
-- delete, including the deletes a user's or a book's deletion cascades to, in the same
-- statement. Reading it costs nothing.
CREATE TRIGGER comment_rating_after_insert AFTER INSERT ON comment
WHEN new.rating IS NOT NULL BEGIN
    UPDATE book SET rating_count = rating_count + 1, rating_sum = rating_sum + new.rating
    WHERE id = new.book_id;
END;

CREATE TRIGGER comment_rating_after_delete AFTER DELETE ON comment
WHEN old.rating IS NOT NULL BEGIN
    UPDATE book SET rating_count = rating_count - 1, rating_sum = rating_sum - old.rating
    WHERE id = old.book_id;
END;

CREATE TRIGGER comment_rating_after_update AFTER UPDATE OF rating ON comment BEGIN
    UPDATE book
    SET rating_count = rating_count - (old.rating IS NOT NULL) + (new.rating IS NOT NULL),
        rating_sum = rating_sum - coalesce(old.rating, 0) + coalesce(new.rating, 0)
    WHERE id = new.book_id;
END;
