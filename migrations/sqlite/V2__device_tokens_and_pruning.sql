-- V2: device tokens (a lock that is no weapon) and the indexes pruning uses.

-- One row per device a user logged in from: the SHA-256 of its opaque token
-- and the device's own failed-login counter and lock.
CREATE TABLE device_tokens (
    hash          BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    user_id       BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until  INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX device_tokens_user ON device_tokens (user_id);
CREATE INDEX device_tokens_expires ON device_tokens (expires_at);

-- Accounts::prune deletes by expiry.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
