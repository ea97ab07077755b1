-- Query engine: indexes for the filters IdPs send, and the effective groups of a member.

-- Lower-cased email values, maintained by Roster on every write; the GIN index serves
-- `emails.value eq`, `emails[value eq ...]` and `emails[type eq "work"].value eq ...`.
-- (GIN cannot lead with tenant_id without the btree_gin extension; queries still filter on it.)
ALTER TABLE users ADD COLUMN email_keys text[] NOT NULL DEFAULT '{}';
CREATE INDEX users_email_keys ON users USING gin (email_keys);

-- Prefix search on userName (`userName sw`) regardless of the database collation.
CREATE INDEX users_user_name_prefix ON users (tenant_id, user_name_key text_pattern_ops)
    WHERE status <> 'removed';
CREATE INDEX groups_display_name_prefix ON groups (tenant_id, display_name_key text_pattern_ops);

-- Substring search (`co`, `ew`) through trigrams where the pg_trgm extension can be had.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXECUTE 'CREATE INDEX users_user_name_trgm ON users USING gin (user_name_key gin_trgm_ops)';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%); userName co/ew filters will scan', SQLERRM;
END
$$;

-- The groups a member (user or group) belongs to, directly (depth 1) or through nested groups.
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
