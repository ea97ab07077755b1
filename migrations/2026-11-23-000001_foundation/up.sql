-- Roster foundation: tenants, connections, connection tokens, users (members), groups, memberships.
-- Every primary key and index starts with tenant_id so the schema can be distributed by tenant.

CREATE TABLE tenants (
    id          uuid        PRIMARY KEY,
    slug        text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- An IdP connector of a tenant; owns a SCIM base URL and tokens. externalId values are scoped to it.
CREATE TABLE connections (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    quirk_mode  text        NOT NULL DEFAULT 'tolerant' CHECK (quirk_mode IN ('tolerant', 'strict')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- Connection tokens: only the token id (the JWT's jti) is stored, never the token itself.
CREATE TABLE connection_tokens (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    connection_id uuid        NOT NULL,
    label         text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX connection_tokens_connection ON connection_tokens (tenant_id, connection_id);

-- Members (SCIM Users). Core identity fields are typed columns; the whole resource is in `resource`.
CREATE TABLE users (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             uuid        NOT NULL,
    connection_id  uuid,
    user_name      text        NOT NULL,
    -- Unicode-folded userName, computed by Roster; uniqueness is case-insensitive through it.
    user_name_key  text        NOT NULL,
    external_id    text,
    display_name   text,
    given_name     text,
    family_name    text,
    email          text,
    title          text,
    active         boolean     NOT NULL DEFAULT true,
    status         text        NOT NULL DEFAULT 'provisioned'
                   CHECK (status IN ('provisioned', 'invited', 'active', 'suspended', 'removed')),
    password_hash  text,
    resource       jsonb       NOT NULL,
    version        bigint      NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at     timestamptz NOT NULL,
    last_modified  timestamptz NOT NULL,
    removed_at     timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id),
    CHECK ((status = 'removed') = (removed_at IS NOT NULL))
);
CREATE UNIQUE INDEX users_user_name_key ON users (tenant_id, user_name_key) WHERE status <> 'removed';
CREATE INDEX users_external_id ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;

-- SCIM Groups. Members live in group_members, never inside `resource`.
CREATE TABLE groups (
    tenant_id         uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                uuid        NOT NULL,
    connection_id     uuid,
    display_name      text        NOT NULL,
    display_name_key  text        NOT NULL,
    external_id       text,
    resource          jsonb       NOT NULL,
    version           bigint      NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at        timestamptz NOT NULL,
    last_modified     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id)
);
CREATE UNIQUE INDEX groups_display_name_key ON groups (tenant_id, display_name_key);
CREATE INDEX groups_external_id ON groups (tenant_id, external_id) WHERE external_id IS NOT NULL;

-- Direct memberships: a user or a group (nesting) in a group.
CREATE TABLE group_members (
    tenant_id    uuid        NOT NULL,
    group_id     uuid        NOT NULL,
    member_id    uuid        NOT NULL,
    member_type  text        NOT NULL CHECK (member_type IN ('User', 'Group')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, group_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    CHECK (group_id <> member_id)
);
CREATE INDEX group_members_member ON group_members (tenant_id, member_id);
