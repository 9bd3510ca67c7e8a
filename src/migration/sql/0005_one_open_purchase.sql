-- At most one pending-or-paid purchase per buyer and edition: an edition is paid for once, and
-- two purchases started at once with two keys cannot both be made (the second insert fails on
-- this index, on PostgreSQL after waiting for the first to commit). Failed and refunded
-- purchases are history and may repeat. Named for the field the API reports (`edition_id`).
CREATE UNIQUE INDEX uq_purchase__edition_id ON purchase (user_id, edition_id)
    WHERE status IN ('pending', 'paid');
