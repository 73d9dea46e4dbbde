//! SSO profiles in the app's database (features `postgres`, `sqlite`): one row per profile
//! (its ID, organization, version and state as columns, the whole profile as JSON, audit trail
//! included) and one per profile's last test login. Updates and deletes name the version they
//! read (`... WHERE id = $1 AND version = $2`), so of two administrators saving at once one gets
//! [`Error::VersionConflict`]; nothing is half-written (one statement per change).
//!
//! In PostgreSQL a trigger (`migrations/postgres/0002_sso_profiles.sql`) sends
//! `NOTIFY saml_sp_profiles` with the profile's ID on every change, which
//! [`super::follow::follow_postgres`] turns into a registry update on every instance.

use super::codec::{profile_from_json, profile_to_json, test_from_json, test_to_json};
use super::model::SsoProfile;
use super::store::{ProfileFuture, ProfileStore};
use super::test_login::TestResult;
use crate::error::Error;

pub(crate) const GET: &str = "SELECT data FROM sso_profiles WHERE id = $1";
pub(crate) const LIST: &str = "SELECT data FROM sso_profiles WHERE organization = $1 ORDER BY id";
pub(crate) const ALL: &str = "SELECT data FROM sso_profiles ORDER BY id";
pub(crate) const VERSIONS: &str = "SELECT id, version FROM sso_profiles ORDER BY id";
pub(crate) const VERSION_OF: &str = "SELECT version FROM sso_profiles WHERE id = $1";
pub(crate) const INSERT: &str = "INSERT INTO sso_profiles (id, organization, version, state, data, updated_ms) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING";
pub(crate) const UPDATE: &str = "UPDATE sso_profiles SET organization = $2, version = $3, state = $4, \
     data = $5, updated_ms = $6 WHERE id = $1 AND version = $7";
pub(crate) const DELETE: &str = "DELETE FROM sso_profiles WHERE id = $1 AND version = $2";
pub(crate) const PUT_TEST: &str = "INSERT INTO sso_profile_tests (profile_id, data) VALUES ($1, $2) \
     ON CONFLICT (profile_id) DO UPDATE SET data = excluded.data";
pub(crate) const GET_TEST: &str = "SELECT data FROM sso_profile_tests WHERE profile_id = $1";
pub(crate) const DELETE_TEST: &str = "DELETE FROM sso_profile_tests WHERE profile_id = $1";

pub(crate) fn unavailable(e: sqlx::Error) -> Error {
    Error::StoreUnavailable(crate::store::StoreError::Unavailable(format!(
        "profile database: {e}"
    )))
}

pub(crate) fn parse(data: &str) -> Result<SsoProfile, Error> {
    let v: serde_json::Value = serde_json::from_str(data)
        .map_err(|_| Error::malformed("a stored profile as JSON", "other text"))?;
    profile_from_json(&v)
}

pub(crate) fn parse_test(data: &str) -> Result<TestResult, Error> {
    let v: serde_json::Value = serde_json::from_str(data)
        .map_err(|_| Error::malformed("a stored test result as JSON", "other text"))?;
    test_from_json(&v)
}

pub(crate) fn version(v: u64) -> Result<i64, Error> {
    i64::try_from(v).map_err(|_| Error::Config {
        field: "version",
        reason: format!("version {v} is out of range"),
    })
}

/// What a change that matched no row means: the profile is gone, or someone saved it meanwhile.
pub(crate) fn missed(id: &str, expected: u64, found: Option<i64>) -> Error {
    match found {
        None => Error::UnknownTenant {
            found: id.to_owned(),
        },
        Some(found) => Error::VersionConflict {
            expected,
            found: u64::try_from(found).unwrap_or(0),
        },
    }
}

pub(crate) fn row(p: &SsoProfile) -> Result<(i64, String), Error> {
    Ok((version(p.version)?, profile_to_json(p).to_string()))
}

pub(crate) fn test_row(t: &TestResult) -> String {
    test_to_json(t).to_string()
}

/// Implements [`ProfileStore`] for `$store`, a struct with a `pool` field of an sqlx pool.
macro_rules! sql_profile_store {
    ($store:ident) => {
        impl ProfileStore for $store {
            fn get<'a>(&'a self, id: &'a str) -> ProfileFuture<'a, Option<SsoProfile>> {
                Box::pin(async move {
                    let data: Option<String> = sqlx::query_scalar($crate::profile::sql::GET)
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::profile::sql::unavailable)?;
                    data.as_deref().map($crate::profile::sql::parse).transpose()
                })
            }

            fn list<'a>(&'a self, organization: &'a str) -> ProfileFuture<'a, Vec<SsoProfile>> {
                Box::pin(async move {
                    let rows: Vec<String> = sqlx::query_scalar($crate::profile::sql::LIST)
                        .bind(organization)
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::profile::sql::unavailable)?;
                    rows.iter()
                        .map(|d| $crate::profile::sql::parse(d))
                        .collect()
                })
            }

            fn all(&self) -> ProfileFuture<'_, Vec<SsoProfile>> {
                Box::pin(async move {
                    let rows: Vec<String> = sqlx::query_scalar($crate::profile::sql::ALL)
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::profile::sql::unavailable)?;
                    rows.iter()
                        .map(|d| $crate::profile::sql::parse(d))
                        .collect()
                })
            }

            fn versions(&self) -> ProfileFuture<'_, Vec<(String, u64)>> {
                Box::pin(async move {
                    let rows: Vec<(String, i64)> = sqlx::query_as($crate::profile::sql::VERSIONS)
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::profile::sql::unavailable)?;
                    Ok(rows
                        .into_iter()
                        .map(|(id, v)| (id, u64::try_from(v).unwrap_or(0)))
                        .collect())
                })
            }

            fn insert(&self, profile: SsoProfile) -> ProfileFuture<'_, ()> {
                Box::pin(async move {
                    let (version, data) = $crate::profile::sql::row(&profile)?;
                    let inserted = sqlx::query($crate::profile::sql::INSERT)
                        .bind(&profile.id)
                        .bind(&profile.organization)
                        .bind(version)
                        .bind(profile.state.as_str())
                        .bind(data)
                        .bind(chrono::Utc::now().timestamp_millis())
                        .execute(&self.pool)
                        .await
                        .map_err($crate::profile::sql::unavailable)?
                        .rows_affected();
                    if inserted == 0 {
                        return Err(Error::Config {
                            field: "id",
                            reason: format!("a profile {:?} exists", profile.id),
                        });
                    }
                    Ok(())
                })
            }

            fn update(&self, profile: SsoProfile, expected: u64) -> ProfileFuture<'_, ()> {
                Box::pin(async move {
                    let (version, data) = $crate::profile::sql::row(&profile)?;
                    let changed = sqlx::query($crate::profile::sql::UPDATE)
                        .bind(&profile.id)
                        .bind(&profile.organization)
                        .bind(version)
                        .bind(profile.state.as_str())
                        .bind(data)
                        .bind(chrono::Utc::now().timestamp_millis())
                        .bind($crate::profile::sql::version(expected)?)
                        .execute(&self.pool)
                        .await
                        .map_err($crate::profile::sql::unavailable)?
                        .rows_affected();
                    if changed == 1 {
                        return Ok(());
                    }
                    let found: Option<i64> = sqlx::query_scalar($crate::profile::sql::VERSION_OF)
                        .bind(&profile.id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::profile::sql::unavailable)?;
                    Err($crate::profile::sql::missed(&profile.id, expected, found))
                })
            }

            fn delete<'a>(&'a self, id: &'a str, expected: u64) -> ProfileFuture<'a, ()> {
                Box::pin(async move {
                    let mut tx = self
                        .pool
                        .begin()
                        .await
                        .map_err($crate::profile::sql::unavailable)?;
                    let deleted = sqlx::query($crate::profile::sql::DELETE)
                        .bind(id)
                        .bind($crate::profile::sql::version(expected)?)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::profile::sql::unavailable)?
                        .rows_affected();
                    if deleted == 0 {
                        let found: Option<i64> =
                            sqlx::query_scalar($crate::profile::sql::VERSION_OF)
                                .bind(id)
                                .fetch_optional(&mut *tx)
                                .await
                                .map_err($crate::profile::sql::unavailable)?;
                        return Err($crate::profile::sql::missed(id, expected, found));
                    }
                    sqlx::query($crate::profile::sql::DELETE_TEST)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::profile::sql::unavailable)?;
                    tx.commit().await.map_err($crate::profile::sql::unavailable)
                })
            }

            fn put_test_result(&self, result: TestResult) -> ProfileFuture<'_, ()> {
                Box::pin(async move {
                    sqlx::query($crate::profile::sql::PUT_TEST)
                        .bind(&result.profile)
                        .bind($crate::profile::sql::test_row(&result))
                        .execute(&self.pool)
                        .await
                        .map_err($crate::profile::sql::unavailable)?;
                    Ok(())
                })
            }

            fn test_result<'a>(
                &'a self,
                profile: &'a str,
            ) -> ProfileFuture<'a, Option<TestResult>> {
                Box::pin(async move {
                    let data: Option<String> = sqlx::query_scalar($crate::profile::sql::GET_TEST)
                        .bind(profile)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::profile::sql::unavailable)?;
                    data.as_deref()
                        .map($crate::profile::sql::parse_test)
                        .transpose()
                })
            }
        }
    };
}

/// SSO profiles in PostgreSQL (feature `postgres`), over the pool of
/// [`crate::store::postgres::PgStore`] (whose migrations create the tables).
#[cfg(feature = "postgres")]
#[derive(Debug, Clone)]
pub struct PgProfileStore {
    pool: sqlx::PgPool,
}

#[cfg(feature = "postgres")]
impl PgProfileStore {
    /// Profiles in the database of `pool` (migrated).
    pub fn new(pool: sqlx::PgPool) -> Self {
        PgProfileStore { pool }
    }
}

#[cfg(feature = "postgres")]
sql_profile_store!(PgProfileStore);

/// SSO profiles in SQLite (feature `sqlite`), over the pool of
/// [`crate::store::sqlite::SqliteStore`] (whose migrations create the tables).
#[cfg(feature = "sqlite")]
#[derive(Debug, Clone)]
pub struct SqliteProfileStore {
    pool: sqlx::SqlitePool,
}

#[cfg(feature = "sqlite")]
impl SqliteProfileStore {
    /// Profiles in the database of `pool` (migrated).
    pub fn new(pool: sqlx::SqlitePool) -> Self {
        SqliteProfileStore { pool }
    }
}

#[cfg(feature = "sqlite")]
sql_profile_store!(SqliteProfileStore);
