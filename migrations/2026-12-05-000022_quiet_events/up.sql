-- Events wake the dispatchers only when they created deliveries: a write in a tenant without an
-- active receiver no longer costs every Roster process a dispatcher transaction. (The
-- dispatchers' poll still finds anything else that is due.)
CREATE OR REPLACE FUNCTION roster_events_insert(p_tenant uuid, p_subjects uuid[], p_kinds text[], p_payloads jsonb[],
                                                p_now timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    deliveries integer;
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
    GET DIAGNOSTICS deliveries = ROW_COUNT;
    IF deliveries > 0 THEN
        PERFORM pg_notify('roster_events', '');
    END IF;
    RETURN cardinality(p_subjects);
END
$$;
