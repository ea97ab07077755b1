DROP FUNCTION roster_group_effective_members(uuid, uuid);
-- Back to the SQL-language definition of 2026-11-23-000002 (a language change needs DROP).
DROP FUNCTION roster_member_groups(uuid, uuid);
CREATE FUNCTION roster_member_groups(p_tenant uuid, p_member uuid)
RETURNS TABLE (group_id uuid, display text, type text)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up (group_id, depth, path) AS (
        SELECT gm.group_id, 1, ARRAY[gm.group_id]
        FROM group_members gm
        WHERE gm.tenant_id = p_tenant AND gm.member_id = p_member
      UNION ALL
        SELECT gm.group_id, up.depth + 1, up.path || gm.group_id
        FROM up
        JOIN group_members gm ON gm.tenant_id = p_tenant AND gm.member_id = up.group_id
        WHERE NOT gm.group_id = ANY (up.path) AND up.depth < 64
    )
    SELECT g.id, g.display_name, CASE WHEN min(up.depth) = 1 THEN 'direct' ELSE 'indirect' END
    FROM up
    JOIN groups g ON g.tenant_id = p_tenant AND g.id = up.group_id
    GROUP BY g.id, g.display_name
$$;
DROP FUNCTION roster_group_ancestors(uuid, uuid);
DROP INDEX groups_parent;
ALTER TABLE groups DROP CONSTRAINT groups_parent_not_self;
ALTER TABLE groups DROP CONSTRAINT groups_parent_fk;
ALTER TABLE groups DROP COLUMN parent_id;
