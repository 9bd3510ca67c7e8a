-- Outbound webhooks (issue 20): endpoints admins register, and a transactional outbox.
--
-- An event is written in the same unit of work as the change it reports, with one delivery
-- per endpoint that wants it; a rolled-back change leaves neither. `serve`'s worker sends the
-- deliveries that are due, one at a time per endpoint in the order of their ids. Times are
-- Unix milliseconds: compared as numbers on both backends.
CREATE TABLE webhook_endpoint (
    id {id},
    url TEXT NOT NULL,
    -- The event types it wants, separated by spaces.
    events TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    -- `whsec_<base64>`: folio signs with it, so it is kept, never shown again after creation.
    secret TEXT NOT NULL,
    -- The secret before the last rotation, also signed with until `previous_secret_until`.
    previous_secret TEXT,
    previous_secret_until BIGINT,
    -- When its deliveries started failing (cleared by a success), and why it was disabled.
    failing_since BIGINT,
    disabled_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE webhook_event (
    id {id},
    -- The `webhook-id` receivers see, the same on every attempt.
    message_id TEXT NOT NULL,
    type TEXT NOT NULL,
    -- The whole body sent, as JSON text.
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT uq_webhook_event__message_id UNIQUE (message_id)
);
CREATE TABLE webhook_delivery (
    id {id},
    event_id {ref} NOT NULL,
    endpoint_id {ref} NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    -- When it is due (a claimed delivery's lease ends then too); null once it is settled.
    next_attempt_at BIGINT,
    -- Retries go on for the retry period from here: the event's time, or a retry by hand.
    retry_from BIGINT NOT NULL,
    last_attempt_at BIGINT,
    last_status_code INTEGER,
    last_error TEXT,
    last_latency_ms INTEGER,
    CONSTRAINT fk_webhook_delivery__event_id FOREIGN KEY (event_id) REFERENCES webhook_event (id) ON DELETE CASCADE,
    CONSTRAINT fk_webhook_delivery__endpoint_id FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoint (id) ON DELETE CASCADE
);
CREATE INDEX ix_webhook_delivery__due ON webhook_delivery (next_attempt_at) WHERE status = 'pending';
CREATE INDEX ix_webhook_delivery__endpoint_id ON webhook_delivery (endpoint_id, id);
CREATE INDEX ix_webhook_delivery__event_id ON webhook_delivery (event_id);
CREATE TABLE webhook_attempt (
    id {id},
    delivery_id {ref} NOT NULL,
    attempted_at BIGINT NOT NULL,
    status_code INTEGER,
    error TEXT,
    latency_ms INTEGER NOT NULL,
    CONSTRAINT fk_webhook_attempt__delivery_id FOREIGN KEY (delivery_id) REFERENCES webhook_delivery (id) ON DELETE CASCADE
);
CREATE INDEX ix_webhook_attempt__delivery_id ON webhook_attempt (delivery_id, id);
