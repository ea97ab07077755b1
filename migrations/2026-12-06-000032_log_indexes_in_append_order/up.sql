-- The logs' time indexes in the order rows arrive. Rows of the provisioning log and the audit
-- trail are appended in time order. In an index on `at DESC` each new row goes to the *left*
-- end of its key range, where PostgreSQL's B-tree splits a full page half and half, and the
-- half left behind is never filled again: these indexes settle at about half full. Ascending,
-- each new row goes to the right end of its range, where PostgreSQL splits so that the old page
-- stays full. Reading newest first is the same index scanned backward, in the same order
-- (`ORDER BY at DESC, id DESC` and its keyset bounds), so no query changes.
--
-- Measured on one 2-core machine: 200-row inserts from 2 clients into tables grown to 3 million
-- rows took 11 % more rows a second with ascending indexes, and the indexes were 35–45 % smaller.
-- The bench's log writer (150-row batches under a GET load) spends the same CPU per row either
-- way (0.029 ms): there, parsing the batch and the four index descents dominate.
--
-- On a large existing log this rebuilds the indexes once (8 s for 4.7 million rows).

DROP INDEX provisioning_log_at;
DROP INDEX provisioning_log_connection;
DROP INDEX provisioning_log_resource;
DROP INDEX provisioning_log_failures;
-- Newest first per tenant, read backward (and the retention delete, tenant by tenant).
CREATE INDEX provisioning_log_at ON provisioning_log (tenant_id, at, id);
-- One connection's log.
CREATE INDEX provisioning_log_connection ON provisioning_log (tenant_id, connection_id, at, id);
-- The history of one resource.
CREATE INDEX provisioning_log_resource ON provisioning_log (tenant_id, resource_id, at, id)
    WHERE resource_id IS NOT NULL;
-- Failures only.
CREATE INDEX provisioning_log_failures ON provisioning_log (tenant_id, at, id)
    WHERE status >= 400;

DROP INDEX audit_log_tenant;
DROP INDEX audit_log_at;
-- A tenant's trail, newest first (read backward; the tenant listing and its keyset paging).
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, at, id);
-- The operator-wide listing, newest first.
CREATE INDEX audit_log_at ON audit_log (at, id);
