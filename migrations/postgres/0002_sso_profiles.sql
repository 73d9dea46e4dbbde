-- saml-sp schema version 2 (PostgreSQL): SSO profiles and their last test login.
-- `data` is the whole profile as JSON (its IdP values, domains, provisioning settings and audit
-- trail); `version` is its optimistic-concurrency version (an update names the one it read).
CREATE TABLE IF NOT EXISTS sso_profiles (
    id           TEXT   PRIMARY KEY,
    organization TEXT   NOT NULL,
    version      BIGINT NOT NULL,
    state        TEXT   NOT NULL,
    data         TEXT   NOT NULL,
    updated_ms   BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sso_profiles_organization ON sso_profiles (organization);

CREATE TABLE IF NOT EXISTS sso_profile_tests (
    profile_id TEXT PRIMARY KEY,
    data       TEXT NOT NULL
);

-- Every change to a profile, by the crate or by hand, notifies the app instances that listen
-- (`LISTEN saml_sp_profiles`; the payload is the profile ID) after its transaction commits.
CREATE OR REPLACE FUNCTION saml_sp_profile_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('saml_sp_profiles', COALESCE(NEW.id, OLD.id));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS sso_profiles_changed ON sso_profiles;
CREATE TRIGGER sso_profiles_changed AFTER INSERT OR UPDATE OR DELETE ON sso_profiles
    FOR EACH ROW EXECUTE FUNCTION saml_sp_profile_changed();
