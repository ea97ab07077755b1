DROP TABLE join_requests;
DROP TABLE join_prestored;
DROP TABLE join_links;
DROP TABLE join_settings;
ALTER TABLE categories DROP COLUMN self_editable;

DELETE FROM event_outbox WHERE kind LIKE 'access_request.%';
ALTER TABLE event_outbox DROP CONSTRAINT event_outbox_kind_check;
ALTER TABLE event_outbox ADD CONSTRAINT event_outbox_kind_check CHECK (kind IN (
    'member.created', 'member.updated', 'member.suspended', 'member.reactivated',
    'member.removed', 'group.created', 'group.updated', 'group.deleted',
    'membership.added', 'membership.removed', 'role.changed', 'member.invitation_needed',
    'import.completed'));

DELETE FROM provisioning_log WHERE source = 'join';
ALTER TABLE provisioning_log DROP CONSTRAINT provisioning_log_source_connection;
ALTER TABLE provisioning_log ADD CONSTRAINT provisioning_log_source_connection
    CHECK (source = 'import' OR connection_id IS NOT NULL);
ALTER TABLE provisioning_log DROP CONSTRAINT provisioning_log_source_check;
ALTER TABLE provisioning_log ADD CONSTRAINT provisioning_log_source_check
    CHECK (source IN ('scim', 'import'));

-- Members who joined through the join API become admin-origin members.
UPDATE users SET origin = 'admin' WHERE origin = 'registration';
ALTER TABLE users DROP CONSTRAINT users_origin_check;
ALTER TABLE users ADD CONSTRAINT users_origin_check CHECK (origin IN ('scim', 'import', 'admin'));
