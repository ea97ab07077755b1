-- Back to migration 000028's function: no row-version check.
CREATE OR REPLACE FUNCTION roster_members_written_logged(p_tenant uuid, p_items jsonb, p_now timestamptz,
                                                         p_with_groups boolean, p_write_events boolean,
                                                         p_subjects uuid[], p_kinds text[], p_payloads jsonb[],
                                                         p_log jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM roster_log_row(p_log);
    RETURN roster_members_written(p_tenant, p_items, p_now, p_with_groups, p_write_events, p_subjects,
                                  p_kinds, p_payloads);
END
$$;
