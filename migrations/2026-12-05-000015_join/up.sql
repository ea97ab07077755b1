-- Members without an IdP (issue #12, DESIGN §2): the four doors of the join API — pre-stored
-- registrations, single-use access links and email invitations, the tenant invitation link with
-- its allowed email domains, and access requests — plus the self-editable flag of categories.
-- Link tokens and request tickets are stored only as SHA-256 digests.

-- Members who joined through the join API.
ALTER TABLE users DROP CONSTRAINT users_origin_check;
ALTER TABLE users ADD CONSTRAINT users_origin_check
    CHECK (origin IN ('scim', 'import', 'admin', 'registration'));

-- Join API writes in the provisioning log (no connection, like an import).
ALTER TABLE provisioning_log DROP CONSTRAINT provisioning_log_source_check;
ALTER TABLE provisioning_log ADD CONSTRAINT provisioning_log_source_check
    CHECK (source IN ('scim', 'import', 'join'));
ALTER TABLE provisioning_log DROP CONSTRAINT provisioning_log_source_connection;
ALTER TABLE provisioning_log ADD CONSTRAINT provisioning_log_source_connection
    CHECK (source <> 'scim' OR connection_id IS NOT NULL);

-- Access request events, so the application can notify admins.
ALTER TABLE event_outbox DROP CONSTRAINT event_outbox_kind_check;
ALTER TABLE event_outbox ADD CONSTRAINT event_outbox_kind_check CHECK (kind IN (
    'member.created', 'member.updated', 'member.suspended', 'member.reactivated',
    'member.removed', 'group.created', 'group.updated', 'group.deleted',
    'membership.added', 'membership.removed', 'role.changed', 'member.invitation_needed',
    'import.completed', 'access_request.created', 'access_request.approved', 'access_request.denied'));

-- Categories a registering member fills in with their own value.
ALTER TABLE categories ADD COLUMN self_editable boolean NOT NULL DEFAULT false;

-- A tenant's join settings: the tenant invitation link (on/off; its token is a `join_links` row of
-- kind 'tenant'), the email domains it admits, and whether anyone may request access.
CREATE TABLE join_settings (
    tenant_id                uuid        PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    invitation_link_enabled  boolean     NOT NULL DEFAULT false,
    -- Lower-case domains, e.g. {example.com}; empty: the invitation link admits nobody.
    allowed_domains          text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(allowed_domains) <= 100),
    requests_enabled         boolean     NOT NULL DEFAULT false,
    updated_at               timestamptz NOT NULL
);

-- Links: single-use access links (for a person or an email), email invitations (single-use, bound
-- to one address) and the tenant invitation link (reusable, at most one live per tenant).
CREATE TABLE join_links (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('access', 'email', 'tenant')),
    -- SHA-256 of the token; the token itself is shown once, at creation.
    token_hash   bytea       NOT NULL CHECK (length(token_hash) = 32),
    -- Who the link is for: a label for a person, or the address an email invitation was sent to.
    person       text        CHECK (length(person) <= 200),
    email        text        CHECK (length(email) <= 320),
    groups       uuid[]      NOT NULL DEFAULT '{}' CHECK (cardinality(groups) <= 100),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    used_at      timestamptz,
    member_id    uuid,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (token_hash),
    CHECK (kind <> 'email' OR email IS NOT NULL),
    CHECK (kind <> 'tenant' OR used_at IS NULL)
);
CREATE UNIQUE INDEX join_links_one_tenant_link ON join_links (tenant_id)
    WHERE kind = 'tenant' AND revoked_at IS NULL;
CREATE INDEX join_links_list ON join_links (tenant_id, kind, created_at DESC, id);

-- Pre-stored registrations: what the admin knows about a person. `*_key` are the matching keys
-- (trimmed, lower-cased); a registration matches only when all three are equal.
CREATE TABLE join_prestored (
    tenant_id          uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 uuid        NOT NULL,
    given_name         text        NOT NULL CHECK (length(given_name) BETWEEN 1 AND 200),
    family_name        text        NOT NULL CHECK (length(family_name) BETWEEN 1 AND 200),
    personal_id        text        NOT NULL CHECK (length(personal_id) BETWEEN 1 AND 200),
    given_name_key     text        NOT NULL,
    family_name_key    text        NOT NULL,
    personal_id_key    text        NOT NULL,
    groups             uuid[]      NOT NULL DEFAULT '{}' CHECK (cardinality(groups) <= 100),
    -- Category values the member gets, {name: value}.
    categories         jsonb       NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL,
    used_at            timestamptz,
    member_id          uuid,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, personal_id_key)
);

-- Access requests: a registration waiting for an admin. The registration itself is kept in
-- `registration` until the decision; `ticket_hash` lets the registrant poll the outcome.
CREATE TABLE join_requests (
    tenant_id     uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid        NOT NULL,
    ticket_hash   bytea       NOT NULL CHECK (length(ticket_hash) = 32),
    email         text        CHECK (length(email) <= 320),
    user_name     text        NOT NULL CHECK (length(user_name) BETWEEN 1 AND 320),
    display_name  text        CHECK (length(display_name) <= 400),
    registration  jsonb       NOT NULL,
    state         text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'denied')),
    reason        text        CHECK (length(reason) <= 2000),
    created_at    timestamptz NOT NULL,
    decided_at    timestamptz,
    member_id     uuid,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (ticket_hash),
    CHECK ((state = 'pending') = (decided_at IS NULL))
);
CREATE INDEX join_requests_list ON join_requests (tenant_id, state, created_at DESC, id);
