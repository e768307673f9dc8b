-- V6: the second factor: TOTP enrolments, recovery codes, the challenges
-- between a verified password and its second factor, and what a session
-- was authenticated with (so that a refresh keeps it).

-- Authentication methods of the login that started the session (RFC 8176
-- names, space-separated); sessions of earlier versions were password
-- logins.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

-- One TOTP per user: pending until confirmed with a first code. The
-- secret is stored as is (an authenticator app needs it; the library
-- never returns it after enrolment). `last_step` is the newest accepted
-- time step: a code of that step or an earlier one is never accepted
-- again.
CREATE TABLE totp_enrolments (
    user_id      BLOB    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER
) STRICT, WITHOUT ROWID;

-- Only the SHA-256 of a recovery code is stored; each works once.
CREATE TABLE recovery_codes (
    user_id    BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       BLOB    NOT NULL CHECK (length(hash) = 32),
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, hash)
) STRICT, WITHOUT ROWID;

-- A login whose password was right and whose second factor is awaited.
-- Only the SHA-256 of the challenge is stored. `sealed_device_token` is
-- the device token the login presented, if it was valid, encrypted with
-- a key derived from the challenge (which only the client has), so that
-- the second step answers with it as a password login would.
CREATE TABLE second_factor_challenges (
    hash                BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    user_id             BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sealed_device_token BLOB,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    failed_attempts     INTEGER NOT NULL DEFAULT 0,
    used_at             INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX second_factor_challenges_user ON second_factor_challenges (user_id);
CREATE INDEX second_factor_challenges_expires ON second_factor_challenges (expires_at);
