-- The provisioning log's batch writer inserts its rows (`db::provisioning_log::Entry` as a JSON
-- array) through one prepared call. Before, a batch was a diesel multi-row INSERT of up to 500
-- rows × 15 parameters, which diesel never caches: parsed and planned anew for every batch, so
-- under ~10,000 requests a second the writer fell behind and the queue dropped rows.
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
