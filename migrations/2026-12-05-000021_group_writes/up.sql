-- Group writes in fewer round trips (issue #10).

-- Whether a tenant has any group nested in another, in one index probe: a member page reads
-- members' groups directly when the tenant's groups are flat (no parent, no nesting), and this
-- is half of that test (the other half is `groups_parent`).
CREATE INDEX group_members_nested ON group_members (tenant_id) WHERE member_type = 'Group';

-- What follows a change of a group's members, in one call: the group's version bump (when the
-- change did not already bump it by rewriting the group's attributes) and the events.
CREATE FUNCTION roster_group_changed(p_tenant uuid, p_group uuid, p_touch boolean, p_subjects uuid[],
                                     p_kinds text[], p_payloads jsonb[], p_now timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF p_touch THEN
        UPDATE groups SET version = version + 1, last_modified = p_now WHERE tenant_id = p_tenant AND id = p_group;
    END IF;
    RETURN roster_events_insert(p_tenant, p_subjects, p_kinds, p_payloads, p_now);
END
$$;
