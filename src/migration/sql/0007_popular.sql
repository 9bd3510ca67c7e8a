-- Books by how often they were rated (`sort=popular`, the OPDS "popular" feeds): read off this
-- index in either direction and seeked to a keyset cursor, as the other orders are.
CREATE INDEX ix_book__rating_count ON book (rating_count, id);
