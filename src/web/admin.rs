//! The SSO-profile admin API (feature `admin`): JSON over the `http` crate's types, for the
//! customer administrator's "Settings -> Single sign-on" page. Every route asks the app's
//! [`AdminAuthorizer`] first (who is signed in, and may they administer this organization); no
//! route is reachable without it. Changes name the version they were made to (409 on a
//! conflict); invalid input answers 422 with every problem and its field, and saves nothing.
//!
//! | method | path (under the prefix) | does |
//! |---|---|---|
//! | GET | `/orgs/{org}/profiles` | list |
//! | POST | `/orgs/{org}/profiles` `{name, preset?}` | create (201) |
//! | GET | `/orgs/{org}/profiles/{id}` | read |
//! | DELETE | `/orgs/{org}/profiles/{id}?version=N` | delete |
//! | PUT | `/orgs/{org}/profiles/{id}/idp` `{version, issuer, sso_url, certificate}` or `{version, metadata}` | the IdP's values |
//! | PUT | `/orgs/{org}/profiles/{id}/provisioning` `{version, jit, groups, default_role?}` | JIT and groups |
//! | GET | `/orgs/{org}/profiles/{id}/sp-metadata` | SP metadata XML |
//! | POST | `/orgs/{org}/profiles/{id}/test` | start a test login: `{redirect_url}` |
//! | GET | `/orgs/{org}/profiles/{id}/test` | the last test's result |
//! | POST | `/orgs/{org}/profiles/{id}/domains` `{version, domain}` | claim a domain: the TXT record |
//! | POST | `/orgs/{org}/profiles/{id}/domains/{domain}/verify` `{version}` | look for the record |
//! | POST | `/orgs/{org}/profiles/{id}/{activate,enforce,unenforce,disable,enable}` `{version, confirm?}` | transitions |

use std::sync::Arc;

use http::{Method, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::error::Error;
use crate::profile::{
    IdpInput, ProfileError, ProfileService, ProvisioningSettings, SsoProfile, TestResult,
};
use crate::tenant::{ConfigProblem, IdpPreset};

/// Who may administer which organization's profiles: the app's own sign-in and permissions.
pub trait AdminAuthorizer: Send + Sync {
    /// The administrator signed in on this request (from the app's own session cookie, or what
    /// its middleware put in the extensions), if any.
    fn administrator(
        &self,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Option<String>;
    /// Whether `admin` may administer `organization`'s SSO profiles.
    fn may_administer(&self, admin: &str, organization: &str) -> bool;
}

/// The admin API over a [`ProfileService`].
pub struct AdminApi<A> {
    profiles: Arc<ProfileService>,
    authorizer: A,
    prefix: String,
}

impl<A> std::fmt::Debug for AdminApi<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApi")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn reply(status: StatusCode, body: &Value) -> Response<String> {
    let mut r = Response::new(body.to_string());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    r
}

fn problems_reply(problems: &[ConfigProblem]) -> Response<String> {
    reply(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({
            "error": "invalid",
            "problems": problems.iter().map(|p| json!({"field": p.field, "message": p.message})).collect::<Vec<_>>(),
        }),
    )
}

fn error_reply(e: &Error) -> Response<String> {
    let status = match e.code() {
        "version_conflict" => StatusCode::CONFLICT,
        "unknown_tenant" => StatusCode::NOT_FOUND,
        "config_invalid" => StatusCode::CONFLICT,
        "login_browser_mismatch" => StatusCode::FORBIDDEN,
        _ => StatusCode::from_u16(e.kind().http_status()).unwrap_or(StatusCode::BAD_REQUEST),
    };
    let (expected, found) = e.expected_found();
    reply(
        status,
        &json!({"error": e.code(), "message": e.to_string(), "expected": expected, "found": found}),
    )
}

fn profile_error(e: &ProfileError) -> Response<String> {
    match e {
        ProfileError::Invalid(p) => problems_reply(p),
        ProfileError::Failed(e) => error_reply(e),
    }
}

/// A profile as the admin page shows it.
pub fn profile_json(p: &SsoProfile) -> Value {
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
            "slo_url": i.slo_url,
            "certificates": i.certificates.iter().map(|c| json!({
                "sha256": c.fingerprint_hex(),
                "subject": c.subject(),
                "not_before": crate::time::format_instant(c.not_before()),
                "not_after": crate::time::format_instant(c.not_after()),
            })).collect::<Vec<_>>(),
        })),
        "provisioning": {
            "jit": p.provisioning.jit,
            "groups": p.provisioning.groups,
            "default_role": p.provisioning.default_role,
        },
        "domains": p.domains.iter().map(|d| json!({
            "domain": d.domain,
            "txt_name": crate::profile::verification_name(&d.domain),
            "txt_value": d.txt_record(),
            "verified": d.verified_at.is_some(),
        })).collect::<Vec<_>>(),
        "audit": p.audit.iter().map(|a| json!({
            "at": crate::time::format_instant(a.at),
            "by": a.by, "field": a.field, "old": a.old, "new": a.new,
        })).collect::<Vec<_>>(),
    })
}

/// A test result as the admin page shows it.
pub fn test_json(t: &TestResult) -> Value {
    json!({
        "profile": t.profile,
        "by": t.by,
        "at": crate::time::format_instant(t.at),
        "passed": t.passed,
        "error_code": t.error_code,
        "checks": t.checks.iter().map(|c| json!({
            "check": c.check, "result": c.result.as_str(), "expected": c.expected, "found": c.found,
        })).collect::<Vec<_>>(),
        "identity": t.identity.as_ref().map(|i| json!({
            "name_id": i.name_id, "email": i.email, "first_name": i.first_name,
            "last_name": i.last_name, "display_name": i.display_name, "groups": i.groups,
        })),
        "attributes": t.attributes.iter().map(|(n, v)| json!({"name": n, "values": v})).collect::<Vec<_>>(),
        "configured_fingerprints": t.configured_fingerprints,
    })
}

fn version_of(body: &Value) -> Result<u64, Box<Response<String>>> {
    body.get("version").and_then(Value::as_u64).ok_or_else(|| {
        Box::new(problems_reply(&[ConfigProblem {
            field: "version",
            message: "The version of the profile this change was made to is missing.".into(),
        }]))
    })
}

fn text(body: &Value, key: &str) -> String {
    body.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl<A: AdminAuthorizer> AdminApi<A> {
    /// The API under `prefix` (for example `/admin/sso`), authorized by `authorizer`.
    pub fn new(profiles: Arc<ProfileService>, authorizer: A, prefix: impl Into<String>) -> Self {
        AdminApi {
            profiles,
            authorizer,
            prefix: prefix.into().trim_end_matches('/').to_owned(),
        }
    }

    /// The prefix the API is served under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether `path` is one of the API's.
    pub fn handles(&self, path: &str) -> bool {
        path.strip_prefix(self.prefix.as_str())
            .is_some_and(|r| r.starts_with("/orgs/"))
    }

    /// Serves one request. JSON in (at most 1 MiB) and out.
    pub async fn handle(&self, req: http::Request<Vec<u8>>) -> Response<String> {
        let (parts, body) = req.into_parts();
        let Some(rest) = parts.uri.path().strip_prefix(self.prefix.as_str()) else {
            return reply(StatusCode::NOT_FOUND, &json!({"error": "not_found"}));
        };
        let segments: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let [orgs, org, profiles_seg, tail @ ..] = segments.as_slice() else {
            return reply(StatusCode::NOT_FOUND, &json!({"error": "not_found"}));
        };
        if orgs != "orgs" || profiles_seg != "profiles" {
            return reply(StatusCode::NOT_FOUND, &json!({"error": "not_found"}));
        }
        // Authorization before anything else: who, and for which organization.
        let Some(admin) = self
            .authorizer
            .administrator(&parts.headers, &parts.extensions)
        else {
            return reply(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "sign_in_required"}),
            );
        };
        if !self.authorizer.may_administer(&admin, org) {
            return reply(StatusCode::FORBIDDEN, &json!({"error": "forbidden"}));
        }
        if body.len() > 1 << 20 {
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({"error": "too_large"}),
            );
        }
        let json_body: Value = if body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(_) => {
                    return reply(StatusCode::BAD_REQUEST, &json!({"error": "invalid_json"}));
                }
            }
        };
        let tail: Vec<&str> = tail.iter().map(String::as_str).collect();
        self.route(&parts, org, &admin, tail.as_slice(), &json_body)
            .await
    }

    async fn route(
        &self,
        parts: &http::request::Parts,
        org: &str,
        admin: &str,
        tail: &[&str],
        body: &Value,
    ) -> Response<String> {
        let p = &self.profiles;
        let version = || version_of(body);
        macro_rules! changed {
            ($call:expr) => {
                match $call.await {
                    Ok(profile) => reply(StatusCode::OK, &profile_json(&profile)),
                    Err(e) => profile_error(&e),
                }
            };
        }
        macro_rules! with_version {
            () => {
                match version() {
                    Ok(v) => v,
                    Err(r) => return *r,
                }
            };
        }
        match (&parts.method, tail) {
            (&Method::GET, []) => match p.list(org).await {
                Ok(list) => reply(
                    StatusCode::OK,
                    &Value::Array(list.iter().map(profile_json).collect()),
                ),
                Err(e) => error_reply(&e),
            },
            (&Method::POST, []) => {
                let preset = body
                    .get("preset")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty());
                let preset = match preset {
                    Some(name) => match IdpPreset::from_name(name) {
                        Some(p) => Some(p),
                        None => {
                            return problems_reply(&[ConfigProblem {
                                field: "preset",
                                message: format!("{name:?} is not a known IdP."),
                            }]);
                        }
                    },
                    None => None,
                };
                match p.create(org, &text(body, "name"), preset, admin).await {
                    Ok(profile) => reply(StatusCode::CREATED, &profile_json(&profile)),
                    Err(e) => profile_error(&e),
                }
            }
            (&Method::GET, [id]) => match p.get(org, id).await {
                Ok(profile) => {
                    let mut v = profile_json(&profile);
                    // The SP's side the IdP was given: its certificates, their expiry, the next key.
                    let keys = Value::Array(
                        p.sp_keys()
                            .iter()
                            .map(|k| {
                                json!({
                                    "id": k.id, "phase": k.phase, "signing": k.signing,
                                    "sha256": k.sha256,
                                    "not_after": crate::time::format_instant(k.not_after),
                                    "days_left": k.days_left,
                                    "next": k.next.map(|(what, at)| json!({"what": what, "at": crate::time::format_instant(at)})),
                                })
                            })
                            .collect(),
                    );
                    if let Some(o) = v.as_object_mut() {
                        o.insert("sp_keys".into(), keys);
                    }
                    reply(StatusCode::OK, &v)
                }
                Err(e) => error_reply(&e),
            },
            (&Method::DELETE, [id]) => {
                let version = parts
                    .uri
                    .query()
                    .and_then(|q| q.strip_prefix("version="))
                    .and_then(|v| v.parse().ok());
                let Some(version) = version else {
                    return problems_reply(&[ConfigProblem {
                        field: "version",
                        message: "Name the version to delete (?version=N).".into(),
                    }]);
                };
                match p.delete(org, id, version).await {
                    Ok(()) => reply(StatusCode::OK, &json!({"deleted": id})),
                    Err(e) => error_reply(&e),
                }
            }
            (&Method::PUT, [id, "idp"]) => {
                let version = with_version!();
                let input = match body.get("metadata").and_then(Value::as_str) {
                    Some(xml) => IdpInput::Metadata(xml.to_owned()),
                    None => IdpInput::Values {
                        issuer: text(body, "issuer"),
                        sso_url: text(body, "sso_url"),
                        certificate: text(body, "certificate"),
                    },
                };
                match p.set_idp(org, id, version, &input, admin).await {
                    Ok((profile, warnings)) => {
                        let mut v = profile_json(&profile);
                        if let Some(o) = v.as_object_mut() {
                            o.insert(
                                "warnings".into(),
                                warnings
                                    .iter()
                                    .map(|w| json!({"field": w.field, "message": w.message}))
                                    .collect(),
                            );
                        }
                        reply(StatusCode::OK, &v)
                    }
                    Err(e) => profile_error(&e),
                }
            }
            (&Method::PUT, [id, "provisioning"]) => {
                let version = with_version!();
                let settings = ProvisioningSettings {
                    jit: body.get("jit").and_then(Value::as_bool).unwrap_or(true),
                    groups: body.get("groups").and_then(Value::as_bool).unwrap_or(false),
                    default_role: body
                        .get("default_role")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    group_roles: Vec::new(),
                };
                changed!(p.set_provisioning(org, id, version, settings, admin))
            }
            (&Method::GET, [id, "sp-metadata"]) => match p.sp_metadata(org, id).await {
                Ok(xml) => {
                    let mut r = Response::new(xml);
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/samlmetadata+xml"),
                    );
                    r
                }
                Err(e) => error_reply(&e),
            },
            (&Method::POST, [id, "test"]) => match p.start_test(org, id, admin).await {
                Ok(start) => reply(
                    StatusCode::OK,
                    &json!({"redirect_url": start.navigation.redirect_url(), "relay_state": start.relay_state}),
                ),
                Err(e) => error_reply(&e),
            },
            (&Method::GET, [id, "test"]) => match p.last_test(org, id).await {
                Ok(Some(t)) => reply(StatusCode::OK, &test_json(&t)),
                Ok(None) => reply(StatusCode::NOT_FOUND, &json!({"error": "no_test"})),
                Err(e) => error_reply(&e),
            },
            (&Method::POST, [id, "domains"]) => {
                let version = with_version!();
                match p
                    .claim_domain(org, id, version, &text(body, "domain"), admin)
                    .await
                {
                    Ok((profile, claim)) => reply(
                        StatusCode::OK,
                        &json!({
                            "profile": profile_json(&profile),
                            "txt_name": crate::profile::verification_name(&claim.domain),
                            "txt_value": claim.txt_record(),
                        }),
                    ),
                    Err(e) => profile_error(&e),
                }
            }
            (&Method::POST, [id, "domains", domain, "verify"]) => {
                let version = with_version!();
                match p.verify_domain(org, id, version, domain, admin).await {
                    Ok((profile, verified)) => reply(
                        StatusCode::OK,
                        &json!({"verified": verified, "profile": profile_json(&profile)}),
                    ),
                    Err(e) => profile_error(&e),
                }
            }
            (&Method::POST, [id, action]) => {
                let version = with_version!();
                let confirm = body.get("confirm").and_then(Value::as_bool) == Some(true);
                match *action {
                    "activate" => changed!(p.activate(org, id, version, admin)),
                    "enforce" => changed!(p.enforce(org, id, version, confirm, admin)),
                    "unenforce" => changed!(p.unenforce(org, id, version, admin)),
                    "disable" => changed!(p.disable(org, id, version, admin)),
                    "enable" => changed!(p.enable(org, id, version, admin)),
                    _ => reply(StatusCode::NOT_FOUND, &json!({"error": "not_found"})),
                }
            }
            _ => reply(StatusCode::NOT_FOUND, &json!({"error": "not_found"})),
        }
    }
}
