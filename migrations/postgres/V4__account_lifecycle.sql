-- V4: the account lifecycle: verified email addresses and one-time tokens
-- (email verification, password reset, email change).

ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Only the SHA-256 of a token is stored; `target` is the address it was
-- issued for. Rows stay after use (`used_at`) until pruned: the hourly
-- budget of reset requests counts them.
CREATE TABLE one_time_tokens (
    hash       bytea       NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    purpose    text        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target     text,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, purpose, created_at);
CREATE INDEX one_time_tokens_expires ON one_time_tokens (expires_at);

-- Erasure re-points a user's events, as subject and as actor.
CREATE INDEX security_events_actor ON security_events (actor_id);
