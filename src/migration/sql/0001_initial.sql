-- folio's initial schema, the same on SQLite and PostgreSQL (placeholders: see dialect.rs).
-- Constraint names carry the API field they protect: uq_<table>__<field>, fk_<table>__<column>,
-- ck_<table>__<field>. The error mapping reads them back to name the field in a 409 or 422.
-- Foreign keys that protect a row use NO ACTION (the default) rather than RESTRICT: a single
-- delete is refused just the same, and a whole-table delete of a self-referencing table works.

CREATE TABLE author (
    id {id},
    name TEXT NOT NULL,
    -- The name folded (lower case, no accents) for accent-insensitive prefix search and sorting.
    name_folded TEXT NOT NULL,
    bio TEXT,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    CONSTRAINT uq_author__name UNIQUE (name),
    CONSTRAINT ck_author__name CHECK (length(name) BETWEEN 1 AND 300)
);
CREATE INDEX ix_author__name_folded ON author (name_folded, id);

CREATE TABLE category (
    id {id},
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    parent_id {ref},
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    CONSTRAINT uq_category__name UNIQUE (name),
    CONSTRAINT uq_category__slug UNIQUE (slug),
    CONSTRAINT fk_category__parent_id FOREIGN KEY (parent_id) REFERENCES category (id)
);
CREATE INDEX ix_category__parent_id ON category (parent_id);

CREATE TABLE book (
    id {id},
    title TEXT NOT NULL,
    -- The title folded, so sorting by title ignores case and accents the same on both backends.
    title_folded TEXT NOT NULL,
    subtitle TEXT,
    description TEXT,
    original_year INTEGER,
    language TEXT,
    -- The rating summary is kept in step by the comment service, so reading it costs nothing.
    rating_count BIGINT NOT NULL DEFAULT 0,
    rating_sum BIGINT NOT NULL DEFAULT 0,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    CONSTRAINT ck_book__title CHECK (length(title) BETWEEN 1 AND 500),
    CONSTRAINT ck_book__rating_count CHECK (rating_count >= 0 AND rating_sum >= 0)
);
-- Keyset pages in every sort order: (sort key, id).
CREATE INDEX ix_book__title_folded ON book (title_folded, id);
CREATE INDEX ix_book__original_year ON book (original_year, id);
CREATE INDEX ix_book__created_at ON book (created_at, id);
CREATE INDEX ix_book__language ON book (language);

CREATE TABLE book_author (
    book_id {ref} NOT NULL,
    author_id {ref} NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (book_id, author_id),
    CONSTRAINT uq_book_author__position UNIQUE (book_id, position),
    CONSTRAINT fk_book_author__book_id FOREIGN KEY (book_id) REFERENCES book (id) ON DELETE CASCADE,
    CONSTRAINT fk_book_author__author_id FOREIGN KEY (author_id) REFERENCES author (id),
    CONSTRAINT ck_book_author__position CHECK (position >= 0)
);
CREATE INDEX ix_book_author__author_id ON book_author (author_id, book_id);

CREATE TABLE book_category (
    book_id {ref} NOT NULL,
    category_id {ref} NOT NULL,
    PRIMARY KEY (book_id, category_id),
    CONSTRAINT fk_book_category__book_id FOREIGN KEY (book_id) REFERENCES book (id) ON DELETE CASCADE,
    CONSTRAINT fk_book_category__category_id FOREIGN KEY (category_id) REFERENCES category (id) ON DELETE CASCADE
);
CREATE INDEX ix_book_category__category_id ON book_category (category_id, book_id);

CREATE TABLE edition (
    id {id},
    book_id {ref} NOT NULL,
    format TEXT NOT NULL,
    isbn TEXT,
    catalog_number TEXT,
    publisher TEXT,
    release_date {date},
    language TEXT,
    pages INTEGER,
    duration_seconds BIGINT,
    price_minor BIGINT,
    currency TEXT,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    CONSTRAINT uq_edition__isbn UNIQUE (isbn),
    CONSTRAINT fk_edition__book_id FOREIGN KEY (book_id) REFERENCES book (id) ON DELETE CASCADE,
    CONSTRAINT ck_edition__format CHECK (format IN ('print', 'ebook', 'audiobook', 'vinyl')),
    CONSTRAINT ck_edition__isbn CHECK (isbn IS NULL OR length(isbn) = 13),
    CONSTRAINT ck_edition__pages CHECK (pages IS NULL OR pages > 0),
    CONSTRAINT ck_edition__duration_seconds CHECK (duration_seconds IS NULL OR duration_seconds > 0),
    CONSTRAINT ck_edition__price_minor CHECK (price_minor IS NULL OR price_minor >= 0),
    CONSTRAINT ck_edition__currency CHECK (
        (price_minor IS NULL AND currency IS NULL)
        OR (price_minor IS NOT NULL AND currency IS NOT NULL AND length(currency) = 3)
    )
);
CREATE INDEX ix_edition__book_id ON edition (book_id);
CREATE INDEX ix_edition__format ON edition (format, book_id);

CREATE TABLE edition_contributor (
    edition_id {ref} NOT NULL,
    author_id {ref} NOT NULL,
    role TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (edition_id, author_id, role),
    CONSTRAINT fk_edition_contributor__edition_id FOREIGN KEY (edition_id) REFERENCES edition (id) ON DELETE CASCADE,
    CONSTRAINT fk_edition_contributor__author_id FOREIGN KEY (author_id) REFERENCES author (id),
    CONSTRAINT ck_edition_contributor__role CHECK (role IN ('narrator', 'translator', 'performer', 'illustrator', 'editor'))
);
CREATE INDEX ix_edition_contributor__author_id ON edition_contributor (author_id);

CREATE TABLE "user" (
    id {id},
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    -- Usernames and emails are unique without regard to case. The folded forms are computed by
    -- folio (Unicode-aware), not by lower(), which is ASCII-only on SQLite and depends on the
    -- locale on PostgreSQL; the error mapping reports a `<field>_folded` column as `<field>`.
    username_folded TEXT NOT NULL,
    email_folded TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'reader',
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    CONSTRAINT uq_user__username UNIQUE (username_folded),
    CONSTRAINT uq_user__email UNIQUE (email_folded),
    CONSTRAINT ck_user__username CHECK (length(username) BETWEEN 1 AND 50),
    CONSTRAINT ck_user__role CHECK (role IN ('reader', 'admin'))
);

CREATE TABLE referral_link (
    id {id},
    owner_id {ref} NOT NULL,
    code TEXT NOT NULL,
    clicks BIGINT NOT NULL DEFAULT 0,
    created_at {ts} NOT NULL,
    CONSTRAINT uq_referral_link__code UNIQUE (code),
    CONSTRAINT fk_referral_link__owner_id FOREIGN KEY (owner_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT ck_referral_link__clicks CHECK (clicks >= 0)
);
CREATE INDEX ix_referral_link__owner_id ON referral_link (owner_id);

-- user and referral_link reference each other; the second edge is added once both exist.
ALTER TABLE "user" ADD COLUMN referred_by_link_id {ref}
    CONSTRAINT fk_user__referred_by_link_id REFERENCES referral_link (id) ON DELETE SET NULL;
CREATE INDEX ix_user__referred_by_link_id ON "user" (referred_by_link_id);

CREATE TABLE comment (
    id {id},
    user_id {ref} NOT NULL,
    book_id {ref} NOT NULL,
    text TEXT NOT NULL,
    rating INTEGER,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    CONSTRAINT fk_comment__user_id FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT fk_comment__book_id FOREIGN KEY (book_id) REFERENCES book (id) ON DELETE CASCADE,
    CONSTRAINT ck_comment__text CHECK (length(text) BETWEEN 1 AND 5000),
    CONSTRAINT ck_comment__rating CHECK (rating IS NULL OR rating BETWEEN 1 AND 5)
);
CREATE INDEX ix_comment__book_id ON comment (book_id, created_at, id);
CREATE INDEX ix_comment__user_id ON comment (user_id);

CREATE TABLE progress (
    id {id},
    user_id {ref} NOT NULL,
    book_id {ref} NOT NULL,
    edition_id {ref},
    percent {double} NOT NULL,
    locator TEXT,
    status TEXT NOT NULL DEFAULT 'reading',
    device TEXT,
    updated_at {ts} NOT NULL,
    CONSTRAINT uq_progress__book_id UNIQUE (user_id, book_id),
    CONSTRAINT fk_progress__user_id FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT fk_progress__book_id FOREIGN KEY (book_id) REFERENCES book (id) ON DELETE CASCADE,
    CONSTRAINT fk_progress__edition_id FOREIGN KEY (edition_id) REFERENCES edition (id) ON DELETE SET NULL,
    CONSTRAINT ck_progress__percent CHECK (percent >= 0 AND percent <= 1),
    CONSTRAINT ck_progress__status CHECK (status IN ('reading', 'finished', 'abandoned'))
);
CREATE INDEX ix_progress__recent ON progress (user_id, updated_at, id);
CREATE INDEX ix_progress__book_id ON progress (book_id);
CREATE INDEX ix_progress__edition_id ON progress (edition_id);

CREATE TABLE note (
    id {id},
    user_id {ref} NOT NULL,
    book_id {ref} NOT NULL,
    edition_id {ref},
    locator TEXT NOT NULL,
    text TEXT,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    CONSTRAINT fk_note__user_id FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT fk_note__book_id FOREIGN KEY (book_id) REFERENCES book (id) ON DELETE CASCADE,
    CONSTRAINT fk_note__edition_id FOREIGN KEY (edition_id) REFERENCES edition (id) ON DELETE SET NULL,
    CONSTRAINT ck_note__text CHECK (text IS NULL OR length(text) <= 10000)
);
CREATE INDEX ix_note__user_book ON note (user_id, book_id, id);
CREATE INDEX ix_note__book_id ON note (book_id);
CREATE INDEX ix_note__edition_id ON note (edition_id);

-- Purchases are financial records: neither the buyer nor the edition can be deleted under them.
CREATE TABLE purchase (
    id {id},
    user_id {ref} NOT NULL,
    edition_id {ref} NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_fingerprint TEXT NOT NULL,
    provider_ref TEXT,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    CONSTRAINT uq_purchase__idempotency_key UNIQUE (user_id, idempotency_key),
    CONSTRAINT fk_purchase__user_id FOREIGN KEY (user_id) REFERENCES "user" (id),
    CONSTRAINT fk_purchase__edition_id FOREIGN KEY (edition_id) REFERENCES edition (id),
    CONSTRAINT ck_purchase__status CHECK (status IN ('pending', 'paid', 'failed', 'refunded')),
    CONSTRAINT ck_purchase__amount_minor CHECK (amount_minor >= 0),
    CONSTRAINT ck_purchase__currency CHECK (length(currency) = 3)
);
CREATE INDEX ix_purchase__user_id ON purchase (user_id, created_at, id);
CREATE INDEX ix_purchase__edition_id ON purchase (edition_id);
CREATE INDEX ix_purchase__status ON purchase (status, id);

-- Each payment webhook event is applied once; a replayed event_id is acknowledged and ignored.
CREATE TABLE payment_event (
    id {id},
    event_id TEXT NOT NULL,
    purchase_id {ref} NOT NULL,
    status TEXT NOT NULL,
    received_at {ts} NOT NULL,
    CONSTRAINT uq_payment_event__event_id UNIQUE (event_id),
    CONSTRAINT fk_payment_event__purchase_id FOREIGN KEY (purchase_id) REFERENCES purchase (id) ON DELETE CASCADE
);
CREATE INDEX ix_payment_event__purchase_id ON payment_event (purchase_id);

-- A sign-in: one per login, revoked by logout, reuse of a refresh token, or a password change.
CREATE TABLE auth_session (
    id {id},
    user_id {ref} NOT NULL,
    created_at {ts} NOT NULL,
    revoked_at {ts},
    CONSTRAINT fk_auth_session__user_id FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX ix_auth_session__user_id ON auth_session (user_id);

-- Refresh tokens are stored only as hashes; each works once.
CREATE TABLE refresh_token (
    id {id},
    session_id {ref} NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at {ts} NOT NULL,
    used_at {ts},
    created_at {ts} NOT NULL,
    CONSTRAINT uq_refresh_token__token_hash UNIQUE (token_hash),
    CONSTRAINT fk_refresh_token__session_id FOREIGN KEY (session_id) REFERENCES auth_session (id) ON DELETE CASCADE
);
CREATE INDEX ix_refresh_token__session_id ON refresh_token (session_id);

CREATE TABLE api_key (
    id {id},
    user_id {ref} NOT NULL,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at {ts} NOT NULL,
    last_used_at {ts},
    CONSTRAINT uq_api_key__key_hash UNIQUE (key_hash),
    CONSTRAINT fk_api_key__user_id FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT ck_api_key__name CHECK (length(name) BETWEEN 1 AND 100)
);
CREATE INDEX ix_api_key__user_id ON api_key (user_id);

-- Server-wide values folio generates for itself (the token signing key on a first start).
CREATE TABLE app_setting (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at {ts} NOT NULL
);
