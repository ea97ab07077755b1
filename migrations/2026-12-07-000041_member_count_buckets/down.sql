-- Back to one count per tenant and slot (migration 000014), without the ranges.
DROP FUNCTION roster_member_seek(uuid, bigint);
DROP FUNCTION roster_member_count(uuid);
DROP TRIGGER users_count_ins ON users;
DROP TRIGGER users_count_upd ON users;
DROP TRIGGER users_count_del ON users;
DROP FUNCTION roster_count_members_ins();
DROP FUNCTION roster_count_members_row();
DROP FUNCTION roster_count_members_add(uuid, uuid, bigint);

CREATE TABLE tenant_member_counts (
    tenant_id  uuid              NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slot       roster_count_slot NOT NULL,
    members    bigint            NOT NULL,
    PRIMARY KEY (tenant_id, slot)
);
ALTER TABLE tenant_member_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_member_counts TO roster_tenant
    USING (tenant_id = NULLIF(current_setting('roster.tenant', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('roster.tenant', true), '')::uuid);
CREATE POLICY service ON tenant_member_counts TO roster_service USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_member_counts TO roster_tenant, roster_service;
INSERT INTO tenant_member_counts (tenant_id, slot, members)
SELECT tenant_id, 0, count(*) FROM users WHERE status <> 'removed' GROUP BY tenant_id;

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

CREATE FUNCTION roster_member_count(p_tenant uuid)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(members), 0)::bigint FROM tenant_member_counts WHERE tenant_id = p_tenant
$$;

DROP TABLE member_counts;
DROP DOMAIN roster_count_shift;
DROP FUNCTION roster_ms_first_id(bigint);
DROP FUNCTION roster_id_ms(uuid);
