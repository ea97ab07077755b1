-- Back to the descending indexes of migrations 000003 and 000019.
DROP INDEX provisioning_log_at;
DROP INDEX provisioning_log_connection;
DROP INDEX provisioning_log_resource;
DROP INDEX provisioning_log_failures;
CREATE INDEX provisioning_log_at ON provisioning_log (tenant_id, at DESC, id DESC);
CREATE INDEX provisioning_log_connection ON provisioning_log (tenant_id, connection_id, at DESC, id DESC);
CREATE INDEX provisioning_log_resource ON provisioning_log (tenant_id, resource_id, at DESC, id DESC)
    WHERE resource_id IS NOT NULL;
CREATE INDEX provisioning_log_failures ON provisioning_log (tenant_id, at DESC, id DESC)
    WHERE status >= 400;

DROP INDEX audit_log_tenant;
DROP INDEX audit_log_at;
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, at DESC, id DESC);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
