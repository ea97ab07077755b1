-- Events: a transactional outbox written in the same transaction as each directory change, and
-- the webhooks it is delivered to (at least once, in order per subject, HMAC-signed).

-- A tenant's webhook endpoints. The secret is kept as given because signing needs it; Roster
-- never returns or logs it after `roster webhook add` printed it once.
CREATE TABLE webhooks (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    url         text        NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
    secret      text        NOT NULL CHECK (length(secret) BETWEEN 16 AND 200),
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- One row per change. `id` order is commit order per subject: writers take a transaction-level
-- advisory lock on each subject before drawing ids (see db::events).
CREATE TABLE event_outbox (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          bigserial   NOT NULL,
    -- The member or group the event is about (for membership.* the member).
    subject_id  uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN (
                    'member.created', 'member.updated', 'member.suspended', 'member.reactivated',
                    'member.removed', 'group.created', 'group.updated', 'group.deleted',
                    'membership.added', 'membership.removed')),
    -- Ids and the changed facts only, never personal data: the receiver fetches the resource.
    payload     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX event_outbox_subject ON event_outbox (tenant_id, subject_id, id);
-- Retention: the oldest events of a tenant first.
CREATE INDEX event_outbox_created ON event_outbox (tenant_id, created_at);

-- Delivery state of one event to one webhook (fanned out when the event is written, to the
-- tenant's webhooks active at that moment).
CREATE TABLE event_deliveries (
    tenant_id        uuid        NOT NULL,
    webhook_id       uuid        NOT NULL,
    event_id         bigint      NOT NULL,
    subject_id       uuid        NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL,
    delivered_at     timestamptz,
    last_error       text        CHECK (length(last_error) <= 500),
    PRIMARY KEY (tenant_id, webhook_id, event_id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, event_id) REFERENCES event_outbox (tenant_id, id) ON DELETE CASCADE
);

-- What the dispatcher claims: pending deliveries that are due.
CREATE INDEX event_deliveries_due ON event_deliveries (next_attempt_at, event_id)
    WHERE delivered_at IS NULL;
-- Per-subject ordering: is an earlier delivery for the same webhook and subject still pending?
CREATE INDEX event_deliveries_pending_subject ON event_deliveries (tenant_id, webhook_id, subject_id, event_id)
    WHERE delivered_at IS NULL;
-- The event side of the foreign key.
CREATE INDEX event_deliveries_event ON event_deliveries (tenant_id, event_id);
