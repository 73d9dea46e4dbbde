//! The verified identity mapped onto the fields an app needs (email, names, groups), by an
//! [`AttributeMapping`] of attribute names; read from the assertion that was signed.
//!
//! ```
//! use saml_sp::login::AttributeMapping;
//!
//! let mapping = AttributeMapping::default();
//! assert!(mapping.first_name.iter().any(|n| n == "givenName"));
//! assert!(mapping.groups.iter().any(|n| n == "http://schemas.xmlsoap.org/claims/Group"));
//! ```

use crate::error::Error;
use crate::sp::assertion::VerifiedAssertion;
use crate::sp::attributes::Attributes;
use crate::xml::fast_map::Seeded;

use crate::ns::NAMEID_EMAIL as EMAIL_FORMAT;
/// The value used for a first or last name the IdP did not send.
pub const UNKNOWN: &str = "Unknown";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Which attribute names feed each identity field, in order of preference. The defaults cover
/// Okta, Entra ID / ADFS claim URIs, LDAP/eduPerson OIDs and common spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct AttributeMapping {
    /// Email, after an emailAddress NameID.
    pub email: Vec<String>,
    /// First name.
    pub first_name: Vec<String>,
    /// Last name.
    pub last_name: Vec<String>,
    /// Display name.
    pub display_name: Vec<String>,
    /// Groups (all values of every listed attribute, de-duplicated, in order).
    pub groups: Vec<String>,
}

impl Default for AttributeMapping {
    fn default() -> Self {
        AttributeMapping {
            email: strings(&[
                "email",
                "mail",
                "urn:oid:0.9.2342.19200300.100.1.3",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
            ]),
            first_name: strings(&[
                "FirstName",
                "firstName",
                "givenName",
                "urn:oid:2.5.4.42",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
            ]),
            last_name: strings(&[
                "LastName",
                "lastName",
                "sn",
                "surname",
                "urn:oid:2.5.4.4",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
            ]),
            display_name: strings(&[
                "displayName",
                "DisplayName",
                "urn:oid:2.16.840.1.113730.3.1.241",
                "http://schemas.microsoft.com/identity/claims/displayname",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
            ]),
            groups: strings(&[
                "http://schemas.xmlsoap.org/claims/Group",
                "groups",
                "memberOf",
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
            ]),
        }
    }
}

impl AttributeMapping {
    /// Maps a verified assertion onto a [`SamlIdentity`].
    ///
    /// # Errors
    /// [`Error::IdentityIncomplete`] when no email can be found (neither an emailAddress NameID
    /// nor a mapped attribute).
    pub fn identity(&self, assertion: &VerifiedAssertion) -> Result<SamlIdentity, Error> {
        let first = |names: &[String]| -> Option<String> {
            names.iter().find_map(|n| {
                assertion
                    .attribute(n)
                    .find(|v| !v.is_empty())
                    .map(str::to_owned)
            })
        };
        let name_id = assertion.name_id();
        let email = name_id
            .filter(|n| n.format.as_deref() == Some(EMAIL_FORMAT))
            .map(|n| n.value.clone())
            .or_else(|| first(&self.email))
            .ok_or_else(|| Error::IdentityIncomplete {
                expected: "an emailAddress NameID or an email attribute".into(),
                found: format!(
                    "NameID format {}, attributes {:?}",
                    name_id.and_then(|n| n.format.as_deref()).unwrap_or("none"),
                    assertion
                        .attributes()
                        .iter()
                        .map(|a| a.name())
                        .collect::<Vec<_>>()
                ),
            })?;
        // De-duplicated through a seeded hash set: a tenant's IdP may send tens of thousands of
        // group values, and comparing each with every kept one would be quadratic.
        let mut seen: std::collections::HashSet<&str, Seeded> = Default::default();
        let mut groups: Vec<String> = Vec::new();
        for n in &self.groups {
            for v in assertion.attribute(n) {
                if seen.insert(v) {
                    groups.push(v.to_owned());
                }
            }
        }
        let first_name = first(&self.first_name);
        let last_name = first(&self.last_name);
        let display_name =
            first(&self.display_name).unwrap_or_else(|| match (&first_name, &last_name) {
                (Some(f), Some(l)) => format!("{f} {l}"),
                (Some(f), None) => f.clone(),
                (None, Some(l)) => l.clone(),
                (None, None) => email.clone(),
            });
        Ok(SamlIdentity {
            issuer: assertion.issuer().to_owned(),
            name_id: name_id.map(|n| n.value.clone()),
            email,
            first_name: first_name.unwrap_or_else(|| UNKNOWN.into()),
            last_name: last_name.unwrap_or_else(|| UNKNOWN.into()),
            display_name,
            groups,
            attributes: assertion.attributes().clone(),
        })
    }
}

/// The identity an IdP vouched for, mapped onto the fields an app needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SamlIdentity {
    /// The IdP entity ID.
    pub issuer: String,
    /// The NameID, exactly as sent (the stable key for the user within this IdP).
    pub name_id: Option<String>,
    /// The email, exactly as sent.
    pub email: String,
    /// First name, or "Unknown".
    pub first_name: String,
    /// Last name, or "Unknown".
    pub last_name: String,
    /// Display name (the attribute, else "First Last", else the email).
    pub display_name: String,
    /// Groups, de-duplicated, in document order.
    pub groups: Vec<String>,
    /// Every attribute, merged by `Name`, in document order, as the assertion holds them (one
    /// buffer, not a `String` per value): `identity.attributes.values("department")`.
    pub attributes: Attributes,
}

impl SamlIdentity {
    /// The email's domain, lower-cased (domains are case-insensitive; the local part is not
    /// touched).
    pub fn email_domain(&self) -> Option<String> {
        email_domain(&self.email)
    }
}

/// The lower-cased domain of an email address.
pub fn email_domain(email: &str) -> Option<String> {
    let (local, domain) = email.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    Some(domain.to_ascii_lowercase())
}
