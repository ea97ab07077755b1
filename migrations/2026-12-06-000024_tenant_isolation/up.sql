-- Row-level security: defence in depth for tenant isolation. Every table that holds a tenant's
-- rows (every table with a `tenant_id` column, and `tenants` itself) shows and accepts only the
-- rows of the tenant named by the session setting `roster.tenant`, which Roster sets each time it
-- checks a connection out of its pool (`db::checkout`, `db::Scope`):
--   '<uuid>' - that tenant's rows only (every request that acts for one tenant);
--   'all'    - every tenant's rows (operator commands, the event dispatcher, the log writer, the
--              OAuth client and console-session lookups that find the tenant, maintenance);
--   unset or '' - no rows at all.
-- So a query that forgets its `tenant_id` predicate returns nothing of another tenant's, and an
-- INSERT or UPDATE that names another tenant is refused (WITH CHECK). Rows with a NULL tenant
-- (the operator's audit entries and console sessions) are visible in the 'all' scope only.
-- Foreign keys and ON DELETE CASCADE are not affected: PostgreSQL runs them without row security.
--
-- Superusers and roles with BYPASSRLS ignore row security, FORCE included. Roster therefore runs
-- its pooled connections as the role `roster_tenant` (NOLOGIN, no BYPASSRLS), which this migration
-- creates where the migrating user may create roles and which the pool enters with SET ROLE
-- (`roster_session_role`). Where the role cannot be created, the tables' owner is still subject to
-- the policies (FORCE ROW LEVEL SECURITY).

CREATE FUNCTION roster_tenant_visible(p_tenant uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE current_setting('roster.tenant', true)
        WHEN 'all' THEN true
        WHEN '' THEN false
        ELSE p_tenant = current_setting('roster.tenant', true)::uuid
    END
$$;

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.relname, a.attname
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND NOT a.attisdropped
            AND (a.attname = 'tenant_id' OR (c.relname = 'tenants' AND a.attname = 'id'))
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.relname);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.relname);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (roster_tenant_visible(%I)) WITH CHECK (roster_tenant_visible(%I))',
            t.relname, t.attname, t.attname);
    END LOOP;
END
$$;

-- The role Roster's pooled connections act as. Roles belong to the whole cluster: another
-- database of the same cluster may have created it already (the test harness clones databases).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'roster_tenant') THEN
        BEGIN
            CREATE ROLE roster_tenant NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'cannot create role roster_tenant; row security applies to the tables'' owner (FORCE)';
                RETURN;
        END;
    END IF;
    BEGIN
        EXECUTE format('GRANT roster_tenant TO %I', current_user);
    EXCEPTION
        WHEN insufficient_privilege OR invalid_grant_operation THEN
            RAISE NOTICE 'cannot grant roster_tenant to %', current_user;
            RETURN;
    END;
    EXECUTE 'GRANT USAGE ON SCHEMA ' || quote_ident(current_schema()) || ' TO roster_tenant';
    EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ' || quote_ident(current_schema()) || ' TO roster_tenant';
    EXECUTE 'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ' || quote_ident(current_schema()) || ' TO roster_tenant';
    EXECUTE 'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ' || quote_ident(current_schema()) || ' TO roster_tenant';
    -- Tables, sequences and functions of later migrations (created by the same user).
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || quote_ident(current_schema()) || ' GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO roster_tenant';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || quote_ident(current_schema()) || ' GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO roster_tenant';
END
$$;

-- Called once per pooled connection when it is opened: enter `roster_tenant` when it exists and
-- this user may, then answer whether row security binds this session (false for a superuser or a
-- BYPASSRLS role that could not enter it; Roster logs a warning then).
CREATE FUNCTION roster_session_role() RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'roster_tenant')
        AND pg_has_role(current_user, 'roster_tenant', 'MEMBER') THEN
        SET ROLE roster_tenant;
    END IF;
    RETURN NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user);
END
$$;
GRANT EXECUTE ON FUNCTION roster_session_role() TO PUBLIC;
