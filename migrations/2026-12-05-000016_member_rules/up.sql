-- Issue #12, the member-model rules org admins expect: the admin override sets the role (up or
-- down), every path that could lose a tenant's last org admin is refused, the role's source is
-- visible, and a tenant setting says whether new members are invited.

-- 1. The effective role: the admin override when it names a catalog role, otherwise the
--    highest-ranked role any other source gives (SCIM roles, group bindings, the base role).
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

-- 2. Where a member's effective role comes from, for the admin API's member view: `override`,
--    `scim` (SCIM roles), `group:<displayName>` (a binding on one of its groups), `import` (the
--    import's role column) or `default` (the tenant default); NULL when it has no role.
CREATE FUNCTION roster_role_source(p_tenant uuid, p_member uuid)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    u users%ROWTYPE;
    via text;
BEGIN
    SELECT * INTO u FROM users x WHERE x.tenant_id = p_tenant AND x.id = p_member;
    IF NOT FOUND OR u.effective_role IS NULL THEN
        RETURN NULL;
    END IF;
    IF u.role_override IS NOT NULL AND u.role_override = u.effective_role THEN
        RETURN 'override';
    END IF;
    IF u.effective_role = ANY (u.scim_roles) THEN
        RETURN 'scim';
    END IF;
    SELECT g.display_name INTO via
    FROM roster_member_groups(p_tenant, p_member) mg
    JOIN group_role_bindings b ON b.tenant_id = p_tenant AND b.group_id = mg.group_id
    JOIN groups g ON g.tenant_id = p_tenant AND g.id = mg.group_id
    WHERE b.role_name = u.effective_role
    ORDER BY g.display_name, g.id
    LIMIT 1;
    IF FOUND THEN
        RETURN 'group:' || via;
    END IF;
    IF u.base_role = u.effective_role THEN
        RETURN CASE WHEN u.origin = 'import' THEN 'import' ELSE 'default' END;
    END IF;
    RETURN NULL;
END
$$;

-- 3. The last org admin on every path. `roster_guard_last_admin` (migration 000014) refuses a
--    suspension or removal before it is written; these constraint triggers refuse, at commit,
--    any other change that leaves a tenant which had a live admin without one: an override, SCIM
--    `roles`, a binding or membership removed, a re-ranked catalog, an import. They run only
--    when a live member's role or status changed (the trigger's WHEN), answer from the row for
--    members that were not admins (one catalog probe), and only for a former admin take the
--    tenant's admin lock (class "RSAD", as the guard) and probe the live-role index for any
--    admin, so concurrent demotions of the last two admins serialise and the second one fails.
--    Deferred to commit, a transaction may demote one admin and promote another in any order.

-- Whether the tenant has a live member holding an admin role (index probes, stops at the first).
CREATE FUNCTION roster_tenant_has_admin(p_tenant uuid)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM roles r
        JOIN users u ON u.tenant_id = r.tenant_id AND u.effective_role = r.name
                    AND u.status NOT IN ('removed', 'suspended')
        WHERE r.tenant_id = p_tenant AND r.grants_admin)
$$;

CREATE FUNCTION roster_keep_an_admin() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM roles r
                   WHERE r.tenant_id = OLD.tenant_id AND r.name = OLD.effective_role AND r.grants_admin)
       OR NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = OLD.tenant_id) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(1381187908, hashtext(OLD.tenant_id::text));
    IF roster_tenant_has_admin(OLD.tenant_id) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'member % was the last live org admin of tenant %', OLD.id, OLD.tenant_id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'roster_last_admin';
END
$$;

CREATE CONSTRAINT TRIGGER users_keep_an_admin AFTER UPDATE OF effective_role, status ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.status NOT IN ('removed', 'suspended') AND OLD.effective_role IS NOT NULL
          AND (OLD.effective_role IS DISTINCT FROM NEW.effective_role OR OLD.status IS DISTINCT FROM NEW.status))
    EXECUTE FUNCTION roster_keep_an_admin();

-- A role stops granting admin, or an admin role is deleted: refused (immediately, before its
-- holders are recomputed) when live members hold it and no live member holds another admin role.
CREATE FUNCTION roster_keep_an_admin_role() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users u
                   WHERE u.tenant_id = OLD.tenant_id AND u.effective_role = OLD.name
                     AND u.status NOT IN ('removed', 'suspended'))
       OR NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = OLD.tenant_id) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(1381187908, hashtext(OLD.tenant_id::text));
    IF EXISTS (
        SELECT 1 FROM roles r
        JOIN users u ON u.tenant_id = r.tenant_id AND u.effective_role = r.name
                    AND u.status NOT IN ('removed', 'suspended')
        WHERE r.tenant_id = OLD.tenant_id AND r.grants_admin AND r.name <> OLD.name) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'role % is held by the last live org admins of tenant %', OLD.name, OLD.tenant_id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'roster_last_admin';
END
$$;

CREATE TRIGGER roles_keep_an_admin_update AFTER UPDATE OF grants_admin ON roles
    FOR EACH ROW WHEN (OLD.grants_admin AND NOT NEW.grants_admin)
    EXECUTE FUNCTION roster_keep_an_admin_role();
CREATE TRIGGER roles_keep_an_admin_delete AFTER DELETE ON roles
    FOR EACH ROW WHEN (OLD.grants_admin)
    EXECUTE FUNCTION roster_keep_an_admin_role();

-- 4. Whether new members get an invitation (`member.invitation_needed`) at all; an import may
--    also skip them for one run (`--no-invitations`).
ALTER TABLE tenants ADD COLUMN invite_new_members boolean NOT NULL DEFAULT true;

-- The setting is part of the cached tenant profile: it moves `settings_version` (migration 000014).
CREATE OR REPLACE FUNCTION roster_tenant_settings_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.slug, NEW.sso, NEW.position_source, NEW.member_retention_days, NEW.default_role, NEW.invite_new_members)
       IS DISTINCT FROM (OLD.slug, OLD.sso, OLD.position_source, OLD.member_retention_days, OLD.default_role,
                         OLD.invite_new_members) THEN
        NEW.settings_version := OLD.settings_version + 1;
    END IF;
    RETURN NEW;
END
$$;

-- 5. The groups a member manages (DESIGN §2, the seeds' "group admin"): the groups where its
--    direct membership has the group role `manager` (`direct`), and every group below them
--    through the tree or nesting — the manager's scope.
CREATE FUNCTION roster_managed_groups(p_tenant uuid, p_member uuid)
RETURNS TABLE (group_id uuid, display text, direct boolean)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE down (group_id, depth, path) AS (
        SELECT gm.group_id, 0, ARRAY[gm.group_id] FROM group_members gm
        WHERE gm.tenant_id = p_tenant AND gm.member_id = p_member AND gm.group_role = 'manager'
      UNION ALL
        SELECT e.id, down.depth + 1, down.path || e.id
        FROM down CROSS JOIN LATERAL (
            SELECT g.id FROM groups g WHERE g.tenant_id = p_tenant AND g.parent_id = down.group_id
            UNION
            SELECT gm.member_id FROM group_members gm
            WHERE gm.tenant_id = p_tenant AND gm.group_id = down.group_id AND gm.member_type = 'Group'
        ) e
        WHERE NOT e.id = ANY (down.path) AND down.depth < 64
    )
    SELECT d.group_id, g.display_name, min(d.depth) = 0
    FROM down d JOIN groups g ON g.tenant_id = p_tenant AND g.id = d.group_id
    GROUP BY d.group_id, g.display_name
$$;

-- 6. A member's groups as SCIM's read-only `groups`, as in migration 000014, with the group role
--    (`role`) on each direct membership: Roster's User extension shows it as `groupRoles`, in
--    the same statement that reads the groups (one primary-key probe more per direct group).
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
