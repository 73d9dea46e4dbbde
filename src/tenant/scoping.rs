//! `Scoping` for AuthnRequests to a proxying IdP (a federation hub): which IdPs it may send the
//! user to, and how many proxy steps are allowed.

use crate::xml::escape_attr;

/// `Scoping`: the IdPs a proxying IdP may send the user to (`IDPList`) and how many proxy steps
/// are allowed (`ProxyCount`), for SPs behind federation proxies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[must_use]
pub struct Scoping {
    idps: Vec<(String, Option<String>)>,
    proxy_count: Option<u32>,
}

impl Scoping {
    /// No restriction yet.
    pub fn new() -> Self {
        Scoping::default()
    }
    /// Adds an `IDPEntry` (entity ID, optional display `Name`).
    pub fn idp(mut self, provider_id: impl Into<String>, name: Option<String>) -> Self {
        self.idps.push((provider_id.into(), name));
        self
    }
    /// `ProxyCount` (0: the IdP must authenticate the user itself).
    pub fn proxy_count(mut self, n: u32) -> Self {
        self.proxy_count = Some(n);
        self
    }
    pub(crate) fn write(&self, x: &mut String) {
        x.push_str("<samlp:Scoping");
        if let Some(n) = self.proxy_count {
            x.push_str(&format!(" ProxyCount=\"{n}\""));
        }
        x.push('>');
        if !self.idps.is_empty() {
            x.push_str("<samlp:IDPList>");
            for (id, name) in &self.idps {
                x.push_str(&format!(
                    "<samlp:IDPEntry ProviderID=\"{}\"",
                    escape_attr(id)
                ));
                if let Some(n) = name {
                    x.push_str(&format!(" Name=\"{}\"", escape_attr(n)));
                }
                x.push_str("/>");
            }
            x.push_str("</samlp:IDPList>");
        }
        x.push_str("</samlp:Scoping>");
    }
}
