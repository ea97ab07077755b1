-- Row-level security: defence in depth for tenant isolation. Every table that holds a tenant's
-- rows (every table with a `tenant_id` column, and `tenants` itself) shows and accepts only the
-- rows of one tenant, so a query that forgets its `tenant_id` predicate returns nothing of
-- another tenant's, and an INSERT or UPDATE that names another tenant is refused (WITH CHECK).
--
-- Roster's pooled connections never act as the user they log in as (a superuser or the
-- tables' owner, whom row security does not bind). Each time Roster checks a connection out of
-- its pool (`db::checkout`, `db::Scope`) it states the scope it acts in (`roster_enter`):
--   - a tenant: role `roster_tenant` with the setting `roster.tenant` = the tenant's id; its
--     policy is `tenant_id = <setting>`, a plain comparison that PostgreSQL folds, next to the
--     query's own `tenant_id = $1`, into one check per statement, not one per row;
--   - all tenants: role `roster_service` (operator commands, the event dispatcher, the
--     provisioning-log writer, maintenance, and the lookups that find a request's tenant from a
--     credential: an OAuth client id, a console session, a tenant's slug).
-- Neither role can log in or bypass row security. A connection with no tenant stated sees no
-- rows. Rows with a NULL tenant (the operator's audit entries and console sessions) are seen by
-- `roster_service` only. Foreign keys and ON DELETE CASCADE are not affected: PostgreSQL runs
-- them without row security.
--
-- Roles belong to the whole cluster. This migration creates them when they do not exist (the
-- migrating user must then be a superuser or have CREATEROLE; an operator may instead create
-- both NOLOGIN roles beforehand) and grants them to the migrating user, which is the user Roster
-- connects as. Another user that connects must be granted both roles.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['roster_tenant', 'roster_service'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
    END LOOP;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'Roster needs the roles roster_tenant and roster_service (row-level security), and % may not create roles', current_user
        USING HINT = 'Run the migrations once as a superuser or a user with CREATEROLE, or create both roles (CREATE ROLE roster_tenant NOLOGIN; CREATE ROLE roster_service NOLOGIN) and grant them to the user Roster connects as.';
END
$$;

DO $$
DECLARE
    s text := quote_ident(current_schema());
BEGIN
    IF NOT pg_has_role(current_user, 'roster_tenant', 'MEMBER') THEN
        EXECUTE format('GRANT roster_tenant TO %I', current_user);
    END IF;
    IF NOT pg_has_role(current_user, 'roster_service', 'MEMBER') THEN
        EXECUTE format('GRANT roster_service TO %I', current_user);
    END IF;
    EXECUTE 'GRANT USAGE ON SCHEMA ' || s || ' TO roster_tenant, roster_service';
    EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ' || s || ' TO roster_tenant, roster_service';
    EXECUTE 'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ' || s || ' TO roster_tenant, roster_service';
    EXECUTE 'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ' || s || ' TO roster_tenant, roster_service';
    -- Tables, sequences and functions of later migrations (created by the same user).
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || s || ' GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO roster_tenant, roster_service';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || s || ' GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO roster_tenant, roster_service';
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
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I TO roster_tenant '
            'USING (%I = NULLIF(current_setting(''roster.tenant'', true), '''')::uuid) '
            'WITH CHECK (%I = NULLIF(current_setting(''roster.tenant'', true), '''')::uuid)',
            t.relname, t.attname, t.attname);
        EXECUTE format('CREATE POLICY service ON %I TO roster_service USING (true) WITH CHECK (true)', t.relname);
    END LOOP;
END
$$;

-- Enter a scope: 'all' (roster_service; `roster.tenant` = 'all', which only that role's policy,
-- USING (true), ever sees), a tenant's id (roster_tenant and that tenant), or '' (roster_tenant
-- and no tenant: no rows). One call, so a change of scope is one round trip.
CREATE FUNCTION roster_enter(p_scope text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_scope = 'all' THEN
        SET ROLE roster_service;
        PERFORM set_config('roster.tenant', 'all', false);
    ELSE
        SET ROLE roster_tenant;
        PERFORM set_config('roster.tenant', coalesce(NULLIF(p_scope, '')::uuid::text, ''), false);
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION roster_enter(text) TO PUBLIC;
