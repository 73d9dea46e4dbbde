//! Reading an IdP's metadata (`EntityDescriptor`, or one entity of an `EntitiesDescriptor`).

use chrono::{DateTime, Utc};

use crate::crypto::Certificate;
use crate::error::Error;
use crate::ns::{DSIG_NS, HTTP_POST, HTTP_REDIRECT, MD_NS, SAMLP_NS as PROTOCOL};
use crate::sp::config::IdentityProvider;
use crate::time::parse_instant;
use crate::xml::{Document, Element, Limits, ParseOptions};

/// Limits for metadata documents: larger than for responses (Entra ID's is ~80 KB, aggregates
/// more), still bounded.
pub fn default_metadata_limits() -> Limits {
    Limits::default()
        .with_max_input_bytes(8 << 20)
        .with_max_nodes(1_000_000)
}

/// The most signing certificates read from one IdP's metadata (rotation publishes two or three).
pub const MAX_SIGNING_CERTIFICATES: usize = 16;

/// One `SingleSignOnService` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoint {
    /// The binding URI.
    pub binding: String,
    /// The location (always http or https).
    pub location: String,
}

/// What an IdP's metadata says.
#[derive(Debug, Clone)]
pub struct IdpMetadata {
    entity_id: String,
    sso: Vec<Endpoint>,
    slo: Vec<Endpoint>,
    certificates: Vec<Certificate>,
    name_id_formats: Vec<String>,
    valid_until: Option<DateTime<Utc>>,
    cache_duration: Option<chrono::Duration>,
    signed: bool,
    want_authn_requests_signed: bool,
    ui: UiInfo,
    artifact_resolution: Vec<Endpoint>,
}

/// What a discovery page shows of an IdP (`mdui:UIInfo` and `mdui:DiscoHints` of its
/// IDPSSODescriptor): at most [`MAX_UI_ITEMS`] of each, each at most [`MAX_UI_TEXT`] characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UiInfo {
    /// `DisplayName`s: (language, name).
    pub display_names: Vec<(String, String)>,
    /// `Keywords`, split into words (`+` inside a keyword is a space).
    pub keywords: Vec<String>,
    /// `Logo` URLs (https or data:).
    pub logos: Vec<String>,
    /// `DomainHint`s, lower-cased.
    pub domain_hints: Vec<String>,
}

/// At most this many display names, keywords, logos and domain hints are kept per IdP.
pub const MAX_UI_ITEMS: usize = 32;
/// At most this many characters of each.
pub const MAX_UI_TEXT: usize = 512;

const MDUI_NS: &str = "urn:oasis:names:tc:SAML:metadata:ui";

fn read_ui(descriptor: Element<'_>) -> UiInfo {
    let mut ui = UiInfo::default();
    let text = |e: Element<'_>| -> String { e.text().trim().chars().take(MAX_UI_TEXT).collect() };
    let push = |v: &mut Vec<String>, s: String| {
        if v.len() < MAX_UI_ITEMS && !s.is_empty() {
            v.push(s);
        }
    };
    for ext in md_children(descriptor, "Extensions") {
        for e in ext.child_elements() {
            if e.is(MDUI_NS, "UIInfo") {
                for c in e.child_elements() {
                    if c.is(MDUI_NS, "DisplayName") && ui.display_names.len() < MAX_UI_ITEMS {
                        let lang = c
                            .attributes()
                            .find(|a| a.local_name() == "lang")
                            .map(|a| a.value().to_owned())
                            .unwrap_or_default();
                        ui.display_names.push((lang, text(c)));
                    } else if c.is(MDUI_NS, "Keywords") {
                        for k in text(c).split_whitespace() {
                            push(&mut ui.keywords, k.replace('+', " "));
                        }
                    } else if c.is(MDUI_NS, "Logo") {
                        let url = text(c);
                        if url.starts_with("https://") || url.starts_with("data:image/") {
                            push(&mut ui.logos, url);
                        }
                    }
                }
            } else if e.is(MDUI_NS, "DiscoHints") {
                for c in e.child_elements().filter(|c| c.is(MDUI_NS, "DomainHint")) {
                    push(&mut ui.domain_hints, text(c).to_ascii_lowercase());
                }
            }
        }
    }
    ui
}

fn md_children<'a>(
    e: Element<'a>,
    local: &'static str,
) -> impl Iterator<Item = Element<'a>> + use<'a> {
    e.child_elements().filter(move |c| c.is(MD_NS, local))
}

fn cfg(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Config {
        field,
        reason: reason.into(),
    }
}

impl IdpMetadata {
    /// Parses IdP metadata. `entity_id` selects the entity in an `EntitiesDescriptor` (and, when
    /// given, must match an `EntityDescriptor`); without it an aggregate must hold exactly one IdP.
    ///
    /// # Errors
    /// [`Error::Xml`] for hostile or malformed XML; [`Error::Config`] (`idp_metadata`) when there
    /// is no IDPSSODescriptor supporting SAML 2.0, no signing certificate, or an endpoint that is
    /// not http(s).
    pub fn parse(xml: &[u8], entity_id: Option<&str>) -> Result<IdpMetadata, Error> {
        let opts = ParseOptions::default()
            .with_limits(default_metadata_limits())
            .forbidding_processing_instructions();
        let doc = Document::parse_with(xml, &opts)?;
        let root = doc.root();
        // Each candidate with the earliest validUntil on its path from the document element
        // (an aggregate's validUntil bounds every entity in it, SAML Metadata 2.3).
        let mut candidates = Vec::new();
        let mut stack: Vec<(Element<'_>, Option<DateTime<Utc>>)> = vec![(root, None)];
        while let Some((e, outer)) = stack.pop() {
            let own = e
                .attribute("validUntil")
                .map(|v| parse_instant(v, "validUntil"))
                .transpose()?;
            let valid_until = match (outer, own) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if e.is(MD_NS, "EntitiesDescriptor") {
                stack.extend(e.child_elements().map(|c| (c, valid_until)));
            } else if e.is(MD_NS, "EntityDescriptor") {
                candidates.push((e, valid_until));
            }
        }
        candidates.retain(|(e, _)| md_children(*e, "IDPSSODescriptor").next().is_some());
        let (entity, valid_until) = match entity_id {
            Some(id) => candidates
                .into_iter()
                .find(|(e, _)| e.attribute("entityID") == Some(id))
                .ok_or_else(|| {
                    cfg(
                        "idp_metadata",
                        format!("no IdP EntityDescriptor with entityID {id:?}"),
                    )
                })?,
            None => {
                if candidates.len() > 1 {
                    return Err(cfg(
                        "idp_metadata",
                        format!(
                            "{} IdPs in this aggregate; name one by entity ID",
                            candidates.len()
                        ),
                    ));
                }
                candidates.pop().ok_or_else(|| {
                    cfg(
                        "idp_metadata",
                        "no EntityDescriptor with an IDPSSODescriptor",
                    )
                })?
            }
        };
        IdpMetadata::from_entity(root, entity, valid_until)
    }

    /// The IdP described by `entity` (an `EntityDescriptor` with an `IDPSSODescriptor`) in the
    /// document whose element is `root`, valid until `valid_until` (the earliest on its path).
    pub(crate) fn from_entity(
        root: Element<'_>,
        entity: Element<'_>,
        valid_until: Option<DateTime<Utc>>,
    ) -> Result<IdpMetadata, Error> {
        let entity_id = entity
            .attribute("entityID")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| cfg("idp_metadata", "EntityDescriptor without entityID"))?
            .to_owned();
        let cache_duration = match entity
            .attribute("cacheDuration")
            .or_else(|| root.attribute("cacheDuration"))
        {
            Some(v) => Some(crate::time::parse_duration(v).ok_or_else(|| {
                cfg(
                    "idp_metadata",
                    format!(
                        "cacheDuration is not an xs:duration: {:?}",
                        v.chars().take(40).collect::<String>()
                    ),
                )
            })?),
            None => None,
        };
        let signed = entity.child_elements().any(|c| c.is(DSIG_NS, "Signature"))
            || root.child_elements().any(|c| c.is(DSIG_NS, "Signature"));

        let mut sso = Vec::new();
        let mut slo = Vec::new();
        let mut certificates: Vec<Certificate> = Vec::new();
        let mut examined = 0usize;
        let mut name_id_formats = Vec::new();
        let mut want_authn_requests_signed = false;
        let mut ui = UiInfo::default();
        let mut artifact_resolution = Vec::new();
        for d in md_children(entity, "IDPSSODescriptor") {
            if ui == UiInfo::default() {
                ui = read_ui(d);
            }
            let protocols = d.attribute("protocolSupportEnumeration").unwrap_or("");
            if !protocols.split_ascii_whitespace().any(|p| p == PROTOCOL) {
                continue;
            }
            want_authn_requests_signed |= d.attribute("WantAuthnRequestsSigned") == Some("true");
            for (kind, list) in [
                ("SingleSignOnService", &mut sso),
                ("SingleLogoutService", &mut slo),
                ("ArtifactResolutionService", &mut artifact_resolution),
            ] {
                for s in md_children(d, kind) {
                    let binding = s.attribute("Binding").unwrap_or("").to_owned();
                    let location = s.attribute("Location").unwrap_or("").to_owned();
                    if !(location.starts_with("https://") || location.starts_with("http://")) {
                        return Err(cfg(
                            "idp_metadata",
                            format!("{kind} Location must be http(s), found {location:?}"),
                        ));
                    }
                    list.push(Endpoint { binding, location });
                }
            }
            for k in md_children(d, "KeyDescriptor") {
                if !matches!(k.attribute("use"), None | Some("signing")) {
                    continue;
                }
                for ki in k.child_elements().filter(|c| c.is(DSIG_NS, "KeyInfo")) {
                    for x in ki.child_elements().filter(|c| c.is(DSIG_NS, "X509Data")) {
                        for c in x
                            .child_elements()
                            .filter(|c| c.is(DSIG_NS, "X509Certificate"))
                        {
                            // Count every certificate parsed, duplicates too: the bound is on
                            // parse work, not only on what is kept.
                            examined += 1;
                            if examined > 2 * MAX_SIGNING_CERTIFICATES
                                || certificates.len() >= MAX_SIGNING_CERTIFICATES
                            {
                                return Err(cfg(
                                    "idp_metadata",
                                    format!(
                                        "at most {MAX_SIGNING_CERTIFICATES} distinct signing certificates \
                                         in at most {} X509Certificate elements, found more",
                                        2 * MAX_SIGNING_CERTIFICATES
                                    ),
                                ));
                            }
                            let cert = Certificate::parse(c.text().as_bytes())?;
                            if !certificates.contains(&cert) {
                                certificates.push(cert);
                            }
                        }
                    }
                }
            }
            for f in md_children(d, "NameIDFormat") {
                name_id_formats.push(f.text().trim().to_owned());
            }
        }
        if sso.is_empty() && certificates.is_empty() {
            return Err(cfg(
                "idp_metadata",
                "no IDPSSODescriptor supporting SAML 2.0",
            ));
        }
        if certificates.is_empty() {
            return Err(cfg(
                "idp_metadata",
                "no signing certificate (KeyDescriptor use=\"signing\" or without use)",
            ));
        }
        Ok(IdpMetadata {
            entity_id,
            sso,
            slo,
            certificates,
            name_id_formats,
            valid_until,
            cache_duration,
            signed,
            want_authn_requests_signed,
            ui,
            artifact_resolution,
        })
    }

    /// The `ArtifactResolutionService` endpoints, in document order.
    pub fn artifact_resolution_endpoints(&self) -> &[Endpoint] {
        &self.artifact_resolution
    }

    /// What a discovery page shows of this IdP (`mdui`).
    pub fn ui(&self) -> &UiInfo {
        &self.ui
    }

    /// The display name in `lang` (else English, else the first, else the entity ID).
    pub fn display_name(&self, lang: &str) -> &str {
        let names = &self.ui.display_names;
        names
            .iter()
            .find(|(l, _)| l == lang)
            .or_else(|| names.iter().find(|(l, _)| l == "en"))
            .or_else(|| names.first())
            .map_or(self.entity_id.as_str(), |(_, n)| n.as_str())
    }

    /// The metadata's `cacheDuration` (SAML Metadata 2.3.1), a hint for how long a fetched copy
    /// may be cached before it is fetched again. It never extends `validUntil`.
    pub fn cache_duration(&self) -> Option<chrono::Duration> {
        self.cache_duration
    }

    /// Refuses metadata whose `validUntil` (the earliest on the path to the entity) is at or
    /// before `now`. Metadata without `validUntil` is valid until replaced.
    ///
    /// # Errors
    /// [`Error::MetadataExpired`].
    pub fn check_valid_at(&self, now: DateTime<Utc>) -> Result<(), Error> {
        match self.valid_until {
            Some(v) if v <= now => Err(Error::MetadataExpired {
                valid_until: crate::time::format_instant(v),
                now: crate::time::format_instant(now),
            }),
            _ => Ok(()),
        }
    }

    /// The `SingleLogoutService` endpoints, in document order.
    pub fn slo_endpoints(&self) -> &[Endpoint] {
        &self.slo
    }

    /// The Single Logout URL for `binding`, if the IdP offers one.
    pub fn slo_url(&self, binding: &str) -> Option<&str> {
        self.slo
            .iter()
            .find(|e| e.binding == binding)
            .map(|e| e.location.as_str())
    }

    /// The IdP entity ID.
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }
    /// All SingleSignOnService endpoints, in document order.
    pub fn sso_endpoints(&self) -> &[Endpoint] {
        &self.sso
    }
    /// The first SSO location for `binding`.
    pub fn sso_url(&self, binding: &str) -> Option<&str> {
        self.sso
            .iter()
            .find(|e| e.binding == binding)
            .map(|e| e.location.as_str())
    }
    /// Signing certificates (all of them, for rotation).
    pub fn signing_certificates(&self) -> &[Certificate] {
        &self.certificates
    }
    /// NameIDFormats the IdP supports.
    pub fn name_id_formats(&self) -> &[String] {
        &self.name_id_formats
    }
    /// `validUntil`, if any (the earliest of the entity's and an enclosing aggregate's).
    pub fn valid_until(&self) -> Option<DateTime<Utc>> {
        self.valid_until
    }
    /// Whether the document carries an XML signature (not verified by `parse`).
    pub fn has_signature(&self) -> bool {
        self.signed
    }
    /// `WantAuthnRequestsSigned="true"` on the IDPSSODescriptor.
    pub fn wants_authn_requests_signed(&self) -> bool {
        self.want_authn_requests_signed
    }
    /// An [`IdentityProvider`] with this entity ID, certificates and (Redirect, else POST) SSO URL.
    ///
    /// # Errors
    /// As [`IdentityProvider::new`].
    pub fn identity_provider(&self) -> Result<IdentityProvider, Error> {
        let mut idp = IdentityProvider::new(self.entity_id.clone(), self.certificates.clone())?;
        if let Some(t) = self.valid_until {
            idp = idp.with_valid_until(t);
        }
        if let Some(u) = self.slo_url(HTTP_REDIRECT) {
            idp = idp.with_slo_url(u);
        }
        Ok(
            match self
                .sso_url(HTTP_REDIRECT)
                .or_else(|| self.sso_url(HTTP_POST))
            {
                Some(u) => idp.with_sso_url(u),
                None => idp,
            },
        )
    }
}

impl IdpMetadata {
    /// Parses IdP metadata and requires its XML signature (on the document element) to verify
    /// with one of `pinned` certificates.
    ///
    /// # Errors
    /// As [`IdpMetadata::parse`]; [`Error::SignatureMissing`] when unsigned; signature errors;
    /// [`Error::MetadataExpired`] when its `validUntil` is at or before `now`.
    pub fn parse_verified(
        xml: &[u8],
        entity_id: Option<&str>,
        pinned: &[Certificate],
        now: DateTime<Utc>,
    ) -> Result<IdpMetadata, Error> {
        let opts = ParseOptions::default()
            .with_limits(default_metadata_limits())
            .forbidding_processing_instructions();
        let doc = Document::parse_with(xml, &opts)?;
        let verify = crate::dsig::VerifyOptions {
            certificates: pinned,
            allow_legacy_crypto: false,
        };
        crate::dsig::verify_enveloped(doc.root(), "EntityDescriptor", &verify)?.ok_or(
            Error::SignatureMissing {
                expected: "the metadata document".into(),
            },
        )?;
        let md = IdpMetadata::parse(xml, entity_id)?;
        md.check_valid_at(now)?;
        Ok(md)
    }
}
