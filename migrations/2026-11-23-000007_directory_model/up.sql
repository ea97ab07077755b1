-- The directory model of DESIGN §2 beyond lifecycle and tree: roles (catalog, bindings, sources,
-- the materialised effective role), positions, categories, invitation state, import identity,
-- tenant-scoped admin tokens, and the event kinds these add.

-- A tenant's role catalog. A higher rank wins; `grants_admin` marks the role(s) whose holders are
-- the tenant's administrators (the last one cannot be suspended or removed through SCIM).
CREATE TABLE roles (
    tenant_id     uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- The role's value, as SCIM `roles[].value` and the admin API name it; matched caselessly.
    name          text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    name_key      text        NOT NULL,
    display_name  text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    rank          integer     NOT NULL CHECK (rank BETWEEN 0 AND 1000000),
    grants_admin  boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, name),
    UNIQUE (tenant_id, name_key),
    UNIQUE (tenant_id, rank)
);

-- Tenant settings of the model: the role new members get, whether sign-in is SSO (no invitations),
-- and the attribute positions are fed from (a SCIM attribute path; `title` by default).
ALTER TABLE tenants ADD COLUMN default_role text NOT NULL DEFAULT 'member';
ALTER TABLE tenants ADD COLUMN sso boolean NOT NULL DEFAULT false;
ALTER TABLE tenants ADD COLUMN position_source text NOT NULL DEFAULT 'title'
    CHECK (length(position_source) BETWEEN 1 AND 300);

-- Every existing tenant gets the default catalog.
INSERT INTO roles (tenant_id, name, name_key, display_name, rank, grants_admin, created_at)
SELECT t.id, r.name, r.name, r.display_name, r.rank, r.grants_admin, now()
FROM tenants t
CROSS JOIN (VALUES ('org_admin', 'Organization admin', 400, true),
                   ('chief_editor', 'Chief editor', 300, false),
                   ('editor', 'Editor', 200, false),
                   ('member', 'Member', 100, false)) AS r (name, display_name, rank, grants_admin);

ALTER TABLE tenants ADD CONSTRAINT tenants_default_role_fk FOREIGN KEY (id, default_role)
    REFERENCES roles (tenant_id, name) ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED;

-- "Members of group X get role R", for direct and inherited members of X.
CREATE TABLE group_role_bindings (
    tenant_id   uuid        NOT NULL,
    group_id    uuid        NOT NULL,
    role_name   text        NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, group_id, role_name),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_name) REFERENCES roles (tenant_id, name) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX group_role_bindings_role ON group_role_bindings (tenant_id, role_name);

-- Role sources on the member, and the effective role Roster keeps materialised from them:
--   base_role      the tenant default at creation, or the CSV `role` column;
--   scim_roles     catalog names matched from SCIM `roles` values (Entra app roles);
--   role_override  set by an admin through the admin API;
--   bindings       through roster_member_groups (direct and inherited groups).
ALTER TABLE users ADD COLUMN base_role text;
ALTER TABLE users ADD COLUMN scim_roles text[] NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN role_override text;
ALTER TABLE users ADD COLUMN effective_role text;
UPDATE users SET base_role = 'member', effective_role = 'member';
ALTER TABLE users ADD CONSTRAINT users_base_role_fk FOREIGN KEY (tenant_id, base_role)
    REFERENCES roles (tenant_id, name) ON UPDATE CASCADE ON DELETE SET NULL (base_role);
ALTER TABLE users ADD CONSTRAINT users_role_override_fk FOREIGN KEY (tenant_id, role_override)
    REFERENCES roles (tenant_id, name) ON UPDATE CASCADE ON DELETE SET NULL (role_override);
CREATE INDEX users_effective_role ON users (tenant_id, effective_role) WHERE status <> 'removed';

-- A group role per membership.
ALTER TABLE group_members ADD COLUMN group_role text NOT NULL DEFAULT 'member'
    CHECK (group_role IN ('member', 'manager'));

-- The highest-ranked role any source gives a member (NULL when none names a catalog role).
CREATE FUNCTION roster_effective_role(p_tenant uuid, p_member uuid)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    result text;
BEGIN
    WITH candidates AS (
        SELECT u.base_role AS name FROM users u WHERE u.tenant_id = p_tenant AND u.id = p_member
        UNION
        SELECT u.role_override FROM users u WHERE u.tenant_id = p_tenant AND u.id = p_member
        UNION
        SELECT unnest(u.scim_roles) FROM users u WHERE u.tenant_id = p_tenant AND u.id = p_member
        UNION
        SELECT b.role_name
        FROM roster_member_groups(p_tenant, p_member) mg
        JOIN group_role_bindings b ON b.tenant_id = p_tenant AND b.group_id = mg.group_id
    )
    SELECT r.name INTO result
    FROM candidates c
    JOIN roles r ON r.tenant_id = p_tenant AND r.name = c.name
    ORDER BY r.rank DESC
    LIMIT 1;
    RETURN result;
END
$$;

-- Recompute and store the effective role of some members; returns the ones that changed, so the
-- caller can write `role.changed` events in the same transaction.
CREATE FUNCTION roster_recompute_roles(p_tenant uuid, p_members uuid[])
RETURNS TABLE (member_id uuid, old_role text, new_role text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH calc AS (
        SELECT u.id AS mid, u.effective_role AS before, roster_effective_role(p_tenant, u.id) AS after
        FROM users u
        WHERE u.tenant_id = p_tenant AND u.id = ANY (p_members) AND u.status <> 'removed'
    )
    UPDATE users u SET effective_role = calc.after
    FROM calc
    WHERE u.tenant_id = p_tenant AND u.id = calc.mid AND calc.before IS DISTINCT FROM calc.after
    RETURNING u.id, calc.before, calc.after;
END
$$;

-- Positions: a per-tenant catalog fed from the tenant's position source attribute.
CREATE TABLE positions (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    name_key    text        NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name_key)
);
ALTER TABLE users ADD COLUMN position_id uuid;
ALTER TABLE users ADD CONSTRAINT users_position_fk FOREIGN KEY (tenant_id, position_id)
    REFERENCES positions (tenant_id, id) ON DELETE SET NULL (position_id);
CREATE INDEX users_position ON users (tenant_id, position_id) WHERE position_id IS NOT NULL;

-- Categories: tenant-defined attributes of Roster's user extension. Values live in the member's
-- `resource` under urn:ietf:params:scim:schemas:extension:roster:2.0:User, like any attribute.
CREATE TABLE categories (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid        NOT NULL,
    -- The SCIM attribute name (ATTRNAME of RFC 7643 §2.1) and its caseless key.
    name            text        NOT NULL CHECK (name ~ '^[A-Za-z][A-Za-z0-9_-]{0,62}$'),
    name_key        text        NOT NULL,
    display_name    text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    kind            text        NOT NULL CHECK (kind IN ('text', 'dropdown', 'number', 'date', 'boolean')),
    -- Dropdown values, in order.
    allowed_values  text[]      NOT NULL DEFAULT '{}',
    -- Optional mapping: a SCIM attribute path whose value feeds this category on every write
    -- (e.g. urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department).
    source          text        CHECK (length(source) <= 300),
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name_key),
    CHECK (kind = 'dropdown' OR allowed_values = '{}')
);

-- Invitation state (set by the application that sends the messages, through the admin API).
ALTER TABLE users ADD COLUMN invitation_count integer NOT NULL DEFAULT 0 CHECK (invitation_count >= 0);
ALTER TABLE users ADD COLUMN last_invited_at timestamptz;
ALTER TABLE users ADD COLUMN joined_at timestamptz;
ALTER TABLE users ADD COLUMN last_login_at timestamptz;
CREATE INDEX users_never_invited ON users (tenant_id, id) WHERE invitation_count = 0 AND status <> 'removed';
CREATE INDEX users_never_logged_in ON users (tenant_id, id) WHERE last_login_at IS NULL AND status <> 'removed';

-- Where a member came from: a SCIM connection, a CSV/XLSX import, or the admin API. Imports never
-- touch SCIM-provisioned members; `personal_id` is the import identity key, `comment` its tags.
ALTER TABLE users ADD COLUMN origin text NOT NULL DEFAULT 'scim' CHECK (origin IN ('scim', 'import', 'admin'));
ALTER TABLE users ADD COLUMN personal_id text CHECK (length(personal_id) <= 200);
ALTER TABLE users ADD COLUMN comment text CHECK (length(comment) <= 2000);
CREATE UNIQUE INDEX users_personal_id ON users (tenant_id, personal_id)
    WHERE personal_id IS NOT NULL AND status <> 'removed';

-- Tenant-scoped admin API tokens: as for connection tokens, only the JWT id is stored.
CREATE TABLE admin_tokens (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    label       text        NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    revoked_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);

-- The event kinds of roles, invitations and imports.
ALTER TABLE event_outbox DROP CONSTRAINT event_outbox_kind_check;
ALTER TABLE event_outbox ADD CONSTRAINT event_outbox_kind_check CHECK (kind IN (
    'member.created', 'member.updated', 'member.suspended', 'member.reactivated',
    'member.removed', 'group.created', 'group.updated', 'group.deleted',
    'membership.added', 'membership.removed', 'role.changed', 'member.invitation_needed',
    'import.completed'));
