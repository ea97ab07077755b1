DROP TABLE oauth_assertion_jtis;
DROP TABLE oauth_access_tokens;
DROP TABLE oauth_clients;
