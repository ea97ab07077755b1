-- A member's groups as SCIM's read-only `groups` (same result as migration 000016's version),
-- in one statement instead of three: every GET of a member, every `userName eq` probe and every
-- write's response reads them. The direct memberships are read once; when none of the member's
-- groups has a parent or is itself a member of a group (what IdPs push), they are the answer;
-- otherwise the tree walk answers, as before.
CREATE OR REPLACE FUNCTION roster_member_groups_json(p_tenant uuid, p_member uuid, p_want boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT p_want THEN
        RETURN NULL;
    END IF;
    RETURN (
        WITH direct AS MATERIALIZED (
            SELECT gm.group_id, gm.group_role
            FROM group_members gm
            WHERE gm.tenant_id = p_tenant AND gm.member_id = p_member
        )
        SELECT CASE
            WHEN NOT EXISTS (SELECT 1 FROM direct) THEN NULL
            WHEN NOT EXISTS (SELECT 1 FROM groups g JOIN direct d ON g.id = d.group_id
                             WHERE g.tenant_id = p_tenant AND g.parent_id IS NOT NULL)
             AND NOT EXISTS (SELECT 1 FROM group_members n JOIN direct d ON n.member_id = d.group_id
                             WHERE n.tenant_id = p_tenant)
            THEN (SELECT jsonb_agg(jsonb_build_object('value', g.id, 'display', g.display_name, 'type', 'direct',
                                                      'role', d.group_role)
                                   ORDER BY g.display_name, g.id)
                  FROM direct d JOIN groups g ON g.tenant_id = p_tenant AND g.id = d.group_id)
            ELSE (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('value', t.group_id, 'display', t.display,
                                                                        'type', t.type, 'role', gm.group_role))
                                   ORDER BY t.display, t.group_id)
                  FROM roster_member_groups(p_tenant, p_member) t
                  LEFT JOIN group_members gm ON gm.tenant_id = p_tenant AND gm.group_id = t.group_id
                                            AND gm.member_id = p_member)
        END
    );
END
$$;
