DROP INDEX event_deliveries_rejected;
ALTER TABLE event_outbox DROP CONSTRAINT event_outbox_kind_check;
DELETE FROM event_outbox WHERE kind = 'webhook.test';
ALTER TABLE event_outbox ADD CONSTRAINT event_outbox_kind_check CHECK (kind IN (
    'member.created', 'member.updated', 'member.suspended', 'member.reactivated',
    'member.removed', 'group.created', 'group.updated', 'group.deleted',
    'membership.added', 'membership.removed', 'role.changed', 'member.invitation_needed',
    'import.completed', 'access_request.created', 'access_request.approved', 'access_request.denied'));
DROP TABLE audit_log;
