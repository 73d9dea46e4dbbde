//! Choosing the IdP: the SAML IdP Discovery Service protocol (send the user to a federation's
//! discovery service, accept its answer only for an IdP the SP trusts) and a built-in chooser
//! an app can render (search by display name, keyword and email domain, the last choice
//! remembered).
//!
//! The protocol: [`DiscoveryRequest::redirect_url`] sends the browser to the service with the
//! SP's `entityID` and a `return` URL on the SP carrying an opaque state; the service sends it
//! back to `return` with `entityID=<the IdP>` appended. [`accept_discovery_response`] reads that
//! answer and accepts it only for an IdP `is_known` (the federation index, the registry): a
//! discovery service, or whoever forged its answer, can name any entity, and the SP signs in
//! with none it does not already trust.

use crate::error::Error;
use crate::metadata::IdpMetadata;

/// A request to an IdP discovery service.
#[derive(Debug, Clone)]
#[must_use]
pub struct DiscoveryRequest {
    service: String,
    sp_entity_id: String,
    return_url: String,
    passive: bool,
    policy: Option<String>,
}

fn query_escape(s: &str) -> String {
    crate::binding::params::url_encode(s)
}

impl DiscoveryRequest {
    /// Asks the discovery service at `service` on behalf of the SP `sp_entity_id`; the answer
    /// comes back to `return_url` (the SP's own endpoint, with whatever state it needs in its
    /// query).
    pub fn new(
        service: impl Into<String>,
        sp_entity_id: impl Into<String>,
        return_url: impl Into<String>,
    ) -> Self {
        DiscoveryRequest {
            service: service.into(),
            sp_entity_id: sp_entity_id.into(),
            return_url: return_url.into(),
            passive: false,
            policy: None,
        }
    }
    /// `isPassive=true`: the service must answer without asking the user.
    pub fn passive(mut self, yes: bool) -> Self {
        self.passive = yes;
        self
    }
    /// The `policy` URI.
    pub fn policy(mut self, uri: impl Into<String>) -> Self {
        self.policy = Some(uri.into());
        self
    }
    /// The URL to send the browser to. The answer's parameter is `entityID` (no
    /// `returnIDParam` is sent).
    pub fn redirect_url(&self) -> String {
        let sep = if self.service.contains('?') { '&' } else { '?' };
        let mut url = format!(
            "{}{sep}entityID={}&return={}",
            self.service,
            query_escape(&self.sp_entity_id),
            query_escape(&self.return_url)
        );
        if self.passive {
            url.push_str("&isPassive=true");
        }
        if let Some(p) = &self.policy {
            url.push_str(&format!("&policy={}", query_escape(p)));
        }
        url
    }
}

/// The IdP a discovery service's answer names (the `entityID` parameter of the `return` URL's
/// query), accepted only when `is_known(entity_id)`.
///
/// # Errors
/// [`Error::Binding`] when the answer names no IdP (the user chose none, or a passive request
/// found none), names one twice, or is not a well-formed query; [`Error::UnknownTenant`] for an IdP the SP does not trust.
pub fn accept_discovery_response(
    query: &str,
    is_known: impl Fn(&str) -> bool,
) -> Result<String, Error> {
    // Duplicate names are refused by the parser: one entityID, or none.
    let found = crate::binding::params::parse_params(query)?
        .into_iter()
        .find(|p| p.name == "entityID")
        .map(|p| p.value);
    let entity = found
        .filter(|e| !e.is_empty())
        .ok_or_else(|| Error::Binding("the discovery service named no IdP".into()))?;
    if !is_known(&entity) {
        return Err(Error::UnknownTenant {
            found: entity.chars().take(200).collect(),
        });
    }
    Ok(entity)
}

/// One IdP as a chooser shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Choice {
    /// The entity ID (what the form posts back).
    pub entity_id: String,
    /// The display name in the requested language.
    pub name: String,
    /// A logo URL (https or data:), if published.
    pub logo: Option<String>,
}

/// The built-in IdP chooser over a set of IdPs (a federation index, the tenants' metadata):
/// search as the user types, by display name (any language), keyword or email domain, and the
/// user's last choice first.
#[derive(Debug, Clone, Default)]
pub struct Chooser {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    md: IdpMetadata,
    /// Lower-cased display names, keywords and domain hints, searched as one text.
    haystack: Vec<String>,
}

/// The longest query looked at (characters).
pub const MAX_QUERY: usize = 100;

impl Chooser {
    /// A chooser over `idps`.
    pub fn new<'a>(idps: impl IntoIterator<Item = &'a IdpMetadata>) -> Self {
        let entries = idps
            .into_iter()
            .map(|md| {
                let ui = md.ui();
                let mut haystack: Vec<String> = ui
                    .display_names
                    .iter()
                    .map(|(_, n)| n.to_lowercase())
                    .collect();
                haystack.extend(ui.keywords.iter().map(|k| k.to_lowercase()));
                haystack.extend(ui.domain_hints.iter().cloned());
                haystack.push(md.entity_id().to_lowercase());
                Entry {
                    md: md.clone(),
                    haystack,
                }
            })
            .collect();
        Chooser { entries }
    }

    fn choice(md: &IdpMetadata, lang: &str) -> Choice {
        Choice {
            entity_id: md.entity_id().to_owned(),
            name: md.display_name(lang).to_owned(),
            logo: md.ui().logos.first().cloned(),
        }
    }

    /// Up to `limit` IdPs matching `query` (case-insensitive words, each found in a name,
    /// keyword or domain hint; an email address searches by its domain), names in `lang`, the
    /// one the user chose last (`remembered`, if it is one of these IdPs) first. One pass over
    /// the IdPs; the query is cut at [`MAX_QUERY`] characters.
    pub fn search(
        &self,
        query: &str,
        lang: &str,
        remembered: Option<&str>,
        limit: usize,
    ) -> Vec<Choice> {
        let query: String = query
            .chars()
            .take(MAX_QUERY)
            .collect::<String>()
            .to_lowercase();
        let query = match query.rsplit_once('@') {
            Some((_, domain)) if !domain.is_empty() => domain.to_owned(),
            _ => query,
        };
        let words: Vec<&str> = query.split_whitespace().take(8).collect();
        let matches = |e: &Entry| {
            words
                .iter()
                .all(|w| e.haystack.iter().any(|h| h.contains(w)))
        };
        let mut out: Vec<Choice> = Vec::new();
        if let Some(last) = remembered
            && let Some(e) = self.entries.iter().find(|e| e.md.entity_id() == last)
            && matches(e)
        {
            out.push(Self::choice(&e.md, lang));
        }
        for e in &self.entries {
            if out.len() >= limit {
                break;
            }
            if matches(e) && Some(e.md.entity_id()) != remembered {
                out.push(Self::choice(&e.md, lang));
            }
        }
        out.truncate(limit);
        out
    }

    /// Whether `entity_id` is one of the chooser's IdPs (what [`accept_discovery_response`]
    /// and a posted choice are checked against).
    pub fn knows(&self, entity_id: &str) -> bool {
        self.entries.iter().any(|e| e.md.entity_id() == entity_id)
    }
}
