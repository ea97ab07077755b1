CREATE OR REPLACE FUNCTION roster_recompute_roles(p_tenant uuid, p_members uuid[])
RETURNS TABLE (member_id uuid, old_role text, new_role text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH calc AS (
        SELECT u.id AS mid, u.effective_role AS before, roster_effective_role(p_tenant, u.id) AS after
        FROM users u
        WHERE u.tenant_id = p_tenant AND u.id = ANY (p_members) AND u.status <> 'removed'
    )
    UPDATE users u SET effective_role = calc.after
    FROM calc
    WHERE u.tenant_id = p_tenant AND u.id = calc.mid AND calc.before IS DISTINCT FROM calc.after
    RETURNING u.id, calc.before, calc.after;
END
$$;
