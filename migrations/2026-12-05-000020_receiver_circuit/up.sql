-- A circuit per receiver (webhook or SET endpoint): consecutive failed attempts across its
-- deliveries; past a threshold the receiver is paused (no attempts at all until `paused_until`),
-- then probed with one delivery; a success closes the circuit. Visible in `roster webhook list`
-- and the admin API.
ALTER TABLE webhooks
    ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    ADD COLUMN paused_until timestamptz,
    ADD COLUMN last_error text,
    ADD COLUMN last_success_at timestamptz;
