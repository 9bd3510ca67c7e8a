-- At most one pending-or-paid purchase per buyer and edition: an edition is paid for once, and
-- two purchases started at once with two keys cannot both be made (the second insert fails on
-- this index, on PostgreSQL after waiting for the first to commit). Failed and refunded
-- purchases are history and may repeat. Named for the field the API reports (`edition_id`).
--
-- Earlier versions let a buyer start the same purchase again. So that the index can be built
-- on such a database, a pending purchase that another open purchase of the same buyer and
-- edition (a paid one, or an older pending one) already covers is marked failed first: nothing
-- was paid for it, and the one kept is the one a payment would go to. Paid purchases are never
-- touched; two paid purchases of one edition by one buyer stop this migration, to be settled
-- (one refunded) by the operator.
UPDATE purchase SET status = 'failed'
WHERE status = 'pending'
  AND EXISTS (
      SELECT 1 FROM purchase AS other
      WHERE other.user_id = purchase.user_id
        AND other.edition_id = purchase.edition_id
        AND (other.status = 'paid' OR (other.status = 'pending' AND other.id < purchase.id))
  );

CREATE UNIQUE INDEX uq_purchase__edition_id ON purchase (user_id, edition_id)
    WHERE status IN ('pending', 'paid');
