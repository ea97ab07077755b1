-- Per-request cost (issue #10): every SCIM operation a small, fixed number of statements, and
-- deprovisioning independent of the tenant's size.

-- 1. The last-admin guard probes only live members holding a given role: an index lookup that
--    stops at the first other admin, instead of a scan of every member of the tenant.
CREATE INDEX users_live_role ON users (tenant_id, effective_role, id)
    WHERE status NOT IN ('removed', 'suspended');

-- 2. Index paging reads the ids of a page from this index (index-only) and only the page's rows
--    from the table, instead of visiting the table for every row it skips.
CREATE INDEX users_visible_id ON users (tenant_id, id) WHERE status <> 'removed';

-- 3. Exact `totalResults` of an unfiltered member list without counting the tenant: a count kept
--    per tenant, spread over slots (one per backend, modulo 64) so concurrent writers of one
--    tenant do not queue on one row. Inserts are counted per statement over the transition table
--    (an import of 10,000 members updates a slot once); updates and deletes only when a row
--    enters or leaves `removed`, so an ordinary PATCH never runs the trigger.
CREATE TABLE tenant_member_counts (
    tenant_id  uuid     NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slot       smallint NOT NULL CHECK (slot BETWEEN 0 AND 63),
    members    bigint   NOT NULL,
    PRIMARY KEY (tenant_id, slot)
);

INSERT INTO tenant_member_counts (tenant_id, slot, members)
SELECT tenant_id, 0, count(*) FROM users WHERE status <> 'removed' GROUP BY tenant_id;

-- Add `p_delta` to the tenant's count (nothing when the tenant itself is being deleted).
CREATE FUNCTION roster_count_members_add(p_tenant uuid, p_delta bigint)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_delta = 0 OR NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = p_tenant) THEN
        RETURN;
    END IF;
    INSERT INTO tenant_member_counts AS c (tenant_id, slot, members)
    VALUES (p_tenant, (pg_backend_pid() % 64)::smallint, p_delta)
    ON CONFLICT (tenant_id, slot) DO UPDATE SET members = c.members + excluded.members;
END
$$;

CREATE FUNCTION roster_count_members_ins() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM roster_count_members_add(n.tenant_id, n.members)
    FROM (SELECT tenant_id, count(*) AS members FROM new_rows WHERE status <> 'removed' GROUP BY tenant_id) n;
    RETURN NULL;
END
$$;

CREATE FUNCTION roster_count_members_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM roster_count_members_add(OLD.tenant_id, -1);
    ELSIF NEW.status = 'removed' THEN
        PERFORM roster_count_members_add(NEW.tenant_id, -1);
    ELSE
        PERFORM roster_count_members_add(NEW.tenant_id, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_count_ins AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_count_members_ins();
CREATE TRIGGER users_count_upd AFTER UPDATE OF status ON users FOR EACH ROW
    WHEN ((OLD.status = 'removed') IS DISTINCT FROM (NEW.status = 'removed'))
    EXECUTE FUNCTION roster_count_members_row();
CREATE TRIGGER users_count_del AFTER DELETE ON users FOR EACH ROW
    WHEN (OLD.status <> 'removed') EXECUTE FUNCTION roster_count_members_row();

-- The members of a tenant visible to SCIM.
CREATE FUNCTION roster_member_count(p_tenant uuid)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(members), 0)::bigint FROM tenant_member_counts WHERE tenant_id = p_tenant
$$;

-- 4. Tenant settings cached in process, never stale: `settings_version` changes with every
--    change to what Roster caches about a tenant (its slug and settings, its categories). Every
--    SCIM request reads it together with its token check (one primary-key join it makes anyway)
--    and reloads its cached profile only when the version moved — exact in every process, the
--    next request after any commit, with no invalidation message to miss.
ALTER TABLE tenants ADD COLUMN settings_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION roster_tenant_settings_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.slug, NEW.sso, NEW.position_source, NEW.member_retention_days, NEW.default_role)
       IS DISTINCT FROM (OLD.slug, OLD.sso, OLD.position_source, OLD.member_retention_days, OLD.default_role) THEN
        NEW.settings_version := OLD.settings_version + 1;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tenants_settings_version BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION roster_tenant_settings_bump();

CREATE FUNCTION roster_categories_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET settings_version = settings_version + 1
    WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
    RETURN NULL;
END
$$;

CREATE TRIGGER categories_settings_version AFTER INSERT OR UPDATE OR DELETE ON categories
    FOR EACH ROW EXECUTE FUNCTION roster_categories_bump();

-- 5. The outbox write in one call: per-subject ordering locks (in key order), the events, one
--    delivery per active webhook, and the commit-time notification (db::events documents why).
--    Returns how many events were written.
CREATE FUNCTION roster_events_insert(p_tenant uuid, p_subjects uuid[], p_kinds text[], p_payloads jsonb[],
                                     p_now timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(cardinality(p_subjects), 0) = 0 THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(1381188950, k) FROM (
        SELECT DISTINCT hashtext(p_tenant::text || s::text) & 255 AS k FROM unnest(p_subjects) AS s ORDER BY k) AS keys;
    WITH ev AS (
        INSERT INTO event_outbox (tenant_id, subject_id, kind, payload, created_at)
        SELECT p_tenant, e.subject, e.kind, e.payload, p_now
        FROM unnest(p_subjects, p_kinds, p_payloads) WITH ORDINALITY AS e(subject, kind, payload, n)
        ORDER BY e.n
        RETURNING id, subject_id)
    INSERT INTO event_deliveries (tenant_id, webhook_id, event_id, subject_id, next_attempt_at)
    SELECT p_tenant, w.id, ev.id, ev.subject_id, p_now FROM ev CROSS JOIN webhooks w
    WHERE w.tenant_id = p_tenant AND w.active;
    PERFORM pg_notify('roster_events', '');
    RETURN cardinality(p_subjects);
END
$$;

-- The name of the position a source value gives: trimmed, cut to 200 characters (the column's
-- CHECK), trimmed again; NULL when empty. Every writer of positions uses it (db::positions).
CREATE FUNCTION roster_position_name(p_value text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(btrim(left(btrim(p_value), 200)), '')
$$;

-- 6. What follows every write of members, in one call, for one member (a SCIM write) or many (an
--    import): for each item of `p_items` (`[{id, created, default_base_role, role_keys, position}]`)
--    its SCIM roles matched against the catalog (`role_keys` null: kept), the tenant's default role
--    as base role (`default_base_role`), its position (created on first use), and its effective
--    role recomputed; a `role.changed` event for each member whose role changed, except new
--    members (their first role is part of `member.created`). With `p_write_events`, the events
--    `p_subjects`/`p_kinds`/`p_payloads` followed by the role changes are written (outbox,
--    deliveries, notification); without, the caller writes them. Returns
--    `{"members": [{id, role, status, position, groups}], "role_changes": [...]}`
--    (groups only with `p_with_groups`).
CREATE FUNCTION roster_members_written(p_tenant uuid, p_items jsonb, p_now timestamptz, p_with_groups boolean,
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

-- 7. A member's effective groups as SCIM's read-only `groups` (without `$ref`, which Roster adds
--    from the connection's base URL), or NULL when not wanted or none: lets one statement read
--    members with their groups. When none of the member's groups has a parent or is nested in
--    another group (what IdPs push), its groups are its direct ones: four index probes instead of
--    the tree walk of roster_member_groups, which answers every other case.
CREATE FUNCTION roster_member_groups_json(p_tenant uuid, p_member uuid, p_want boolean)
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

-- 8. The last-admin guard in one call: true when suspending or removing `p_members` (one member
--    for a SCIM write, many for an import's `--sync`) leaves the tenant a live admin. It locks
--    the members' rows (in id order; a SCIM write already holds its member's). Only when one of
--    them is a live admin does it take the tenant's admin lock (class "RSAD"), so concurrent
--    suspensions of the last two admins serialise while deactivations of other members never
--    wait on each other; it then looks for an admin outside `p_members` with a fresh snapshot
--    (this function is volatile), so it sees what the lock's last holder committed.
CREATE FUNCTION roster_guard_last_admin(p_tenant uuid, p_members uuid[])
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM users u WHERE u.tenant_id = p_tenant AND u.id = ANY (p_members) ORDER BY u.id FOR UPDATE;
    IF NOT EXISTS (
        SELECT 1 FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.name = u.effective_role
        WHERE u.tenant_id = p_tenant AND u.id = ANY (p_members) AND r.grants_admin
          AND u.status NOT IN ('removed', 'suspended')) THEN
        RETURN true;
    END IF;
    PERFORM pg_advisory_xact_lock(1381187908, hashtext(p_tenant::text));
    RETURN EXISTS (
        SELECT 1 FROM roles r
        JOIN users u ON u.tenant_id = r.tenant_id AND u.effective_role = r.name
                    AND u.status NOT IN ('removed', 'suspended')
        WHERE r.tenant_id = p_tenant AND r.grants_admin AND NOT (u.id = ANY (p_members)));
END
$$;
