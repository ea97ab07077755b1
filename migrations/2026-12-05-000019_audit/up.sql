-- The audit trail of the admin API and the console (issue #11): one row per write, who did it,
-- what, when, and how it ended. Nothing a client sent in a body is kept, only ids and a short
-- summary, so no secret can land here.
CREATE TABLE audit_log (
    -- NULL: an operator action on no tenant (creating a tenant, a request refused before any
    -- tenant was known).
    tenant_id   uuid        REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL PRIMARY KEY,
    at          timestamptz NOT NULL,
    -- operator: ROSTER_ADMIN_TOKEN; admin_token: a tenant admin token (actor_id = its id);
    -- console_session / setup_link: the console (actor_id = the session or link id);
    -- anonymous: no valid credential was presented.
    actor_kind  text        NOT NULL CHECK (actor_kind IN
                    ('operator', 'admin_token', 'console_session', 'setup_link', 'anonymous')),
    actor_id    uuid,
    method      text        NOT NULL CHECK (length(method) BETWEEN 1 AND 16),
    -- The route template (`/admin/v1/tenants/{tenant}/groups/{group}`), never the raw URL.
    route       text        NOT NULL CHECK (length(route) BETWEEN 1 AND 300),
    -- The ids the write was about: path parameters and a created resource's id.
    targets     jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(targets) = 'object'),
    summary     text        NOT NULL CHECK (length(summary) <= 500),
    status      integer     NOT NULL CHECK (status BETWEEN 100 AND 599),
    CHECK ((actor_kind IN ('operator', 'anonymous')) = (actor_id IS NULL))
);

-- A tenant's trail, newest first (the tenant listing and its keyset paging).
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, at DESC, id DESC);
-- The operator-wide listing, newest first.
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);

-- `webhook.test`: the event `POST .../webhooks/{id}/test` sends to one receiver.
ALTER TABLE event_outbox DROP CONSTRAINT event_outbox_kind_check;
ALTER TABLE event_outbox ADD CONSTRAINT event_outbox_kind_check CHECK (kind IN (
    'member.created', 'member.updated', 'member.suspended', 'member.reactivated',
    'member.removed', 'group.created', 'group.updated', 'group.deleted',
    'membership.added', 'membership.removed', 'role.changed', 'member.invitation_needed',
    'import.completed', 'access_request.created', 'access_request.approved', 'access_request.denied',
    'webhook.test'));

-- A receiver's rejected deliveries (the admin API's delivery state counts and lists them).
CREATE INDEX event_deliveries_rejected ON event_deliveries (tenant_id, webhook_id, event_id) WHERE rejected;
