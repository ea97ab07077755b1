-- The function as migration 000016 left it.
CREATE OR REPLACE FUNCTION roster_member_groups_json(p_tenant uuid, p_member uuid, p_want boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    direct uuid[];
BEGIN
    IF NOT p_want THEN
        RETURN NULL;
    END IF;
    direct := ARRAY(SELECT gm.group_id FROM group_members gm WHERE gm.tenant_id = p_tenant AND gm.member_id = p_member);
    IF cardinality(direct) = 0 THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM groups g WHERE g.tenant_id = p_tenant AND g.id = ANY (direct) AND g.parent_id IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM group_members gm WHERE gm.tenant_id = p_tenant AND gm.member_id = ANY (direct)) THEN
        RETURN (SELECT jsonb_agg(jsonb_build_object('value', g.id, 'display', g.display_name, 'type', 'direct',
                                                    'role', gm.group_role)
                                 ORDER BY g.display_name, g.id)
                FROM groups g
                JOIN group_members gm ON gm.tenant_id = p_tenant AND gm.group_id = g.id AND gm.member_id = p_member
                WHERE g.tenant_id = p_tenant AND g.id = ANY (direct));
    END IF;
    RETURN (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('value', g.group_id, 'display', g.display,
                                                                  'type', g.type, 'role', gm.group_role))
                             ORDER BY g.display, g.group_id)
            FROM roster_member_groups(p_tenant, p_member) g
            LEFT JOIN group_members gm ON gm.tenant_id = p_tenant AND gm.group_id = g.group_id
                                      AND gm.member_id = p_member);
END
$$;
