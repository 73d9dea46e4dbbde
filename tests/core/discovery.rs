//! Issue 33, discovery: the IdP Discovery Service protocol (the answer accepted only for an IdP
//! the SP trusts) and the built-in chooser over a federation's IdPs (search by display name in
//! any language, keyword and email domain; the last choice first; logos and names from mdui).

use saml_sp::login::{Chooser, DiscoveryRequest, accept_discovery_response};
use saml_sp::metadata::aggregate::{AggregateLimits, IdpFilter, index_idps};
use saml_sp::testkit::TestIdp;

fn idp(i: usize, en: &str, de: &str, keywords: &str, domain: &str) -> String {
    let cert = TestIdp::fixed("https://cert.example")
        .certificate_pem()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    format!(
        "<md:EntityDescriptor entityID=\"https://idp{i}.example.edu/idp\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><md:Extensions><mdui:UIInfo><mdui:DisplayName xml:lang=\"en\">{en}</mdui:DisplayName><mdui:DisplayName xml:lang=\"de\">{de}</mdui:DisplayName><mdui:Keywords xml:lang=\"en\">{keywords}</mdui:Keywords><mdui:Logo height=\"16\" width=\"16\">https://idp{i}.example.edu/logo.png</mdui:Logo><mdui:Logo height=\"16\" width=\"16\">javascript:alert(1)</mdui:Logo></mdui:UIInfo><mdui:DiscoHints><mdui:DomainHint>{domain}</mdui:DomainHint></mdui:DiscoHints></md:Extensions><md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://idp{i}.example.edu/sso\"/></md:IDPSSODescriptor></md:EntityDescriptor>"
    )
}

fn chooser() -> Chooser {
    let fed = TestIdp::fixed("https://federation.example.org");
    let xml = format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" xmlns:mdui=\"urn:oasis:names:tc:SAML:metadata:ui\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" ID=\"fed\">{}{}{}</md:EntitiesDescriptor>",
        idp(
            1,
            "Technical University of Example",
            "Technische Universität Beispiel",
            "engineering TU+Beispiel",
            "tu-example.edu"
        ),
        idp(
            2,
            "University of Example Arts",
            "Kunsthochschule Beispiel",
            "arts music",
            "arts-example.edu"
        ),
        idp(
            3,
            "Example Medical School",
            "Medizinische Hochschule",
            "medicine",
            "med-example.edu"
        ),
    );
    let signed = fed.sign(&xml, "fed").unwrap();
    let index = index_idps(
        signed.as_bytes(),
        &[fed.certificate().clone()],
        &IdpFilter::default(),
        chrono::Utc::now(),
        &AggregateLimits::default(),
    )
    .unwrap();
    assert_eq!(index.idps.len(), 3);
    Chooser::new(index.idps.iter())
}

#[test]
fn the_chooser_finds_idps_by_name_keyword_and_email_domain() {
    let c = chooser();
    let ids =
        |v: Vec<saml_sp::login::Choice>| v.into_iter().map(|c| c.entity_id).collect::<Vec<_>>();
    // A name in either language, case-insensitive, several words all required.
    assert_eq!(
        ids(c.search("technische", "de", None, 10)),
        ["https://idp1.example.edu/idp"]
    );
    assert_eq!(ids(c.search("UNIVERSITY example", "en", None, 10)).len(), 2);
    // A keyword ("TU+Beispiel" is the keyword "TU Beispiel").
    assert_eq!(
        ids(c.search("music", "en", None, 10)),
        ["https://idp2.example.edu/idp"]
    );
    assert_eq!(
        ids(c.search("tu beispiel", "en", None, 10)),
        ["https://idp1.example.edu/idp"]
    );
    // An email address searches by its domain hint.
    assert_eq!(
        ids(c.search("ann@med-example.edu", "en", None, 10)),
        ["https://idp3.example.edu/idp"]
    );
    // The last choice first; a remembered IdP that is not in the chooser is ignored.
    let all = ids(c.search("", "en", Some("https://idp3.example.edu/idp"), 10));
    assert_eq!(all[0], "https://idp3.example.edu/idp");
    assert_eq!(all.len(), 3);
    assert_eq!(
        ids(c.search("", "en", Some("https://evil.example/idp"), 10)).len(),
        3
    );
    assert_eq!(c.search("", "en", None, 2).len(), 2);
    // Names in the user's language, logos only https (the javascript: one is dropped).
    let one = c.search("medicine", "de", None, 1).remove(0);
    assert_eq!(one.name, "Medizinische Hochschule");
    assert_eq!(
        one.logo.as_deref(),
        Some("https://idp3.example.edu/logo.png")
    );
    let one = c.search("medicine", "fr", None, 1).remove(0);
    assert_eq!(
        one.name, "Example Medical School",
        "no French name: English"
    );
    // A very long query is cut, not searched in full.
    assert!(c.search(&"x".repeat(100_000), "en", None, 10).is_empty());
}

#[test]
fn a_discovery_answer_is_accepted_only_for_an_idp_the_sp_trusts() {
    let c = chooser();
    let url = DiscoveryRequest::new(
        "https://ds.federation.example/ds",
        "https://sp.example.com/saml/metadata",
        "https://sp.example.com/saml/discovered?state=abc123",
    )
    .passive(false)
    .redirect_url();
    assert!(url.starts_with("https://ds.federation.example/ds?entityID=https%3A%2F%2Fsp.example.com%2Fsaml%2Fmetadata&return=https%3A%2F%2Fsp.example.com%2Fsaml%2Fdiscovered%3Fstate%3Dabc123"), "{url}");
    // The service's answer: the return URL with entityID appended.
    let answer = "state=abc123&entityID=https%3A%2F%2Fidp2.example.edu%2Fidp";
    assert_eq!(
        accept_discovery_response(answer, |e| c.knows(e)).unwrap(),
        "https://idp2.example.edu/idp"
    );
    // An IdP the federation does not list: refused, whatever the service said.
    let forged = "state=abc123&entityID=https%3A%2F%2Fevil.example%2Fidp";
    assert_eq!(
        accept_discovery_response(forged, |e| c.knows(e))
            .unwrap_err()
            .code(),
        "unknown_tenant"
    );
    // None chosen, or two: refused.
    assert_eq!(
        accept_discovery_response("state=abc123", |e| c.knows(e))
            .unwrap_err()
            .code(),
        "binding"
    );
    assert_eq!(
        accept_discovery_response(
            "entityID=https%3A%2F%2Fidp1.example.edu%2Fidp&entityID=https%3A%2F%2Fidp2.example.edu%2Fidp",
            |e| c.knows(e)
        )
        .unwrap_err()
        .code(),
        "binding"
    );
}
