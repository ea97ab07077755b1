-- Back to notifying on every events insert (migration 000014).
CREATE OR REPLACE FUNCTION roster_events_insert(p_tenant uuid, p_subjects uuid[], p_kinds text[], p_payloads jsonb[],
                                     p_now timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(cardinality(p_subjects), 0) = 0 THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(1381188950, k) FROM (
        SELECT DISTINCT hashtext(p_tenant::text || s::text) & 255 AS k FROM unnest(p_subjects) AS s ORDER BY k) AS keys;
    WITH ev AS (
        INSERT INTO event_outbox (tenant_id, subject_id, kind, payload, created_at)
        SELECT p_tenant, e.subject, e.kind, e.payload, p_now
        FROM unnest(p_subjects, p_kinds, p_payloads) WITH ORDINALITY AS e(subject, kind, payload, n)
        ORDER BY e.n
        RETURNING id, subject_id)
    INSERT INTO event_deliveries (tenant_id, webhook_id, event_id, subject_id, next_attempt_at)
    SELECT p_tenant, w.id, ev.id, ev.subject_id, p_now FROM ev CROSS JOIN webhooks w
    WHERE w.tenant_id = p_tenant AND w.active;
    PERFORM pg_notify('roster_events', '');
    RETURN cardinality(p_subjects);
END
$$;
