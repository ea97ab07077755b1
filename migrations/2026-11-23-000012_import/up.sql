-- Member imports (CSV / XLSX) in the provisioning log: an import has no connection, so an entry
-- names its source. SCIM entries keep their connection; import entries have none.
ALTER TABLE provisioning_log ADD COLUMN source text NOT NULL DEFAULT 'scim'
    CHECK (source IN ('scim', 'import'));
ALTER TABLE provisioning_log ALTER COLUMN connection_id DROP NOT NULL;
ALTER TABLE provisioning_log ADD CONSTRAINT provisioning_log_source_connection
    CHECK (source = 'import' OR connection_id IS NOT NULL);
