-- The whole schema of the SQLite backend.
--
-- Conventions: ids are the 16 bytes of a (time-ordered, v7) UUID; times are
-- INTEGER microseconds since the Unix epoch (UTC); dates are TEXT
-- 'YYYY-MM-DD'; booleans are INTEGER 0/1. Tables are STRICT so a value of the
-- wrong type is refused instead of silently stored.
--
-- Tables whose rows are small and keyed by the UUID are WITHOUT ROWID: a
-- lookup by id is then one B-tree search (a rowid table with a BLOB primary
-- key needs the key's index and then the table). `profiles` keeps its rowid
-- because a row may carry a 2000-character biography, and WITHOUT ROWID
-- tables are meant for rows well below a twentieth of a page.

CREATE TABLE users (
    id                 BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    username           TEXT    NOT NULL COLLATE NOCASE,
    email              TEXT    NOT NULL,
    password_hash      TEXT    NOT NULL,
    is_active          INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    is_super_admin     INTEGER NOT NULL CHECK (is_super_admin IN (0, 1)),
    failed_logins      INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until       INTEGER,
    tokens_valid_after INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_login_at      INTEGER,
    deactivated_at     INTEGER
) STRICT, WITHOUT ROWID;

-- Usernames are unique ignoring case (the column collates NOCASE, and the
-- usernames are ASCII), emails are stored lower-cased.
CREATE UNIQUE INDEX users_username ON users (username);
CREATE UNIQUE INDEX users_email ON users (email);
-- The user list: newest first, optionally only active or inactive users.
CREATE INDEX users_created ON users (created_at DESC, id DESC);
CREATE INDEX users_active_created ON users (is_active, created_at DESC, id DESC);

CREATE TABLE locations (
    id             BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    user_id        BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    country        TEXT    NOT NULL CHECK (length(country) = 2),
    state_province TEXT,
    city           TEXT COLLATE NOCASE,
    postal_code    TEXT,
    is_active      INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deactivated_at INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX locations_user ON locations (user_id, created_at DESC, id DESC);
-- Profile search by country (and city) joins through this index.
CREATE INDEX locations_country_city ON locations (country, city);
CREATE INDEX locations_created ON locations (created_at DESC, id DESC);

CREATE TABLE profiles (
    id                  BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    user_id             BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    first_name          TEXT    NOT NULL,
    last_name           TEXT    NOT NULL,
    date_of_birth       TEXT,
    gender              TEXT,
    location_id         BLOB REFERENCES locations (id) ON DELETE SET NULL,
    bio                 TEXT,
    profile_picture_url TEXT,
    is_public           INTEGER NOT NULL CHECK (is_public IN (0, 1)),
    allow_contact       INTEGER NOT NULL CHECK (allow_contact IN (0, 1)),
    is_active           INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    deactivated_at      INTEGER,
    -- Copies of the location's country and city, written with the profile
    -- and kept by a trigger when the location changes, so that searching
    -- profiles by place is one index range in list order instead of a join
    -- (see `profiles_place`).
    country             TEXT,
    city                TEXT COLLATE NOCASE
) STRICT;

-- One active profile per user; also serves "the user's profile" lookups.
CREATE UNIQUE INDEX profiles_one_active_per_user ON profiles (user_id) WHERE is_active = 1;
CREATE INDEX profiles_user ON profiles (user_id, is_active DESC, created_at DESC, id DESC);
-- The profile list: newest first among active (and public) profiles. The
-- flags lead so both "active" and "active and public" are index ranges
-- already in list order.
CREATE INDEX profiles_listing ON profiles (is_active, is_public, created_at DESC, id DESC);
CREATE INDEX profiles_created ON profiles (created_at DESC, id DESC);
-- The profile list of one country: newest first among active (and public)
-- profiles, and its count, both index ranges (the count never reads a row).
CREATE INDEX profiles_place ON profiles (country, is_active, is_public, created_at DESC, id DESC);
-- Profiles of a location (country / city filters, ON DELETE SET NULL).
CREATE INDEX profiles_location ON profiles (location_id, is_active, is_public);

-- Keep each profile's copy of its location's place.
CREATE TRIGGER locations_place_on_change AFTER UPDATE OF country, city ON locations
    WHEN NEW.country IS NOT OLD.country OR NEW.city IS NOT OLD.city
BEGIN
    UPDATE profiles SET country = NEW.country, city = NEW.city WHERE location_id = NEW.id;
END;

-- How many profiles there are per place and flags, kept by triggers, so
-- that a search by country (the common case) is counted without visiting
-- every match: the count stays flat as the table grows.
CREATE TABLE profile_counts (
    country   TEXT    NOT NULL, -- '' for profiles without a location
    is_active INTEGER NOT NULL,
    is_public INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (country, is_active, is_public)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER profile_counts_on_insert AFTER INSERT ON profiles
BEGIN
    INSERT INTO profile_counts (country, is_active, is_public, n)
    VALUES (IFNULL(NEW.country, ''), NEW.is_active, NEW.is_public, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER profile_counts_on_delete AFTER DELETE ON profiles
BEGIN
    UPDATE profile_counts SET n = n - 1
     WHERE country = IFNULL(OLD.country, '') AND is_active = OLD.is_active
       AND is_public = OLD.is_public;
END;
CREATE TRIGGER profile_counts_on_update AFTER UPDATE OF country, is_active, is_public ON profiles
    WHEN OLD.country IS NOT NEW.country OR OLD.is_active IS NOT NEW.is_active
      OR OLD.is_public IS NOT NEW.is_public
BEGIN
    UPDATE profile_counts SET n = n - 1
     WHERE country = IFNULL(OLD.country, '') AND is_active = OLD.is_active
       AND is_public = OLD.is_public;
    INSERT INTO profile_counts (country, is_active, is_public, n)
    VALUES (IFNULL(NEW.country, ''), NEW.is_active, NEW.is_public, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- Contacts and jobs are clustered by their profile (the primary key leads
-- with it): a profile's children are one contiguous range, read without a
-- lookup per row. The id stays unique on its own.
CREATE TABLE contacts (
    id             BLOB    NOT NULL CHECK (length(id) = 16),
    profile_id     BLOB    NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL,
    value          TEXT    NOT NULL,
    is_primary     INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
    is_active      INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deactivated_at INTEGER,
    PRIMARY KEY (profile_id, id)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX contacts_id ON contacts (id);
-- At most one active primary contact per profile and kind.
CREATE UNIQUE INDEX contacts_one_primary_per_kind ON contacts (profile_id, kind)
    WHERE is_primary = 1 AND is_active = 1;

CREATE TABLE jobs (
    id             BLOB    NOT NULL CHECK (length(id) = 16),
    profile_id     BLOB    NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    title          TEXT    NOT NULL,
    company        TEXT    NOT NULL COLLATE NOCASE,
    industry       TEXT COLLATE NOCASE,
    start_date     TEXT,
    end_date       TEXT,
    is_active      INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deactivated_at INTEGER,
    PRIMARY KEY (profile_id, id)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX jobs_id ON jobs (id);
-- Profile search by company or industry (EXISTS over active jobs).
CREATE INDEX jobs_company ON jobs (company, profile_id) WHERE is_active = 1;
CREATE INDEX jobs_industry ON jobs (industry, profile_id) WHERE is_active = 1;

CREATE TABLE sessions (
    id           BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    user_id      BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_user ON sessions (user_id, created_at DESC, id DESC);

CREATE TABLE refresh_tokens (
    hash       BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    session_id BLOB    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- No foreign keys: the audit trail outlives a purged user.
CREATE TABLE security_events (
    id          BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    kind        TEXT    NOT NULL,
    user_id     BLOB,
    actor_id    BLOB,
    session_id  BLOB,
    occurred_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX security_events_occurred ON security_events (occurred_at DESC, id DESC);
CREATE INDEX security_events_user ON security_events (user_id, occurred_at DESC, id DESC);
CREATE INDEX security_events_kind ON security_events (kind, occurred_at DESC, id DESC);

CREATE TABLE settings (
    key   TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
