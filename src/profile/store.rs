//! Where profiles are kept: a trait the app implements on its own database (the crate's SQL
//! stores come with the database feature), and an in-memory store. Every update names the
//! version it read, so two administrators editing one profile at once get a conflict instead of
//! a silent overwrite.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use super::model::SsoProfile;
use super::test_login::TestResult;
use crate::error::Error;

/// A boxed, sendable future returned by profile-store methods.
pub type ProfileFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Keeps profiles and their last test results.
pub trait ProfileStore: std::fmt::Debug + Send + Sync {
    /// The profile with this ID.
    fn get<'a>(&'a self, id: &'a str) -> ProfileFuture<'a, Option<SsoProfile>>;
    /// The organization's profiles, sorted by ID.
    fn list<'a>(&'a self, organization: &'a str) -> ProfileFuture<'a, Vec<SsoProfile>>;
    /// Every profile (an app's start).
    fn all(&self) -> ProfileFuture<'_, Vec<SsoProfile>>;
    /// Every profile's ID and version, sorted by ID: what [`super::ProfileService::sync`]
    /// compares with what it installed. The default reads every profile; a database store
    /// answers from its index.
    fn versions(&self) -> ProfileFuture<'_, Vec<(String, u64)>> {
        Box::pin(async move {
            Ok(self
                .all()
                .await?
                .into_iter()
                .map(|p| (p.id, p.version))
                .collect())
        })
    }
    /// Stores a new profile.
    ///
    /// # Errors
    /// [`Error::Config`] (`id`) when the ID is taken.
    fn insert(&self, profile: SsoProfile) -> ProfileFuture<'_, ()>;
    /// Replaces the stored profile when its version is still `expected`; `profile` carries the
    /// next version.
    ///
    /// # Errors
    /// [`Error::VersionConflict`] when someone saved it meanwhile; [`Error::UnknownTenant`].
    fn update(&self, profile: SsoProfile, expected: u64) -> ProfileFuture<'_, ()>;
    /// Deletes the profile when its version is still `expected`.
    ///
    /// # Errors
    /// As [`ProfileStore::update`].
    fn delete<'a>(&'a self, id: &'a str, expected: u64) -> ProfileFuture<'a, ()>;
    /// Keeps the last test result of a profile.
    fn put_test_result(&self, result: TestResult) -> ProfileFuture<'_, ()>;
    /// The last test result of a profile.
    fn test_result<'a>(&'a self, profile: &'a str) -> ProfileFuture<'a, Option<TestResult>>;
}

/// Profiles in memory: one instance, lost on restart (tests, demos).
#[derive(Debug, Default)]
pub struct MemoryProfileStore {
    profiles: Mutex<HashMap<String, SsoProfile>>,
    tests: Mutex<HashMap<String, TestResult>>,
}

fn poisoned() -> Error {
    Error::StoreUnavailable(crate::store::StoreError::Unavailable(
        "profile store lock poisoned".into(),
    ))
}

impl ProfileStore for MemoryProfileStore {
    fn get<'a>(&'a self, id: &'a str) -> ProfileFuture<'a, Option<SsoProfile>> {
        Box::pin(async move {
            Ok(self
                .profiles
                .lock()
                .map_err(|_| poisoned())?
                .get(id)
                .cloned())
        })
    }
    fn list<'a>(&'a self, organization: &'a str) -> ProfileFuture<'a, Vec<SsoProfile>> {
        Box::pin(async move {
            let mut out: Vec<SsoProfile> = self
                .profiles
                .lock()
                .map_err(|_| poisoned())?
                .values()
                .filter(|p| p.organization == organization)
                .cloned()
                .collect();
            out.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(out)
        })
    }
    fn all(&self) -> ProfileFuture<'_, Vec<SsoProfile>> {
        Box::pin(async move {
            let mut out: Vec<SsoProfile> = self
                .profiles
                .lock()
                .map_err(|_| poisoned())?
                .values()
                .cloned()
                .collect();
            out.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(out)
        })
    }
    fn insert(&self, profile: SsoProfile) -> ProfileFuture<'_, ()> {
        Box::pin(async move {
            let mut map = self.profiles.lock().map_err(|_| poisoned())?;
            if map.contains_key(&profile.id) {
                return Err(Error::Config {
                    field: "id",
                    reason: format!("a profile {:?} exists", profile.id),
                });
            }
            map.insert(profile.id.clone(), profile);
            Ok(())
        })
    }
    fn update(&self, profile: SsoProfile, expected: u64) -> ProfileFuture<'_, ()> {
        Box::pin(async move {
            let mut map = self.profiles.lock().map_err(|_| poisoned())?;
            let current = map.get(&profile.id).ok_or_else(|| Error::UnknownTenant {
                found: profile.id.clone(),
            })?;
            if current.version != expected {
                return Err(Error::VersionConflict {
                    expected,
                    found: current.version,
                });
            }
            map.insert(profile.id.clone(), profile);
            Ok(())
        })
    }
    fn delete<'a>(&'a self, id: &'a str, expected: u64) -> ProfileFuture<'a, ()> {
        Box::pin(async move {
            let mut map = self.profiles.lock().map_err(|_| poisoned())?;
            let current = map.get(id).ok_or_else(|| Error::UnknownTenant {
                found: id.to_owned(),
            })?;
            if current.version != expected {
                return Err(Error::VersionConflict {
                    expected,
                    found: current.version,
                });
            }
            map.remove(id);
            Ok(())
        })
    }
    fn put_test_result(&self, result: TestResult) -> ProfileFuture<'_, ()> {
        Box::pin(async move {
            self.tests
                .lock()
                .map_err(|_| poisoned())?
                .insert(result.profile.clone(), result);
            Ok(())
        })
    }
    fn test_result<'a>(&'a self, profile: &'a str) -> ProfileFuture<'a, Option<TestResult>> {
        Box::pin(async move {
            Ok(self
                .tests
                .lock()
                .map_err(|_| poisoned())?
                .get(profile)
                .cloned())
        })
    }
}
