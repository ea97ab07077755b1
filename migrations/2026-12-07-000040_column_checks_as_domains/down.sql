-- Back to table constraints (migrations 000003, 000007, 000015, 000019 and the member counts').
ALTER TABLE event_outbox ALTER COLUMN kind TYPE text;
ALTER TABLE event_outbox ADD CONSTRAINT event_outbox_kind_check CHECK (kind IN (
    'member.created', 'member.updated', 'member.suspended', 'member.reactivated', 'member.removed',
    'group.created', 'group.updated', 'group.deleted', 'membership.added', 'membership.removed',
    'role.changed', 'member.invitation_needed', 'import.completed', 'access_request.created',
    'access_request.approved', 'access_request.denied', 'webhook.test'));
DROP DOMAIN roster_event_kind;

ALTER TABLE users
    ALTER COLUMN origin TYPE text, ALTER COLUMN comment TYPE text, ALTER COLUMN version TYPE bigint,
    ADD CONSTRAINT users_origin_check CHECK (origin IN ('scim', 'import', 'admin', 'registration')),
    ADD CONSTRAINT users_comment_check CHECK (length(comment) <= 2000),
    ADD CONSTRAINT users_version_check CHECK (version > 0);
DROP DOMAIN roster_member_origin;
DROP DOMAIN roster_member_comment;
DROP DOMAIN roster_row_version;

ALTER TABLE provisioning_log
    ALTER COLUMN request_id TYPE text, ALTER COLUMN method TYPE text, ALTER COLUMN resource_type TYPE text,
    ALTER COLUMN operation TYPE text, ALTER COLUMN detail TYPE text, ALTER COLUMN latency_ms TYPE double precision,
    ALTER COLUMN source TYPE text,
    ADD CONSTRAINT provisioning_log_request_id_check CHECK (length(request_id) <= 64),
    ADD CONSTRAINT provisioning_log_method_check CHECK (length(method) <= 16),
    ADD CONSTRAINT provisioning_log_resource_type_check CHECK (resource_type IN ('User', 'Group')),
    ADD CONSTRAINT provisioning_log_operation_check CHECK (length(operation) <= 400),
    ADD CONSTRAINT provisioning_log_detail_check CHECK (length(detail) <= 2000),
    ADD CONSTRAINT provisioning_log_latency_ms_check CHECK (latency_ms >= 0),
    ADD CONSTRAINT provisioning_log_source_check CHECK (source IN ('scim', 'import', 'join'));
DROP DOMAIN roster_log_request_id;
DROP DOMAIN roster_log_method;
DROP DOMAIN roster_log_resource_type;
DROP DOMAIN roster_log_operation;
DROP DOMAIN roster_log_detail;
DROP DOMAIN roster_log_latency_ms;
DROP DOMAIN roster_log_source;

ALTER TABLE tenant_member_counts ALTER COLUMN slot TYPE smallint,
    ADD CONSTRAINT tenant_member_counts_slot_check CHECK (slot BETWEEN 0 AND 63);
DROP DOMAIN roster_count_slot;
