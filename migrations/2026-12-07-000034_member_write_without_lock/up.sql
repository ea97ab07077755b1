-- A member's PATCH and PUT without a transaction of their own (`directory::write::member_update_as`):
-- the member is read (with the caller's token check) without a lock, the write computed from it,
-- and the write's one statement writes only the row version it was computed from: the row's
-- `seen` (its xmin when read). Here, before anything is written, each such row is locked if it
-- is still that version; any change to it since (a write, a role change, an invitation, a
-- removal) makes the whole call fail with serialization_failure and write nothing, and Roster
-- writes again under the member's lock. Rows without `seen` (every other caller) are as before.
CREATE OR REPLACE FUNCTION roster_members_written_logged(p_tenant uuid, p_items jsonb, p_now timestamptz,
                                                         p_with_groups boolean, p_write_events boolean,
                                                         p_subjects uuid[], p_kinds text[], p_payloads jsonb[],
                                                         p_log jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    item jsonb;
BEGIN
    FOR item IN SELECT value FROM jsonb_array_elements(p_items) WHERE value -> 'row' ->> 'seen' IS NOT NULL LOOP
        PERFORM 1 FROM users u
        WHERE u.tenant_id = p_tenant AND u.id = (item ->> 'id')::uuid AND u.xmin::text = item -> 'row' ->> 'seen'
        FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'roster: member % changed since it was read', item ->> 'id'
                USING ERRCODE = 'serialization_failure';
        END IF;
    END LOOP;
    PERFORM roster_log_row(p_log);
    RETURN roster_members_written(p_tenant, p_items, p_now, p_with_groups, p_write_events, p_subjects,
                                  p_kinds, p_payloads);
END
$$;
