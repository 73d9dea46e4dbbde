-- saml-sp schema version 1 (SQLite): the SAML state several app instances share.
-- Instants are milliseconds since 1970-01-01 UTC (INTEGER), the same in every database the crate
-- supports; `datetime(expires_ms / 1000, 'unixepoch')` shows one.

-- Outstanding AuthnRequests and LogoutRequests, each taken exactly once (DELETE ... RETURNING).
CREATE TABLE IF NOT EXISTS saml_requests (
    namespace  TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS saml_requests_expires ON saml_requests (expires_ms);

-- Consumed assertion (and LogoutRequest) IDs, kept until they could no longer be accepted.
CREATE TABLE IF NOT EXISTS saml_replay (
    namespace  TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS saml_replay_expires ON saml_replay (expires_ms);

-- Logouts of sessions the SP reaches only by a subject (NameID, SessionIndex, session ID).
CREATE TABLE IF NOT EXISTS saml_logouts (
    key           TEXT   PRIMARY KEY,
    logged_out_ms INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS saml_logouts_expires ON saml_logouts (expires_ms);
