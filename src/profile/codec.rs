//! Profiles and test results as JSON, for stores that keep them in a database column (the
//! PostgreSQL store, or an app's own). Certificates are base64 DER; instants RFC 3339 UTC.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::input::IdpValues;
use super::model::{AuditEntry, DomainClaim, ProfileState, ProvisioningSettings, SsoProfile};
use super::test_login::TestResult;
use crate::binding::SsoBinding;
use crate::crypto::Certificate;
use crate::error::Error;
use crate::sp::report::{Check, CheckResult};
use crate::tenant::IdpPreset;

fn bad(what: &str) -> Error {
    Error::malformed(format!("a stored profile with {what}"), "something else")
}

fn b64(der: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(der)
}

fn text(v: &Value, key: &str) -> Result<String, Error> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| bad(key))
}

fn opt_text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// An instant as stored: RFC 3339 UTC with every digit it has (a record reads back equal).
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn instant(v: &Value, key: &str) -> Result<Option<DateTime<Utc>>, Error> {
    match v.get(key).and_then(Value::as_str) {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| bad("an instant")),
        None => Ok(None),
    }
}

fn state_from(s: &str) -> Result<ProfileState, Error> {
    Ok(match s {
        "draft" => ProfileState::Draft,
        "configured" => ProfileState::Configured,
        "tested" => ProfileState::Tested,
        "active" => ProfileState::Active,
        "enforced" => ProfileState::Enforced,
        "disabled" => ProfileState::Disabled,
        _ => return Err(bad("a state")),
    })
}

/// `profile` as JSON.
pub(crate) fn profile_to_json(p: &SsoProfile) -> Value {
    json!({
        "id": p.id,
        "organization": p.organization,
        "name": p.name,
        "preset": p.preset.map(IdpPreset::name),
        "state": p.state.as_str(),
        "version": p.version,
        "sp_entity_id": p.sp_entity_id,
        "acs_url": p.acs_url,
        "idp": p.idp.as_ref().map(|i| json!({
            "entity_id": i.entity_id,
            "sso_url": i.sso_url,
            "sso_binding": match i.sso_binding { SsoBinding::Post => "post", _ => "redirect" },
            "slo_url": i.slo_url,
            "certificates": i.certificates.iter().map(|c| b64(c.der())).collect::<Vec<_>>(),
            "valid_until": i.valid_until.map(stamp),
        })),
        "provisioning": {
            "jit": p.provisioning.jit,
            "groups": p.provisioning.groups,
            "default_role": p.provisioning.default_role,
            "group_roles": p.provisioning.group_roles,
        },
        "domains": p.domains.iter().map(|d| json!({
            "domain": d.domain, "token": d.token, "verified_at": d.verified_at.map(stamp),
        })).collect::<Vec<_>>(),
        "before_disable": p.before_disable.map(ProfileState::as_str),
        "audit": p.audit.iter().map(|a| json!({
            "at": stamp(a.at), "by": a.by, "field": a.field, "old": a.old, "new": a.new,
        })).collect::<Vec<_>>(),
        "created_at": stamp(p.created_at),
    })
}

/// A profile from its JSON.
///
/// # Errors
/// [`Error::Malformed`] for JSON that is not a stored profile.
pub(crate) fn profile_from_json(v: &Value) -> Result<SsoProfile, Error> {
    let idp = match v.get("idp").filter(|i| !i.is_null()) {
        None => None,
        Some(i) => {
            let mut certificates = Vec::new();
            for c in i
                .get("certificates")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("certificates"))?
            {
                certificates.push(Certificate::parse(
                    c.as_str().ok_or_else(|| bad("a certificate"))?.as_bytes(),
                )?);
            }
            Some(IdpValues {
                entity_id: text(i, "entity_id")?,
                sso_url: text(i, "sso_url")?,
                sso_binding: if opt_text(i, "sso_binding").as_deref() == Some("post") {
                    SsoBinding::Post
                } else {
                    SsoBinding::Redirect
                },
                slo_url: opt_text(i, "slo_url"),
                certificates,
                valid_until: instant(i, "valid_until")?,
            })
        }
    };
    let prov = v.get("provisioning").ok_or_else(|| bad("provisioning"))?;
    let mut domains = Vec::new();
    for d in v
        .get("domains")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        domains.push(DomainClaim {
            domain: text(d, "domain")?,
            token: text(d, "token")?,
            verified_at: instant(d, "verified_at")?,
        });
    }
    let mut audit = Vec::new();
    for a in v
        .get("audit")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        audit.push(AuditEntry {
            at: instant(a, "at")?.ok_or_else(|| bad("an audit instant"))?,
            by: text(a, "by")?,
            field: text(a, "field")?,
            old: text(a, "old")?,
            new: text(a, "new")?,
        });
    }
    Ok(SsoProfile {
        id: text(v, "id")?,
        organization: text(v, "organization")?,
        name: text(v, "name")?,
        preset: opt_text(v, "preset").and_then(|p| IdpPreset::from_name(&p)),
        state: state_from(&text(v, "state")?)?,
        version: v
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("a version"))?,
        sp_entity_id: text(v, "sp_entity_id")?,
        acs_url: text(v, "acs_url")?,
        idp,
        provisioning: ProvisioningSettings {
            jit: prov.get("jit").and_then(Value::as_bool).unwrap_or(true),
            groups: prov.get("groups").and_then(Value::as_bool).unwrap_or(false),
            default_role: opt_text(prov, "default_role"),
            group_roles: prov
                .get("group_roles")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    let p = p.as_array()?;
                    Some((
                        p.first()?.as_str()?.to_owned(),
                        p.get(1)?.as_str()?.to_owned(),
                    ))
                })
                .collect(),
        },
        domains,
        before_disable: opt_text(v, "before_disable")
            .map(|s| state_from(&s))
            .transpose()?,
        audit,
        created_at: instant(v, "created_at")?.ok_or_else(|| bad("a creation instant"))?,
    })
}

/// `result` as JSON.
pub(crate) fn test_to_json(t: &TestResult) -> Value {
    json!({
        "profile": t.profile,
        "by": t.by,
        "at": stamp(t.at),
        "passed": t.passed,
        "error_code": t.error_code,
        "checks": t.checks.iter().map(|c| json!({
            "check": c.check, "result": c.result.as_str(), "expected": c.expected,
            "found": c.found, "detail": c.detail,
        })).collect::<Vec<_>>(),
        "identity": t.identity.as_ref().map(|i| json!({
            "issuer": i.issuer, "name_id": i.name_id, "email": i.email,
            "first_name": i.first_name, "last_name": i.last_name,
            "display_name": i.display_name, "groups": i.groups,
        })),
        "attributes": t.attributes,
        "configured_fingerprints": t.configured_fingerprints,
    })
}

/// A test result from its JSON. Check names and error codes are the crate's own (an unknown
/// one reads as `other`).
///
/// # Errors
/// [`Error::Malformed`] for JSON that is not a stored test result.
pub(crate) fn test_from_json(v: &Value) -> Result<TestResult, Error> {
    let mut checks = Vec::new();
    for c in v
        .get("checks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        checks.push(Check {
            check: crate::sp::report::check_name(&text(c, "check")?),
            result: match text(c, "result")?.as_str() {
                "passed" => CheckResult::Passed,
                "failed" => CheckResult::Failed,
                _ => CheckResult::Skipped,
            },
            expected: text(c, "expected")?,
            found: text(c, "found")?,
            detail: opt_text(c, "detail").unwrap_or_default(),
        });
    }
    let identity = match v.get("identity").filter(|i| !i.is_null()) {
        None => None,
        Some(i) => Some(crate::sp::identity::SamlIdentity {
            issuer: text(i, "issuer")?,
            name_id: opt_text(i, "name_id"),
            email: text(i, "email")?,
            first_name: text(i, "first_name")?,
            last_name: text(i, "last_name")?,
            display_name: text(i, "display_name")?,
            groups: i
                .get("groups")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|g| g.as_str().map(str::to_owned))
                .collect(),
            attributes: crate::sp::attributes::Attributes::default(),
        }),
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    Ok(TestResult {
        profile: text(v, "profile")?,
        by: text(v, "by")?,
        at: instant(v, "at")?.ok_or_else(|| bad("a test instant"))?,
        passed: v.get("passed").and_then(Value::as_bool).unwrap_or(false),
        error_code: opt_text(v, "error_code").map(|c| {
            Error::CODES
                .iter()
                .find(|k| **k == c)
                .copied()
                .unwrap_or("other")
        }),
        checks,
        identity,
        attributes: v
            .get("attributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let a = a.as_array()?;
                Some((a.first()?.as_str()?.to_owned(), strings(a.get(1)?)))
            })
            .collect(),
        configured_fingerprints: v
            .get("configured_fingerprints")
            .map(strings)
            .unwrap_or_default(),
    })
}
