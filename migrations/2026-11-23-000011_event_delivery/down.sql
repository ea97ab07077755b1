ALTER TABLE event_deliveries DROP COLUMN rejected;
ALTER TABLE webhooks DROP CONSTRAINT webhooks_secret_present;
-- Sealed secrets cannot be unsealed here: such webhooks are dropped with their deliveries.
DELETE FROM webhooks WHERE secret IS NULL;
ALTER TABLE webhooks
    DROP COLUMN secret_sealed,
    DROP COLUMN audience,
    DROP COLUMN format,
    ALTER COLUMN secret SET NOT NULL;
