-- Each endpoint's queue head (its oldest pending delivery) found by one probe of this index,
-- whatever the backlog: the worker's claim asks it per endpoint (repo::webhook::claim). Before
-- it, a claim compared every pending delivery with every earlier one and took a second with
-- thousands waiting.
CREATE INDEX ix_webhook_delivery__pending_head ON webhook_delivery (endpoint_id, id) WHERE status = 'pending';
