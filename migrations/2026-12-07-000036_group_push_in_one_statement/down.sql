-- Back to migration 000028's statement: one add or one removal, no name.
DROP FUNCTION roster_group_members_patch(uuid, uuid, text, uuid[], text, jsonb[], jsonb[], uuid[], text[], text, jsonb[], jsonb, timestamptz);

CREATE FUNCTION roster_group_members_patch(p_tenant uuid, p_group uuid, p_add boolean, p_members uuid[],
                                           p_types text[], p_kind text, p_user_payloads jsonb[],
                                           p_group_payloads jsonb[], p_log jsonb, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
-- Its statements take arrays of any length; without this, PostgreSQL plans the member
-- resolution again on every call (0.3 ms) instead of keeping a generic plan.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_version bigint;
    v_bound boolean;
    v_missing jsonb;
    v_nested boolean;
    v_subjects uuid[];
    v_kinds text[];
    v_payloads jsonb[];
    v_changes jsonb[] := '{}';
    v_change jsonb;
    rc record;
BEGIN
    SELECT g.version INTO v_version FROM groups g
    WHERE g.tenant_id = p_tenant AND g.id = p_group
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'not_found');
    END IF;
    v_bound := EXISTS (SELECT 1 FROM group_role_bindings b WHERE b.tenant_id = p_tenant);
    IF p_add THEN
        SELECT jsonb_agg(w.id ORDER BY w.n) FILTER (WHERE w.kind IS NULL),
               bool_or(w.kind = 'Group')
        INTO v_missing, v_nested
        FROM roster_member_kinds(p_tenant, p_members, p_types) w;
        IF v_missing IS NOT NULL THEN
            RETURN jsonb_build_object('outcome', 'missing', 'members', v_missing);
        END IF;
        IF v_nested THEN
            RETURN jsonb_build_object('outcome', 'locked');
        END IF;
        WITH added AS (
            INSERT INTO group_members (tenant_id, group_id, member_id, member_type)
            SELECT p_tenant, p_group, w.id, 'User' FROM unnest(p_members) AS w(id)
            ON CONFLICT DO NOTHING
            RETURNING member_id)
        SELECT array_agg(w.id ORDER BY w.n), array_agg(w.payload ORDER BY w.n)
        INTO v_subjects, v_payloads
        FROM unnest(p_members, p_user_payloads) WITH ORDINALITY AS w(id, payload, n)
        WHERE w.id IN (SELECT member_id FROM added);
    ELSE
        IF v_bound AND EXISTS (
            SELECT 1 FROM group_members gm
            WHERE gm.tenant_id = p_tenant AND gm.group_id = p_group AND gm.member_id = ANY (p_members)
              AND gm.member_type = 'Group') THEN
            RETURN jsonb_build_object('outcome', 'locked');
        END IF;
        WITH removed AS (
            DELETE FROM group_members gm
            WHERE gm.tenant_id = p_tenant AND gm.group_id = p_group AND gm.member_id = ANY (p_members)
            RETURNING gm.member_id, gm.member_type)
        SELECT array_agg(w.id ORDER BY w.n),
               array_agg(CASE r.member_type WHEN 'Group' THEN w.group_payload ELSE w.user_payload END ORDER BY w.n)
        INTO v_subjects, v_payloads
        FROM unnest(p_members, p_user_payloads, p_group_payloads) WITH ORDINALITY AS w(id, user_payload, group_payload, n)
        JOIN removed r ON r.member_id = w.id;
    END IF;
    IF v_subjects IS NULL THEN
        RETURN jsonb_build_object('outcome', 'done', 'version', v_version, 'changed', false,
                                  'role_changes', '[]'::jsonb);
    END IF;
    UPDATE groups SET version = version + 1, last_modified = p_now
    WHERE tenant_id = p_tenant AND id = p_group
    RETURNING version INTO v_version;
    v_kinds := array_fill(p_kind, ARRAY[cardinality(v_subjects)]);
    IF v_bound THEN
        FOR rc IN
            SELECT c.member_id, c.old_role, c.new_role
            FROM roster_recompute_roles(p_tenant, ARRAY(SELECT DISTINCT s FROM unnest(v_subjects) AS s ORDER BY s)) c
            ORDER BY c.member_id
        LOOP
            v_change := jsonb_build_object('member_id', rc.member_id, 'from', rc.old_role, 'to', rc.new_role);
            v_changes := array_append(v_changes, v_change);
            v_subjects := array_append(v_subjects, rc.member_id);
            v_kinds := array_append(v_kinds, 'role.changed'::text);
            v_payloads := array_append(v_payloads, v_change);
        END LOOP;
        -- The last-admin trigger (migration 000016) is deferred to the commit. This statement
        -- runs on its own, so its commit is implicit, and an error raised there reaches the
        -- client after the statement's result (tokio-postgres drops it): the write would answer
        -- success and be rolled back. Check now, inside the statement, then defer again for
        -- the rest of a caller's transaction (a Bulk request).
        SET CONSTRAINTS users_keep_an_admin IMMEDIATE;
        SET CONSTRAINTS users_keep_an_admin DEFERRED;
    END IF;
    PERFORM roster_events_insert(p_tenant, v_subjects, v_kinds, v_payloads, p_now);
    PERFORM roster_log_row(p_log);
    RETURN jsonb_build_object('outcome', 'done', 'version', v_version, 'changed', true,
                              'role_changes', to_jsonb(v_changes));
END
$$;
