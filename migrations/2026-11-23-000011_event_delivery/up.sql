-- Event delivery: receivers in two formats (Roster's signed JSON webhook, or RFC 8417 Security
-- Event Tokens pushed per RFC 8935), webhook secrets sealed at rest, and permanently rejected
-- deliveries.

-- `format`: 'webhook' (JSON body, Roster-Signature HMAC) or 'set' (application/secevent+jwt,
-- signed with Roster's event key, published at /.well-known/jwks.json).
-- `audience`: the SET `aud` claim (default: the receiver URL).
-- `secret_sealed`: the HMAC secret encrypted with ChaCha20-Poly1305 under a key derived from
-- Roster's token signing key (which the database never sees): nonce (12 bytes) || ciphertext.
-- The clear `secret` column is kept only so that rows written before this migration can be
-- sealed: every Roster command seals them at start and nulls `secret` (see events::keys).
ALTER TABLE webhooks
    ADD COLUMN format        text  NOT NULL DEFAULT 'webhook' CHECK (format IN ('webhook', 'set')),
    ADD COLUMN audience      text  CHECK (length(audience) BETWEEN 1 AND 2000),
    ADD COLUMN secret_sealed bytea CHECK (length(secret_sealed) BETWEEN 29 AND 300),
    ALTER COLUMN secret DROP NOT NULL;
-- A webhook-format receiver needs a secret to sign with (clear until sealed, or sealed); SET
-- receivers verify with the published public key instead.
ALTER TABLE webhooks ADD CONSTRAINT webhooks_secret_present
    CHECK (format = 'set' OR secret IS NOT NULL OR secret_sealed IS NOT NULL);

-- A delivery the receiver refused for good (RFC 8935 §2.3: 400 with an `err` code): settled
-- like a delivered one (`delivered_at` set, so later events about the subject go on, in order)
-- but marked, with the receiver's err and description in `last_error`. Never retried.
ALTER TABLE event_deliveries ADD COLUMN rejected boolean NOT NULL DEFAULT false;
