-- V5: organizations, their members with a role, and invitations by email.

CREATE TABLE organizations (
    id             BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    name           TEXT    NOT NULL,
    slug           TEXT    NOT NULL,
    description    TEXT,
    is_active      INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    created_by     BLOB    REFERENCES users (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deactivated_at INTEGER
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX organizations_slug ON organizations (slug);
CREATE INDEX organizations_created_by ON organizations (created_by);

-- One membership per user and organization; erasing either ends it.
CREATE TABLE memberships (
    organization_id BLOB    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- The member's `users.is_active`, kept by the trigger below: a
    -- deactivated user's membership counts for nothing, and the member
    -- list and its count read one index range.
    user_active     INTEGER NOT NULL CHECK (user_active IN (0, 1)),
    PRIMARY KEY (organization_id, user_id)
) STRICT, WITHOUT ROWID;

-- A user's organizations; the member list in joining order; the owners.
CREATE INDEX memberships_user ON memberships (user_id, created_at);
CREATE INDEX memberships_joined ON memberships (organization_id, user_active, created_at, user_id);
CREATE INDEX memberships_role ON memberships (organization_id, role, user_active);

CREATE TRIGGER memberships_follow_user_activity AFTER UPDATE OF is_active ON users
WHEN NEW.is_active <> OLD.is_active
BEGIN
    UPDATE memberships SET user_active = NEW.is_active WHERE user_id = NEW.id;
END;

-- Only the SHA-256 of an invitation's token is stored.
CREATE TABLE invitations (
    id              BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    organization_id BLOB    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    invited_by      BLOB    REFERENCES users (id) ON DELETE SET NULL,
    token_hash      BLOB    NOT NULL CHECK (length(token_hash) = 32),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    accepted_at     INTEGER,
    revoked_at      INTEGER
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);
CREATE INDEX invitations_organization ON invitations (organization_id, created_at);
CREATE INDEX invitations_invited_by ON invitations (invited_by);
CREATE INDEX invitations_expires ON invitations (expires_at);
