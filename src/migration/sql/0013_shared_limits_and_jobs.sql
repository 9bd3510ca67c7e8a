-- Several instances as one (issue 20). On PostgreSQL every instance counts sign-in and
-- registration attempts and failed sign-ins here, so a limit holds whichever instance a
-- request reaches (on SQLite one server counts in memory). The key is a SHA-256 of the limit's
-- name and what it counts (an address; a name typed and an address): nothing personal kept.
CREATE TABLE rate_limit_event (
    id {id},
    key TEXT NOT NULL,
    -- Unix milliseconds.
    at BIGINT NOT NULL
);
CREATE INDEX ix_rate_limit_event__key ON rate_limit_event (key, at);
-- Jobs one instance at a time runs on a schedule (backups): when each last began, claimed by
-- moving it forward, so of several instances one wins each turn.
CREATE TABLE job_run (
    name TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL
);
