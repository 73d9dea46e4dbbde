//! eduGAIN-size metadata aggregates: generates a signed `EntitiesDescriptor` of N entities
//! (IdPs and SPs shaped like federation entries: registration info, entity categories, mdui
//! names and logos, two signing certificates), and measures reading every IdP out of it with
//! `metadata::aggregate::index_idps` (signature verified over the stream, IdPs filtered and
//! indexed) against `xmlsec1 --verify` on the same file, wall time and peak memory each, in one
//! process tree.
//!
//! ```text
//! cargo run --release --features testkit --example federation_aggregate -- generate /tmp/agg 10000
//! cargo run --release --features testkit --example federation_aggregate -- compare /tmp/agg
//! ```
//! `generate` writes `DIR/aggregate.xml` and `DIR/federation.crt`; `compare` runs this program
//! again as `index DIR` (a fresh process, so its peak memory is the index's alone) and
//! `xmlsec1` under `/usr/bin/time`, and prints one table row each.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::BufReader;
use std::process::Command;
use std::time::Instant;

use saml_sp::crypto::Certificate;
use saml_sp::metadata::aggregate::{AggregateLimits, IdpFilter, index_idps};
use saml_sp::testkit::TestIdp;

fn generate(dir: &str, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let federation = TestIdp::generate("https://federation.example.org").unwrap();
    std::fs::write(
        format!("{dir}/federation.crt"),
        federation.certificate_pem(),
    )
    .unwrap();
    let certs: Vec<String> = (0..2)
        .map(|i| {
            TestIdp::generate(format!("https://cert{i}.example"))
                .unwrap()
                .certificate_pem()
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect()
        })
        .collect();
    let logo = "iVBORw0KGgo".repeat(310);
    let mut x = String::with_capacity(n * 7_000);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" xmlns:mdrpi=\"urn:oasis:names:tc:SAML:metadata:rpi\" xmlns:mdattr=\"urn:oasis:names:tc:SAML:metadata:attribute\" xmlns:mdui=\"urn:oasis:names:tc:SAML:metadata:ui\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" ID=\"edugain\" Name=\"urn:example:edugain\" validUntil=\"2099-01-01T00:00:00Z\">\n");
    for i in 0..n {
        let idp = i % 3 == 0;
        let (role, endpoint) = if idp {
            (
                "IDPSSODescriptor",
                format!(
                    "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://e{i}.example.edu/idp/profile/SAML2/Redirect/SSO\"/><md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://e{i}.example.edu/idp/profile/SAML2/POST/SSO\"/>"
                ),
            )
        } else {
            (
                "SPSSODescriptor",
                format!(
                    "<md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://e{i}.example.edu/Shibboleth.sso/SAML2/POST\" index=\"1\"/>"
                ),
            )
        };
        let keys: String = certs
            .iter()
            .map(|c| format!("<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"))
            .collect();
        x.push_str(&format!(
            "<md:EntityDescriptor entityID=\"https://e{i}.example.edu/{kind}\"><md:Extensions><mdrpi:RegistrationInfo registrationAuthority=\"https://fed{f}.example.org\" registrationInstant=\"2020-01-01T00:00:00Z\"/><mdattr:EntityAttributes><saml:Attribute Name=\"http://macedir.org/entity-category\" NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:uri\"><saml:AttributeValue>http://refeds.org/category/research-and-scholarship</saml:AttributeValue></saml:Attribute></mdattr:EntityAttributes></md:Extensions><md:{role} protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><md:Extensions><mdui:UIInfo><mdui:DisplayName xml:lang=\"en\">University number {i}</mdui:DisplayName><mdui:Description xml:lang=\"en\">The identity service of university number {i}, for staff and students.</mdui:Description><mdui:Logo height=\"60\" width=\"80\">data:image/png;base64,{logo}</mdui:Logo></mdui:UIInfo></md:Extensions>{keys}<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>{endpoint}</md:{role}><md:Organization><md:OrganizationName xml:lang=\"en\">University {i}</md:OrganizationName><md:OrganizationDisplayName xml:lang=\"en\">University {i}</md:OrganizationDisplayName><md:OrganizationURL xml:lang=\"en\">https://e{i}.example.edu/</md:OrganizationURL></md:Organization><md:ContactPerson contactType=\"technical\"><md:EmailAddress>mailto:it@e{i}.example.edu</md:EmailAddress></md:ContactPerson></md:EntityDescriptor>\n",
            kind = if idp { "idp" } else { "sp" },
            f = i % 40,
        ));
    }
    x.push_str("</md:EntitiesDescriptor>\n");
    let signed = federation.sign(&x, "edugain").unwrap();
    std::fs::write(format!("{dir}/aggregate.xml"), &signed).unwrap();
    println!(
        "{dir}/aggregate.xml: {n} entities, {:.1} MB, signed by {dir}/federation.crt",
        signed.len() as f64 / 1e6
    );
}

/// Peak resident memory of this process so far, from /proc (kB).
fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn index(dir: &str) {
    let pinned =
        Certificate::parse_all(&std::fs::read(format!("{dir}/federation.crt")).unwrap()).unwrap();
    let started = Instant::now();
    let file = std::fs::File::open(format!("{dir}/aggregate.xml")).unwrap();
    let index = index_idps(
        BufReader::with_capacity(1 << 16, file),
        &pinned,
        &IdpFilter::default(),
        chrono::Utc::now(),
        &AggregateLimits::default(),
    )
    .unwrap();
    let took = started.elapsed();
    // One line the comparison reads: seconds, peak kB, IdPs.
    println!("{} {} {}", took.as_secs_f64(), peak_kb(), index.idps.len());
}

fn compare(dir: &str) {
    let size = std::fs::metadata(format!("{dir}/aggregate.xml"))
        .unwrap()
        .len();
    let me = std::env::current_exe().unwrap();
    let out = Command::new(&me).args(["index", dir]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    println!(
        "| saml-sp index_idps (verify + filter + index, streamed) | {:.1} MB | {} IdPs | {:.2} s | {} MB |",
        size as f64 / 1e6,
        f[2],
        f[0].parse::<f64>().unwrap(),
        f[1].parse::<u64>().unwrap() / 1024
    );
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", "xmlsec1", "--verify", "--pubkey-cert-pem"])
        .arg(format!("{dir}/federation.crt"))
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor",
        ])
        .arg(format!("{dir}/aggregate.xml"))
        .output()
        .expect("/usr/bin/time and xmlsec1");
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("");
    let f: Vec<&str> = last.split_whitespace().collect();
    println!(
        "| xmlsec1 --verify (signature only, whole tree) | {:.1} MB | - | {} s | {} MB | {}",
        size as f64 / 1e6,
        f.first().unwrap_or(&"?"),
        f.get(1)
            .and_then(|k| k.parse::<u64>().ok())
            .map_or(0, |k| k / 1024),
        if out.status.success() {
            "verified"
        } else {
            "FAILED"
        }
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("generate") => generate(&args[2], args[3].parse().unwrap()),
        Some("index") => index(&args[2]),
        Some("compare") => compare(&args[2]),
        _ => eprintln!("usage: federation_aggregate generate DIR N | compare DIR | index DIR"),
    }
}
