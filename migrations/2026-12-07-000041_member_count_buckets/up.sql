-- A page of members at any `startIndex` without skipping the members before it (issue #10).
--
-- An unfiltered page at offset n read the first n + 100 ids of the tenant's visible members and
-- threw n away: O(n) per page, about 66 ns a member (index-only), so 3.3 ms at the middle of a
-- 100,000-member tenant and 33 ms at the middle of a million; an IdP paging through a tenant
-- (Okta's import) pays O(n²) in all. The tenant's member count (migration 000014) is now kept
-- per range of member ids as well, at four widths, so a page finds the range its first member is
-- in from the counts and skips only inside that range.
--
-- A member id (UUIDv7, issued by Roster) begins with its creation millisecond: its first 48 bits,
-- `roster_id_ms`. Ids in millisecond order are in id order, so the ranges are millisecond ranges:
-- `shift` 48 (the whole tenant: the total), 30 (12.4 days), 20 (17.5 minutes) and 10 (1.02 s).
-- A range of one width holds at most 1,024 ranges of the next; the finest holds the members
-- created in one second. Any id is counted correctly (its first 48 bits order it whatever its
-- version); only how few members a page skips depends on ids being issued over time.
--
-- Counts are kept per backend slot (pid modulo 64), as before, so concurrent writers of one
-- tenant do not queue on one row. Every count statement writes its whole-tenant row first (rows
-- are written in `shift` order, widest first), so two transactions on one slot meet on that row
-- before they hold any other and cannot deadlock. A member row entering or leaving `removed`, and
-- every insert and delete, change the four rows of its ids' ranges in one statement.
--
-- `roster_member_seek(tenant, offset)` walks the widths, each time summing the counts of the
-- ranges inside the range found at the wider one, and returns the first id of the finest range
-- holding the offset's member and how many of that range's members come before it. It is STABLE:
-- it reads the counts in the snapshot of the statement that calls it, the same snapshot as the
-- page it positions, so the page is exact under concurrent writes.

CREATE FUNCTION roster_id_ms(p_id uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ('x' || translate(left(p_id::text, 13), '-', ''))::bit(48)::bigint
$$;

-- The smallest id whose first 48 bits are `p_ms`.
CREATE FUNCTION roster_ms_first_id(p_ms bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (lpad(to_hex(p_ms), 12, '0') || '00000000000000000000')::uuid
$$;

CREATE DOMAIN roster_count_shift AS smallint;
ALTER DOMAIN roster_count_shift ADD CONSTRAINT roster_count_shift_check CHECK (VALUE IN (48, 30, 20, 10));

CREATE TABLE member_counts (
    tenant_id  uuid               NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    shift      roster_count_shift NOT NULL,
    -- `roster_id_ms(id) >> shift` of the members counted.
    bucket     bigint             NOT NULL,
    slot       roster_count_slot  NOT NULL,
    members    bigint             NOT NULL,
    PRIMARY KEY (tenant_id, shift, bucket, slot)
);

ALTER TABLE member_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON member_counts TO roster_tenant
    USING (tenant_id = NULLIF(current_setting('roster.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('roster.tenant', true), '')::uuid);
CREATE POLICY service ON member_counts TO roster_service USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON member_counts TO roster_tenant, roster_service;

INSERT INTO member_counts (tenant_id, shift, bucket, slot, members)
SELECT u.tenant_id, s.shift, roster_id_ms(u.id) >> s.shift, 0, count(*)
FROM users u CROSS JOIN (VALUES (48), (30), (20), (10)) s (shift)
WHERE u.status <> 'removed'
GROUP BY 1, 2, 3;

DROP TRIGGER users_count_ins ON users;
DROP TRIGGER users_count_upd ON users;
DROP TRIGGER users_count_del ON users;
DROP FUNCTION roster_count_members_ins();
DROP FUNCTION roster_count_members_row();
DROP FUNCTION roster_count_members_add(uuid, bigint);
DROP FUNCTION roster_member_count(uuid);
DROP TABLE tenant_member_counts;

-- Add `p_delta` to the counts of the ranges holding member `p_member` (nothing when the tenant
-- itself is being deleted).
CREATE FUNCTION roster_count_members_add(p_tenant uuid, p_member uuid, p_delta bigint)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = p_tenant) THEN
        RETURN;
    END IF;
    INSERT INTO member_counts AS c (tenant_id, shift, bucket, slot, members)
    SELECT p_tenant, s.shift, roster_id_ms(p_member) >> s.shift, (pg_backend_pid() % 64)::smallint, p_delta
    FROM (VALUES (48), (30), (20), (10)) s (shift)
    ORDER BY s.shift DESC
    ON CONFLICT (tenant_id, shift, bucket, slot) DO UPDATE SET members = c.members + excluded.members;
END
$$;

CREATE FUNCTION roster_count_members_ins() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO member_counts AS c (tenant_id, shift, bucket, slot, members)
    SELECT n.tenant_id, s.shift, roster_id_ms(n.id) >> s.shift, (pg_backend_pid() % 64)::smallint, count(*)
    FROM new_rows n CROSS JOIN (VALUES (48), (30), (20), (10)) s (shift)
    WHERE n.status <> 'removed'
    GROUP BY 1, 2, 3
    ORDER BY 1, 2 DESC, 3
    ON CONFLICT (tenant_id, shift, bucket, slot) DO UPDATE SET members = c.members + excluded.members;
    RETURN NULL;
END
$$;

CREATE FUNCTION roster_count_members_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM roster_count_members_add(OLD.tenant_id, OLD.id, -1);
    ELSIF NEW.status = 'removed' THEN
        PERFORM roster_count_members_add(NEW.tenant_id, NEW.id, -1);
    ELSE
        PERFORM roster_count_members_add(NEW.tenant_id, NEW.id, 1);
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
    SELECT coalesce(sum(members), 0)::bigint FROM member_counts WHERE tenant_id = p_tenant AND shift = 48
$$;

-- Where the tenant's visible member at 0-based `p_offset` in id order is: the first id of its
-- finest range (`first_id`), and how many visible members of that range come before it
-- (`skip`). Both NULL when the tenant has no member at that offset.
CREATE FUNCTION roster_member_seek(p_tenant uuid, p_offset bigint, OUT first_id uuid, OUT skip bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    width integer;
    lo bigint := 0;
    hi bigint := (1::bigint << 48) - 1;
    rest bigint := p_offset;
    found_bucket bigint;
    before bigint;
BEGIN
    IF p_offset < 0 THEN
        RETURN;
    END IF;
    FOREACH width IN ARRAY ARRAY[30, 20, 10] LOOP
        SELECT r.bucket, r.before INTO found_bucket, before
        FROM (SELECT c.bucket, sum(c.members) AS members,
                     sum(sum(c.members)) OVER (ORDER BY c.bucket) - sum(c.members) AS before
              FROM member_counts c
              WHERE c.tenant_id = p_tenant AND c.shift = width AND c.bucket BETWEEN lo >> width AND hi >> width
              GROUP BY c.bucket) r
        WHERE r.before + r.members > rest
        ORDER BY r.bucket
        LIMIT 1;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        rest := rest - before;
        lo := found_bucket << width;
        hi := ((found_bucket + 1) << width) - 1;
    END LOOP;
    first_id := roster_ms_first_id(lo);
    skip := rest;
END
$$;

GRANT EXECUTE ON FUNCTION roster_id_ms(uuid), roster_ms_first_id(bigint), roster_member_count(uuid),
    roster_member_seek(uuid, bigint), roster_count_members_add(uuid, uuid, bigint)
    TO roster_tenant, roster_service;
