//! IdP metadata parsing over the real documents in tests/fixtures/interop/metadata, and hostile ones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use saml_sp::metadata::IdpMetadata;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/interop/");

#[test]
fn parses_every_real_metadata_document_as_the_manifest_says() {
    let manifest: toml::Table = std::fs::read_to_string(format!("{DIR}manifest.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let entries = manifest["metadata"].as_array().unwrap();
    assert!(entries.len() >= 9);
    for m in entries {
        let file = m["file"].as_str().unwrap();
        let xml = std::fs::read(format!("{DIR}{file}")).unwrap();
        let entity_id = m["entity_id"].as_str().unwrap();
        let md =
            IdpMetadata::parse(&xml, Some(entity_id)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(md.entity_id(), entity_id, "{file}");
        let urls: Vec<&str> = md
            .sso_endpoints()
            .iter()
            .map(|e| e.location.as_str())
            .collect();
        let want: Vec<&str> = m["sso_urls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(urls, want, "{file}");
        let bindings: Vec<String> = md
            .sso_endpoints()
            .iter()
            .map(|e| e.binding.rsplit(':').next().unwrap().to_owned())
            .collect();
        let want_b: Vec<&str> = m["sso_bindings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(bindings, want_b, "{file}");
        assert_eq!(
            md.signing_certificates().len() as i64,
            m["signing_certs"].as_integer().unwrap(),
            "{file}"
        );
        assert_eq!(
            md.has_signature(),
            m["metadata_signed"].as_bool().unwrap(),
            "{file}"
        );
        md.identity_provider().unwrap();
    }
}

#[test]
fn entra_id_federation_metadata_with_role_descriptors_parses() {
    let xml = std::fs::read(format!("{DIR}metadata/entra-id-federationmetadata.xml")).unwrap();
    let md = IdpMetadata::parse(&xml, None).unwrap();
    assert!(md.entity_id().starts_with("https://sts.windows.net/"));
    assert!(md.has_signature());
}

#[test]
fn hostile_metadata_is_refused_clearly() {
    let ok = std::fs::read_to_string(format!("{DIR}metadata/okta-idp-metadata.xml")).unwrap();
    let dtd = format!(
        "<!DOCTYPE x [<!ENTITY a \"b\">]>{}",
        ok.trim_start_matches(|c| c != '<')
    );
    assert_eq!(
        IdpMetadata::parse(dtd.as_bytes(), None).unwrap_err().code(),
        "xml_forbidden"
    );
    let deep = "<a>".repeat(100_000) + &"</a>".repeat(100_000);
    assert_eq!(
        IdpMetadata::parse(deep.as_bytes(), None)
            .unwrap_err()
            .code(),
        "xml_limit_exceeded"
    );
    let huge = format!("{ok}{}", " ".repeat(9 << 20));
    assert_eq!(
        IdpMetadata::parse(huge.as_bytes(), None)
            .unwrap_err()
            .code(),
        "xml_limit_exceeded"
    );
    // No signing key: an error, never "accept everything".
    let start = ok
        .find("<md:KeyDescriptor")
        .or_else(|| ok.find("<KeyDescriptor"))
        .unwrap();
    let end = ok
        .find("</md:KeyDescriptor>")
        .map(|i| i + "</md:KeyDescriptor>".len())
        .unwrap();
    let no_key = format!("{}{}", &ok[..start], &ok[end..]);
    let e = IdpMetadata::parse(no_key.as_bytes(), None).unwrap_err();
    assert_eq!(e.code(), "config_invalid");
    assert!(e.to_string().contains("signing certificate"), "{e}");
    // javascript: endpoints are refused.
    let js = ok.replacen("Location=\"https://", "Location=\"javascript:alert(1)//", 1);
    assert_eq!(
        IdpMetadata::parse(js.as_bytes(), None).unwrap_err().code(),
        "config_invalid"
    );
    // Unknown entity ID.
    assert!(IdpMetadata::parse(ok.as_bytes(), Some("urn:other")).is_err());
    // The same KeyDescriptor repeated: a few copies collapse to one key; many are refused
    // (every copy is parsed, so the bound is on copies, not only on distinct keys).
    let key_descriptor = &ok[start..end];
    let three = ok.replacen(key_descriptor, &key_descriptor.repeat(3), 1);
    assert_eq!(
        IdpMetadata::parse(three.as_bytes(), None)
            .unwrap()
            .signing_certificates()
            .len(),
        1
    );
    let many = ok.replacen(key_descriptor, &key_descriptor.repeat(40), 1);
    let e = IdpMetadata::parse(many.as_bytes(), None).unwrap_err();
    assert_eq!(e.code(), "config_invalid");
    assert!(e.to_string().contains("X509Certificate elements"), "{e}");
}

#[test]
fn entra_metadata_signature_verifies_with_the_pinned_certificate_and_fails_when_tampered() {
    let xml = std::fs::read(format!("{DIR}metadata/entra-id-federationmetadata.xml")).unwrap();
    // Pin the certificate the metadata is signed with (Entra signs with its current signing key).
    let doc = saml_sp::xml::Document::parse_with(
        &xml,
        &saml_sp::xml::ParseOptions::default()
            .with_limits(saml_sp::metadata::default_metadata_limits()),
    )
    .unwrap();
    let sig = doc
        .root()
        .child_elements()
        .find(|e| e.local_name() == "Signature")
        .unwrap();
    let cert_text = {
        let mut stack = vec![sig];
        let mut found = None;
        while let Some(e) = stack.pop() {
            if e.local_name() == "X509Certificate" {
                found = Some(e.text());
            }
            stack.extend(e.child_elements());
        }
        found.unwrap()
    };
    let pinned = vec![saml_sp::crypto::Certificate::parse(cert_text.as_bytes()).unwrap()];
    let md = IdpMetadata::parse_verified(&xml, None, &pinned, chrono::Utc::now())
        .unwrap_or_else(|e| panic!("{}: {e}", e.code()));
    assert!(md.entity_id().starts_with("https://sts.windows.net/"));
    // Another pinned certificate: refused.
    let other = saml_sp::crypto::Certificate::parse_all(
        &std::fs::read(format!("{DIR}../bench/idp.crt")).unwrap(),
    )
    .unwrap();
    assert!(IdpMetadata::parse_verified(&xml, None, &other, chrono::Utc::now()).is_err());
    // A changed endpoint under a valid signature: refused.
    let text = String::from_utf8(xml).unwrap();
    let tampered = text.replacen(
        "Location=\"https://login.windows.net/",
        "Location=\"https://evil.example.com/",
        1,
    );
    assert!(tampered != text, "the test must change something");
    assert_eq!(
        IdpMetadata::parse_verified(tampered.as_bytes(), None, &pinned, chrono::Utc::now())
            .unwrap_err()
            .code(),
        "digest_mismatch"
    );
}
