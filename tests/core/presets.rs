//! IdP presets (issue 17): every real metadata file of tests/fixtures/interop loads through the preset
//! of its product, and every accepted real response of a preset's product maps to an identity
//! with the preset's attribute names (first and last names found where the generic mapping
//! finds none).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::manifest;

use manifest::{DIR, manifest, sp_with, strs};
use saml_sp::login::{AttributeMapping, UNKNOWN};
use saml_sp::metadata::IdpMetadata;
use saml_sp::tenant::IdpPreset;
use saml_sp::time::parse_instant;
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

/// The preset for a manifest `idp` value (the product the capture came from).
fn preset_for(idp: &str) -> Option<IdpPreset> {
    let idp = idp.to_ascii_lowercase();
    [
        ("okta", IdpPreset::Okta),
        ("entra", IdpPreset::EntraId),
        ("azure", IdpPreset::EntraId),
        ("google workspace", IdpPreset::GoogleWorkspace),
        ("adfs", IdpPreset::Adfs),
        ("onelogin", IdpPreset::OneLogin),
        ("jumpcloud", IdpPreset::JumpCloud),
        ("pingfederate", IdpPreset::PingFederate),
        ("pingone", IdpPreset::PingFederate),
        ("keycloak", IdpPreset::Keycloak),
        ("auth0", IdpPreset::Auth0),
    ]
    .into_iter()
    .find(|(k, _)| idp.contains(k) && !idp.contains("toolkit") && !idp.contains("oktadev"))
    .map(|(_, p)| p)
}

#[test]
fn every_real_metadata_file_loads_through_its_preset() {
    let m = manifest();
    let mut loaded = 0;
    for md in m["metadata"].as_array().unwrap() {
        let file = md["file"].as_str().unwrap();
        let Some(preset) = preset_for(md["idp"].as_str().unwrap()) else {
            continue;
        };
        let xml = std::fs::read(format!("{DIR}{file}")).unwrap();
        let parsed = IdpMetadata::parse(&xml, None).unwrap_or_else(|e| panic!("{file}: {e}"));
        let registry = IdpRegistry::new(
            SpSettings::new(
                "https://app.example.com/saml/{tenant}",
                "https://app.example.com/saml/{tenant}/acs",
            )
            .unwrap(),
        );
        registry
            .insert(TenantConfig::from_preset("t", preset).with_idp_metadata(&parsed))
            .unwrap_or_else(|e| panic!("{file} through {preset}: {e}"));
        let t = registry.by_slug("t").unwrap();
        assert_eq!(
            t.idp_entity_id(),
            md["entity_id"].as_str().unwrap(),
            "{file}"
        );
        assert_eq!(t.preset(), Some(preset));
        assert_eq!(t.attribute_mapping(), &preset.attribute_mapping());
        assert_eq!(
            t.requested_name_id_format(),
            preset.requested_name_id_format()
        );
        assert_eq!(
            t.service_provider().idp().certificates().len(),
            md["signing_certs"].as_integer().unwrap() as usize,
            "{file}"
        );
        let first_sso = md["sso_urls"].as_array().unwrap()[0].as_str().unwrap();
        assert!(
            t.sso_url()
                .is_some_and(|u| first_sso.starts_with("https://") && u.starts_with("https://")),
            "{file}"
        );
        loaded += 1;
    }
    assert_eq!(loaded, 8, "Okta, Google, 2 OneLogin, 3 ADFS, Entra ID");
}

#[test]
fn real_responses_map_to_identities_through_their_presets() {
    let m = manifest();
    let mut checked = std::collections::BTreeMap::<&str, usize>::new();
    let mut preset_found_more = 0;
    for e in m["response"].as_array().unwrap() {
        let e = e.as_table().unwrap();
        let file = e["file"].as_str().unwrap();
        if e["expect"].as_str() != Some("accept") || file == "responses/onelogin-assertion-03.xml" {
            continue;
        }
        let Some(preset) = preset_for(e["idp"].as_str().unwrap()) else {
            continue;
        };
        let requires = strs(e.get("requires"));
        let legacy = requires.iter().any(|r| r == "legacy-crypto");
        let now = parse_instant(e["now"].as_str().unwrap(), "now").unwrap();
        let irt = e.get("in_response_to").and_then(|v| v.as_str());
        let xml = std::fs::read(format!("{DIR}{file}")).unwrap();
        let a = sp_with(e, legacy, true)
            .validate_response(&xml, irt, now)
            .unwrap_or_else(|err| panic!("{file}: {err}"));
        let mapping = preset.attribute_mapping();
        let attrs = e.get("attributes").and_then(|t| t.as_table());
        let has = |names: &[String]| {
            names.iter().find_map(|n| {
                attrs
                    .and_then(|t| t.get(n))
                    .map(|v| strs(Some(v)))
                    .and_then(|v| v.into_iter().find(|x| !x.is_empty()))
            })
        };
        match mapping.identity(&a) {
            Ok(id) => {
                // The preset's first choice that is present is the value used.
                assert_eq!(
                    Some(id.first_name.clone()),
                    has(&mapping.first_name).or(Some(UNKNOWN.into())),
                    "{file} first name"
                );
                assert_eq!(
                    Some(id.last_name.clone()),
                    has(&mapping.last_name).or(Some(UNKNOWN.into())),
                    "{file} last name"
                );
                let generic = AttributeMapping::default().identity(&a).unwrap();
                if generic.first_name == UNKNOWN && id.first_name != UNKNOWN {
                    preset_found_more += 1;
                }
            }
            Err(err) => {
                // No email anywhere: the preset cannot invent one, and says so.
                assert_eq!(err.code(), "identity_incomplete", "{file}");
                assert!(
                    has(&mapping.email).is_none(),
                    "{file}: an email attribute was missed"
                );
            }
        }
        *checked.entry(preset.name()).or_default() += 1;
    }
    for p in [
        "okta",
        "entra-id",
        "adfs",
        "onelogin",
        "jumpcloud",
        "pingfederate",
        "keycloak",
        "auth0",
        "google-workspace",
    ] {
        assert!(
            checked.get(p).copied().unwrap_or(0) > 0,
            "no accepted response for {p}: {checked:?}"
        );
    }
    // JumpCloud's fname/lname, PingFederate's firstname/lastname, OneLogin's User.FirstName: the
    // generic mapping misses them, the presets do not.
    assert!(preset_found_more >= 3, "{preset_found_more}");
}

#[test]
fn presets_have_names_fields_and_serde_spelling() {
    for p in IdpPreset::ALL {
        assert_eq!(IdpPreset::from_name(p.name()), Some(p));
        let fields = p.console_fields(
            "https://sp.example.com/saml/acme",
            "https://sp.example.com/saml/acme/acs",
        );
        assert!(
            fields
                .iter()
                .any(|(_, v)| v == "https://sp.example.com/saml/acme"),
            "{p}: entity ID"
        );
        assert!(
            fields
                .iter()
                .any(|(_, v)| v.contains("https://sp.example.com/saml/acme/acs")),
            "{p}: ACS URL"
        );
        let readme_page = format!("{}/docs/idp/{}.md", env!("CARGO_MANIFEST_DIR"), p.name());
        let page =
            std::fs::read_to_string(&readme_page).unwrap_or_else(|_| panic!("{readme_page}"));
        for (field, _) in &fields {
            assert!(
                page.contains(field),
                "{readme_page} does not name the console field {field:?}"
            );
        }
    }
    assert_eq!(IdpPreset::from_name("Azure-AD"), Some(IdpPreset::EntraId));
    assert_eq!(IdpPreset::from_name("nope"), None);
    let onelogin = IdpPreset::OneLogin.console_fields("x", "https://sp.example.com/acs?a=1");
    assert!(
        onelogin
            .iter()
            .any(|(_, v)| v == r"^https://sp\.example\.com/acs\?a=1$"),
        "{onelogin:?}"
    );
}
