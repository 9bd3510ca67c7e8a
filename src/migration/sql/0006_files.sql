-- The books' files (issue 16). An edition's files are its EPUB or PDF, or its audiobook's
-- tracks in order; their bytes live in object storage under their SHA-256 (the same bytes are
-- stored once), and a row exists only once its object is whole.
CREATE TABLE edition_file (
    id {id},
    edition_id {ref} NOT NULL,
    -- 1, 2, 3…: the reading order of an audiobook's tracks; a later upload appends.
    position INTEGER NOT NULL,
    -- The uploaded file's name, cleaned: what a download is saved as.
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    -- Lower-case hex; also the key of its object and the ETag it is served with.
    sha256 TEXT NOT NULL,
    duration_seconds {double},
    -- What was read from the file (tags, chapters, table of contents), as JSON text.
    metadata TEXT,
    created_at {ts} NOT NULL,
    CONSTRAINT fk_edition_file__edition_id FOREIGN KEY (edition_id) REFERENCES edition (id) ON DELETE CASCADE,
    CONSTRAINT uq_edition_file__position UNIQUE (edition_id, position),
    CONSTRAINT uq_edition_file__sha256 UNIQUE (edition_id, sha256),
    CONSTRAINT ck_edition_file__position CHECK (position > 0),
    CONSTRAINT ck_edition_file__size CHECK (size > 0),
    CONSTRAINT ck_edition_file__sha256 CHECK (length(sha256) = 64),
    CONSTRAINT ck_edition_file__duration_seconds CHECK (duration_seconds IS NULL OR duration_seconds > 0)
);
-- Whether an object is still referenced, when a file is deleted and in `folio storage gc`.
CREATE INDEX ix_edition_file__sha256 ON edition_file (sha256);

-- Who may fetch an edition's files: anyone (public-domain works), any signed-in account, or
-- its buyers (the default; admins always may).
ALTER TABLE edition ADD COLUMN access TEXT NOT NULL DEFAULT 'buyers'
    CONSTRAINT ck_edition__access CHECK (access IN ('public', 'members', 'buyers'));

-- A book's cover: the original's object and its two thumbnails', each named by its SHA-256.
CREATE TABLE book_cover (
    book_id {ref} NOT NULL PRIMARY KEY,
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    thumb_sha256 TEXT NOT NULL,
    medium_sha256 TEXT NOT NULL,
    updated_at {ts} NOT NULL,
    CONSTRAINT fk_book_cover__book_id FOREIGN KEY (book_id) REFERENCES book (id) ON DELETE CASCADE
);
CREATE INDEX ix_book_cover__sha256 ON book_cover (sha256);
