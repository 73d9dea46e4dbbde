-- saml-sp schema version 2 (SQLite): SSO profiles and their last test login.
-- `data` is the whole profile as JSON (its IdP values, domains, provisioning settings and audit
-- trail); `version` is its optimistic-concurrency version (an update names the one it read).
CREATE TABLE IF NOT EXISTS sso_profiles (
    id           TEXT   PRIMARY KEY,
    organization TEXT   NOT NULL,
    version      INTEGER NOT NULL,
    state        TEXT   NOT NULL,
    data         TEXT   NOT NULL,
    updated_ms   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sso_profiles_organization ON sso_profiles (organization);

CREATE TABLE IF NOT EXISTS sso_profile_tests (
    profile_id TEXT PRIMARY KEY,
    data       TEXT NOT NULL
);
