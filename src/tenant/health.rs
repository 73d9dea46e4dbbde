//! Certificate health per tenant, for an admin page: which IdP signing certificates are valid,
//! expired or not yet valid, and whether the last valid one expires soon with no successor.

use chrono::{DateTime, Duration, Utc};

use crate::crypto::Certificate;

/// One certificate's state at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateState {
    /// Within its validity period.
    Valid,
    /// Before its notBefore (a successor published early).
    NotYetValid,
    /// After its notAfter.
    Expired,
}

/// One trusted IdP signing certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateHealth {
    /// SHA-256 fingerprint, hex.
    pub fingerprint: String,
    /// Subject DN (information only).
    pub subject: String,
    /// notBefore.
    pub not_before: DateTime<Utc>,
    /// notAfter.
    pub not_after: DateTime<Utc>,
    /// The state at the time of the report.
    pub state: CertificateState,
}

/// How a tenant's signing certificates look.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthStatus {
    /// A valid certificate lasts beyond the warning window.
    Ok,
    /// The last valid certificate expires within the warning window (ask the IdP to rotate).
    ExpiringSoon {
        /// Its fingerprint.
        fingerprint: String,
        /// Its notAfter.
        not_after: DateTime<Utc>,
    },
    /// No certificate is within its validity period. Logins still verify with them unless the
    /// tenant's policy requires certificate validity, but the IdP must rotate.
    NoValidCertificate,
}

/// A tenant's certificate report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantHealth {
    /// The tenant.
    pub tenant: String,
    /// Every trusted certificate.
    pub certificates: Vec<CertificateHealth>,
    /// The summary.
    pub status: HealthStatus,
    /// The installed metadata's `validUntil`, when the configuration came from metadata.
    pub metadata_valid_until: Option<DateTime<Utc>>,
}

/// The certificate whose expiry ends the IdP's ability to sign, when that happens within
/// `window` of `now`: the valid certificate with the latest notAfter, if no certificate is
/// valid beyond `now + window` (a successor not yet valid but starting before that end counts
/// as a successor).
pub(crate) fn expiry_warning(
    certs: &[Certificate],
    now: DateTime<Utc>,
    window: Duration,
) -> Option<&Certificate> {
    let last = certs
        .iter()
        .filter(|c| c.is_valid_at(now))
        .max_by_key(|c| c.not_after())?;
    let successor = certs
        .iter()
        .any(|c| c.not_after() > last.not_after() && c.not_before() <= last.not_after());
    (!successor && last.not_after() <= now + window).then_some(last)
}

pub(crate) fn report(
    tenant: &str,
    certs: &[Certificate],
    metadata_valid_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    window: Duration,
) -> TenantHealth {
    let certificates = certs
        .iter()
        .map(|c| CertificateHealth {
            fingerprint: c.fingerprint_hex(),
            subject: c.subject().to_owned(),
            not_before: c.not_before(),
            not_after: c.not_after(),
            state: if now < c.not_before() {
                CertificateState::NotYetValid
            } else if now > c.not_after() {
                CertificateState::Expired
            } else {
                CertificateState::Valid
            },
        })
        .collect();
    let status = if !certs.iter().any(|c| c.is_valid_at(now)) {
        HealthStatus::NoValidCertificate
    } else if let Some(c) = expiry_warning(certs, now, window) {
        HealthStatus::ExpiringSoon {
            fingerprint: c.fingerprint_hex(),
            not_after: c.not_after(),
        }
    } else {
        HealthStatus::Ok
    };
    TenantHealth {
        tenant: tenant.to_owned(),
        certificates,
        status,
        metadata_valid_until,
    }
}
