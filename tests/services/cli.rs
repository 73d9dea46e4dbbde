//! The `saml-sp` binary on accepted and rejected inputs in every input format: exit codes, JSON
//! fields and the human report's failing line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use base64::Engine as _;

const BIN: &str = env!("CARGO_BIN_EXE_saml-sp");
const BENCH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bench/");
const REQ: &str = "ONELOGIN_4fee3b046395c4e751011e97f8900b5273d56685";

fn verify(extra: &[&str], input: &str, stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "verify",
        "--sp-entity-id",
        "https://sp.example.com/saml/metadata",
        "--acs-url",
        "https://sp.example.com/saml/acs",
        "--now",
        "2026-11-23T07:28:58Z",
    ]);
    cmd.args(extra).arg(input);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        pipe.write_all(data).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn idp_args() -> Vec<String> {
    vec![
        "--idp-issuer".into(),
        "http://www.okta.com/exk1bench0idp0okta0x7".into(),
        "--idp-cert".into(),
        format!("{BENCH}idp.crt"),
        "--request-id".into(),
        REQ.into(),
    ]
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn small_xml() -> Vec<u8> {
    std::fs::read(format!("{BENCH}response_small.xml")).unwrap()
}

fn tmp(name: &str, data: &[u8]) -> String {
    let p = std::env::temp_dir().join(format!("saml-sp-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, data).unwrap();
    p.display().to_string()
}

#[test]
fn accepts_raw_xml_with_json_identity() {
    let args = idp_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = verify(
        &[&args[..], &["--json"]].concat(),
        &format!("{BENCH}response_small.xml"),
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json(&out);
    assert_eq!(v["valid"], true);
    assert_eq!(v["issuer"], "http://www.okta.com/exk1bench0idp0okta0x7");
    assert_eq!(v["name_id"], "alice.johnson@example.com");
    assert_eq!(
        v["name_id_format"],
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    );
    assert_eq!(v["in_response_to"], REQ);
    assert_eq!(v["signed"]["response"], true);
    assert_eq!(v["signed"]["assertion"], true);
    assert_eq!(v["attributes"]["firstName"][0], "Alice");
    assert_eq!(v["attributes"]["groups"].as_array().unwrap().len(), 3);
    let checks = v["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["check"] == "audience" && c["result"] == "passed")
    );
}

#[test]
fn accepts_base64_with_line_breaks_form_body_and_stdin() {
    let args = idp_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(small_xml());
    let wrapped: String = b64
        .as_bytes()
        .chunks(64)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let out = verify(&args, &tmp("b64", wrapped.as_bytes()), None);
    assert_eq!(out.status.code(), Some(0));
    let form = format!("SAMLResponse={}&RelayState=%2Fdashboard", url_encode(&b64));
    let out = verify(&args, &tmp("form", form.as_bytes()), None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = verify(&args, "-", Some(&small_xml()));
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ACCEPTED"));
}

#[test]
fn idp_metadata_instead_of_issuer_and_cert() {
    let out = verify(
        &[
            "--idp-metadata",
            &format!("{BENCH}idp_metadata.xml"),
            "--request-id",
            REQ,
        ],
        &format!("{BENCH}response_small.xml"),
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rejection_names_the_failing_check_in_both_outputs() {
    let mut cmd = Command::new(BIN);
    let out = cmd
        .args([
            "verify",
            "--sp-entity-id",
            "https://app.example.com/saml",
            "--acs-url",
            "https://sp.example.com/saml/acs",
        ])
        .args(idp_args())
        .args([
            "--now",
            "2026-11-23T07:28:58Z",
            &format!("{BENCH}response_small.xml"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("REJECTED (audience_mismatch)"), "{text}");
    let failing = text.lines().find(|l| l.contains("FAILED")).unwrap();
    assert!(
        failing.contains("audience") && failing.contains("https://app.example.com/saml"),
        "{failing}"
    );

    let out = Command::new(BIN)
        .args([
            "verify",
            "--json",
            "--sp-entity-id",
            "https://app.example.com/saml",
            "--acs-url",
            "https://sp.example.com/saml/acs",
        ])
        .args(idp_args())
        .args([
            "--now",
            "2026-11-23T07:28:58Z",
            &format!("{BENCH}response_small.xml"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["valid"], false);
    assert_eq!(v["error"]["code"], "audience_mismatch");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "audience" && c["result"] == "failed")
    );
}

#[test]
fn no_request_id_means_none_outstanding_and_clock_matters() {
    let out = verify(
        &[
            "--json",
            "--idp-metadata",
            &format!("{BENCH}idp_metadata.xml"),
        ],
        &format!("{BENCH}response_small.xml"),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["code"], "unknown_in_response_to");
}

#[test]
fn hostile_inputs_are_rejected_with_json_never_a_panic() {
    let args = idp_args();
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.push("--json");
    let deep = "<a>".repeat(100_000) + &"</a>".repeat(100_000);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("garbage", b"\x00\x01\x02garbage".to_vec(), "binding"),
        (
            "dtd",
            b"<!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>".to_vec(),
            "xml_forbidden",
        ),
        ("deep", deep.into_bytes(), "xml_limit_exceeded"),
        ("huge", vec![b'A'; 20 << 20], "xml_limit_exceeded"),
        (
            "notxml",
            b"PGhlbGxvPldvcmxkITwvaGVsbG8+".to_vec(),
            "malformed",
        ),
    ];
    for (name, data, code) in cases {
        let out = verify(&args, &tmp(name, &data), None);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(json(&out)["error"]["code"], code, "{name}");
    }
}

#[test]
fn usage_and_io_errors_exit_2() {
    let out = Command::new(BIN)
        .args(["verify", "--sp-entity-id", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let args = idp_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = verify(&args, "/nonexistent/file.xml", None);
    assert_eq!(out.status.code(), Some(2));
    let out = verify(
        &[&args[..], &["--now", "yesterday"]].concat(),
        &format!("{BENCH}response_small.xml"),
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn c14n_prints_the_bytes_the_signature_code_digests() {
    let xml = String::from_utf8(small_xml()).unwrap();
    let start = xml.find("<saml2:Assertion").unwrap();
    let id_at = xml[start..].find(" ID=\"").unwrap() + start + 5;
    let id = &xml[id_at..id_at + xml[id_at..].find('"').unwrap()];
    let out2 = Command::new(BIN)
        .args(["c14n", "--algorithm", "exc", "--prefixes", "xs", "--id", id])
        .arg(format!("{BENCH}response_small.xml"))
        .output()
        .unwrap();
    assert_eq!(out2.status.code(), Some(0));
    let doc = saml_sp::xml::Document::parse(&small_xml()).unwrap();
    let apex = doc.element_by_id(id).unwrap().id();
    let want = saml_sp::xml::c14n::canonicalize_to_vec(
        &doc,
        saml_sp::xml::c14n::Subset::Element {
            apex,
            exclude: None,
        },
        saml_sp::xml::c14n::Algorithm::Exclusive,
        &["xs"],
    )
    .unwrap();
    assert_eq!(out2.stdout, want);
    assert!(out2.stdout.starts_with(b"<saml2:Assertion xmlns:saml2="));
    let out = Command::new(BIN)
        .args(["c14n", "--id", "no-such-id"])
        .arg(format!("{BENCH}response_small.xml"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown ID is a rejection, not a usage error"
    );
}

#[test]
fn inspect_decodes_post_redirect_and_raw() {
    let xml = small_xml();
    let out = Command::new(BIN)
        .args(["inspect", &format!("{BENCH}response_small.xml")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("type          Response"));
    assert!(text.contains("alice.johnson@example.com"));
    assert!(text.contains("signature     on Assertion"));
    let b64 = base64::engine::general_purpose::STANDARD.encode(&xml);
    let out = Command::new(BIN)
        .args(["inspect", &tmp("inspect-b64", b64.as_bytes())])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("HTTP-POST base64"));
    let req = br#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_abc" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" AssertionConsumerServiceURL="https://sp.example.com/saml/acs"/>"#;
    let deflated = base64::engine::general_purpose::STANDARD.encode(deflate(req));
    let url = format!(
        "https://idp.example.com/sso?SAMLRequest={}&RelayState=abc",
        url_encode(&deflated)
    );
    let out = Command::new(BIN).args(["inspect", &url]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("HTTP-Redirect (SAMLRequest, raw DEFLATE)") && text.contains("AuthnRequest"),
        "{text}"
    );
    // Inflation is capped.
    let bomb = base64::engine::general_purpose::STANDARD.encode(deflate(&vec![b' '; 50 << 20]));
    let out = Command::new(BIN)
        .args([
            "inspect",
            &tmp(
                "bomb",
                format!("SAMLRequest={}", url_encode(&bomb)).as_bytes(),
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn metadata_and_authn_request_subcommands() {
    let out = Command::new(BIN)
        .args([
            "metadata",
            "--entity-id",
            "https://sp.example.com/saml/metadata",
            "--acs-url",
            "https://sp.example.com/saml/acs",
        ])
        .args([
            "--cert",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/sp.crt"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let xml = String::from_utf8(out.stdout).unwrap();
    let doc = saml_sp::xml::Document::parse(xml.as_bytes()).unwrap();
    assert_eq!(
        doc.root().attribute("entityID"),
        Some("https://sp.example.com/saml/metadata")
    );
    assert!(xml.contains("<md:KeyDescriptor use=\"signing\">"));

    let out = Command::new(BIN)
        .args([
            "authn-request",
            "--json",
            "--idp-sso-url",
            "https://idp.example.com/sso",
            "--entity-id",
            "https://sp.example.com/saml/metadata",
        ])
        .args([
            "--acs-url",
            "https://sp.example.com/saml/acs",
            "--relay-state",
            "abc",
        ])
        .args([
            "--sign-key",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/sp.key"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let url = v["url"].as_str().unwrap();
    let msg = saml_sp::binding::decode_redirect(url, &saml_sp::binding::InflateOptions::default())
        .unwrap();
    let doc = saml_sp::xml::Document::parse(&msg.xml).unwrap();
    assert_eq!(doc.root().attribute("ID"), v["request_id"].as_str());
    assert_eq!(msg.relay_state.as_deref(), Some("abc"));
    let cert = saml_sp::crypto::Certificate::parse(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/keys/sp.crt"
        ))
        .unwrap(),
    )
    .unwrap();
    assert!(msg.verify_signature(&[cert], false).unwrap().is_some());
}

use crate::hostile;

/// Issue 13, defects 1 and 2: each hostile input is refused through the real binary, process start
/// included, far below the 22 s and 23 s they took. The 10 s bound only tells "refused" from
/// "hung" on a loaded CI machine; the cost itself is measured in benches/budgets.rs.
#[test]
fn hostile_inputs_of_the_review_are_refused_not_hung() {
    let forged = tmp(
        "forged-signed-info.xml",
        hostile::forged_signed_info(58, 32, 99_000).as_bytes(),
    );
    let form = tmp(
        "many-params.txt",
        hostile::many_params("SAMLResponse", 80_000).as_bytes(),
    );
    let args = idp_args();
    let extra: Vec<&str> = args.iter().map(String::as_str).chain(["--json"]).collect();
    for (input, code) in [(&forged, "signature_profile"), (&form, "binding")] {
        let started = std::time::Instant::now();
        let out = verify(&extra, input, None);
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(1), "{input}");
        assert_eq!(json(&out)["error"]["code"], code, "{input}");
        assert!(
            took < std::time::Duration::from_secs(10),
            "{input}: {took:?}"
        );
    }
}

/// Issue 13, defect 8: with --json, settings errors are one JSON object on stdout too.
#[test]
fn json_output_covers_settings_and_usage_errors() {
    let args = idp_args();
    let mut cmd = Command::new(BIN);
    cmd.args([
        "verify",
        "--sp-entity-id",
        "",
        "--acs-url",
        "https://sp.example.com/saml/acs",
        "--json",
    ])
    .args(&args)
    .arg(format!("{BENCH}response_small.xml"));
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["valid"], false);
    assert_eq!(v["error"]["code"], "config_invalid");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("entity"),
        "{v}"
    );
    // A missing argument (clap's own error) with --json: also JSON.
    let out = Command::new(BIN)
        .args(["verify", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "usage");
    // An unreadable certificate file.
    let out = Command::new(BIN)
        .args([
            "verify",
            "--sp-entity-id",
            "a",
            "--acs-url",
            "https://b",
            "--idp-issuer",
            "i",
            "--idp-cert",
            "/nonexistent.pem",
            "--json",
            "x.xml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["valid"], false);
}

/// Issue 15: an encrypted Response from the interop corpus, decrypted with --sp-decryption-key;
/// refused without it; `inspect` names the algorithms without a key; the JSON report lists the
/// decryption as a check.
#[test]
fn verify_decrypts_with_sp_decryption_key_and_inspect_names_the_algorithms() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/interop/");
    let file = format!("{dir}responses/okta-encrypted-signed-assertion-01.xml");
    let manifest: toml::Table = std::fs::read_to_string(format!("{dir}manifest.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let e = manifest["response"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"].as_str() == Some("responses/okta-encrypted-signed-assertion-01.xml"))
        .unwrap();
    let s = |k: &str| e[k].as_str().unwrap().to_owned();
    let cert = format!(
        "{dir}{}",
        e["cert"].as_array().unwrap()[0].as_str().unwrap()
    );
    let key = format!("{dir}{}", s("decryption_key"));
    let run = |extra: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "verify",
            "--sp-entity-id",
            &s("sp_entity_id"),
            "--acs-url",
            &s("acs_url"),
        ])
        .args([
            "--idp-issuer",
            &s("idp_issuer"),
            "--idp-cert",
            &cert,
            "--now",
            &s("now"),
        ])
        .args(["--request-id", &s("in_response_to"), "--json"])
        .args(extra)
        .arg(&file);
        cmd.output().unwrap()
    };
    let out = run(&["--sp-decryption-key", &key]);
    let v = json(&out);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["name_id"], s("name_id"));
    let checks = v["checks"].as_array().unwrap();
    let dec = checks.iter().find(|c| c["check"] == "decryption").unwrap();
    assert_eq!(dec["result"], "passed");
    assert_eq!(dec["found"], "rsa-oaep-mgf1p / aes256-cbc");
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["code"], "no_decryption_key");
    let out = Command::new(BIN).args(["inspect", &file]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "encrypted     EncryptedAssertion: content aes256-cbc, key transport rsa-oaep-mgf1p"
        ),
        "{text}"
    );
}

/// Issue 16: `verify` and `inspect` understand logout messages (a Keycloak Redirect
/// LogoutResponse, verified over its query octets as received).
#[test]
fn verify_and_inspect_understand_logout_messages() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/interop/");
    let file = format!("{dir}logout/keycloak-redirect-logout-response-01.txt");
    let out = Command::new(BIN)
        .args([
            "verify",
            "--sp-entity-id",
            "https://netsaml2-testapp.local",
            "--acs-url",
            "https://x/acs",
        ])
        .args([
            "--idp-issuer",
            "https://keycloak.local:8443/auth/realms/Foswiki",
        ])
        .args([
            "--idp-cert",
            &format!("{dir}certs/keycloak-foswiki-9647c6ea.pem"),
        ])
        .args([
            "--sp-slo-url",
            "https://netsaml2-testapp.local/sls-redirect-response",
        ])
        .args([
            "--request-id",
            "NETSAML2_6f77f72757a9f523f076c4e6bd479d90f3abcfc70dd9378b034b5cb3f82b8c0b",
        ])
        .args([
            "--now",
            "2022-08-20T02:05:26Z",
            "--dangerous-allow-legacy-crypto",
            "--json",
            &file,
        ])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["kind"], "LogoutResponse");
    assert_eq!(v["status"], "Success");
    assert!(v["signature"].as_str().unwrap().starts_with("redirect"));
    let out = Command::new(BIN).args(["inspect", &file]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("LogoutResponse"), "{text}");
    assert!(text.contains("HTTP-Redirect (SAMLResponse"), "{text}");
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Issue 32: `saml-sp sp-keys` prints a rollover's schedule, each key's phase at `--now`, the
/// signing key, and the tenants to tell; bad dates are a usage error.
#[test]
fn sp_keys_prints_the_rollover_schedule_and_the_tenants_to_tell() {
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/");
    let a = format!(
        "id=a,cert={keys}sp.crt,key={keys}sp.key,publish=2026-01-01T00:00:00Z,retire=2027-01-10T00:00:00Z,remove=2027-01-20T00:00:00Z"
    );
    let b = format!(
        "id=b,cert={keys}idp.crt,key={keys}idp.key,publish=2026-12-20T00:00:00Z,use=2027-01-10T00:00:00Z"
    );
    let run = |now: &str| {
        let out = Command::new(BIN)
            .args([
                "sp-keys",
                "--key",
                &a,
                "--key",
                &b,
                "--tenant",
                "acme=https://idp.acme.example",
            ])
            .args(["--now", now, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&out)
    };
    let v = run("2026-12-25T00:00:00Z");
    assert_eq!(v["signing_key"], "a");
    assert_eq!(v["keys"][0]["phase"], "active");
    assert_eq!(v["keys"][1]["phase"], "published");
    let what: Vec<&str> = v["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    assert_eq!(
        what,
        ["publish", "publish", "start_signing", "retire", "remove"]
    );
    assert_eq!(v["schedule"][2]["at"], "2027-01-10T00:00:00Z");
    assert_eq!(v["schedule"][2]["tenants"][0]["tenant"], "acme");
    let v = run("2027-01-15T00:00:00Z");
    assert_eq!(v["signing_key"], "b");
    assert_eq!(v["keys"][0]["phase"], "retiring");
    let v = run("2027-02-01T00:00:00Z");
    assert_eq!(v["keys"][0]["phase"], "removed");
    // Dates out of order: refused with the library's code.
    let out = Command::new(BIN)
        .args(["sp-keys", "--key", &format!("{a},use=2025-01-01T00:00:00Z")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("before the date it follows"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 33: `saml-sp idp-metadata` lists the IdPs of a file or a signed aggregate (verified
/// against `--verify-cert` before anything is printed), with endpoints, certificates and what
/// the SP would refuse and why.
#[test]
fn idp_metadata_lists_idps_and_what_the_sp_would_refuse() {
    let fed = saml_sp::testkit::TestIdp::fixed("https://federation.example.org");
    let good = saml_sp::testkit::TestIdp::fixed("https://idp.good.example")
        .metadata_xml("https://idp.good.example/sso");
    let cert = fed
        .certificate_pem()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    let plain_http = format!(
        "<md:EntityDescriptor entityID=\"https://idp.http.example\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"http://idp.http.example/sso\"/></md:IDPSSODescriptor></md:EntityDescriptor>"
    );
    let body = good
        .split_once("?>")
        .map_or(good.as_str(), |(_, r)| r)
        .trim()
        .to_owned();
    let aggregate = format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" ID=\"agg\" validUntil=\"2099-01-01T00:00:00Z\" cacheDuration=\"PT6H\">{body}{plain_http}</md:EntitiesDescriptor>"
    );
    let signed = fed.sign(&aggregate, "agg").unwrap();
    let file = tmp("agg.xml", signed.as_bytes());
    let pem = tmp("fed.pem", fed.certificate_pem().as_bytes());
    let out = Command::new(BIN)
        .args(["idp-metadata", &file, "--verify-cert", &pem, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["signature"], "verified");
    let idps = v["idps"].as_array().unwrap();
    assert_eq!(idps.len(), 2);
    let by_id = |id: &str| idps.iter().find(|i| i["entity_id"] == id).unwrap();
    let ok = by_id("https://idp.good.example");
    assert_eq!(ok["refusals"].as_array().unwrap().len(), 0, "{ok}");
    assert_eq!(ok["cache_duration_seconds"], 21600);
    assert_eq!(ok["certificates"][0]["sha256"].as_str().unwrap().len(), 64);
    let http = by_id("https://idp.http.example");
    let reasons = http["refusals"].to_string();
    assert!(reasons.contains("sso_url"), "{reasons}");
    // Tampered: nothing printed, a failure.
    let tampered = tmp(
        "agg-bad.xml",
        signed
            .replace("idp.good.example/sso", "evil.example/sso")
            .as_bytes(),
    );
    let out = Command::new(BIN)
        .args(["idp-metadata", &tampered, "--verify-cert", &pem])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    // A single IdP file with an expired certificate, in text.
    let adfs = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/interop/metadata/adfs-federationmetadata-b1.bead.loc.xml"
    );
    let out = Command::new(BIN)
        .args(["idp-metadata", adfs])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("https://B1.bead.loc/adfs/services/trust"),
        "{text}"
    );
    assert!(text.contains("REFUSED certificate_expired"), "{text}");
}
