//! One IdP out of a federation aggregate read as a stream (issue 17): found among the real
//! metadata files in `tests/fixtures/interop/metadata` wrapped into one `EntitiesDescriptor`, the
//! signed aggregate's digest computed over the stream equal to the whole-document one, tampering
//! anywhere refused, and the memory held bounded by the largest child, not the aggregate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use saml_sp::metadata::IdpMetadata;
use saml_sp::metadata::aggregate::{AggregateLimits, find_idp};
use saml_sp::testkit::TestIdp;

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
        .unwrap()
        .to_utc()
}

fn strip_decl(xml: &str) -> &str {
    let xml = xml.trim_start_matches('\u{feff}');
    match xml.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(xml, |(_, r)| r),
        None => xml,
    }
}

/// The real IdP metadata files (entity ID, file contents).
fn interop() -> Vec<(String, String)> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interop/metadata");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        if path.extension().is_some_and(|e| e == "xml") {
            let xml = std::fs::read_to_string(&path).unwrap();
            let md = IdpMetadata::parse(xml.as_bytes(), None).unwrap();
            out.push((md.entity_id().to_owned(), xml));
        }
    }
    assert!(out.len() >= 9, "the interop metadata files");
    out
}

/// An aggregate with the interop files, `filler` small SP entities between them, comments and
/// a default namespace declared on the aggregate; `id` for signing.
fn aggregate(members: &[String], filler: usize) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\"?>\n<!-- federation -->\n<EntitiesDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" ID=\"fed-2026\" Name=\"urn:example:federation\" validUntil=\"2027-01-01T00:00:00Z\">\n",
    );
    for (i, m) in members.iter().enumerate() {
        for j in 0..filler {
            x.push_str(&format!(
                "  <EntityDescriptor entityID=\"https://sp{i}-{j}.example.org/shibboleth\"><SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://sp{i}-{j}.example.org/acs?a=1&amp;b=2\" index=\"0\"/></SPSSODescriptor><!-- sp {j} --></EntityDescriptor>\n"
            ));
        }
        x.push_str("  ");
        x.push_str(strip_decl(m).trim());
        x.push('\n');
    }
    x.push_str("</EntitiesDescriptor>\n<!-- end -->\n");
    x
}

fn same(a: &IdpMetadata, b: &IdpMetadata) {
    assert_eq!(a.entity_id(), b.entity_id());
    assert_eq!(a.signing_certificates(), b.signing_certificates());
    assert_eq!(
        a.sso_url(saml_sp::ns::HTTP_REDIRECT),
        b.sso_url(saml_sp::ns::HTTP_REDIRECT)
    );
    assert_eq!(
        a.sso_url(saml_sp::ns::HTTP_POST),
        b.sso_url(saml_sp::ns::HTTP_POST)
    );
}

#[test]
fn every_real_idp_is_found_in_an_unsigned_aggregate_as_parsing_it_alone_finds_it() {
    let files = interop();
    let members: Vec<String> = files.iter().map(|(_, x)| x.clone()).collect();
    let agg = aggregate(&members, 3);
    for (entity_id, xml) in &files {
        let alone = IdpMetadata::parse(xml.as_bytes(), None).unwrap();
        // At a time when the file itself is still valid (some real files have expired).
        let at = alone
            .valid_until()
            .map_or(now(), |t| t - chrono::Duration::days(1))
            .min(now());
        let streamed = find_idp(
            agg.as_bytes(),
            entity_id,
            &[],
            at,
            &AggregateLimits::default(),
        )
        .unwrap_or_else(|e| panic!("{entity_id}: {e}"));
        same(&streamed, &alone);
        // The aggregate's validUntil bounds the entity's.
        assert!(
            streamed.valid_until().is_some_and(
                |t| t <= chrono::DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z").unwrap()
            ),
            "{entity_id}"
        );
        // A single EntityDescriptor goes through the same call.
        let single = find_idp(
            xml.as_bytes(),
            entity_id,
            &[],
            at,
            &AggregateLimits::default(),
        )
        .unwrap();
        same(&single, &alone);
    }
    let err = find_idp(
        agg.as_bytes(),
        "https://sp0-0.example.org/shibboleth",
        &[],
        now(),
        &AggregateLimits::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "config_invalid", "an SP is not an IdP: {err}");
    assert!(err.to_string().contains("no IdP EntityDescriptor"), "{err}");
}

#[test]
fn a_signed_aggregate_verifies_over_the_stream_and_tampering_anywhere_is_refused() {
    let files = interop();
    let members: Vec<String> = files.iter().map(|(_, x)| x.clone()).collect();
    let federation = TestIdp::fixed("https://federation.example.org");
    let signed = federation
        .sign(&aggregate(&members, 2), "fed-2026")
        .unwrap();
    let pinned = [federation.certificate().clone()];
    let limits = AggregateLimits::default();
    let (entity_id, _) = &files[3];
    // The whole-document path (tree, one digest) and the stream agree.
    let whole =
        IdpMetadata::parse_verified(signed.as_bytes(), Some(entity_id), &pinned, now()).unwrap();
    let streamed = find_idp(signed.as_bytes(), entity_id, &pinned, now(), &limits).unwrap();
    same(&streamed, &whole);
    // Every IdP of the aggregate, at a time when its own metadata is valid: the stream and the
    // whole document agree.
    for (id, xml) in &files {
        let alone = IdpMetadata::parse(xml.as_bytes(), None).unwrap();
        let at = alone
            .valid_until()
            .map_or(now(), |t| t - chrono::Duration::days(1))
            .min(now());
        let streamed = find_idp(signed.as_bytes(), id, &pinned, at, &limits)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let whole = IdpMetadata::parse_verified(signed.as_bytes(), Some(id), &pinned, at).unwrap();
        same(&streamed, &whole);
    }
    // Tampering with another entity, far from the one looked up, still fails the digest.
    let tampered = signed.replacen(
        "https://sp5-1.example.org/acs",
        "https://evil.example/acs",
        1,
    );
    assert_ne!(tampered, signed);
    let err = find_idp(tampered.as_bytes(), entity_id, &pinned, now(), &limits).unwrap_err();
    assert_eq!(err.code(), "digest_mismatch", "{err}");
    // Text between children counts too (it is part of the canonical form).
    let spaced = signed.replacen("\n  <EntityDescriptor", "\n   <EntityDescriptor", 1);
    let err = find_idp(spaced.as_bytes(), entity_id, &pinned, now(), &limits).unwrap_err();
    assert_eq!(err.code(), "digest_mismatch", "{err}");
    // Comments do not (exclusive C14N without comments), as in the whole-document path.
    let commented = signed.replacen("<!-- sp 1 -->", "<!-- another comment -->", 1);
    find_idp(commented.as_bytes(), entity_id, &pinned, now(), &limits).unwrap();
    // The aggregate's own attributes are signed.
    let renamed = signed.replacen("urn:example:federation", "urn:example:other", 1);
    let err = find_idp(renamed.as_bytes(), entity_id, &pinned, now(), &limits).unwrap_err();
    assert_eq!(err.code(), "digest_mismatch", "{err}");
    // Another key: refused before the rest of the stream is read.
    let other = TestIdp::generate("https://other.example").unwrap();
    let err = find_idp(
        signed.as_bytes(),
        entity_id,
        &[other.certificate().clone()],
        now(),
        &limits,
    )
    .unwrap_err();
    assert_eq!(err.code(), "untrusted_key", "{err}");
    // Pinned but unsigned.
    let err = find_idp(
        aggregate(&members, 0).as_bytes(),
        entity_id,
        &pinned,
        now(),
        &limits,
    )
    .unwrap_err();
    assert_eq!(err.code(), "signature_missing", "{err}");
    // Expired aggregate.
    let late = chrono::DateTime::parse_from_rfc3339("2027-02-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let err = find_idp(signed.as_bytes(), entity_id, &pinned, late, &limits).unwrap_err();
    assert_eq!(err.code(), "metadata_expired", "{err}");
}

#[test]
fn memory_is_bounded_by_the_largest_child_not_the_aggregate() {
    let files = interop();
    let members: Vec<String> = files.iter().map(|(_, x)| x.clone()).collect();
    // About 5 MB: 2,000 filler entities around each real one.
    let federation = TestIdp::fixed("https://federation.example.org");
    let signed = federation
        .sign(&aggregate(&members, 2_000), "fed-2026")
        .unwrap();
    assert!(signed.len() > 4 << 20, "{}", signed.len());
    let largest_member = members.iter().map(String::len).max().unwrap();
    let tight = AggregateLimits::default().max_child_bytes(largest_member + 1024);
    let (entity_id, _) = files.last().unwrap();
    let md = find_idp(
        std::io::BufReader::with_capacity(8192, signed.as_bytes()),
        entity_id,
        &[federation.certificate().clone()],
        now(),
        &tight,
    )
    .unwrap();
    assert_eq!(md.entity_id(), entity_id);
    // A child above the limit is refused by its size.
    let small = AggregateLimits::default().max_child_bytes(4096);
    let err = find_idp(signed.as_bytes(), entity_id, &[], now(), &small).unwrap_err();
    assert!(err.to_string().contains("at most 4096 bytes"), "{err}");
    // And the whole stream by its total.
    let total = AggregateLimits::default().max_total_bytes(1 << 20);
    let err = find_idp(signed.as_bytes(), entity_id, &[], now(), &total).unwrap_err();
    assert!(err.to_string().contains("size limit"), "{err}");
}

#[test]
fn hostile_aggregates_are_refused() {
    let limits = AggregateLimits::default();
    for (xml, why) in [
        (
            "<!DOCTYPE x [<!ENTITY a \"b\">]><EntitiesDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>",
            "DOCTYPE",
        ),
        (
            "<EntitiesDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\"><EntityDescriptor entityID=\"x\">",
            "ends before",
        ),
        (
            "<EntitiesDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\"><a></b></EntitiesDescriptor>",
            "malformed",
        ),
        (
            "<EntitiesDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\"></EntitiesDescriptor><x/>",
            "after the aggregate",
        ),
    ] {
        let err = find_idp(xml.as_bytes(), "x", &[], now(), &limits).unwrap_err();
        assert!(err.to_string().contains(why), "{why}: {err}");
    }
    // A start tag that each batch would repeat: refused by its size.
    let big_tag = format!(
        "<EntitiesDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" Name=\"{}\"></EntitiesDescriptor>",
        "n".repeat(70_000)
    );
    let err = find_idp(big_tag.as_bytes(), "x", &[], now(), &limits).unwrap_err();
    assert!(err.to_string().contains("start tag of at most"), "{err}");
    // One text node larger than a child may be: refused while it is read, not after.
    let big_text = format!(
        "<EntitiesDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}</EntitiesDescriptor>",
        "t".repeat(4 << 20)
    );
    let err = find_idp(
        std::io::BufReader::with_capacity(8192, big_text.as_bytes()),
        "x",
        &[],
        now(),
        &AggregateLimits::default().max_child_bytes(64 << 10),
    )
    .unwrap_err();
    assert!(err.to_string().contains("at most 65536 bytes"), "{err}");
}

/// A federation-style aggregate: `idps` generated IdP entities (every tenth registered by a
/// second authority, every fifth in the research-and-scholarship category), SP entities between
/// them, one IdP with no signing certificate, and `extra` entity documents.
fn federation(idps: usize, extra: &[String]) -> String {
    let cert = TestIdp::fixed("https://cert.example.org")
        .certificate_pem()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    let mut x = String::from(
        "<EntitiesDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" xmlns:mdrpi=\"urn:oasis:names:tc:SAML:metadata:rpi\" xmlns:mdattr=\"urn:oasis:names:tc:SAML:metadata:attribute\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" ID=\"fed\" validUntil=\"2027-01-01T00:00:00Z\">\n",
    );
    for i in 0..idps {
        let authority = if i % 10 == 0 {
            "https://other-fed.example"
        } else {
            "https://fed.example"
        };
        let category = if i % 5 == 0 {
            "<mdattr:EntityAttributes><saml:Attribute Name=\"http://macedir.org/entity-category\"><saml:AttributeValue>http://refeds.org/category/research-and-scholarship</saml:AttributeValue></saml:Attribute></mdattr:EntityAttributes>"
        } else {
            ""
        };
        x.push_str(&format!(
            "<EntityDescriptor entityID=\"https://idp{i}.uni.example/idp\"><Extensions><mdrpi:RegistrationInfo registrationAuthority=\"{authority}\"/>{category}</Extensions><IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor><SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://idp{i}.uni.example/sso\"/></IDPSSODescriptor></EntityDescriptor>\n"
        ));
        x.push_str(&format!(
            "<EntityDescriptor entityID=\"https://sp{i}.uni.example/sp\"><SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://sp{i}.uni.example/acs\" index=\"0\"/></SPSSODescriptor></EntityDescriptor>\n"
        ));
    }
    x.push_str("<EntityDescriptor entityID=\"https://broken.uni.example/idp\"><IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://broken.uni.example/sso\"/></IDPSSODescriptor></EntityDescriptor>\n");
    for e in extra {
        x.push_str(strip_decl(e).trim());
        x.push('\n');
    }
    x.push_str("</EntitiesDescriptor>\n");
    x
}

/// Issue 33: every IdP of a signed federation aggregate indexed in one streamed pass, the
/// signature verified over the whole stream before anything is returned, filters by
/// registration authority and entity category, a broken IdP skipped without failing the rest,
/// and a login through one of its IdPs.
#[test]
fn every_idp_of_a_signed_aggregate_is_indexed_in_one_pass_and_one_signs_a_user_in() {
    use saml_sp::metadata::aggregate::{IdpFilter, index_idps};
    let member = TestIdp::fixed("https://idp.member-uni.example/idp");
    let signed = TestIdp::fixed("https://federation.example.org")
        .sign(
            &federation(
                2_000,
                &[member.metadata_xml("https://idp.member-uni.example/sso")],
            ),
            "fed",
        )
        .unwrap();
    let pinned = [TestIdp::fixed("https://federation.example.org")
        .certificate()
        .clone()];
    let limits = AggregateLimits::default();
    let index = index_idps(
        signed.as_bytes(),
        &pinned,
        &IdpFilter::default(),
        now(),
        &limits,
    )
    .unwrap();
    assert_eq!(index.idps.len(), 2_001);
    assert_eq!(index.ignored, 2_000, "the SP entities");
    assert_eq!(
        index.skipped,
        vec![(
            "https://broken.uni.example/idp".to_owned(),
            "config_invalid"
        )]
    );
    // The index and a single lookup agree.
    let one = index.get("https://idp1234.uni.example/idp").unwrap();
    let found = find_idp(
        signed.as_bytes(),
        "https://idp1234.uni.example/idp",
        &pinned,
        now(),
        &limits,
    )
    .unwrap();
    same(one, &found);
    assert_eq!(
        one.valid_until(),
        Some(
            chrono::DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
                .unwrap()
                .to_utc()
        )
    );
    // Filters.
    let mut by_authority = IdpFilter::default();
    by_authority.registration_authorities = vec!["https://other-fed.example".into()];
    let idx = index_idps(signed.as_bytes(), &pinned, &by_authority, now(), &limits).unwrap();
    assert_eq!(idx.idps.len(), 200);
    let mut by_category = IdpFilter::default();
    by_category.entity_categories =
        vec!["http://refeds.org/category/research-and-scholarship".into()];
    let idx = index_idps(signed.as_bytes(), &pinned, &by_category, now(), &limits).unwrap();
    assert_eq!(idx.idps.len(), 400);
    // Tampering anywhere, a wrong pin, an unsigned copy, an expired aggregate: nothing indexed.
    let tampered = signed.replacen(
        "https://idp1999.uni.example/sso",
        "https://evil.example/sso",
        1,
    );
    assert_eq!(
        index_idps(
            tampered.as_bytes(),
            &pinned,
            &IdpFilter::default(),
            now(),
            &limits
        )
        .unwrap_err()
        .code(),
        "digest_mismatch"
    );
    // (TestIdp::fixed always has the same key: the other federation's key is generated.)
    let other = [TestIdp::generate("https://not-the-federation.example")
        .unwrap()
        .certificate()
        .clone()];
    assert_ne!(other[0], pinned[0]);
    assert_eq!(
        index_idps(
            signed.as_bytes(),
            &other,
            &IdpFilter::default(),
            now(),
            &limits
        )
        .unwrap_err()
        .code(),
        "untrusted_key"
    );
    let unsigned = federation(3, &[]);
    assert_eq!(
        index_idps(
            unsigned.as_bytes(),
            &pinned,
            &IdpFilter::default(),
            now(),
            &limits
        )
        .unwrap_err()
        .code(),
        "signature_missing"
    );
    let later = chrono::DateTime::parse_from_rfc3339("2027-02-01T00:00:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(
        index_idps(
            signed.as_bytes(),
            &pinned,
            &IdpFilter::default(),
            later,
            &limits
        )
        .unwrap_err()
        .code(),
        "metadata_expired"
    );
    // A login through the member university's IdP, configured from the index.
    let md = index.get(member.entity_id()).unwrap();
    let sp = saml_sp::ServiceProvider::builder(
        "https://sp.example.org/sp",
        "https://sp.example.org/acs",
        saml_sp::IdentityProvider::new(md.entity_id(), md.signing_certificates().to_vec()).unwrap(),
    )
    .build()
    .unwrap();
    let xml = member
        .response("https://sp.example.org/sp", "https://sp.example.org/acs")
        .in_response_to("_r1")
        .user(saml_sp::testkit::TestUser::new(
            "student@member-uni.example",
        ))
        .build(now())
        .unwrap();
    let a = sp
        .validate_response(xml.as_bytes(), Some("_r1"), now())
        .unwrap();
    assert_eq!(a.name_id().unwrap().value, "student@member-uni.example");
}
