-- Rows of catalog imports by outcome, since the database was made (issue 20's metrics).
-- `folio import` runs in a process of its own; it adds its rows here in the unit of work that
-- writes them, and every `serve` reports the totals as `folio_import_rows_total`.
CREATE TABLE import_rows (
    outcome TEXT PRIMARY KEY CHECK (outcome IN ('created', 'matched', 'rejected')),
    rows BIGINT NOT NULL
);
INSERT INTO import_rows (outcome, rows) VALUES ('created', 0), ('matched', 0), ('rejected', 0);
