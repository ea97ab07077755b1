DROP INDEX provisioning_log_failures;
DROP INDEX provisioning_log_resource;
DROP INDEX provisioning_log_connection;
DROP INDEX provisioning_log_at;
DROP TABLE provisioning_log;
