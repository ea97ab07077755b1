-- Okta's group push in the one membership statement (migration 000028's
-- `roster_group_members_patch`). With every membership update Okta sends the group's name again
-- and both halves of the change in one PATCH:
--   [{"op":"replace","value":{"id":"<group>","displayName":"<name>"}},
--    {"op":"remove","path":"members[value eq \"<u1>\"]"},
--    {"op":"add","path":"members","value":[{"value":"<u2>"}]}]
-- Before, only one add or one removal took the statement; this request took the locked path (a
-- transaction of several round trips holding the group's row). Now the statement takes removals
-- then additions in one call, and the name the request leaves on the group (`p_display`): when the
-- group has another name the request renames it, which has rules of its own (the name's
-- uniqueness, `group.updated`), and the statement answers `locked` with nothing written.
--
-- Answers as before ({"outcome": "not_found" | "locked" | "missing" | "done", ...}). Checks come
-- before any write: the group and its name, members to add that do not exist or are groups, a
-- group to remove in a tenant with bindings. Then the removals (`p_removed_kind` events, payload
-- by the member's type, in request order), then the additions (`p_added_kind`, in request order):
-- a member removed and added again in one request leaves and joins, as on the locked path. One
-- version bump, the role changes, the events and the log row `p_log` when anything changed.
DROP FUNCTION roster_group_members_patch(uuid, uuid, boolean, uuid[], text[], text, jsonb[], jsonb[], jsonb, timestamptz);

CREATE FUNCTION roster_group_members_patch(p_tenant uuid, p_group uuid, p_display text,
                                           p_remove uuid[], p_removed_kind text,
                                           p_removed_user_payloads jsonb[], p_removed_group_payloads jsonb[],
                                           p_add uuid[], p_types text[], p_added_kind text,
                                           p_added_payloads jsonb[], p_log jsonb, p_now timestamptz)
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
    v_removed uuid[];
    v_removed_kinds text[];
    v_removed_payloads jsonb[];
    v_changes jsonb[] := '{}';
    v_change jsonb;
    rc record;
BEGIN
    -- Entra ID's single add or removal is the busiest statement on a group's row (every
    -- assignment waits for the one before to commit): the steps Okta's push needs and Entra's
    -- does not are kept out of its way (measured: the name read with the lock, or the events
    -- appended in the queries, cost an add to one group 3-5 % each).
    SELECT g.version INTO v_version FROM groups g
    WHERE g.tenant_id = p_tenant AND g.id = p_group
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'not_found');
    END IF;
    IF p_display IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM groups g
                       WHERE g.tenant_id = p_tenant AND g.id = p_group AND g.display_name = p_display) THEN
            RETURN jsonb_build_object('outcome', 'locked');
        END IF;
    END IF;
    v_bound := EXISTS (SELECT 1 FROM group_role_bindings b WHERE b.tenant_id = p_tenant);
    IF cardinality(p_add) > 0 THEN
        SELECT jsonb_agg(w.id ORDER BY w.n) FILTER (WHERE w.kind IS NULL),
               bool_or(w.kind = 'Group')
        INTO v_missing, v_nested
        FROM roster_member_kinds(p_tenant, p_add, p_types) w;
        IF v_missing IS NOT NULL THEN
            RETURN jsonb_build_object('outcome', 'missing', 'members', v_missing);
        END IF;
        IF v_nested THEN
            RETURN jsonb_build_object('outcome', 'locked');
        END IF;
    END IF;
    IF cardinality(p_remove) > 0 THEN
        IF v_bound AND EXISTS (
            SELECT 1 FROM group_members gm
            WHERE gm.tenant_id = p_tenant AND gm.group_id = p_group AND gm.member_id = ANY (p_remove)
              AND gm.member_type = 'Group') THEN
            RETURN jsonb_build_object('outcome', 'locked');
        END IF;
        WITH removed AS (
            DELETE FROM group_members gm
            WHERE gm.tenant_id = p_tenant AND gm.group_id = p_group AND gm.member_id = ANY (p_remove)
            RETURNING gm.member_id, gm.member_type)
        SELECT array_agg(w.id ORDER BY w.n),
               array_agg(p_removed_kind), -- one kind: no sort needed
               array_agg(CASE r.member_type WHEN 'Group' THEN w.group_payload ELSE w.user_payload END
                         ORDER BY w.n)
        INTO v_removed, v_removed_kinds, v_removed_payloads
        FROM unnest(p_remove, p_removed_user_payloads, p_removed_group_payloads)
             WITH ORDINALITY AS w(id, user_payload, group_payload, n)
        JOIN removed r ON r.member_id = w.id;
    END IF;
    IF cardinality(p_add) > 0 THEN
        WITH added AS (
            INSERT INTO group_members (tenant_id, group_id, member_id, member_type)
            SELECT p_tenant, p_group, w.id, 'User' FROM unnest(p_add) AS w(id)
            ON CONFLICT DO NOTHING
            RETURNING member_id)
        SELECT array_agg(w.id ORDER BY w.n),
               array_agg(p_added_kind), -- one kind: no sort needed
               array_agg(w.payload ORDER BY w.n)
        INTO v_subjects, v_kinds, v_payloads
        FROM unnest(p_add, p_added_payloads) WITH ORDINALITY AS w(id, payload, n)
        WHERE w.id IN (SELECT member_id FROM added);
    END IF;
    -- The removals' events come first.
    IF v_removed IS NOT NULL THEN
        v_subjects := v_removed || v_subjects;
        v_kinds := v_removed_kinds || v_kinds;
        v_payloads := v_removed_payloads || v_payloads;
    END IF;
    IF v_subjects IS NULL THEN
        RETURN jsonb_build_object('outcome', 'done', 'version', v_version, 'changed', false,
                                  'role_changes', '[]'::jsonb);
    END IF;
    UPDATE groups SET version = version + 1, last_modified = p_now
    WHERE tenant_id = p_tenant AND id = p_group
    RETURNING version INTO v_version;
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
        -- The last-admin trigger is deferred to the commit; see migration 000028.
        SET CONSTRAINTS users_keep_an_admin IMMEDIATE;
        SET CONSTRAINTS users_keep_an_admin DEFERRED;
    END IF;
    PERFORM roster_events_insert(p_tenant, v_subjects, v_kinds, v_payloads, p_now);
    PERFORM roster_log_row(p_log);
    RETURN jsonb_build_object('outcome', 'done', 'version', v_version, 'changed', true,
                              'role_changes', to_jsonb(v_changes));
END
$$;
