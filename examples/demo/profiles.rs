//! The demo's "Settings -> Single sign-on" pages (features `admin` and `dns`): a customer
//! organization's administrator creates an SSO profile, copies the SP values, pastes the IdP's
//! three values, tests the connection, activates, verifies an email domain by DNS and enforces
//! SSO, in plain server-rendered HTML over `saml_sp::profile::ProfileService`. Profiles sign in
//! under `/sso/{profile}/...` (a second, multi-tenant set of SAML endpoints sharing the demo's
//! sessions and users).
//!
//! Demo only: the administrator is whoever `/demo-admin?as=<name>&org=<org>` says (a cookie), so
//! that a browser test can act as two organizations' administrators without an account system.

use std::sync::Arc;

use http::{Method, Response, StatusCode, header};
use saml_sp::profile::{
    DnsResolver, IdpInput, ProfileError, ProfileService, SsoProfile, TestResult,
};
use saml_sp::web::admin::AdminAuthorizer;
use saml_sp::web::{SamlWeb, WebSettings};
use saml_sp::xml::{escape_attr as attr, escape_text as esc};
use saml_sp::{Acs, IdpRegistry, SpSettings};

use super::{Db, Sessions, html};

/// The profiles' SAML endpoints, their service, and the registry they install into.
pub struct Site {
    /// `/sso/{profile}/login`, `/acs`, `/metadata`, ... for profiles.
    pub web: Arc<SamlWeb<Db, Sessions>>,
    service: Arc<ProfileService>,
    registry: Arc<IdpRegistry>,
}

/// The demo's administrators: the `demo_admin` cookie, `<name>.<org>`.
struct DemoAdmins;

fn admin_cookie(headers: &http::HeaderMap) -> Option<(String, String)> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("demo_admin="))?;
    let (name, org) = value.split_once('.')?;
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (ok(name) && ok(org)).then(|| (name.to_owned(), org.to_owned()))
}

impl AdminAuthorizer for DemoAdmins {
    fn administrator(&self, headers: &http::HeaderMap, _: &http::Extensions) -> Option<String> {
        admin_cookie(headers).map(|(name, org)| format!("{name}@{org}"))
    }
    fn may_administer(&self, admin: &str, organization: &str) -> bool {
        admin
            .rsplit_once('@')
            .is_some_and(|(_, org)| org == organization)
    }
}

/// Builds the site: profiles in the demo's database (kept in step with other instances), the DNS server of `SAML_DNS_SERVER` (`ip:port`) or the
/// system's, the same stores, users and sessions as the demo's main endpoints.
pub fn setup(
    base: &str,
    requests: Arc<dyn saml_sp::store::RequestStore>,
    replay: Arc<dyn saml_sp::store::ReplayCache>,
    db: Db,
    sessions: Arc<Sessions>,
) -> Result<Site, Box<dyn std::error::Error>> {
    let registry = Arc::new(IdpRegistry::new(SpSettings::new(
        format!("{base}/sso/{{tenant}}/metadata"),
        format!("{base}/sso/{{tenant}}/acs"),
    )?));
    let resolver: Arc<dyn saml_sp::profile::TxtResolver> = match std::env::var("SAML_DNS_SERVER")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(addr) => Arc::new(DnsResolver::with_name_server(addr.parse()?)),
        None => Arc::new(DnsResolver::system()?),
    };
    let service = Arc::new(ProfileService::new(
        registry.clone(),
        db.profile_store(),
        requests.clone(),
        replay.clone(),
        resolver,
    ));
    db.follow(service.clone());
    let acs = Acs::new(registry.clone(), requests, replay, db);
    let web = SamlWeb::new(
        Arc::new(acs),
        sessions,
        WebSettings::multi_tenant().prefix("/sso"),
    )
    .with_profile_tests(service.clone(), Arc::new(DemoAdmins), "/settings/sso");
    Ok(Site {
        web: Arc::new(web),
        service,
        registry,
    })
}

fn redirect(to: &str) -> Response<String> {
    let mut r = Response::new(String::new());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = http::HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn form_field(body: &str, name: &str) -> String {
    form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn page(title: &str, body: &str) -> Response<String> {
    html(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1>{body}</body></html>",
            t = esc(title)
        ),
    )
}

/// Serves the site's pages; `None` when `path` is not one of them.
pub async fn serve(
    site: &Site,
    req: http::Request<Vec<u8>>,
    peer: std::net::IpAddr,
) -> Option<Response<String>> {
    let path = req.uri().path().to_owned();
    if path.starts_with("/sso/") {
        return Some(site.web.handle(req, peer).await);
    }
    let query = req.uri().query().unwrap_or("").to_owned();
    let body = String::from_utf8_lossy(req.body()).into_owned();
    let method = req.method().clone();
    match (method, path.as_str()) {
        (Method::GET, "/demo-admin") => {
            let (name, org) = (form_field(&query, "as"), form_field(&query, "org"));
            let mut r = redirect("/settings/sso");
            if let Ok(v) = http::HeaderValue::from_str(&format!(
                "demo_admin={name}.{org}; Path=/; HttpOnly; SameSite=Lax"
            )) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            Some(r)
        }
        (Method::GET, "/sso-login") => {
            let email = form_field(&query, "email");
            Some(match site.registry.discover(&email) {
                Some(t) => redirect(&format!("/sso/{}/login", t.slug())),
                None => html(
                    StatusCode::NOT_FOUND,
                    "<p id=\"no-sso\">No SSO profile for this email domain.</p>".into(),
                ),
            })
        }
        (Method::POST, "/password-login") => {
            let email = form_field(&body, "email");
            let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
            Some(match domain {
                Some(d) if site.registry.sso_enforced_for(&d) => html(
                    StatusCode::FORBIDDEN,
                    format!(
                        "<p id=\"password-refused\">Your organization ({}) signs in with SSO: password sign-in is turned off.</p><p><a id=\"use-sso\" href=\"/sso-login?email={}\">Sign in with SSO</a></p>",
                        esc(&d),
                        attr(&email)
                    ),
                ),
                _ => html(
                    StatusCode::OK,
                    "<p id=\"password-not-in-demo\">Password sign-in is not part of this demo.</p>"
                        .into(),
                ),
            })
        }
        (_, p) if p == "/settings/sso" || p.starts_with("/settings/sso/") => {
            Some(settings(site, &req, p, &query, &body).await)
        }
        _ => None,
    }
}

async fn settings(
    site: &Site,
    req: &http::Request<Vec<u8>>,
    path: &str,
    query: &str,
    body: &str,
) -> Response<String> {
    let Some((name, org)) = admin_cookie(req.headers()) else {
        return html(
            StatusCode::UNAUTHORIZED,
            "<p id=\"sign-in-as-admin\">Sign in as an organization administrator first (demo: /demo-admin?as=ann&amp;org=acme).</p>".into(),
        );
    };
    let admin = format!("{name}@{org}");
    let s = &site.service;
    let rest = path
        .trim_start_matches("/settings/sso")
        .trim_start_matches('/');
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let version = form_field(body, "version").parse().unwrap_or(0);
    let back = |id: &str| redirect(&format!("/settings/sso?profile={id}"));
    match (req.method().clone(), parts.as_slice()) {
        (Method::GET, []) => {
            let profile = match form_field(query, "profile") {
                id if id.is_empty() => None,
                id => s.get(&org, &id).await.ok(),
            };
            profile_page(s, &org, profile, None).await
        }
        (Method::POST, ["create"]) => match s
            .create(&org, &form_field(body, "name"), None, &admin)
            .await
        {
            Ok(p) => back(&p.id),
            Err(e) => profile_page(s, &org, None, Some(&e)).await,
        },
        (Method::GET, [id, "sp-metadata"]) => match s.sp_metadata(&org, id).await {
            Ok(xml) => {
                let mut r = Response::new(xml);
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/xml"),
                );
                r
            }
            Err(e) => saml_sp::web::error_page(&e),
        },
        (Method::POST, [id, "idp"]) => {
            let input = IdpInput::Values {
                issuer: form_field(body, "issuer"),
                sso_url: form_field(body, "sso_url"),
                certificate: form_field(body, "certificate"),
            };
            match s.set_idp(&org, id, version, &input, &admin).await {
                Ok(_) => back(id),
                Err(e) => failed(s, &org, id, e).await,
            }
        }
        (Method::POST, [id, "test"]) => match s.start_test(&org, id, &admin).await {
            Ok(start) => saml_sp::web::navigate(&start.navigation),
            Err(e) => failed(s, &org, id, e.into()).await,
        },
        (Method::POST, [id, "activate"]) => match s.activate(&org, id, version, &admin).await {
            Ok(_) => back(id),
            Err(e) => failed(s, &org, id, e).await,
        },
        (Method::POST, [id, "enforce"]) => {
            let confirmed = form_field(body, "confirm") == "yes";
            match s.enforce(&org, id, version, confirmed, &admin).await {
                Ok(_) => back(id),
                Err(e) => failed(s, &org, id, e).await,
            }
        }
        (Method::POST, [id, "domains"]) => {
            match s
                .claim_domain(&org, id, version, &form_field(body, "domain"), &admin)
                .await
            {
                Ok(_) => back(id),
                Err(e) => failed(s, &org, id, e).await,
            }
        }
        (Method::POST, [id, "verify"]) => {
            match s
                .verify_domain(&org, id, version, &form_field(body, "domain"), &admin)
                .await
            {
                Ok(_) => back(id),
                Err(e) => failed(s, &org, id, e).await,
            }
        }
        _ => html(StatusCode::NOT_FOUND, "not found".into()),
    }
}

/// The profile's page again, with what went wrong.
async fn failed(s: &ProfileService, org: &str, id: &str, e: ProfileError) -> Response<String> {
    let p = s.get(org, id).await.ok();
    profile_page(s, org, p, Some(&e)).await
}

fn problems_html(e: &ProfileError) -> String {
    match e {
        ProfileError::Invalid(problems) => format!(
            "<ul id=\"problems\">{}</ul>",
            problems
                .iter()
                .map(|p| format!(
                    "<li data-field=\"{}\">{}</li>",
                    attr(p.field),
                    esc(&p.message)
                ))
                .collect::<String>()
        ),
        ProfileError::Failed(e) => format!(
            "<p id=\"refused\" data-code=\"{}\">{}</p>",
            e.code(),
            esc(&e.to_string())
        ),
        _ => "<p id=\"refused\">Refused.</p>".into(),
    }
}

fn test_html(t: &TestResult) -> String {
    let checks: String = t
        .checks
        .iter()
        .map(|c| {
            format!(
                "<tr class=\"check\" data-result=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                c.result.as_str(),
                esc(c.check),
                c.result.as_str(),
                esc(&c.expected),
                esc(&c.found)
            )
        })
        .collect();
    let identity = t.identity.as_ref().map_or_else(String::new, |i| {
        format!(
            "<p>Mapped identity: <span id=\"test-email\">{}</span>, <span id=\"test-name\">{} {}</span></p>",
            esc(&i.email),
            esc(&i.first_name),
            esc(&i.last_name)
        )
    });
    format!(
        "<div id=\"test-result\" data-passed=\"{}\"><h3>Last test: {}</h3>{identity}<table><tr><th>check</th><th>result</th><th>expected</th><th>found</th></tr>{checks}</table></div>",
        t.passed,
        if t.passed { "passed" } else { "failed" }
    )
}

async fn profile_page(
    s: &ProfileService,
    org: &str,
    profile: Option<SsoProfile>,
    error: Option<&ProfileError>,
) -> Response<String> {
    let error = error.map(problems_html).unwrap_or_default();
    let list: String = s
        .list(org)
        .await
        .unwrap_or_default()
        .iter()
        .map(|p| {
            format!(
                "<li><a class=\"profile\" href=\"/settings/sso?profile={}\">{}</a> ({})</li>",
                attr(&p.id),
                esc(&p.name),
                p.state.as_str()
            )
        })
        .collect();
    let create = "<form method=\"post\" action=\"/settings/sso/create\"><label>New profile <input name=\"name\" id=\"profile-name\"/></label> <button id=\"create-profile\">Create</button></form>";
    let Some(p) = profile else {
        return page(
            &format!("Single sign-on: {org}"),
            &format!("{error}<ul id=\"profiles\">{list}</ul>{create}"),
        );
    };
    let id = attr(&p.id);
    let v = p.version;
    let test = s
        .last_test(org, &p.id)
        .await
        .ok()
        .flatten()
        .map(|t| test_html(&t))
        .unwrap_or_default();
    let domains: String = p
        .domains
        .iter()
        .map(|d| {
            format!(
                "<li class=\"domain\" data-domain=\"{dom}\" data-verified=\"{ver}\">{dom}: publish TXT <code class=\"txt-name\">{name}</code> = <code class=\"txt-value\">{value}</code> <form method=\"post\" action=\"/settings/sso/{id}/verify\"><input type=\"hidden\" name=\"version\" value=\"{v}\"/><input type=\"hidden\" name=\"domain\" value=\"{dom}\"/><button class=\"verify\">Verify</button></form></li>",
                dom = attr(&d.domain),
                ver = d.verified_at.is_some(),
                name = esc(&saml_sp::profile::verification_name(&d.domain)),
                value = esc(&d.txt_record()),
            )
        })
        .collect();
    // The SP's certificates the IdP was given: expiry, and the next key of a rollover.
    let sp_keys: String = s
        .sp_keys()
        .iter()
        .map(|k| {
            format!(
                "<li class=\"sp-key\" data-phase=\"{phase}\">{id}: {phase}{signing}, certificate {fp}, expires {exp} ({days} days){next}</li>",
                id = esc(&k.id),
                phase = k.phase,
                signing = if k.signing { ", signing" } else { "" },
                fp = esc(&k.sha256[..16]),
                exp = saml_sp::time::format_instant(k.not_after),
                days = k.days_left,
                next = k
                    .next
                    .map(|(what, at)| format!("; {what} at {}", saml_sp::time::format_instant(at)))
                    .unwrap_or_default(),
            )
        })
        .collect();
    let body = format!(
        "{error}<p>Profile <strong id=\"profile-id\">{id}</strong>: <span id=\"state\">{state}</span></p>\
<h2>1. Give your IdP these values</h2><dl><dt>Entity ID (Audience)</dt><dd id=\"sp-entity-id\">{sp}</dd><dt>ACS URL (Single sign-on URL)</dt><dd id=\"acs-url\">{acs}</dd></dl><p><a id=\"sp-metadata\" href=\"/settings/sso/{id}/sp-metadata\">SP metadata</a></p><ul id=\"sp-keys\">{sp_keys}</ul>\
<h2>2. Paste the IdP's values</h2><form method=\"post\" action=\"/settings/sso/{id}/idp\"><input type=\"hidden\" name=\"version\" value=\"{v}\"/><label>Issuer <input name=\"issuer\" id=\"issuer\"/></label><br/><label>SSO URL <input name=\"sso_url\" id=\"sso-url\"/></label><br/><label>Certificate <textarea name=\"certificate\" id=\"certificate\"></textarea></label><br/><button id=\"save-idp\">Save &amp; continue</button></form>\
<h2>3. Test the connection</h2><form method=\"post\" action=\"/settings/sso/{id}/test\"><button id=\"test\">Test connection</button></form>{test}\
<form method=\"post\" action=\"/settings/sso/{id}/activate\"><input type=\"hidden\" name=\"version\" value=\"{v}\"/><button id=\"activate\">I tested this connection: activate</button></form>\
<h2>4. Verify your email domains</h2><ul id=\"domains\">{domains}</ul><form method=\"post\" action=\"/settings/sso/{id}/domains\"><input type=\"hidden\" name=\"version\" value=\"{v}\"/><label>Domain <input name=\"domain\" id=\"domain\"/></label> <button id=\"claim\">Add</button></form>\
<h2>5. Enforce SSO</h2><form method=\"post\" action=\"/settings/sso/{id}/enforce\"><input type=\"hidden\" name=\"version\" value=\"{v}\"/><label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" id=\"confirm\"/> Refuse password sign-in for the verified domains</label> <button id=\"enforce\">Enforce</button></form>\
<h2>Profiles</h2><ul id=\"profiles\">{list}</ul>{create}",
        state = p.state.as_str(),
        sp = esc(&p.sp_entity_id),
        acs = esc(&p.acs_url),
    );
    page(&format!("Single sign-on: {}", p.name), &body)
}
