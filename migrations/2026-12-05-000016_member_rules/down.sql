-- The groups of migration 000014, without group roles.
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
        RETURN (SELECT jsonb_agg(jsonb_build_object('value', g.id, 'display', g.display_name, 'type', 'direct')
                                 ORDER BY g.display_name, g.id)
                FROM groups g WHERE g.tenant_id = p_tenant AND g.id = ANY (direct));
    END IF;
    RETURN (SELECT jsonb_agg(jsonb_build_object('value', g.group_id, 'display', g.display, 'type', g.type)
                             ORDER BY g.display, g.group_id)
            FROM roster_member_groups(p_tenant, p_member) g);
END
$$;

-- The settings bump of migration 000014, without the column this migration adds.
CREATE OR REPLACE FUNCTION roster_tenant_settings_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.slug, NEW.sso, NEW.position_source, NEW.member_retention_days, NEW.default_role)
       IS DISTINCT FROM (OLD.slug, OLD.sso, OLD.position_source, OLD.member_retention_days, OLD.default_role) THEN
        NEW.settings_version := OLD.settings_version + 1;
    END IF;
    RETURN NEW;
END
$$;
ALTER TABLE tenants DROP COLUMN invite_new_members;

DROP TRIGGER roles_keep_an_admin_delete ON roles;
DROP TRIGGER roles_keep_an_admin_update ON roles;
DROP FUNCTION roster_keep_an_admin_role();
DROP TRIGGER users_keep_an_admin ON users;
DROP FUNCTION roster_keep_an_admin();
DROP FUNCTION roster_tenant_has_admin(uuid);
DROP FUNCTION roster_managed_groups(uuid, uuid);
DROP FUNCTION roster_role_source(uuid, uuid);

-- The definition of migration 000007: the highest-ranked role of every source, override included.
CREATE OR REPLACE FUNCTION roster_effective_role(p_tenant uuid, p_member uuid)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    result text;
BEGIN
    WITH candidates AS (
        SELECT u.base_role AS name FROM users u WHERE u.tenant_id = p_tenant AND u.id = p_member
        UNION
        SELECT u.role_override FROM users u WHERE u.tenant_id = p_tenant AND u.id = p_member
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
