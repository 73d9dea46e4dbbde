//! The profile operations an admin page calls, each one loading the profile, checking the
//! version the administrator saw, applying one transition, saving, and putting the result into
//! the tenant registry at once (an active or enforced profile is a tenant; any other is not).
//! Nothing is saved when a step fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::domain::{TxtResolver, holds_token, verification_name};
use super::input::IdpInput;
use super::model::{DomainClaim, ProfileState, ProvisioningSettings, SsoProfile};
use super::store::ProfileStore;
use super::test_login::{self, TestResult, TestStart};
use crate::error::Error;
use crate::store::{ReplayCache, RequestStore};
use crate::tenant::config::TenantConfig;
use crate::tenant::{ConfigProblem, IdpPreset, IdpRegistry, StoredTenant, TenantLoad};
use crate::time::{Clock, SystemClock};

/// Why a change was refused: the problems of what was entered (every one, with its field), or
/// the error of the step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfileError {
    /// What the administrator entered has these problems; nothing was saved.
    Invalid(Vec<ConfigProblem>),
    /// The step failed (a refused transition, a version conflict, a store error...).
    Failed(Error),
}

impl From<Error> for ProfileError {
    fn from(e: Error) -> Self {
        ProfileError::Failed(e)
    }
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileError::Invalid(problems) => {
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{}: {}", p.field, p.message)?;
                }
                Ok(())
            }
            ProfileError::Failed(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ProfileError {}

/// SSO profiles over a store, kept in step with the tenant registry the ACS reads.
pub struct ProfileService {
    registry: Arc<IdpRegistry>,
    store: Arc<dyn ProfileStore>,
    requests: Arc<dyn RequestStore>,
    replay: Arc<dyn ReplayCache>,
    resolver: Arc<dyn TxtResolver>,
    clock: Arc<dyn Clock>,
    /// The version of each profile this instance last put into (or took out of) the registry:
    /// what [`ProfileService::sync`] compares with the store.
    installed: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for ProfileService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileService").finish_non_exhaustive()
    }
}

fn random_hex(bytes: usize) -> Result<String, Error> {
    let mut b = vec![0u8; bytes];
    crate::crypto::random_bytes(&mut b)?;
    Ok(crate::crypto::hex(&b))
}

impl ProfileService {
    /// Profiles in `store`, installed into `registry` (whose SP settings give each profile its
    /// SP entity ID and ACS URL), test logins through `requests` and `replay` (the same stores
    /// as the ACS, so a test Response cannot be replayed there), domains checked with `resolver`.
    pub fn new(
        registry: Arc<IdpRegistry>,
        store: Arc<dyn ProfileStore>,
        requests: Arc<dyn RequestStore>,
        replay: Arc<dyn ReplayCache>,
        resolver: Arc<dyn TxtResolver>,
    ) -> Self {
        ProfileService {
            registry,
            store,
            requests,
            replay,
            resolver,
            clock: Arc::new(SystemClock),
            installed: Mutex::new(HashMap::new()),
        }
    }

    /// Uses `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The registry the profiles are installed in.
    pub fn registry(&self) -> &IdpRegistry {
        &self.registry
    }

    /// Creates a draft profile for `organization`: its SP values (entity ID and ACS URL, from
    /// the registry's SP settings with the new profile's ID) exist at once, for the
    /// administrator to copy into the IdP.
    ///
    /// # Errors
    /// [`ProfileError::Invalid`] for an empty name; store errors.
    pub async fn create(
        &self,
        organization: &str,
        name: &str,
        preset: Option<IdpPreset>,
        by: &str,
    ) -> Result<SsoProfile, ProfileError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ProfileError::Invalid(vec![ConfigProblem {
                field: "name",
                message: "Give the profile a name of 1 to 100 characters.".into(),
            }]));
        }
        let id = format!("p-{}", random_hex(6)?);
        let sp = self.registry.sp_settings();
        let mut profile = SsoProfile::new(
            id.clone(),
            organization,
            name,
            sp.entity_id(&id),
            sp.acs_url(&id),
            by,
            self.clock.now(),
        );
        profile.preset = preset;
        self.store.insert(profile.clone()).await?;
        self.note_installed(&profile.id, Some(profile.version));
        Ok(profile)
    }

    /// A profile of `organization`.
    ///
    /// # Errors
    /// [`Error::UnknownTenant`] when it does not exist or belongs to another organization.
    pub async fn get(&self, organization: &str, id: &str) -> Result<SsoProfile, Error> {
        match self.store.get(id).await? {
            Some(p) if p.organization == organization => Ok(p),
            _ => Err(Error::UnknownTenant {
                found: id.to_owned(),
            }),
        }
    }

    /// The organization's profiles.
    ///
    /// # Errors
    /// Store errors.
    pub async fn list(&self, organization: &str) -> Result<Vec<SsoProfile>, Error> {
        self.store.list(organization).await
    }

    /// Loads `id`, checks `version`, applies `change`, saves, and installs the result.
    async fn change(
        &self,
        organization: &str,
        id: &str,
        version: u64,
        change: impl FnOnce(&mut SsoProfile, DateTime<Utc>) -> Result<(), ProfileError>,
    ) -> Result<SsoProfile, ProfileError> {
        let before = self.get(organization, id).await?;
        if before.version != version {
            return Err(Error::VersionConflict {
                expected: version,
                found: before.version,
            }
            .into());
        }
        let now = self.clock.now();
        let mut after = before.clone();
        change(&mut after, now)?;
        after.version = version + 1;
        // The registry first (it refuses a domain or issuer another tenant holds); the store
        // then; the registry is put back when the store refuses.
        self.install(&after)?;
        if let Err(e) = self.store.update(after.clone(), version).await {
            if let Err(back) = self.install(&before) {
                tracing::warn!(target: "saml_sp::profile", profile = %id, "cannot put the registry back after a failed save: {back}");
            }
            return Err(e.into());
        }
        Ok(after)
    }

    /// Saves the IdP's values from what the administrator entered (every problem reported at
    /// once, nothing saved when there is one). Returns the profile and any warnings (a
    /// certificate not yet valid, say).
    ///
    /// # Errors
    /// [`ProfileError::Invalid`] with each problem's field; [`ProfileError::Failed`] for a
    /// version conflict or a disabled profile.
    pub async fn set_idp(
        &self,
        organization: &str,
        id: &str,
        version: u64,
        input: &IdpInput,
        by: &str,
    ) -> Result<(SsoProfile, Vec<ConfigProblem>), ProfileError> {
        let (values, warnings) = input
            .parse(self.clock.now())
            .map_err(ProfileError::Invalid)?;
        let p = self
            .change(organization, id, version, |p, now| {
                p.set_idp(values, by, now).map_err(Into::into)
            })
            .await?;
        Ok((p, warnings))
    }

    /// Changes the provisioning settings.
    ///
    /// # Errors
    /// As [`ProfileService::set_idp`].
    pub async fn set_provisioning(
        &self,
        organization: &str,
        id: &str,
        version: u64,
        settings: ProvisioningSettings,
        by: &str,
    ) -> Result<SsoProfile, ProfileError> {
        self.change(organization, id, version, |p, now| {
            p.set_provisioning(settings, by, now);
            Ok(())
        })
        .await
    }

    /// Activates a tested profile: users can sign in with it at once.
    ///
    /// # Errors
    /// As [`super::SsoProfile::activate`]; version conflicts.
    pub async fn activate(
        &self,
        organization: &str,
        id: &str,
        version: u64,
        by: &str,
    ) -> Result<SsoProfile, ProfileError> {
        self.change(organization, id, version, |p, now| {
            p.activate(by, now).map_err(Into::into)
        })
        .await
    }

    /// Enforces SSO for the profile's verified domains (`confirmed`: the administrator
    /// confirmed it).
    ///
    /// # Errors
    /// As [`super::SsoProfile::enforce`]; version conflicts.
    pub async fn enforce(
        &self,
        organization: &str,
        id: &str,
        version: u64,
        confirmed: bool,
        by: &str,
    ) -> Result<SsoProfile, ProfileError> {
        self.change(organization, id, version, |p, now| {
            p.enforce(confirmed, by, now).map_err(Into::into)
        })
        .await
    }

    /// Lifts enforcement.
    ///
    /// # Errors
    /// As [`super::SsoProfile::unenforce`]; version conflicts.
    pub async fn unenforce(
        &self,
        organization: &str,
        id: &str,
        version: u64,
        by: &str,
    ) -> Result<SsoProfile, ProfileError> {
        self.change(organization, id, version, |p, now| {
            p.unenforce(by, now).map_err(Into::into)
        })
        .await
    }

    /// Disables the profile.
    ///
    /// # Errors
    /// As [`super::SsoProfile::disable`]; version conflicts.
    pub async fn disable(
        &self,
        organization: &str,
        id: &str,
        version: u64,
        by: &str,
    ) -> Result<SsoProfile, ProfileError> {
        self.change(organization, id, version, |p, now| {
            p.disable(by, now).map_err(Into::into)
        })
        .await
    }

    /// Enables a disabled profile (to be tested again).
    ///
    /// # Errors
    /// As [`super::SsoProfile::enable`]; version conflicts.
    pub async fn enable(
        &self,
        organization: &str,
        id: &str,
        version: u64,
        by: &str,
    ) -> Result<SsoProfile, ProfileError> {
        self.change(organization, id, version, |p, now| {
            p.enable(by, now).map_err(Into::into)
        })
        .await
    }

    /// Claims an email domain; returns the TXT record to publish.
    ///
    /// # Errors
    /// [`ProfileError::Invalid`] (`domains`) for a bad or already claimed domain; version
    /// conflicts.
    pub async fn claim_domain(
        &self,
        organization: &str,
        id: &str,
        version: u64,
        domain: &str,
        by: &str,
    ) -> Result<(SsoProfile, DomainClaim), ProfileError> {
        let token = random_hex(16)?;
        let mut claim = None;
        let p = self
            .change(organization, id, version, |p, now| {
                match p.claim_domain(domain, token, by, now) {
                    Ok(c) => {
                        claim = Some(c.clone());
                        Ok(())
                    }
                    Err(Error::Config { field, reason }) => {
                        Err(ProfileError::Invalid(vec![ConfigProblem {
                            field,
                            message: format!("{reason}."),
                        }]))
                    }
                    Err(e) => Err(e.into()),
                }
            })
            .await?;
        let claim = claim.ok_or_else(|| {
            ProfileError::Failed(Error::Config {
                field: "domains",
                reason: "the claim was not recorded".into(),
            })
        })?;
        Ok((p, claim))
    }

    /// Looks for the claimed domain's TXT record; marks it verified when the record holds the
    /// profile's token. Returns whether it is verified now.
    ///
    /// # Errors
    /// [`ProfileError::Invalid`] (`domains`) for an unclaimed domain; the resolver's error;
    /// version conflicts.
    pub async fn verify_domain(
        &self,
        organization: &str,
        id: &str,
        version: u64,
        domain: &str,
        by: &str,
    ) -> Result<(SsoProfile, bool), ProfileError> {
        let current = self.get(organization, id).await?;
        let domain = domain.trim().to_ascii_lowercase();
        let Some(claim) = current.domains.iter().find(|c| c.domain == domain) else {
            return Err(ProfileError::Invalid(vec![ConfigProblem {
                field: "domains",
                message: format!("{domain} is not claimed by this profile: add it first."),
            }]));
        };
        let records = self.resolver.txt(&verification_name(&domain)).await?;
        if !holds_token(&records, &claim.token) {
            return Ok((current, false));
        }
        let p = self
            .change(organization, id, version, |p, now| {
                p.mark_verified(&domain, by, now).map_err(Into::into)
            })
            .await?;
        Ok((p, true))
    }

    /// Starts a test login for the administrator `by`.
    ///
    /// # Errors
    /// [`Error::Config`] when the profile has no IdP values; [`Error::IdpDisabled`]; store
    /// errors.
    pub async fn start_test(
        &self,
        organization: &str,
        id: &str,
        by: &str,
    ) -> Result<TestStart, Error> {
        let p = self.get(organization, id).await?;
        test_login::start(&p, by, &*self.requests, self.clock.now()).await
    }

    /// Finishes a test login (the ACS received a Response whose RelayState is a test's): stores
    /// and returns what it found; a passed test marks the profile tested. `by` is the
    /// administrator whose browser posted it (the one who started it).
    ///
    /// # Errors
    /// [`Error::UnknownInResponseTo`] when no such test is pending, [`Error::LoginBrowserMismatch`]
    /// when another administrator started it; store errors. A failed check is not an error: it
    /// is in the result.
    pub async fn finish_test(
        &self,
        id: &str,
        saml_response: &str,
        relay_state: &str,
        by: &str,
    ) -> Result<TestResult, Error> {
        let p = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| Error::UnknownTenant {
                found: id.to_owned(),
            })?;
        let now = self.clock.now();
        let result = test_login::finish(
            &p,
            saml_response,
            relay_state,
            by,
            &*self.requests,
            &*self.replay,
            now,
        )
        .await?;
        self.store.put_test_result(result.clone()).await?;
        if result.passed
            && let Err(e) = self
                .change(&p.organization, id, p.version, |p, now| {
                    p.mark_tested(by, now).map_err(Into::into)
                })
                .await
        {
            tracing::warn!(target: "saml_sp::profile", profile = %id, "the test passed, but the profile could not be marked tested: {e}");
        }
        Ok(result)
    }

    /// The last test's result.
    ///
    /// # Errors
    /// [`Error::UnknownTenant`]; store errors.
    pub async fn last_test(
        &self,
        organization: &str,
        id: &str,
    ) -> Result<Option<TestResult>, Error> {
        self.get(organization, id).await?;
        self.store.test_result(id).await
    }

    /// Deletes a profile (never an enforced one: lift enforcement first).
    ///
    /// # Errors
    /// [`Error::Config`] (`state`) for an enforced profile; version conflicts.
    pub async fn delete(&self, organization: &str, id: &str, version: u64) -> Result<(), Error> {
        let p = self.get(organization, id).await?;
        if p.state == ProfileState::Enforced {
            return Err(Error::Config {
                field: "state",
                reason: "lift SSO enforcement before deleting the profile".into(),
            });
        }
        self.store.delete(id, version).await?;
        self.note_installed(id, None);
        if self.registry.by_slug(id).is_some() || self.registry.failed(id).is_some() {
            self.registry.remove(id)?;
        }
        Ok(())
    }

    /// The profile's health: certificate expiry, metadata validity, the last test, and the last
    /// logins `logins` saw (the [`super::LoginHealth`] given to the ACS as its audit sink).
    ///
    /// # Errors
    /// [`Error::UnknownTenant`]; store errors.
    pub async fn health(
        &self,
        organization: &str,
        id: &str,
        logins: &super::LoginHealth,
    ) -> Result<super::ProfileHealth, Error> {
        let p = self.get(organization, id).await?;
        let last = self.store.test_result(id).await?;
        Ok(super::health::health(
            &p,
            last.as_ref(),
            logins.outcomes(id),
            self.clock.now(),
        ))
    }

    /// The SP metadata an administrator gives the IdP (before any IdP value exists).
    ///
    /// # Errors
    /// [`Error::UnknownTenant`].
    pub async fn sp_metadata(&self, organization: &str, id: &str) -> Result<String, Error> {
        let p = self.get(organization, id).await?;
        let (signing, encryption) = self
            .registry
            .sp_settings()
            .metadata_certificates(self.clock.now());
        let mut md = crate::metadata::SpMetadata::new(p.sp_entity_id, p.acs_url);
        for c in signing {
            md = md.signing_certificate(c);
        }
        for c in encryption {
            md = md.encryption_certificate(c);
        }
        Ok(md.to_xml())
    }

    /// The SP's own keys as the admin page shows them: each certificate's expiry and its place
    /// in a rollover (the next key, published before it signs, and when it takes over).
    pub fn sp_keys(&self) -> Vec<super::SpKeyStatus> {
        super::health::sp_keys(self.registry.sp_settings(), self.clock.now())
    }

    /// Installs every active or enforced profile (an app's start): each one's outcome, a
    /// profile that cannot be installed kept failed so its enforcement holds.
    ///
    /// # Errors
    /// Store errors.
    pub async fn load(&self) -> Result<Vec<TenantLoad>, Error> {
        let profiles = self.read_source(self.store.all().await)?;
        if let Ok(mut installed) = self.installed.lock() {
            installed.extend(profiles.iter().map(|p| (p.id.clone(), p.version)));
        }
        let stored = profiles
            .iter()
            .filter(|p| p.state.signs_in())
            .map(|p| StoredTenant {
                slug: p.id.clone(),
                email_domains: p.verified_domains(),
                enforce_sso: p.state == ProfileState::Enforced,
                config: tenant_config(p),
            })
            .collect::<Vec<_>>();
        Ok(self.registry.load(stored))
    }

    /// Puts `p` into the registry (active or enforced) or takes it out (any other state).
    fn install(&self, p: &SsoProfile) -> Result<(), Error> {
        let present =
            self.registry.by_slug(&p.id).is_some() || self.registry.failed(&p.id).is_some();
        if !p.state.signs_in() {
            if present {
                self.registry.remove(&p.id)?;
            }
            self.note_installed(&p.id, Some(p.version));
            return Ok(());
        }
        let config = tenant_config(p)?;
        if present {
            self.registry.replace(config)?;
        } else {
            self.registry.insert(config)?;
        }
        self.note_installed(&p.id, Some(p.version));
        Ok(())
    }

    fn note_installed(&self, id: &str, version: Option<u64>) {
        if let Ok(mut installed) = self.installed.lock() {
            match version {
                Some(v) => installed.insert(id.to_owned(), v),
                None => installed.remove(id),
            };
        }
    }

    fn installed_version(&self, id: &str) -> Option<u64> {
        self.installed.lock().ok()?.get(id).copied()
    }

    /// Brings profile `id` in step with the store after another instance changed it (a
    /// notification named it): installed, replaced, or removed when it is gone. A stored profile
    /// that cannot be installed keeps the last good configuration, or, when there is none, is
    /// kept failed so that its domains' enforcement holds. Returns whether anything changed.
    ///
    /// # Errors
    /// Store errors (nothing changes).
    pub async fn sync_profile(&self, id: &str) -> Result<bool, Error> {
        let stored = self.store.get(id).await?;
        Ok(self.apply_stored(id, stored))
    }

    /// Brings every profile in step with the store (the periodic check that catches a lost
    /// notification, or a start while the database was down): each one whose stored version
    /// differs from the installed one is read and installed, a deleted one removed. Returns how
    /// many changed.
    ///
    /// # Errors
    /// Store errors (what was synced before the error stays).
    pub async fn sync(&self) -> Result<usize, Error> {
        let versions = self.read_source(self.store.versions().await)?;
        let mut changed = 0;
        for (id, version) in &versions {
            if self.installed_version(id) != Some(*version) && self.sync_profile(id).await? {
                changed += 1;
            }
        }
        let gone: Vec<String> = match self.installed.lock() {
            Ok(installed) => installed
                .keys()
                .filter(|id| versions.binary_search_by(|(v, _)| v.cmp(id)).is_err())
                .cloned()
                .collect(),
            Err(_) => Vec::new(),
        };
        for id in gone {
            if self.apply_stored(&id, None) {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Passes a read of every profile through, telling the registry whether the store answers
    /// (while it does not, logins for tenants it lacks fail with `store_unavailable`).
    fn read_source<T>(&self, read: Result<T, Error>) -> Result<T, Error> {
        match &read {
            Ok(_) => self.registry.set_source_unavailable(None),
            Err(e) => self.registry.set_source_unavailable(Some(e.to_string())),
        }
        read
    }

    /// Makes the registry hold what the store holds for `id`.
    fn apply_stored(&self, id: &str, stored: Option<SsoProfile>) -> bool {
        let Some(p) = stored else {
            let present = self.registry.by_slug(id).is_some() || self.registry.failed(id).is_some();
            self.note_installed(id, None);
            return present && self.registry.remove(id).is_ok();
        };
        if self.installed_version(id) == Some(p.version) {
            return false;
        }
        if let Err(e) = self.install(&p) {
            tracing::warn!(target: "saml_sp::profile", profile = %id, version = p.version, code = e.code(), "a stored profile cannot be installed: {e}");
            if self.registry.by_slug(id).is_none() && p.state.signs_in() {
                let failed = crate::tenant::FailedTenant::new(
                    id.to_owned(),
                    p.verified_domains(),
                    p.state == ProfileState::Enforced,
                    e,
                );
                let _ = self.registry.remove(id);
                if let Err(kept) = self.registry.insert_failed(failed) {
                    tracing::warn!(target: "saml_sp::profile", profile = %id, "{kept}");
                }
            }
            // Tried: not tried again until the stored version changes.
            self.note_installed(id, Some(p.version));
        }
        true
    }
}

/// The tenant an active or enforced profile is: its IdP values, its own SP values, its verified
/// domains, enforcement when enforced.
fn tenant_config(p: &SsoProfile) -> Result<TenantConfig, Error> {
    let idp = p.idp.as_ref().ok_or_else(|| Error::Config {
        field: "idp",
        reason: format!("profile {:?} has no IdP values", p.id),
    })?;
    let mut c = match p.preset {
        Some(preset) => {
            let mut c = TenantConfig::from_preset(p.id.clone(), preset);
            c.idp_entity_id.clone_from(&idp.entity_id);
            c.certificates.clone_from(&idp.certificates);
            c
        }
        None => TenantConfig::new(
            p.id.clone(),
            idp.entity_id.clone(),
            idp.certificates.clone(),
        ),
    }
    .display_name(p.name.clone())
    .sso_url(idp.sso_url.clone())
    .sso_binding(idp.sso_binding)
    .sp_entity_id(p.sp_entity_id.clone())
    .acs_url(p.acs_url.clone())
    .email_domains(p.verified_domains())
    .enforce_sso(p.state == ProfileState::Enforced)
    .jit(p.provisioning.jit);
    if let Some(u) = &idp.slo_url {
        c = c.slo_url(u.clone());
    }
    c.metadata_valid_until = idp.valid_until;
    Ok(c)
}
