//! The one definition of every option that weakens validation. Each configuration path (the
//! `ServiceProviderBuilder`, [`crate::sp::ValidationPolicy`], `TenantConfig`,
//! the serde `TenantSettings` and the `saml-sp` CLI) takes a whole [`DangerousOptions`] value
//! and nothing else, so an option added here exists on every path at once.

/// Options that weaken validation, all off by default. Each is named `dangerous_*` wherever it
/// appears: as a method here, as a field in TOML/JSON tenant settings (a `[dangerous]` table),
/// and as a `--dangerous-*` flag of the CLI.
///
/// ```
/// use saml_sp::ValidationPolicy;
/// use saml_sp::sp::DangerousOptions;
///
/// let danger = DangerousOptions::default().dangerous_allow_unsolicited_responses();
/// let policy = ValidationPolicy::default().dangerous(danger);
/// assert!(policy.dangerous_options().dangerous_allow_unsolicited_responses);
/// assert_eq!(policy.dangerous_options().enabled(), ["dangerous_allow_unsolicited_responses"]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize, serde::Serialize),
    serde(default, deny_unknown_fields)
)]
#[non_exhaustive]
#[must_use]
pub struct DangerousOptions {
    /// Accept unsolicited (IdP-initiated) responses, which have no InResponseTo. Any response
    /// that does carry InResponseTo must still match an outstanding request, replay protection
    /// stays on, and such a login is open to login CSRF (see the README's security model).
    pub dangerous_allow_unsolicited_responses: bool,
    /// Accept RSA-SHA1 signatures, SHA-1 digests and RSA keys of 1024-2047 bits, which old IdPs
    /// still use. SHA-1 collisions are practical; prefer asking the IdP for SHA-256.
    pub dangerous_allow_legacy_crypto: bool,
    /// Decrypt with `rsa-1_5` key transport (Bleichenbacher's padding oracle) and `tripledes-cbc`
    /// content encryption. Prefer asking the IdP for RSA-OAEP and AES-GCM.
    pub dangerous_allow_legacy_encryption: bool,
    /// Accept unsigned LogoutRequests and LogoutResponses on the front-channel bindings. SAML
    /// Profiles 4.4.3 requires them signed; without a signature anyone can log a user out, or
    /// answer a logout in the IdP's name.
    pub dangerous_allow_unsigned_logout: bool,
    /// Accept plain-http IdP endpoints (SSO, SLO) and tenant ACS URLs on hosts other than
    /// loopback (`localhost`, `127.0.0.0/8`, `::1`, which are always allowed for development).
    /// Anyone on the path can then read the SAML messages and redirect the browser.
    pub dangerous_allow_http_endpoints: bool,
}

impl DangerousOptions {
    /// Every option's name, in declaration order (the names used in logs and settings files).
    pub const NAMES: [&'static str; 5] = [
        "dangerous_allow_unsolicited_responses",
        "dangerous_allow_legacy_crypto",
        "dangerous_allow_legacy_encryption",
        "dangerous_allow_unsigned_logout",
        "dangerous_allow_http_endpoints",
    ];

    /// Turns on [`DangerousOptions::dangerous_allow_unsolicited_responses`].
    pub fn dangerous_allow_unsolicited_responses(mut self) -> Self {
        self.dangerous_allow_unsolicited_responses = true;
        self
    }
    /// Turns on [`DangerousOptions::dangerous_allow_legacy_crypto`].
    pub fn dangerous_allow_legacy_crypto(mut self) -> Self {
        self.dangerous_allow_legacy_crypto = true;
        self
    }
    /// Turns on [`DangerousOptions::dangerous_allow_legacy_encryption`].
    pub fn dangerous_allow_legacy_encryption(mut self) -> Self {
        self.dangerous_allow_legacy_encryption = true;
        self
    }
    /// Turns on [`DangerousOptions::dangerous_allow_unsigned_logout`].
    pub fn dangerous_allow_unsigned_logout(mut self) -> Self {
        self.dangerous_allow_unsigned_logout = true;
        self
    }
    /// Turns on [`DangerousOptions::dangerous_allow_http_endpoints`].
    pub fn dangerous_allow_http_endpoints(mut self) -> Self {
        self.dangerous_allow_http_endpoints = true;
        self
    }

    /// Sets an option by its name (one of [`DangerousOptions::NAMES`]); `None` for any other
    /// name. For settings read from elsewhere (environment variables, command lines).
    pub fn with_named(mut self, name: &str) -> Option<Self> {
        let flag = match name {
            "dangerous_allow_unsolicited_responses" => {
                &mut self.dangerous_allow_unsolicited_responses
            }
            "dangerous_allow_legacy_crypto" => &mut self.dangerous_allow_legacy_crypto,
            "dangerous_allow_legacy_encryption" => &mut self.dangerous_allow_legacy_encryption,
            "dangerous_allow_unsigned_logout" => &mut self.dangerous_allow_unsigned_logout,
            "dangerous_allow_http_endpoints" => &mut self.dangerous_allow_http_endpoints,
            _ => return None,
        };
        *flag = true;
        Some(self)
    }

    /// The names of the options turned on (for a start-up log line or an admin page).
    pub fn enabled(&self) -> Vec<&'static str> {
        let on = [
            self.dangerous_allow_unsolicited_responses,
            self.dangerous_allow_legacy_crypto,
            self.dangerous_allow_legacy_encryption,
            self.dangerous_allow_unsigned_logout,
            self.dangerous_allow_http_endpoints,
        ];
        Self::NAMES
            .iter()
            .zip(on)
            .filter_map(|(n, on)| on.then_some(*n))
            .collect()
    }

    /// Whether any option is on.
    pub fn any(&self) -> bool {
        !self.enabled().is_empty()
    }
}
