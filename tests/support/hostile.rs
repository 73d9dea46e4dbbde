//! Hostile inputs from the hardening review (issue 13), shared by the tests that check their
//! outcome (`tests/core/hardening.rs`) and their wall time through the CLI (`tests/services/cli.rs`).

#![allow(dead_code)]

/// The reviewer's input for defect 1: a forged SignedInfo whose DigestMethod holds `nested`
/// elements each declaring `decls` prefixes, `leaves` empty elements under them, and a
/// PrefixList naming every prefix. No valid signature, no Response Issuer.
pub fn forged_signed_info(nested: usize, decls: usize, leaves: usize) -> String {
    let mut prefixes = Vec::new();
    let mut open = String::new();
    for n in 0..nested {
        open.push_str("<x");
        for d in 0..decls {
            let p = format!("p{n}x{d}");
            open.push_str(&format!(" xmlns:{p}=\"urn:{p}\""));
            prefixes.push(p);
        }
        open.push('>');
    }
    let close = "</x>".repeat(nested);
    let leaves = "<e/>".repeat(leaves);
    format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_r1\" Version=\"2.0\" IssueInstant=\"2030-01-01T10:00:00Z\"><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"><ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"{pl}\"/></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/><ds:Reference URI=\"#_r1\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\">{open}{leaves}{close}</ds:DigestMethod><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status></samlp:Response>",
        pl = prefixes.join(" ")
    )
}

/// A form body or query with `n` parameters after the SAML one (defect 2: 80,000 took 23 s).
pub fn many_params(first: &str, n: usize) -> String {
    let mut q = format!("{first}=AAAA");
    for i in 0..n {
        q.push_str(&format!("&a{i}="));
    }
    q
}
