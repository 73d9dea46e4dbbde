-- saml-sp schema version 3 (PostgreSQL): the web layer's signed-in sessions.
-- A session is found by the SHA-256 of its cookie token (a copy of this table signs nobody in),
-- and by its SAML subject (an IdP-initiated logout ends every session it names).
CREATE TABLE IF NOT EXISTS saml_web_sessions (
    token_sha256 TEXT   PRIMARY KEY,
    subject      TEXT,
    user_json    TEXT   NOT NULL,
    saml_record  TEXT,
    created_ms   BIGINT NOT NULL,
    expires_ms   BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS saml_web_sessions_subject ON saml_web_sessions (subject);
CREATE INDEX IF NOT EXISTS saml_web_sessions_expires ON saml_web_sessions (expires_ms);
