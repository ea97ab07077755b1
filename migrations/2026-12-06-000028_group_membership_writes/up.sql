-- A write's provisioning-log row (`db::provisioning_log::Entry` as JSON; nothing when NULL),
-- inserted by the write's own statement instead of a statement of its own.
CREATE FUNCTION roster_log_row(p_log jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_log IS NOT NULL THEN
        INSERT INTO provisioning_log SELECT * FROM jsonb_populate_record(NULL::provisioning_log, p_log);
    END IF;
END
$$;

-- A write's events (`roster_events_insert`, migration 000022) with the request's provisioning-log
-- row in the same call: member removal and group create, PUT and DELETE.
CREATE FUNCTION roster_events_logged(p_tenant uuid, p_subjects uuid[], p_kinds text[], p_payloads jsonb[],
                                     p_now timestamptz, p_log jsonb)
RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM roster_log_row(p_log);
    RETURN roster_events_insert(p_tenant, p_subjects, p_kinds, p_payloads, p_now);
END
$$;

-- What follows a member write (migration 000014's `roster_members_written`) with the request's
-- provisioning-log row in the same call: every SCIM member write (POST, PUT, PATCH) commits its
-- row in its transaction (DESIGN §3) with one statement fewer.
CREATE FUNCTION roster_members_written_logged(p_tenant uuid, p_items jsonb, p_now timestamptz,
                                              p_with_groups boolean, p_write_events boolean,
                                              p_subjects uuid[], p_kinds text[], p_payloads jsonb[],
                                              p_log jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM roster_log_row(p_log);
    RETURN roster_members_written(p_tenant, p_items, p_now, p_with_groups, p_write_events, p_subjects,
                                  p_kinds, p_payloads);
END
$$;

-- Which requested members exist in the tenant, and as what (the one resolution rule of group
-- writes, `directory::groups::resolve_members` and `roster_group_members_patch`): a member that
-- is not removed, unless the client said `Group`; else a group of the tenant, unless the client
-- said `User`; else NULL (no such member). One row per request element, `n` its position.
CREATE FUNCTION roster_member_kinds(p_tenant uuid, p_members uuid[], p_types text[])
RETURNS TABLE (n bigint, id uuid, kind text)
LANGUAGE sql STABLE AS $$
    SELECT w.n, w.id,
           CASE WHEN w.type IS DISTINCT FROM 'Group' AND EXISTS (
                    SELECT 1 FROM users u
                    WHERE u.tenant_id = p_tenant AND u.id = w.id AND u.status <> 'removed') THEN 'User'
                WHEN w.type IS DISTINCT FROM 'User' AND EXISTS (
                    SELECT 1 FROM groups g WHERE g.tenant_id = p_tenant AND g.id = w.id) THEN 'Group'
           END
    FROM unnest(p_members, p_types) WITH ORDINALITY AS w(id, type, n)
$$;

-- A PATCH that only adds or only removes members of a group (what Entra ID and Okta send on every
-- assignment) in one statement, run on its own (no BEGIN/COMMIT around it): the group's row is
-- locked first and held only while this call runs and commits, so concurrent additions to one
-- group queue for one statement, not for a transaction of several round trips; and foreign-key
-- checks of the new rows find the group's row locked by their own transaction, so no MultiXact
-- builds up on a group that takes hundreds of additions a second.
--
-- Roster's rules stay where they are: the PATCH engine decided what the request asks, Rust built
-- the membership events' payloads (one per member and type) and the provisioning-log row; this
-- function resolves the members (`roster_member_kinds`, as the locked path does), writes what took
-- effect and, when the tenant has group→role bindings, recomputes the roles of the users added
-- or removed (`roster_recompute_roles`, with `role.changed` as `roster_members_written` writes
-- it). It writes nothing and answers
--   {"outcome": "not_found"}                  the group does not exist;
--   {"outcome": "locked"}                     the write needs the locked path: a group is added
--                                             (its cycle check walks the tree), or a group is
--                                             removed in a tenant with bindings (its members'
--                                             roles are reached through it);
--   {"outcome": "missing", "members": [ids]}  members to add that do not exist with the type given;
-- otherwise it writes and answers {"outcome": "done", "version": v, "changed": bool,
-- "role_changes": [{member_id, from, to}]}: with changes, the rows, the version bump, the events
-- (kind p_kind, payload by the member's type, in request order; then the role changes) and the
-- log row `p_log`.
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

-- The last-admin guard (migration 000014) took an array of members in every statement, and
-- PostgreSQL planned its first two again on every suspension and removal (0.23 ms, about a tenth
-- of a PATCH's CPU under load) instead of keeping a generic plan. The function now keeps generic
-- plans, which are as good for those two (primary key, `users_live_role`). The third runs only
-- when a member who grants admin is suspended or removed, and its generic plan would merge-join
-- through every live member of the tenant (170 ms at 1M members): it is planned for its values
-- on each call (EXECUTE), as before.
CREATE OR REPLACE FUNCTION roster_guard_last_admin(p_tenant uuid, p_members uuid[])
RETURNS boolean
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_other boolean;
BEGIN
    PERFORM 1 FROM users u WHERE u.tenant_id = p_tenant AND u.id = ANY (p_members) ORDER BY u.id FOR UPDATE;
    IF NOT EXISTS (
        SELECT 1 FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.name = u.effective_role
        WHERE u.tenant_id = p_tenant AND u.id = ANY (p_members) AND r.grants_admin
          AND u.status NOT IN ('removed', 'suspended')) THEN
        RETURN true;
    END IF;
    PERFORM pg_advisory_xact_lock(1381187908, hashtext(p_tenant::text));
    EXECUTE 'SELECT EXISTS (
        SELECT 1 FROM roles r
        JOIN users u ON u.tenant_id = r.tenant_id AND u.effective_role = r.name
                    AND u.status NOT IN (''removed'', ''suspended'')
        WHERE r.tenant_id = $1 AND r.grants_admin AND NOT (u.id = ANY ($2)))'
    INTO v_other USING p_tenant, p_members;
    RETURN v_other;
END
$$;
