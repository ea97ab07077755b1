-- Back to migration 000014's follow-up, which never writes the row's own columns, and
-- migration 000025's role rule.
CREATE OR REPLACE FUNCTION roster_members_written(p_tenant uuid, p_items jsonb, p_now timestamptz, p_with_groups boolean,
                                       p_write_events boolean, p_subjects uuid[], p_kinds text[],
                                       p_payloads jsonb[])
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    item jsonb;
    m uuid;
    wanted text;
    pos uuid;
    current_role_name text;
    before text;
    after text;
    st text;
    -- Accumulated with array_append on local arrays, which PL/pgSQL extends in place: appending
    -- to a jsonb value would copy it each time (quadratic in a 10,000-member import).
    members jsonb[] := '{}';
    changes jsonb[] := '{}';
    change jsonb;
    subjects uuid[] := coalesce(p_subjects, '{}');
    kinds text[] := coalesce(p_kinds, '{}');
    payloads jsonb[] := coalesce(p_payloads, '{}');
    default_role text := (SELECT t.default_role FROM tenants t WHERE t.id = p_tenant);
BEGIN
    FOR item IN SELECT * FROM jsonb_array_elements(p_items) LOOP
        m := (item ->> 'id')::uuid;
        wanted := roster_position_name(item ->> 'position');
        pos := NULL;
        IF wanted IS NOT NULL THEN
            SELECT p.id INTO pos FROM positions p WHERE p.tenant_id = p_tenant AND p.name_key = lower(wanted);
            IF NOT FOUND THEN
                INSERT INTO positions (tenant_id, id, name, name_key, created_at)
                VALUES (p_tenant, gen_random_uuid(), wanted, lower(wanted), p_now)
                ON CONFLICT (tenant_id, name_key) DO NOTHING
                RETURNING id INTO pos;
                IF pos IS NULL THEN
                    SELECT p.id INTO pos FROM positions p WHERE p.tenant_id = p_tenant AND p.name_key = lower(wanted);
                END IF;
            END IF;
        END IF;
        UPDATE users u SET
            scim_roles = CASE WHEN item -> 'role_keys' IS NULL OR jsonb_typeof(item -> 'role_keys') = 'null'
                              THEN u.scim_roles
                              ELSE ARRAY(SELECT r.name FROM roles r
                                         WHERE r.tenant_id = p_tenant
                                           AND r.name_key IN (SELECT jsonb_array_elements_text(item -> 'role_keys'))
                                         ORDER BY r.rank DESC) END,
            base_role = CASE WHEN (item ->> 'default_base_role')::boolean THEN default_role ELSE u.base_role END,
            position_id = pos
        WHERE u.tenant_id = p_tenant AND u.id = m
        RETURNING u.effective_role, u.status INTO current_role_name, st;
        IF NOT FOUND THEN
            CONTINUE;
        END IF;
        -- The one recomputation rule (migration 000013); it answers only when the role changed.
        SELECT c.old_role, c.new_role INTO before, after FROM roster_recompute_roles(p_tenant, ARRAY[m]) c;
        IF FOUND THEN
            current_role_name := after;
            IF NOT (item ->> 'created')::boolean THEN
                change := jsonb_build_object('member_id', m, 'from', before, 'to', after);
                changes := array_append(changes, change);
                subjects := array_append(subjects, m);
                kinds := array_append(kinds, 'role.changed'::text);
                payloads := array_append(payloads, change);
            END IF;
        END IF;
        members := array_append(members, jsonb_build_object(
            'id', m, 'role', current_role_name, 'status', st,
            'position', (SELECT p.name FROM positions p WHERE p.tenant_id = p_tenant AND p.id = pos),
            'groups', roster_member_groups_json(p_tenant, m, p_with_groups)));
    END LOOP;
    IF p_write_events THEN
        PERFORM roster_events_insert(p_tenant, subjects, kinds, payloads, p_now);
    END IF;
    RETURN jsonb_build_object('members', to_jsonb(members), 'role_changes', to_jsonb(changes));
END
$$;

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

DROP FUNCTION roster_role_from(uuid, uuid, text, text, text[]);
