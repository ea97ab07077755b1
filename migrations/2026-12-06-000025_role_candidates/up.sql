-- A member's effective role (same rule as migration 000016: the admin override when it names a
-- catalog role, otherwise the highest-ranked catalog role that the base role, the SCIM roles or a
-- binding on one of the member's groups gives), read with less work on every member write:
--   - the member's row is read once, not three times;
--   - the walk of the member's groups (`roster_member_groups`, up the tree) runs only when the
--     tenant has a group role binding at all (a one-time check PostgreSQL evaluates before the
--     walk, not per row). IdP-pushed tenants usually have none, and a member of a large group paid
--     the walk on every write for nothing.
CREATE OR REPLACE FUNCTION roster_effective_role(p_tenant uuid, p_member uuid)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_override text;
    v_base text;
    v_scim text[];
    result text;
BEGIN
    SELECT u.role_override, u.base_role, u.scim_roles INTO v_override, v_base, v_scim
    FROM users u
    WHERE u.tenant_id = p_tenant AND u.id = p_member;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_override IS NOT NULL THEN
        SELECT r.name INTO result FROM roles r WHERE r.tenant_id = p_tenant AND r.name = v_override;
        IF FOUND THEN
            RETURN result;
        END IF;
    END IF;
    WITH candidates AS (
        SELECT v_base AS name
        UNION
        SELECT unnest(v_scim)
        UNION
        SELECT b.role_name
        FROM roster_member_groups(p_tenant, p_member) mg
        JOIN group_role_bindings b ON b.tenant_id = p_tenant AND b.group_id = mg.group_id
        WHERE EXISTS (SELECT 1 FROM group_role_bindings x WHERE x.tenant_id = p_tenant)
    )
    SELECT r.name INTO result
    FROM candidates c
    JOIN roles r ON r.tenant_id = p_tenant AND r.name = c.name
    ORDER BY r.rank DESC
    LIMIT 1;
    RETURN result;
END
$$;
