-- The admin console (issue #11): server-side sign-in sessions and single-use setup links. Neither
-- table holds a secret in clear: a session id and a link token are 256-bit random values of which
-- only the SHA-256 digest is stored, and looked up by that digest.

CREATE TABLE console_sessions (
    id              uuid        PRIMARY KEY,
    -- SHA-256 of the cookie's session id.
    secret_hash     bytea       NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    -- `operator` (every tenant; no `tenant_id`), `tenant_admin` (signed in with an admin token:
    -- that tenant only) or `setup_link` (that tenant, connection pages only).
    kind            text        NOT NULL CHECK (kind IN ('operator', 'tenant_admin', 'setup_link')),
    tenant_id       uuid        REFERENCES tenants (id) ON DELETE CASCADE,
    admin_token_id  uuid,
    setup_link_id   uuid,
    created_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    -- The absolute expiry; the idle expiry is `last_seen_at` plus the configured idle time.
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    CHECK ((kind = 'operator') = (tenant_id IS NULL)),
    CHECK ((kind = 'tenant_admin') = (admin_token_id IS NOT NULL)),
    CHECK ((kind = 'setup_link') = (setup_link_id IS NOT NULL))
);

-- The maintenance sweep removes expired sessions.
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

CREATE TABLE console_setup_links (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    -- SHA-256 of the link's token.
    token_hash  bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    -- Set when the link was used; a link is used once.
    used_at     timestamptz,
    PRIMARY KEY (tenant_id, id)
);
