DELETE FROM provisioning_log WHERE source = 'import';
ALTER TABLE provisioning_log DROP CONSTRAINT provisioning_log_source_connection;
ALTER TABLE provisioning_log ALTER COLUMN connection_id SET NOT NULL;
ALTER TABLE provisioning_log DROP COLUMN source;
