DROP TRIGGER tenants_log_deleted ON tenants;
DROP FUNCTION roster_tenant_log_deleted();

CREATE OR REPLACE FUNCTION roster_log_row(p_log jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_log IS NOT NULL THEN
        INSERT INTO provisioning_log SELECT * FROM jsonb_populate_record(NULL::provisioning_log, p_log);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION roster_log_rows(p_tenant uuid[], p_id uuid[], p_at timestamptz[], p_connection uuid[],
                                           p_request text[], p_method text[], p_resource_type text[], p_resource uuid[],
                                           p_operation text[], p_status integer[], p_scim_type text[], p_detail text[],
                                           p_latency double precision[], p_rules jsonb[], p_source text[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO provisioning_log (tenant_id, id, at, connection_id, request_id, method, resource_type,
                                  resource_id, operation, status, scim_type, detail, latency_ms, rules, source)
    SELECT r.tenant_id, r.id, r.at, r.connection_id, r.request_id, r.method, r.resource_type, r.resource_id,
           r.operation, r.status, r.scim_type, r.detail, r.latency_ms,
           CASE WHEN r.rules IS NULL THEN '{}'::text[] ELSE ARRAY(SELECT jsonb_array_elements_text(r.rules)) END,
           r.source
    FROM unnest(p_tenant, p_id, p_at, p_connection, p_request, p_method, p_resource_type, p_resource,
                p_operation, p_status, p_scim_type, p_detail, p_latency, p_rules, p_source)
         AS r(tenant_id, id, at, connection_id, request_id, method, resource_type, resource_id, operation,
              status, scim_type, detail, latency_ms, rules, source);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

DELETE FROM provisioning_log l WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = l.tenant_id);
ALTER TABLE provisioning_log ADD CONSTRAINT provisioning_log_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
