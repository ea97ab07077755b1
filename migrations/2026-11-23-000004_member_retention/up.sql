-- Removed members keep their id (content stays with the organization) but their personal data
-- is scrubbed once the tenant's retention period has passed.
ALTER TABLE tenants ADD COLUMN member_retention_days integer NOT NULL DEFAULT 30
    CHECK (member_retention_days BETWEEN 0 AND 3650);
ALTER TABLE users ADD COLUMN scrubbed_at timestamptz;
-- Finding a removed member to restore on re-provisioning, and the scrub job's work list.
CREATE INDEX users_removed ON users (tenant_id, removed_at) WHERE status = 'removed' AND scrubbed_at IS NULL;
