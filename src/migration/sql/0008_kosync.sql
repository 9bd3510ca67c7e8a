-- KOReader's progress sync (issue 17).
--
-- A KOReader client signs in with the MD5 of the password; folio keeps an Argon2id hash of
-- that MD5 form beside the password's, set whenever it sees the password.
CREATE TABLE kosync_key (
    user_id {ref} PRIMARY KEY,
    key_hash TEXT NOT NULL,
    updated_at {ts} NOT NULL,
    CONSTRAINT fk_kosync_key__user_id FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
-- What each client pushed, per reader and document, as the reference server keeps it: the
-- last write wins, even backwards, and documents folio does not hold are kept too.
CREATE TABLE kosync_progress (
    user_id {ref} NOT NULL,
    document TEXT NOT NULL,
    progress TEXT NOT NULL,
    percentage {double} NOT NULL,
    device TEXT NOT NULL,
    device_id TEXT NOT NULL,
    -- Epoch seconds, the server's clock.
    timestamp BIGINT NOT NULL,
    CONSTRAINT pk_kosync_progress PRIMARY KEY (user_id, document),
    CONSTRAINT fk_kosync_progress__user_id FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
-- KOReader's ids of an ebook file folio holds: the partial MD5 of its bytes ("binary") and the
-- MD5 of its file name ("file name"), so a push or pull names the book.
CREATE TABLE koreader_file (
    edition_file_id {ref} PRIMARY KEY,
    binary_id TEXT NOT NULL,
    name_id TEXT NOT NULL,
    CONSTRAINT fk_koreader_file__edition_file_id FOREIGN KEY (edition_file_id) REFERENCES edition_file (id) ON DELETE CASCADE
);
CREATE INDEX ix_koreader_file__binary_id ON koreader_file (binary_id);
CREATE INDEX ix_koreader_file__name_id ON koreader_file (name_id);
