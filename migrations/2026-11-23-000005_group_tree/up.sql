-- The group tree (DESIGN §2): a group's parent, set through Roster's Group extension. Nesting
-- through SCIM `members` of type Group is the other kind of edge; both make a group the child
-- of another, and cycles of either kind are rejected by Roster before they are written.
ALTER TABLE groups ADD COLUMN parent_id uuid;
ALTER TABLE groups ADD CONSTRAINT groups_parent_fk
    FOREIGN KEY (tenant_id, parent_id) REFERENCES groups (tenant_id, id);
ALTER TABLE groups ADD CONSTRAINT groups_parent_not_self CHECK (parent_id <> id);
CREATE INDEX groups_parent ON groups (tenant_id, parent_id) WHERE parent_id IS NOT NULL;

-- Every group above `p_group` (its parent chain and the groups that nest it), with the distance.
CREATE FUNCTION roster_group_ancestors(p_tenant uuid, p_group uuid)
RETURNS TABLE (group_id uuid, depth int)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up (group_id, depth, path) AS (
        SELECT p_group, 0, ARRAY[p_group]
      UNION ALL
        SELECT e.up_id, up.depth + 1, up.path || e.up_id
        FROM up
        CROSS JOIN LATERAL (
            SELECT g.parent_id AS up_id FROM groups g
            WHERE g.tenant_id = p_tenant AND g.id = up.group_id AND g.parent_id IS NOT NULL
            UNION
            SELECT gm.group_id FROM group_members gm
            WHERE gm.tenant_id = p_tenant AND gm.member_id = up.group_id
        ) e
        WHERE NOT e.up_id = ANY (up.path) AND up.depth < 64
    )
    SELECT group_id, min(depth) FROM up WHERE depth > 0 GROUP BY group_id
$$;

-- The groups a member (user or group) belongs to: directly (depth 1), or through the tree.
-- PL/pgSQL rather than SQL: its query plan is cached per connection instead of being planned
-- again inside every caller (planning the recursive query cost more than running it).
CREATE OR REPLACE FUNCTION roster_member_groups(p_tenant uuid, p_member uuid)
RETURNS TABLE (group_id uuid, display text, type text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH direct AS (
        SELECT gm.group_id FROM group_members gm WHERE gm.tenant_id = p_tenant AND gm.member_id = p_member
    ),
    reach AS (
        SELECT d.group_id, 1 AS depth FROM direct d
      UNION ALL
        SELECT a.group_id, a.depth + 1 FROM direct d CROSS JOIN LATERAL roster_group_ancestors(p_tenant, d.group_id) a
    )
    -- Aggregate first, then one primary-key lookup per group (a join here planned a hash join
    -- over every group of the tenant, once per member).
    SELECT r.group_id,
           (SELECT g.display_name FROM groups g WHERE g.tenant_id = p_tenant AND g.id = r.group_id),
           CASE WHEN min(r.depth) = 1 THEN 'direct' ELSE 'indirect' END
    FROM reach r
    GROUP BY r.group_id;
END
$$;

-- Everyone a group's assignments reach: its direct user members and those of every descendant.
CREATE FUNCTION roster_group_effective_members(p_tenant uuid, p_group uuid)
RETURNS TABLE (member_id uuid, direct boolean)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE down (group_id, depth, path) AS (
        SELECT p_group, 0, ARRAY[p_group]
      UNION ALL
        SELECT e.down_id, down.depth + 1, down.path || e.down_id
        FROM down
        CROSS JOIN LATERAL (
            SELECT g.id AS down_id FROM groups g WHERE g.tenant_id = p_tenant AND g.parent_id = down.group_id
            UNION
            SELECT gm.member_id FROM group_members gm
            WHERE gm.tenant_id = p_tenant AND gm.group_id = down.group_id AND gm.member_type = 'Group'
        ) e
        WHERE NOT e.down_id = ANY (down.path) AND down.depth < 64
    )
    SELECT gm.member_id, bool_or(d.depth = 0)
    FROM down d
    JOIN group_members gm ON gm.tenant_id = p_tenant AND gm.group_id = d.group_id AND gm.member_type = 'User'
    GROUP BY gm.member_id
$$;
