DROP FUNCTION roster_group_members_patch(uuid, uuid, boolean, uuid[], text[], text, jsonb[], jsonb[], jsonb, timestamptz);
DROP FUNCTION roster_members_written_logged(uuid, jsonb, timestamptz, boolean, boolean, uuid[], text[], jsonb[], jsonb);
DROP FUNCTION roster_member_kinds(uuid, uuid[], text[]);
DROP FUNCTION roster_events_logged(uuid, uuid[], text[], jsonb[], timestamptz, jsonb);
DROP FUNCTION roster_log_row(jsonb);
ALTER FUNCTION roster_guard_last_admin(uuid, uuid[]) RESET plan_cache_mode;
CREATE OR REPLACE FUNCTION roster_guard_last_admin(p_tenant uuid, p_members uuid[])
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM users u WHERE u.tenant_id = p_tenant AND u.id = ANY (p_members) ORDER BY u.id FOR UPDATE;
    IF NOT EXISTS (
        SELECT 1 FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.name = u.effective_role
        WHERE u.tenant_id = p_tenant AND u.id = ANY (p_members) AND r.grants_admin
          AND u.status NOT IN ('removed', 'suspended')) THEN
        RETURN true;
    END IF;
    PERFORM pg_advisory_xact_lock(1381187908, hashtext(p_tenant::text));
    RETURN EXISTS (
        SELECT 1 FROM roles r
        JOIN users u ON u.tenant_id = r.tenant_id AND u.effective_role = r.name
                    AND u.status NOT IN ('removed', 'suspended')
        WHERE r.tenant_id = p_tenant AND r.grants_admin AND NOT (u.id = ANY (p_members)));
END
$$;
