-- Whether a tenant has any group nested in another, in one index probe: a member page reads
-- members' groups directly when the tenant's groups are flat (no parent, no nesting), and this
-- is half of that test (the other half is `groups_parent`).
CREATE INDEX group_members_nested ON group_members (tenant_id) WHERE member_type = 'Group';
