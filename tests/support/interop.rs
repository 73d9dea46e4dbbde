//! The shared interop manifest (`tests/fixtures/interop/manifest.toml`): entries, and the SP its
//! settings describe.

#![allow(dead_code)]

use saml_sp::crypto::Certificate;
use saml_sp::{IdentityProvider, ServiceProvider};

pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/interop/");

/// The whole manifest.
pub fn manifest() -> toml::Table {
    let text = std::fs::read_to_string(format!("{DIR}manifest.toml"))
        .expect("tests/fixtures/interop/manifest.toml");
    text.parse().unwrap()
}

pub fn entry(file: &str) -> toml::Table {
    manifest()["response"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"].as_str() == Some(file))
        .unwrap_or_else(|| panic!("{file} not in manifest"))
        .as_table()
        .unwrap()
        .clone()
}

pub fn strs(v: Option<&toml::Value>) -> Vec<String> {
    v.and_then(|v| v.as_array())
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

pub fn sp_for(e: &toml::Table, legacy: bool) -> ServiceProvider {
    sp_with(e, legacy, true)
}

/// The SP for an entry; `decrypt` configures the manifest's SP decryption key (and the legacy
/// encryption option when the entry requires it).
pub fn sp_with(e: &toml::Table, legacy: bool, decrypt: bool) -> ServiceProvider {
    let mut certs = Vec::new();
    for c in strs(e.get("cert")) {
        certs.extend(Certificate::parse_all(&std::fs::read(format!("{DIR}{c}")).unwrap()).unwrap());
    }
    let idp = IdentityProvider::new(e["idp_issuer"].as_str().unwrap(), certs).unwrap();
    // Entries that need decryption may lack an audience; any SP ID will do for them.
    let sp_id = Some(e["sp_entity_id"].as_str().unwrap())
        .filter(|s| !s.is_empty())
        .unwrap_or("urn:unused");
    let acs = Some(e["acs_url"].as_str().unwrap())
        .filter(|s| !s.is_empty())
        .unwrap_or("urn:unused-acs");
    let mut b = ServiceProvider::builder(sp_id, acs, idp);
    let accept = e["expect"].as_str() == Some("accept");
    if let (true, Some(d)) = (accept, e.get("destination").and_then(|d| d.as_str()))
        && d != e["acs_url"].as_str().unwrap()
    {
        b = b.also_accept_destination(d);
    }
    let mut danger = saml_sp::sp::DangerousOptions::default();
    if e.get("in_response_to").is_none() {
        danger = danger.dangerous_allow_unsolicited_responses();
    }
    if legacy {
        danger = danger.dangerous_allow_legacy_crypto();
    }
    if let (true, Some(key)) = (decrypt, e.get("decryption_key").and_then(|k| k.as_str())) {
        let pem = std::fs::read_to_string(format!("{DIR}{key}")).unwrap();
        b = b.decryption_key(saml_sp::xmlenc::DecryptionKey::from_pem(&pem).unwrap());
        if strs(e.get("requires"))
            .iter()
            .any(|r| r == "legacy-encryption")
        {
            danger = danger.dangerous_allow_legacy_encryption();
        }
    }
    b.dangerous(danger).build().unwrap()
}
