//! The test IdP as a browser sees it: the SSO page, the login form and its submission,
//! IdP-initiated login.

#[allow(unused_imports)]
use super::*;

/// The test IdP's web pages, framework-agnostic: mount [`TestIdp::sso_page`] on `GET` (HTTP-Redirect
/// binding) and `POST` (HTTP-POST binding) of its SSO URL, and [`TestIdp::login_submit`] on the
/// login form's `POST`. IdP-initiated login: [`TestIdp::idp_initiated`].
///
/// The login form's fields (what a browser test fills in, and what [`TestIdp::login_submit`]
/// reads): `email` (the NameID and the `email` attribute), `first_name`, `last_name`, `groups`
/// (comma-separated), each an `<input>` with the same `id`; the submit button has the id
/// `sign-in`; hidden fields carry the SP's request: `request_id` (the AuthnRequest's ID, empty
/// for an IdP-initiated login), `acs`, `sp` and `RelayState`. The IdP-initiated logout page has the field `email` (id `logout-email`)
/// and the button `idp-logout`.
impl TestIdp {
    /// The login form for an AuthnRequest received at the SSO URL, as raw query string (Redirect
    /// binding) or form body (POST binding). `form_action` is where the form posts.
    ///
    /// # Errors
    /// [`Error::Binding`] or XML errors for a missing or malformed AuthnRequest.
    pub fn sso_page(&self, query_or_body: &str, form_action: &str) -> Result<String, Error> {
        let params = crate::binding::params::parse_params(query_or_body)?;
        let get = |n: &str| params.iter().find(|p| p.name == n).map(|p| p.value.clone());
        let saml_request =
            get("SAMLRequest").ok_or_else(|| Error::Binding("no SAMLRequest".into()))?;
        // Redirect binding: deflated; POST binding: plain base64.
        let raw = crate::crypto::decode_base64(&saml_request)
            .ok_or_else(|| Error::Binding("SAMLRequest is not base64".into()))?;
        let xml = crate::binding::inflate(&raw, &crate::binding::InflateOptions::default())
            .unwrap_or(raw);
        let doc = crate::xml::Document::parse(&xml)?;
        let req = doc.root();
        let id = req.attribute("ID").unwrap_or_default();
        let acs = req
            .attribute("AssertionConsumerServiceURL")
            .unwrap_or_default();
        let sp = req
            .child_elements()
            .find(|e| e.local_name() == "Issuer")
            .map(|e| e.text())
            .unwrap_or_default();
        self.check_served(&sp, acs)?;
        Ok(login_form(
            form_action,
            &[
                ("request_id", id),
                ("acs", acs),
                ("sp", &sp),
                ("RelayState", &get("RelayState").unwrap_or_default()),
            ],
        ))
    }

    /// Handles the login form's POST: returns an auto-submitting page that posts a signed
    /// Response (both Response and Assertion signed) to the SP's ACS, with the
    /// Content-Security-Policy to serve it under.
    ///
    /// # Errors
    /// [`Error::Binding`] for a malformed form or an SP this IdP does not serve
    /// ([`TestIdp::serving`]); signing errors.
    pub fn login_submit(
        &self,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::binding::PostPage, Error> {
        let params = crate::binding::params::parse_params(body)?;
        let get = |n: &str| {
            params
                .iter()
                .find(|p| p.name == n)
                .map(|p| p.value.clone())
                .unwrap_or_default()
        };
        let (acs, sp) = (get("acs"), get("sp"));
        if acs.is_empty() || sp.is_empty() {
            return Err(Error::Binding(
                "the login form lacks the SP's ACS URL or entity ID".into(),
            ));
        }
        self.check_served(&sp, &acs)?;
        let mut user = TestUser::new(get("email"));
        let (first, last) = (get("first_name"), get("last_name"));
        if !first.is_empty() || !last.is_empty() {
            user = user.name(first, last);
        }
        user = user.groups(
            get("groups")
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty()),
        );
        let mut b = self.response(&sp, &acs).user(user);
        let request_id = get("request_id");
        if !request_id.is_empty() {
            b = b.in_response_to(request_id);
        }
        let relay = get("RelayState");
        Ok(crate::binding::post_form(
            &acs,
            "SAMLResponse",
            &b.build_base64(now)?,
            (!relay.is_empty()).then_some(relay.as_str()),
        ))
    }

    /// The login form for an IdP-initiated login to the SP `sp_entity_id` at `acs_url`.
    pub fn idp_initiated(&self, sp_entity_id: &str, acs_url: &str, form_action: &str) -> String {
        login_form(
            form_action,
            &[
                ("request_id", ""),
                ("acs", acs_url),
                ("sp", sp_entity_id),
                ("RelayState", ""),
            ],
        )
    }
}

/// A page that sends the browser on to `url` at once (a meta refresh, with a link).
pub(super) fn redirect_page(url: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={u}\"><title>saml-sp test IdP</title></head><body><p><a href=\"{u}\">Continue</a></p></body></html>\n",
        u = escape_attr(url)
    )
}

pub(super) fn login_form(action: &str, hidden: &[(&str, &str)]) -> String {
    let mut h = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>saml-sp test IdP</title></head><body>",
    );
    h.push_str("<h1>saml-sp test IdP</h1><p>A test identity provider: it signs in anyone. Never use it in production.</p>");
    h.push_str(&format!(
        "<form method=\"post\" action=\"{}\">",
        escape_attr(action)
    ));
    for (k, v) in hidden {
        h.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
            escape_attr(k),
            escape_attr(v)
        ));
    }
    h.push_str(
        "<label>Email <input name=\"email\" id=\"email\" value=\"ada@example.com\"/></label><br/>",
    );
    h.push_str("<label>First name <input name=\"first_name\" id=\"first_name\" value=\"Ada\"/></label><br/>");
    h.push_str("<label>Last name <input name=\"last_name\" id=\"last_name\" value=\"Lovelace\"/></label><br/>");
    h.push_str("<label>Groups <input name=\"groups\" id=\"groups\" value=\"engineering, admins\"/></label><br/>");
    h.push_str("<button type=\"submit\" id=\"sign-in\">Sign in</button></form></body></html>\n");
    h
}
