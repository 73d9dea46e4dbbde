//! The built-in IdP chooser at `{prefix}/discover` ([`super::SamlWeb::with_chooser`]): a search
//! form and the matching IdPs (name in the browser's language, logo), each linking to
//! `?entityID=...`, which starts the login at the tenant whose IdP it is and remembers the choice
//! in a cookie (shown first next time). A chosen entity the chooser does not list, or no tenant
//! has, is refused.

use http::{HeaderMap, Response, StatusCode, header};

use crate::error::Error;
use crate::login::Chooser;
use crate::xml::{escape_attr, escape_text};

/// The cookie that remembers the last IdP chosen.
pub(crate) const CHOICE_COOKIE: &str = "saml_idp";

/// The browser's first language (`Accept-Language`), `en` without one.
fn language(headers: &HeaderMap) -> String {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split([',', ';', '-']).next())
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty() && l.len() <= 8 && l.chars().all(|c| c.is_ascii_alphabetic()))
        .unwrap_or_else(|| "en".into())
}

/// The chooser page for the query `q`.
pub(crate) fn page(
    chooser: &Chooser,
    headers: &HeaderMap,
    remembered: Option<&str>,
    q: &str,
    action: &str,
) -> Response<String> {
    let lang = language(headers);
    let items: String = chooser
        .search(q, &lang, remembered, 20)
        .iter()
        .map(|c| {
            let logo = c.logo.as_deref().map_or(String::new(), |l| {
                format!(
                    "<img src=\"{}\" alt=\"\" width=\"32\" height=\"32\"/> ",
                    escape_attr(l)
                )
            });
            format!(
                "<li class=\"idp\"><a href=\"{action}?entityID={}\">{logo}{}</a></li>",
                crate::binding::params::url_encode(&c.entity_id),
                escape_text(&c.name)
            )
        })
        .collect();
    let body = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>Choose your organization</title></head><body><h1>Choose your organization</h1><form method=\"get\" action=\"{action}\"><input name=\"q\" id=\"q\" value=\"{}\" autofocus/> <button id=\"search\">Search</button></form><ul id=\"idps\">{items}</ul></body></html>",
        escape_attr(q)
    );
    let mut r = Response::new(body);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        http::HeaderValue::from_static(
            "default-src 'none'; img-src https: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    r
}

/// The `Set-Cookie` remembering `entity_id` for a year.
pub(crate) fn remember(entity_id: &str, secure: bool) -> String {
    format!(
        "{CHOICE_COOKIE}={}; Max-Age=31536000; Path=/; HttpOnly; SameSite=Lax{}",
        crate::binding::params::url_encode(entity_id),
        if secure { "; Secure" } else { "" }
    )
}

/// The remembered choice in the request's cookies.
pub(crate) fn remembered(headers: &HeaderMap) -> Option<String> {
    super::cookie(headers, CHOICE_COOKIE).and_then(|v| crate::binding::params::form_decode(v).ok())
}

/// The tenant whose IdP `entity_id` is, for a choice the chooser lists.
pub(crate) fn tenant_for(
    chooser: &Chooser,
    registry: &crate::tenant::IdpRegistry,
    entity_id: &str,
) -> Result<String, Error> {
    let unknown = || Error::UnknownTenant {
        found: entity_id.chars().take(200).collect(),
    };
    if !chooser.knows(entity_id) {
        return Err(unknown());
    }
    registry
        .by_issuer(entity_id)
        .map(|t| t.slug().to_owned())
        .ok_or_else(unknown)
}

/// A 303 to `to`, with `cookie` set.
pub(crate) fn go(to: &str, cookie: &str) -> Response<String> {
    let mut r = Response::new(String::new());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = http::HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    if let Ok(v) = http::HeaderValue::from_str(cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}
