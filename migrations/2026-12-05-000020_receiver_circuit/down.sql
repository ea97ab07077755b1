ALTER TABLE webhooks
    DROP COLUMN last_success_at,
    DROP COLUMN last_error,
    DROP COLUMN paused_until,
    DROP COLUMN consecutive_failures;
