DROP FUNCTION roster_group_members_patch(uuid, uuid, boolean, uuid[], text[], text, jsonb[], jsonb[], jsonb, timestamptz);
