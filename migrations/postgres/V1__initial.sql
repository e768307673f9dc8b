-- The whole schema of the PostgreSQL backend: the tables, keys and indexes
-- of migrations/sqlite/V1__initial.sql in PostgreSQL types.
--
-- Conventions: ids are `uuid` (time-ordered v7, so new rows land at the
-- right edge of the B-trees); times are `timestamptz` (microseconds, like
-- the SQLite backend); dates are `date`; hashes and setting values `bytea`.
-- Names are unqualified: the tables go to the first schema of the
-- connection's `search_path`, so one database can hold several isolated
-- schemas (the tests give each test its own).
--
-- Case-insensitive matching (usernames, city, company, industry) is done
-- on `lower(...)`, and the indexes below are on the same expressions.

CREATE TABLE users (
    id                 uuid        NOT NULL PRIMARY KEY,
    username           text        NOT NULL,
    email              text        NOT NULL,
    password_hash      text        NOT NULL,
    is_active          boolean     NOT NULL,
    is_super_admin     boolean     NOT NULL,
    failed_logins      integer     NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until       timestamptz,
    tokens_valid_after timestamptz NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    last_login_at      timestamptz,
    deactivated_at     timestamptz
);

-- Usernames are unique ignoring case (they are ASCII), emails are stored
-- lower-cased. The names of these indexes map unique violations to fields.
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));
CREATE UNIQUE INDEX users_email ON users (email);
-- The user list: newest first, optionally only active or inactive users.
CREATE INDEX users_created ON users (created_at DESC, id DESC);
CREATE INDEX users_active_created ON users (is_active, created_at DESC, id DESC);

CREATE TABLE locations (
    id             uuid        NOT NULL PRIMARY KEY,
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    country        text        NOT NULL CHECK (length(country) = 2),
    state_province text,
    city           text,
    postal_code    text,
    is_active      boolean     NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deactivated_at timestamptz
);

CREATE INDEX locations_user ON locations (user_id, created_at DESC, id DESC);
-- Profile search by country (and city) joins through this index.
CREATE INDEX locations_country_city ON locations (country, lower(city));
CREATE INDEX locations_created ON locations (created_at DESC, id DESC);

CREATE TABLE profiles (
    id                  uuid        NOT NULL PRIMARY KEY,
    user_id             uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    first_name          text        NOT NULL,
    last_name           text        NOT NULL,
    date_of_birth       date,
    gender              text,
    location_id         uuid REFERENCES locations (id) ON DELETE SET NULL,
    bio                 text,
    profile_picture_url text,
    is_public           boolean     NOT NULL,
    allow_contact       boolean     NOT NULL,
    is_active           boolean     NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    deactivated_at      timestamptz
);

-- One active profile per user; also serves "the user's profile" lookups.
CREATE UNIQUE INDEX profiles_one_active_per_user ON profiles (user_id) WHERE is_active;
CREATE INDEX profiles_user ON profiles (user_id, is_active DESC, created_at DESC, id DESC);
-- The profile list: newest first among active (and public) profiles.
CREATE INDEX profiles_listing ON profiles (is_active, is_public, created_at DESC, id DESC);
CREATE INDEX profiles_created ON profiles (created_at DESC, id DESC);
-- Profiles of a location (country / city filters, ON DELETE SET NULL).
CREATE INDEX profiles_location ON profiles (location_id, is_active, is_public);

CREATE TABLE contacts (
    id             uuid        NOT NULL PRIMARY KEY,
    profile_id     uuid        NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    kind           text        NOT NULL,
    value          text        NOT NULL,
    is_primary     boolean     NOT NULL,
    is_active      boolean     NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deactivated_at timestamptz
);

-- At most one active primary contact per profile and kind.
CREATE UNIQUE INDEX contacts_one_primary_per_kind ON contacts (profile_id, kind)
    WHERE is_primary AND is_active;
-- A profile's contacts, primary first then oldest first.
CREATE INDEX contacts_profile ON contacts (profile_id, is_primary DESC, created_at, id);

CREATE TABLE jobs (
    id             uuid        NOT NULL PRIMARY KEY,
    profile_id     uuid        NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    title          text        NOT NULL,
    company        text        NOT NULL,
    industry       text,
    start_date     date,
    end_date       date,
    is_active      boolean     NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deactivated_at timestamptz
);

CREATE INDEX jobs_profile ON jobs (profile_id, is_active);
-- Profile search by company or industry (EXISTS over active jobs).
CREATE INDEX jobs_company ON jobs (lower(company), profile_id) WHERE is_active;
CREATE INDEX jobs_industry ON jobs (lower(industry), profile_id) WHERE is_active;

CREATE TABLE sessions (
    id           uuid        NOT NULL PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);

CREATE INDEX sessions_user ON sessions (user_id, created_at DESC, id DESC);

CREATE TABLE refresh_tokens (
    hash       bytea       NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    session_id uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- No foreign keys: the audit trail outlives a purged user.
CREATE TABLE security_events (
    id          uuid        NOT NULL PRIMARY KEY,
    kind        text        NOT NULL,
    user_id     uuid,
    actor_id    uuid,
    session_id  uuid,
    occurred_at timestamptz NOT NULL
);

CREATE INDEX security_events_occurred ON security_events (occurred_at DESC, id DESC);
CREATE INDEX security_events_user ON security_events (user_id, occurred_at DESC, id DESC);
CREATE INDEX security_events_kind ON security_events (kind, occurred_at DESC, id DESC);

CREATE TABLE settings (
    key   text  NOT NULL PRIMARY KEY,
    value bytea NOT NULL
);
