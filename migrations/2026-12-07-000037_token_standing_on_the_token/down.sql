DROP TRIGGER tenants_standing ON tenants;
DROP FUNCTION roster_tenant_standing();
DROP TRIGGER connections_standing ON connections;
DROP FUNCTION roster_connection_standing();
DROP TRIGGER connection_tokens_standing ON connection_tokens;
DROP FUNCTION roster_token_standing();
ALTER TABLE connection_tokens DROP COLUMN quirk_mode, DROP COLUMN settings_version;
