-- The function as migration 000016 left it.
CREATE OR REPLACE FUNCTION roster_effective_role(p_tenant uuid, p_member uuid)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    result text;
BEGIN
    SELECT r.name INTO result
    FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.name = u.role_override
    WHERE u.tenant_id = p_tenant AND u.id = p_member;
    IF FOUND THEN
        RETURN result;
    END IF;
    WITH candidates AS (
        SELECT u.base_role AS name FROM users u WHERE u.tenant_id = p_tenant AND u.id = p_member
        UNION
        SELECT unnest(u.scim_roles) FROM users u WHERE u.tenant_id = p_tenant AND u.id = p_member
        UNION
        SELECT b.role_name
        FROM roster_member_groups(p_tenant, p_member) mg
        JOIN group_role_bindings b ON b.tenant_id = p_tenant AND b.group_id = mg.group_id
    )
    SELECT r.name INTO result
    FROM candidates c
    JOIN roles r ON r.tenant_id = p_tenant AND r.name = c.name
    ORDER BY r.rank DESC
    LIMIT 1;
    RETURN result;
END
$$;
