-- OAuth 2.0 client credentials per connection (issue #13). A connection has at most one client;
-- a connection with a client authenticates with it (POST /oauth/token) instead of static tokens.
-- Secrets are stored as SHA-256 digests only (they are 256 random bits, so a slow hash adds
-- nothing); during a rotation the previous digest stays valid until previous_valid_until.
CREATE TABLE oauth_clients (
    client_id text PRIMARY KEY,
    tenant_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    secret_hash bytea NOT NULL,
    previous_secret_hash bytea,
    previous_valid_until timestamptz,
    -- private_key_jwt: a JWKS URL or an inline public key (JWK, JWK Set or PEM); at most one.
    jwks_url text,
    public_key text,
    created_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE,
    CHECK (jwks_url IS NULL OR public_key IS NULL),
    CHECK ((previous_secret_hash IS NULL) = (previous_valid_until IS NULL))
);
CREATE UNIQUE INDEX oauth_clients_connection ON oauth_clients (tenant_id, connection_id);

-- The access tokens a client was issued: ordinary connection tokens (so SCIM accepts them
-- exactly like static ones), linked here so revoking the client or rotating its secret can end
-- them at once.
CREATE TABLE oauth_access_tokens (
    tenant_id uuid NOT NULL,
    token_id uuid NOT NULL,
    client_id text NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, token_id),
    FOREIGN KEY (tenant_id, token_id) REFERENCES connection_tokens (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX oauth_access_tokens_client ON oauth_access_tokens (client_id);

-- private_key_jwt assertion ids seen, kept until the assertion expires (replay protection).
CREATE TABLE oauth_assertion_jtis (
    client_id text NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    jti text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX oauth_assertion_jtis_expiry ON oauth_assertion_jtis (expires_at);
