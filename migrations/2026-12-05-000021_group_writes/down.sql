DROP FUNCTION roster_group_changed(uuid, uuid, boolean, uuid[], text[], jsonb[], timestamptz);
DROP INDEX group_members_nested;
