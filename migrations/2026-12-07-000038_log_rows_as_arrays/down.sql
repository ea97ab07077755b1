DROP FUNCTION roster_log_rows(uuid[], uuid[], timestamptz[], uuid[], text[], text[], text[], uuid[], text[],
                              integer[], text[], text[], double precision[], jsonb[], text[]);

CREATE FUNCTION roster_log_rows(p_rows jsonb)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO provisioning_log SELECT * FROM jsonb_populate_recordset(NULL::provisioning_log, p_rows);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
