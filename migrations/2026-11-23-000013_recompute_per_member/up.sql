-- Recompute effective roles member by member (primary-key lookups only). The set-based version
-- joined `users` against the members being recomputed; inside a transaction that had just
-- inserted thousands of members (an import, a large /Bulk) the planner, working from statistics
-- that did not know those rows, chose nested loops over the whole table and ran for minutes.
CREATE OR REPLACE FUNCTION roster_recompute_roles(p_tenant uuid, p_members uuid[])
RETURNS TABLE (member_id uuid, old_role text, new_role text)
LANGUAGE plpgsql AS $$
DECLARE
    m uuid;
    before text;
    after text;
BEGIN
    FOREACH m IN ARRAY p_members LOOP
        SELECT u.effective_role INTO before
        FROM users u
        WHERE u.tenant_id = p_tenant AND u.id = m AND u.status <> 'removed';
        IF NOT FOUND THEN
            CONTINUE;
        END IF;
        after := roster_effective_role(p_tenant, m);
        IF before IS DISTINCT FROM after THEN
            UPDATE users u SET effective_role = after WHERE u.tenant_id = p_tenant AND u.id = m;
            member_id := m;
            old_role := before;
            new_role := after;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
