-- V5: organizations, their members with a role, and invitations by email.

CREATE TABLE organizations (
    id             uuid        NOT NULL PRIMARY KEY,
    name           text        NOT NULL,
    slug           text        NOT NULL,
    description    text,
    is_active      boolean     NOT NULL,
    created_by     uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deactivated_at timestamptz
);

CREATE UNIQUE INDEX organizations_slug ON organizations (slug);
CREATE INDEX organizations_created_by ON organizations (created_by);

-- One membership per user and organization; erasing either ends it.
CREATE TABLE memberships (
    organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text        NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- The member's `users.is_active`, kept by the trigger below: a
    -- deactivated user's membership counts for nothing, and the member
    -- list and its count read one index range.
    user_active     boolean     NOT NULL,
    CONSTRAINT memberships_pkey PRIMARY KEY (organization_id, user_id)
);

-- A user's organizations; the member list in joining order; the owners.
CREATE INDEX memberships_user ON memberships (user_id, created_at);
CREATE INDEX memberships_joined ON memberships (organization_id, user_active, created_at, user_id);
CREATE INDEX memberships_role ON memberships (organization_id, role, user_active);

CREATE FUNCTION memberships_follow_user_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memberships SET user_active = NEW.is_active WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER memberships_follow_user_activity AFTER UPDATE OF is_active ON users
FOR EACH ROW WHEN (NEW.is_active IS DISTINCT FROM OLD.is_active)
EXECUTE FUNCTION memberships_follow_user_activity();

-- Only the SHA-256 of an invitation's token is stored.
CREATE TABLE invitations (
    id              uuid        NOT NULL PRIMARY KEY,
    organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           text        NOT NULL,
    role            text        NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    invited_by      uuid        REFERENCES users (id) ON DELETE SET NULL,
    token_hash      bytea       NOT NULL CHECK (length(token_hash) = 32),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    revoked_at      timestamptz
);

CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);
CREATE INDEX invitations_organization ON invitations (organization_id, created_at);
CREATE INDEX invitations_invited_by ON invitations (invited_by);
CREATE INDEX invitations_expires ON invitations (expires_at);
