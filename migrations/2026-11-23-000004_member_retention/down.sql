DROP INDEX users_removed;
ALTER TABLE users DROP COLUMN scrubbed_at;
ALTER TABLE tenants DROP COLUMN member_retention_days;
