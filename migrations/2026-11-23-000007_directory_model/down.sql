ALTER TABLE event_outbox DROP CONSTRAINT event_outbox_kind_check;
DELETE FROM event_outbox WHERE kind IN ('role.changed', 'member.invitation_needed', 'import.completed');
ALTER TABLE event_outbox ADD CONSTRAINT event_outbox_kind_check CHECK (kind IN (
    'member.created', 'member.updated', 'member.suspended', 'member.reactivated',
    'member.removed', 'group.created', 'group.updated', 'group.deleted',
    'membership.added', 'membership.removed'));
DROP TABLE admin_tokens;
DROP INDEX users_personal_id;
ALTER TABLE users DROP COLUMN comment, DROP COLUMN personal_id, DROP COLUMN origin;
DROP INDEX users_never_logged_in;
DROP INDEX users_never_invited;
ALTER TABLE users DROP COLUMN last_login_at, DROP COLUMN joined_at, DROP COLUMN last_invited_at,
    DROP COLUMN invitation_count;
DROP TABLE categories;
ALTER TABLE users DROP COLUMN position_id;
DROP TABLE positions;
DROP FUNCTION roster_recompute_roles(uuid, uuid[]);
DROP FUNCTION roster_effective_role(uuid, uuid);
ALTER TABLE group_members DROP COLUMN group_role;
DROP INDEX users_effective_role;
ALTER TABLE users DROP COLUMN effective_role, DROP COLUMN role_override, DROP COLUMN scim_roles,
    DROP COLUMN base_role;
DROP TABLE group_role_bindings;
ALTER TABLE tenants DROP CONSTRAINT tenants_default_role_fk;
ALTER TABLE tenants DROP COLUMN position_source, DROP COLUMN sso, DROP COLUMN default_role;
DROP TABLE roles;
