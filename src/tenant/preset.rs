//! Presets for the common IdPs: the attribute names each sends for email, first and last name
//! and groups, the NameID format to ask for, and the fields its admin console asks for, so that
//! a tenant built from a preset plus the IdP's metadata needs nothing else.
//!
//! ```
//! use saml_sp::TenantConfig;
//! use saml_sp::tenant::IdpPreset;
//!
//! let preset = IdpPreset::from_name("entra-id").unwrap();
//! assert_eq!(preset, IdpPreset::EntraId);
//! let mapping = preset.attribute_mapping();
//! assert_eq!(mapping.first_name[0], "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname");
//! // Entra ID sends the NameID it is configured to send: the SP does not constrain it.
//! assert_eq!(preset.requested_name_id_format(), None);
//! let fields = preset.console_fields("https://app.example.com/saml/acme", "https://app.example.com/saml/acme/acs");
//! assert_eq!(fields[0], ("Identifier (Entity ID)", "https://app.example.com/saml/acme".to_string()));
//! // A tenant from the preset; its IdP side comes from metadata (TenantConfig::with_idp_metadata).
//! let tenant = TenantConfig::from_preset("acme", preset);
//! ```

use crate::ns::NAMEID_EMAIL;
use crate::sp::identity::AttributeMapping;

const CLAIMS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/";

/// A known IdP product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdpPreset {
    /// Okta (SAML 2.0 app integration).
    Okta,
    /// Microsoft Entra ID (Azure AD), Enterprise application.
    EntraId,
    /// Google Workspace (custom SAML app).
    GoogleWorkspace,
    /// Microsoft AD FS (relying party trust).
    Adfs,
    /// OneLogin (SAML custom connector).
    OneLogin,
    /// JumpCloud (custom SAML application).
    JumpCloud,
    /// PingFederate and PingOne.
    PingFederate,
    /// Keycloak (SAML client).
    Keycloak,
    /// Auth0 (SAML2 Web App addon).
    Auth0,
}

fn v(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// `first` followed by every name of `fallback` not already in it: the preset's names win, and
/// the generic spellings still match when an administrator renamed an attribute.
fn with_fallback(first: &[&str], fallback: &[String]) -> Vec<String> {
    let mut out = v(first);
    for n in fallback {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

impl IdpPreset {
    /// Every preset.
    pub const ALL: [IdpPreset; 9] = [
        IdpPreset::Okta,
        IdpPreset::EntraId,
        IdpPreset::GoogleWorkspace,
        IdpPreset::Adfs,
        IdpPreset::OneLogin,
        IdpPreset::JumpCloud,
        IdpPreset::PingFederate,
        IdpPreset::Keycloak,
        IdpPreset::Auth0,
    ];

    /// A stable lower-case name: `okta`, `entra-id`, `google-workspace`, `adfs`, `onelogin`,
    /// `jumpcloud`, `pingfederate`, `keycloak`, `auth0`.
    pub fn name(self) -> &'static str {
        match self {
            IdpPreset::Okta => "okta",
            IdpPreset::EntraId => "entra-id",
            IdpPreset::GoogleWorkspace => "google-workspace",
            IdpPreset::Adfs => "adfs",
            IdpPreset::OneLogin => "onelogin",
            IdpPreset::JumpCloud => "jumpcloud",
            IdpPreset::PingFederate => "pingfederate",
            IdpPreset::Keycloak => "keycloak",
            IdpPreset::Auth0 => "auth0",
        }
    }

    /// The preset named `name` (see [`IdpPreset::name`]; `azure-ad` and `pingone` are accepted
    /// as aliases).
    pub fn from_name(name: &str) -> Option<IdpPreset> {
        let n = name.trim().to_ascii_lowercase();
        match n.as_str() {
            "azure-ad" | "azuread" | "entra" => Some(IdpPreset::EntraId),
            "pingone" | "ping" => Some(IdpPreset::PingFederate),
            "google" => Some(IdpPreset::GoogleWorkspace),
            _ => IdpPreset::ALL.into_iter().find(|p| p.name() == n),
        }
    }

    /// The product's name for people.
    pub fn display_name(self) -> &'static str {
        match self {
            IdpPreset::Okta => "Okta",
            IdpPreset::EntraId => "Microsoft Entra ID",
            IdpPreset::GoogleWorkspace => "Google Workspace",
            IdpPreset::Adfs => "Microsoft AD FS",
            IdpPreset::OneLogin => "OneLogin",
            IdpPreset::JumpCloud => "JumpCloud",
            IdpPreset::PingFederate => "PingFederate / PingOne",
            IdpPreset::Keycloak => "Keycloak",
            IdpPreset::Auth0 => "Auth0",
        }
    }

    /// The attribute names this IdP sends (its defaults and its documentation's examples),
    /// each followed by the generic [`AttributeMapping::default`] spellings.
    pub fn attribute_mapping(self) -> AttributeMapping {
        let d = AttributeMapping::default();
        let claim = |c: &str| format!("{CLAIMS}{c}");
        let (email, first, last, display, groups): (Vec<String>, _, _, _, _) = match self {
            IdpPreset::Okta => (
                v(&["email", "Email"]),
                v(&["firstName", "FirstName"]),
                v(&["lastName", "LastName"]),
                v(&["displayName", "Name"]),
                v(&["groups", "Groups"]),
            ),
            IdpPreset::EntraId => (
                vec![claim("emailaddress"), claim("name")],
                vec![claim("givenname")],
                vec![claim("surname")],
                v(&["http://schemas.microsoft.com/identity/claims/displayname"]),
                v(&[
                    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                    "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
                ]),
            ),
            IdpPreset::GoogleWorkspace => (
                v(&["email"]),
                v(&["firstName", "first_name"]),
                v(&["lastName", "last_name"]),
                v(&[]),
                v(&["groups"]),
            ),
            IdpPreset::Adfs => (
                vec![claim("emailaddress"), claim("upn")],
                vec![claim("givenname")],
                vec![claim("surname")],
                v(&["http://schemas.xmlsoap.org/claims/CommonName"]),
                v(&[
                    "http://schemas.xmlsoap.org/claims/Group",
                    "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
                ]),
            ),
            IdpPreset::OneLogin => (
                v(&["User.email", "email"]),
                v(&["User.FirstName", "givenName"]),
                v(&["User.LastName", "sn"]),
                v(&[]),
                v(&["memberOf", "group", "groups"]),
            ),
            IdpPreset::JumpCloud => (
                v(&["email", "Email"]),
                v(&["firstname", "fname", "givenName"]),
                v(&["lastname", "lname", "sn"]),
                v(&[]),
                v(&["memberOf", "groups"]),
            ),
            IdpPreset::PingFederate => (
                v(&["email", "mail", "Email"]),
                v(&["firstname", "firstName", "givenName"]),
                v(&["lastname", "lastName", "sn"]),
                v(&[]),
                v(&["group", "groups", "memberOf"]),
            ),
            IdpPreset::Keycloak => (
                v(&["email"]),
                v(&["givenName", "firstName"]),
                v(&["surname", "lastName"]),
                v(&[]),
                v(&["Role", "groups", "member"]),
            ),
            IdpPreset::Auth0 => (
                vec![claim("emailaddress")],
                vec![claim("givenname")],
                vec![claim("surname")],
                vec![claim("name")],
                v(&["http://schemas.xmlsoap.org/claims/Group", "groups"]),
            ),
        };
        let names = |own: Vec<String>, fallback: &[String]| {
            let own: Vec<&str> = own.iter().map(String::as_str).collect();
            with_fallback(&own, fallback)
        };
        AttributeMapping {
            email: names(email, &d.email),
            first_name: names(first, &d.first_name),
            last_name: names(last, &d.last_name),
            display_name: names(display, &d.display_name),
            groups: names(groups, &d.groups),
        }
    }

    /// The NameIDPolicy Format to put in AuthnRequests: emailAddress where the IdP honours it,
    /// `None` (the IdP's configured format) where asking for another one makes it fail the login
    /// (Entra ID answers `InvalidNameIDPolicy`; AD FS sends only what its claim rules issue).
    pub fn requested_name_id_format(self) -> Option<&'static str> {
        match self {
            IdpPreset::EntraId | IdpPreset::Adfs | IdpPreset::Auth0 | IdpPreset::Keycloak => None,
            _ => Some(NAMEID_EMAIL),
        }
    }

    /// What its admin console asks for, in its own words, with this SP's values: the list to show
    /// a customer's administrator (the README's page per IdP says where each field is).
    pub fn console_fields(self, sp_entity_id: &str, acs_url: &str) -> Vec<(&'static str, String)> {
        let (id, acs) = (sp_entity_id.to_owned(), acs_url.to_owned());
        let email = NAMEID_EMAIL.to_owned();
        match self {
            IdpPreset::Okta => vec![
                ("Single sign-on URL", acs),
                ("Audience URI (SP Entity ID)", id),
                ("Name ID format", "EmailAddress".into()),
                ("Application username", "Email".into()),
                ("Attribute statements", "email, firstName, lastName".into()),
                ("Group attribute statements", "groups".into()),
            ],
            IdpPreset::EntraId => vec![
                ("Identifier (Entity ID)", id),
                ("Reply URL (Assertion Consumer Service URL)", acs),
                ("Sign on URL", "(leave empty)".into()),
                ("Unique User Identifier (Name ID)", "user.mail, format Email address".into()),
                ("Group claims", "Groups assigned to the application".into()),
            ],
            IdpPreset::GoogleWorkspace => vec![
                ("ACS URL", acs),
                ("Entity ID", id),
                ("Signed response", "on".into()),
                ("Name ID format", "EMAIL".into()),
                ("Name ID", "Basic Information > Primary email".into()),
                ("Attribute mapping", "First name -> firstName, Last name -> lastName, Group membership -> groups".into()),
            ],
            IdpPreset::Adfs => vec![
                ("Relying party trust identifier", id),
                ("Relying party SAML 2.0 SSO service URL", acs),
                ("Claim rule: LDAP attributes", "E-Mail-Addresses -> E-Mail Address, Given-Name -> Given Name, Surname -> Surname, Token-Groups -> Group".into()),
                ("Claim rule: transform", format!("E-Mail Address -> Name ID, format Email ({email})")),
                ("Secure hash algorithm", "SHA-256".into()),
            ],
            IdpPreset::OneLogin => vec![
                ("Audience (EntityID)", id),
                ("Recipient", acs.clone()),
                ("ACS (Consumer) URL", acs.clone()),
                ("ACS (Consumer) URL Validator", format!("^{}$", regex_escape(&acs))),
                ("SAML nameID format", "Email".into()),
                ("Parameters", "User.email, User.FirstName, User.LastName, memberOf".into()),
            ],
            IdpPreset::JumpCloud => vec![
                ("SP Entity ID", id),
                ("ACS URLs", acs),
                ("SAMLSubject NameID", "email".into()),
                ("SAMLSubject NameID Format", email),
                ("Attributes", "email -> email, firstname -> firstname, lastname -> lastname".into()),
                ("Include group attribute", "memberOf".into()),
            ],
            IdpPreset::PingFederate => vec![
                ("Partner's Entity ID (Connection ID)", id),
                ("Assertion Consumer Service URL (POST)", acs),
                ("Subject name ID format", email),
                ("Attribute contract", "email, firstname, lastname, group".into()),
                ("Signature policy", "Sign the assertion (or the response), RSA-SHA256".into()),
            ],
            IdpPreset::Keycloak => vec![
                ("Client ID", id),
                ("Valid redirect URIs", acs.clone()),
                ("Assertion Consumer Service POST Binding URL", acs),
                ("Name ID format", "email".into()),
                ("Mappers", "User Property email -> email, firstName -> givenName, lastName -> surname".into()),
                ("Sign assertions", "on".into()),
            ],
            IdpPreset::Auth0 => vec![
                ("Application Callback URL", acs),
                ("Settings: audience", id),
                ("Settings: nameIdentifierFormat", email),
                ("Settings: nameIdentifierProbes", "[\"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress\"]".into()),
            ],
        }
    }
}

/// Escapes regular-expression metacharacters (OneLogin's ACS URL validator is a regex).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl std::fmt::Display for IdpPreset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}
