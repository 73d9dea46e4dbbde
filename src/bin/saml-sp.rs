//! `saml-sp`: verify, explain and inspect SAML messages from the command line.
//!
//! Exit status: 0 accepted, 1 rejected, 2 usage or I/O error.

use std::io::{Read, Write};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

use saml_sp::ValidationPolicy;
use saml_sp::binding::{InflateOptions, inflate};
use saml_sp::crypto::Certificate;
use saml_sp::metadata::IdpMetadata;
use saml_sp::sp::DangerousOptions;
use saml_sp::time::format_instant;
use saml_sp::xml::c14n::{Algorithm, Subset, canonicalize_to_vec};
use saml_sp::xml::{Document, Element, Node, ParseOptions};
use saml_sp::xmlenc::DecryptionKey;
use saml_sp::{
    CheckResult, Error, IdentityProvider, Report, ServiceProvider, SignaturePolicy,
    VerifiedAssertion,
};

/// `println!` that ignores a closed standard output (`saml-sp ... | head`) instead of panicking.
macro_rules! say {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// Largest input read from a file or standard input; the library's own limits apply after.
const MAX_READ: u64 = 64 << 20;

#[derive(Parser)]
#[command(
    name = "saml-sp",
    version,
    about = "Verify, explain and inspect SAML 2.0 messages"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a SAML Response with the library's real code path and explain every check.
    Verify(VerifyArgs),
    /// Decode any SAML message as it travels (POST base64, Redirect URL, raw XML) and summarize it.
    Inspect {
        /// A file, a Redirect URL or query string, or `-` for standard input.
        input: String,
    },
    /// Print SP metadata (EntityDescriptor/SPSSODescriptor) for the IdP administrator.
    Metadata {
        /// The SP entity ID.
        #[arg(long)]
        entity_id: String,
        /// The ACS URL.
        #[arg(long)]
        acs_url: String,
        /// SP signing certificate(s) to publish (current, then next for a rollover).
        #[arg(long)]
        cert: Vec<String>,
        /// Declare AuthnRequestsSigned="true".
        #[arg(long)]
        authn_requests_signed: bool,
        /// SP encryption certificate(s) to publish (KeyDescriptor use="encryption").
        #[arg(long)]
        encryption_cert: Vec<String>,
        /// The SP's Single Logout URL (SingleLogoutService, Redirect and POST).
        #[arg(long)]
        slo_url: Option<String>,
    },
    /// Print an HTTP-Redirect URL carrying a new AuthnRequest, and its ID.
    AuthnRequest {
        /// The IdP's SSO URL.
        #[arg(long)]
        idp_sso_url: String,
        /// The SP entity ID (Issuer).
        #[arg(long)]
        entity_id: String,
        /// The ACS URL.
        #[arg(long)]
        acs_url: String,
        /// Opaque RelayState (at most 80 bytes).
        #[arg(long)]
        relay_state: Option<String>,
        /// Ask the IdP to re-authenticate.
        #[arg(long)]
        force_authn: bool,
        /// Sign the query with this RSA private key (PEM).
        #[arg(long)]
        sign_key: Option<String>,
        /// Print JSON (`url`, `request_id`).
        #[arg(long)]
        json: bool,
    },
    /// Print an SP key rollover's schedule: when each key is published, starts signing, retires
    /// and is removed, each key's phase now, and what each tenant's IdP must be told and when.
    SpKeys {
        /// A key: `id=NAME,cert=CERT.pem,key=KEY.pem,publish=T[,use=T][,retire=T][,remove=T]`
        /// (RFC 3339 instants; the private key signs and decrypts). Repeat for each key.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// A tenant whose IdP is to be told: `SLUG=IDP_ENTITY_ID`. Repeatable.
        #[arg(long = "tenant")]
        tenants: Vec<String>,
        /// The instant to show phases at (RFC 3339; default now).
        #[arg(long)]
        now: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load IdP metadata (a file, or an aggregate of many entities, `-` for standard input)
    /// and print each IdP: endpoints, signing certificates with fingerprints and expiry,
    /// validUntil, cacheDuration, and what the SP would refuse and why.
    IdpMetadata {
        /// The metadata file (one entity or an aggregate), or `-`.
        input: String,
        /// Only this entity.
        #[arg(long)]
        entity: Option<String>,
        /// Verify the document's signature with this certificate (PEM; repeatable): nothing is
        /// printed unless it verifies.
        #[arg(long = "verify-cert")]
        verify_cert: Vec<String>,
        /// The instant to judge validity at (RFC 3339; default now).
        #[arg(long)]
        now: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the canonical bytes of an element, exactly as the signature code canonicalizes it.
    C14n {
        /// The canonicalization algorithm.
        #[arg(long, value_enum, default_value = "exc")]
        algorithm: C14nAlg,
        /// InclusiveNamespaces PrefixList (exclusive modes), e.g. "xs xsi".
        #[arg(long, default_value = "")]
        prefixes: String,
        /// The `ID` of the element to canonicalize (default: the document element).
        #[arg(long)]
        id: Option<String>,
        /// The XML file, or `-`.
        file: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum C14nAlg {
    Exc,
    ExcWithComments,
    C14n,
    C14nWithComments,
    C14n11,
    C14n11WithComments,
}

#[derive(Clone, Copy, ValueEnum)]
enum RequireSigned {
    Assertion,
    Response,
    Both,
    Either,
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// The SP entity ID (the audience).
    #[arg(long)]
    sp_entity_id: String,
    /// The ACS URL (Recipient and Destination).
    #[arg(long)]
    acs_url: String,
    /// The IdP entity ID (Issuer).
    #[arg(long, conflicts_with = "idp_metadata", requires = "idp_cert")]
    idp_issuer: Option<String>,
    /// An IdP signing certificate: PEM, PEM without line breaks, bare base64, or DER. Repeatable.
    #[arg(long, conflicts_with = "idp_metadata", requires = "idp_issuer")]
    idp_cert: Vec<String>,
    /// IdP metadata XML instead of --idp-issuer and --idp-cert.
    #[arg(long)]
    idp_metadata: Option<String>,
    /// The outstanding AuthnRequest ID (absent: no request outstanding).
    #[arg(long)]
    request_id: Option<String>,
    /// Dangerous: accept IdP-initiated responses (no InResponseTo).
    #[arg(long)]
    dangerous_allow_unsolicited_responses: bool,
    /// Dangerous: accept RSA-SHA1/SHA-1 and RSA keys of 1024-2047 bits.
    #[arg(long)]
    dangerous_allow_legacy_crypto: bool,
    /// Dangerous: decrypt with rsa-1_5 key transport and tripledes-cbc content.
    #[arg(long)]
    dangerous_allow_legacy_encryption: bool,
    /// Dangerous: accept unsigned LogoutRequests and LogoutResponses.
    #[arg(long)]
    dangerous_allow_unsigned_logout: bool,
    /// Dangerous: accept plain-http IdP endpoints on hosts other than loopback.
    #[arg(long)]
    dangerous_allow_http_endpoints: bool,
    /// Refuse a signature whose certificate is outside its validity dates (reported either way).
    #[arg(long)]
    require_certificate_validity: bool,
    /// An SP decryption key (PEM: PKCS#8 or PKCS#1) for encrypted assertions. Repeatable.
    #[arg(long)]
    sp_decryption_key: Vec<String>,
    /// Which elements must be signed.
    #[arg(long, value_enum, default_value = "either")]
    require_signed: RequireSigned,
    /// Pin the clock (RFC 3339), e.g. 2024-05-01T10:00:00Z.
    #[arg(long)]
    now: Option<String>,
    /// Allowed clock skew in seconds.
    #[arg(long, default_value_t = 180)]
    clock_skew: i64,
    /// Maximum age of the Response and Assertion IssueInstant, in seconds.
    #[arg(long, default_value_t = 600)]
    max_response_age: i64,
    /// A further accepted Response Destination. Repeatable.
    #[arg(long)]
    also_accept_destination: Vec<String>,
    /// Require one of these AuthnContextClassRefs. Repeatable.
    #[arg(long)]
    require_authn_context: Vec<String>,
    /// The SP's Single Logout URL: the Destination a LogoutRequest or LogoutResponse must carry
    /// (needed to verify logout messages).
    #[arg(long)]
    sp_slo_url: Option<String>,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    json: bool,
    /// The Response: raw XML, base64 as POSTed, or a form body `SAMLResponse=...`; `-` for stdin.
    input: String,
}

/// A usage, settings or I/O error (exit status 2), with a stable code for `--json`.
struct UsageError {
    code: &'static str,
    msg: String,
}

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError {
        code: "usage",
        msg: msg.into(),
    }
}

/// A library error met while reading the settings (a certificate, the metadata): keeps its code.
fn settings(what: &str) -> impl Fn(Error) -> UsageError + '_ {
    move |e| UsageError {
        code: e.code(),
        msg: if what.is_empty() {
            e.to_string()
        } else {
            format!("{what}: {e}")
        },
    }
}

impl From<std::io::Error> for UsageError {
    fn from(e: std::io::Error) -> Self {
        UsageError {
            code: "io",
            msg: e.to_string(),
        }
    }
}

fn read_input(path: &str) -> Result<Vec<u8>, UsageError> {
    let mut buf = Vec::new();
    // One byte past the limit tells a file at the limit from a larger one (refused, never cut).
    if path == "-" {
        std::io::stdin().take(MAX_READ + 1).read_to_end(&mut buf)?;
    } else {
        std::fs::File::open(path)
            .map_err(|e| usage(format!("cannot read {path}: {e}")))?
            .take(MAX_READ + 1)
            .read_to_end(&mut buf)?;
    }
    if buf.len() as u64 > MAX_READ {
        return Err(usage(format!("{path} is larger than {MAX_READ} bytes")));
    }
    Ok(buf)
}

/// `path` (or standard input for `-`) as a buffered stream, for inputs read in one pass.
fn open_stream(path: &str) -> Result<Box<dyn std::io::BufRead>, UsageError> {
    if path == "-" {
        return Ok(Box::new(std::io::BufReader::new(std::io::stdin())));
    }
    let file = std::fs::File::open(path).map_err(|e| usage(format!("cannot read {path}: {e}")))?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, file)))
}

fn parse_now(s: Option<&str>) -> Result<DateTime<Utc>, UsageError> {
    match s {
        None => Ok(Utc::now()),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| usage(format!("--now {s:?}: {e}"))),
    }
}

fn build_sp(a: &VerifyArgs) -> Result<ServiceProvider, UsageError> {
    let idp = if let Some(path) = &a.idp_metadata {
        let xml = read_input(path)?;
        IdpMetadata::parse(&xml, None)
            .and_then(|m| m.identity_provider())
            .map_err(settings(&format!("--idp-metadata {path}")))?
    } else {
        let issuer = a
            .idp_issuer
            .clone()
            .ok_or_else(|| usage("--idp-issuer and --idp-cert, or --idp-metadata, are required"))?;
        let mut certs = Vec::new();
        for path in &a.idp_cert {
            let bytes = read_input(path)?;
            certs.extend(
                Certificate::parse_all(&bytes).map_err(settings(&format!("--idp-cert {path}")))?,
            );
        }
        IdentityProvider::new(issuer, certs).map_err(settings(""))?
    };
    let policy = match a.require_signed {
        RequireSigned::Assertion => SignaturePolicy::Assertion,
        RequireSigned::Response => SignaturePolicy::Response,
        RequireSigned::Both => SignaturePolicy::Both,
        RequireSigned::Either => SignaturePolicy::Either,
    };
    let mut policy = ValidationPolicy::default()
        .require_signed(policy)
        .clock_skew(chrono::Duration::seconds(a.clock_skew))
        .max_response_age(chrono::Duration::seconds(a.max_response_age));
    for d in &a.also_accept_destination {
        policy = policy.also_accept_destination(d);
    }
    if !a.require_authn_context.is_empty() {
        policy = policy.require_authn_context(a.require_authn_context.iter());
    }
    for path in &a.sp_decryption_key {
        let pem = String::from_utf8(read_input(path)?)
            .map_err(|_| usage(format!("--sp-decryption-key {path}: not PEM")))?;
        policy = policy.decryption_key(
            DecryptionKey::from_pem(&pem)
                .map_err(settings(&format!("--sp-decryption-key {path}")))?,
        );
    }
    if a.require_certificate_validity {
        policy = policy.require_certificate_validity();
    }
    let mut danger = DangerousOptions::default();
    danger.dangerous_allow_unsolicited_responses = a.dangerous_allow_unsolicited_responses;
    danger.dangerous_allow_legacy_crypto = a.dangerous_allow_legacy_crypto;
    danger.dangerous_allow_legacy_encryption = a.dangerous_allow_legacy_encryption;
    danger.dangerous_allow_unsigned_logout = a.dangerous_allow_unsigned_logout;
    danger.dangerous_allow_http_endpoints = a.dangerous_allow_http_endpoints;
    policy = policy.dangerous(danger);
    let mut b = ServiceProvider::builder(&a.sp_entity_id, &a.acs_url, idp).policy(policy);
    if let Some(u) = &a.sp_slo_url {
        b = b.single_logout_url(u);
    }
    b.build().map_err(settings(""))
}

fn checks_json(report: &Report) -> Value {
    Value::Array(
        report
            .checks
            .iter()
            .map(|c| {
                let mut v = serde_json::Map::new();
                v.insert("check".into(), json!(c.check));
                v.insert("result".into(), json!(c.result.as_str()));
                v.insert("expected".into(), json!(c.expected));
                v.insert("found".into(), json!(c.found));
                if !c.detail.is_empty() {
                    v.insert("detail".into(), json!(c.detail));
                }
                Value::Object(v)
            })
            .collect(),
    )
}

fn identity_json(a: &VerifiedAssertion, report: &Report) -> Value {
    let mut attributes = serde_json::Map::new();
    for attr in a.attributes() {
        attributes.insert(
            attr.name().to_owned(),
            json!(attr.values().collect::<Vec<_>>()),
        );
    }
    json!({
        "valid": true,
        "issuer": a.issuer(),
        "name_id": a.name_id().map(|n| n.value.clone()),
        "name_id_format": a.name_id().and_then(|n| n.format.clone()),
        "session_index": a.session_index(),
        "assertion_id": a.assertion_id(),
        "in_response_to": a.in_response_to(),
        "not_on_or_after": format_instant(a.not_on_or_after()),
        "attributes": attributes,
        "signed": {"response": a.signed().response, "assertion": a.signed().assertion},
        "checks": checks_json(report),
    })
}

fn print_report(report: &Report) {
    for c in &report.checks {
        let mark = match c.result {
            CheckResult::Passed => "passed ",
            CheckResult::Failed => "FAILED ",
            CheckResult::Skipped => "skipped",
            _ => "other  ",
        };
        if c.result == CheckResult::Failed {
            say!("  {mark} {:<26} {}", c.check, c.detail);
            say!(
                "          {:<26} expected {:?}, found {:?}",
                "",
                c.expected,
                c.found
            );
        } else if c.expected.is_empty() {
            say!("  {mark} {:<26} {}", c.check, c.found);
        } else {
            say!(
                "  {mark} {:<26} expected {:?}, found {:?}",
                c.check,
                c.expected,
                c.found
            );
        }
    }
}

/// A logout message (LogoutRequest or LogoutResponse) as it traveled: a Redirect URL or query
/// (verified over its octets as received), or the POST value / raw XML.
fn verify_logout(
    a: &VerifyArgs,
    sp: &ServiceProvider,
    now: DateTime<Utc>,
    text: &str,
    xml: &[u8],
    root: &str,
) -> Result<bool, UsageError> {
    use saml_sp::logout::IncomingLogout;
    let redirect = text.contains("SAMLRequest=") || text.contains("SAMLResponse=");
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, xml);
    let param = if root == "LogoutRequest" {
        "SAMLRequest"
    } else {
        "SAMLResponse"
    };
    let msg = if redirect {
        IncomingLogout::Redirect { query: text.trim() }
    } else {
        IncomingLogout::Post {
            param,
            value: &b64,
            relay_state: None,
        }
    };
    let result: Result<Value, Error> = if root == "LogoutRequest" {
        sp.validate_logout_request(&msg, now).map(|r| {
            json!({"valid": true, "kind": root, "id": r.id, "issuer": r.issuer, "name_id": r.name_id.value,
                "name_id_format": r.name_id.format, "session_indexes": r.session_indexes, "signature": r.signature.to_string()})
        })
    } else {
        sp.validate_logout_response(&msg, a.request_id.as_deref(), now)
            .map(|r| {
                json!({"valid": true, "kind": root, "id": r.id, "in_response_to": r.in_response_to,
                "status": format!("{:?}", r.status), "signature": r.signature.to_string()})
            })
    };
    match (&result, a.json) {
        (Ok(v), true) => say!("{v}"),
        (Ok(v), false) => say!("ACCEPTED: the {root} is valid: {v}"),
        (Err(e), true) => say!(
            "{}",
            json!({"valid": false, "kind": root, "error": {"code": e.code(), "message": e.to_string()}, "checks": []})
        ),
        (Err(e), false) => say!("REJECTED ({}): {e}", e.code()),
    }
    Ok(result.is_ok())
}

fn verify(a: &VerifyArgs) -> Result<bool, UsageError> {
    let sp = build_sp(a)?;
    let now = parse_now(a.now.as_deref())?;
    let bytes = read_input(&a.input)?;
    // Logout messages: decoded the way `inspect` decodes them, then validated as logout.
    if let Ok(text) = std::str::from_utf8(&bytes)
        && let Ok((_, xml)) = decode_any_text(text.trim())
        && let Ok(doc) = Document::parse(&xml)
        && matches!(doc.root().local_name(), "LogoutRequest" | "LogoutResponse")
    {
        let root = doc.root().local_name().to_owned();
        return verify_logout(a, &sp, now, text, &xml, &root);
    }
    let mut report = Report::default();
    let result = saml_sp::binding::decode_response_input(&bytes, &sp.limits())
        .and_then(|xml| sp.validate_with_report(&xml, a.request_id.as_deref(), now, &mut report));
    match (&result, a.json) {
        (Ok(v), true) => say!("{}", identity_json(v, &report)),
        (Err(e), true) => say!(
            "{}",
            json!({"valid": false, "error": {"code": e.code(), "message": e.to_string()}, "checks": checks_json(&report)})
        ),
        (Ok(v), false) => {
            say!("ACCEPTED: the Response is valid for {}", sp.entity_id());
            print_report(&report);
            say!("identity:");
            say!("  issuer      {}", v.issuer());
            match v.name_id() {
                Some(n) => say!(
                    "  NameID      {:?} (format {})",
                    n.value,
                    n.format.as_deref().unwrap_or("unspecified")
                ),
                None => say!("  NameID      none (identity comes from attributes)"),
            }
            if let Some(s) = v.session_index() {
                say!("  session     {s}");
            }
            for attr in v.attributes() {
                say!("  attribute   {} = {:?}", attr.name(), attr.values());
            }
        }
        (Err(e), false) => {
            say!("REJECTED ({}): {e}", e.code());
            print_report(&report);
        }
    }
    Ok(result.is_ok())
}

/// Decodes a message for `inspect`: raw XML, POST base64, a form body, or a Redirect URL/query
/// (base64 of raw DEFLATE).
fn decode_any(input: &str) -> Result<(String, Vec<u8>), UsageError> {
    let from_url = input.starts_with("http://")
        || input.starts_with("https://")
        || input.contains("SAMLRequest=")
        || input.contains("SAMLResponse=");
    let bytes = if from_url && !std::path::Path::new(input).exists() {
        input.as_bytes().to_vec()
    } else {
        read_input(input)?
    };
    let text = String::from_utf8_lossy(&bytes);
    decode_any_text(text.trim())
}

/// [`decode_any`] on text already read.
fn decode_any_text(trimmed: &str) -> Result<(String, Vec<u8>), UsageError> {
    if trimmed.starts_with('<') {
        return Ok(("raw XML".into(), trimmed.as_bytes().to_vec()));
    }
    let limits = saml_sp::xml::Limits::default();
    let bad = |e: Error| usage(e.to_string());
    if trimmed.contains("SAMLRequest=") || trimmed.contains("SAMLResponse=") {
        let query = trimmed.split_once('?').map_or(trimmed, |(_, q)| q);
        let (name, value) = form_urlencoded::parse(query.as_bytes())
            .find(|(n, _)| n == "SAMLRequest" || n == "SAMLResponse")
            .ok_or_else(|| usage("no SAMLRequest or SAMLResponse parameter"))?;
        let raw = saml_sp::binding::decode_post(&value, &limits).map_err(bad)?;
        return match inflate(&raw, &InflateOptions::default()) {
            Ok(xml) => Ok((format!("HTTP-Redirect ({name}, raw DEFLATE)"), xml)),
            Err(_) if raw.first() == Some(&b'<') => Ok((format!("HTTP-POST ({name})"), raw)),
            Err(e) => Err(bad(e)),
        };
    }
    let raw = saml_sp::binding::decode_post(trimmed, &limits).map_err(bad)?;
    if raw.first() == Some(&b'<') || raw.starts_with("\u{feff}".as_bytes()) {
        return Ok(("HTTP-POST base64".into(), raw));
    }
    inflate(&raw, &InflateOptions::default())
        .map(|x| ("base64 of raw DEFLATE".into(), x))
        .map_err(bad)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn pretty(root: Element<'_>, out: &mut String) {
    // Iterative: (node, depth, closing?)
    enum Step<'a> {
        Open(Element<'a>, usize),
        Close(Element<'a>, usize),
    }
    let mut stack = vec![Step::Open(root, 0)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Open(e, depth) => {
                let pad = "  ".repeat(depth);
                out.push_str(&format!("{pad}<{}", e.qname()));
                for d in e.namespace_declarations() {
                    match d.prefix {
                        Some(p) => out.push_str(&format!(" xmlns:{p}=\"{}\"", escape(d.uri))),
                        None => out.push_str(&format!(" xmlns=\"{}\"", escape(d.uri))),
                    }
                }
                for a in e.attributes() {
                    out.push_str(&format!(" {}=\"{}\"", a.qname(), escape(a.value())));
                }
                let children: Vec<Node<'_>> = e.children().collect();
                let has_elements = children.iter().any(|c| matches!(c, Node::Element(_)));
                let text = e.text();
                if !has_elements {
                    if text.is_empty() {
                        out.push_str("/>\n");
                    } else {
                        out.push_str(&format!(">{}</{}>\n", escape(&text), e.qname()));
                    }
                    continue;
                }
                out.push_str(">\n");
                stack.push(Step::Close(e, depth));
                for c in children.iter().rev() {
                    match c {
                        Node::Element(ce) => stack.push(Step::Open(*ce, depth + 1)),
                        Node::Text(t) if !t.trim().is_empty() => {
                            out.push_str(&format!("{}  {}\n", pad, escape(t.trim())));
                        }
                        _ => {}
                    }
                }
            }
            Step::Close(e, depth) => {
                out.push_str(&format!("{}</{}>\n", "  ".repeat(depth), e.qname()))
            }
        }
    }
}

fn find_all<'a>(root: Element<'a>, local: &str) -> Vec<Element<'a>> {
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(e) = stack.pop() {
        if e.local_name() == local {
            found.push(e);
        }
        let mut kids: Vec<Element<'a>> = e.child_elements().collect();
        kids.reverse();
        stack.extend(kids);
    }
    found
}

fn inspect(input: &str) -> Result<(), UsageError> {
    let (how, xml) = decode_any(input)?;
    let doc = Document::parse_with(&xml, &ParseOptions::default())
        .map_err(|e| usage(format!("refused ({}): {e}", e.code())))?;
    let root = doc.root();
    let mut out = String::new();
    pretty(root, &mut out);
    say!("{out}");
    say!("summary (not validated):");
    say!("  encoding      {how}");
    say!(
        "  type          {} ({})",
        root.local_name(),
        root.namespace().unwrap_or("no namespace")
    );
    for (label, attr) in [
        ("ID", "ID"),
        ("InResponseTo", "InResponseTo"),
        ("Destination", "Destination"),
        ("IssueInstant", "IssueInstant"),
        ("ACS URL", "AssertionConsumerServiceURL"),
    ] {
        if let Some(v) = root.attribute(attr) {
            say!("  {label:<13} {v}");
        }
    }
    for i in find_all(root, "Issuer") {
        say!(
            "  Issuer        {} (in {})",
            i.text(),
            i.parent().map_or("", |p| p.local_name())
        );
    }
    for c in find_all(root, "Conditions")
        .into_iter()
        .chain(find_all(root, "SubjectConfirmationData"))
    {
        for attr in ["NotBefore", "NotOnOrAfter", "Recipient"] {
            if let Some(v) = c.attribute(attr) {
                say!("  {:<13} {v} ({})", attr, c.local_name());
            }
        }
    }
    for n in find_all(root, "NameID") {
        say!(
            "  NameID        {:?} (format {})",
            n.text(),
            n.attribute("Format").unwrap_or("unspecified")
        );
    }
    for a in find_all(root, "Attribute") {
        let values: Vec<String> = a.child_elements().map(|v| v.text()).collect();
        say!(
            "  attribute     {} = {:?}",
            a.attribute("Name").unwrap_or(""),
            values
        );
    }
    for kind in ["EncryptedAssertion", "EncryptedID", "EncryptedAttribute"] {
        for e in find_all(root, kind) {
            let alg = |parent: &str| {
                find_all(e, "EncryptionMethod")
                    .into_iter()
                    .filter(|m| m.parent().is_some_and(|p| p.local_name() == parent))
                    .filter_map(|m| m.attribute("Algorithm"))
                    .map(|a| a.rsplit('#').next().unwrap_or(a).to_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            say!(
                "  encrypted     {kind}: content {}, key transport {} (decrypt with --sp-decryption-key)",
                alg("EncryptedData"),
                alg("EncryptedKey")
            );
        }
    }
    let sigs = find_all(root, "Signature");
    if sigs.is_empty() {
        say!("  signatures    none");
    }
    for s in sigs {
        let parent = s.parent().map_or("?".to_owned(), |p| {
            format!("{} ID={}", p.local_name(), p.attribute("ID").unwrap_or("-"))
        });
        let alg = find_all(s, "SignatureMethod")
            .first()
            .and_then(|m| m.attribute("Algorithm"))
            .unwrap_or("?")
            .to_owned();
        say!("  signature     on {parent} ({alg})");
    }
    Ok(())
}

fn c14n(
    algorithm: C14nAlg,
    prefixes: &str,
    id: Option<&str>,
    file: &str,
) -> Result<bool, UsageError> {
    let bytes = read_input(file)?;
    let doc = match Document::parse(&bytes) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("refused ({}): {e}", e.code());
            return Ok(false);
        }
    };
    let apex = match id {
        Some(id) => match doc.element_by_id(id) {
            Some(e) => e,
            None => {
                eprintln!("no element with ID {id:?}");
                return Ok(false);
            }
        },
        None => doc.root(),
    };
    let alg = match algorithm {
        C14nAlg::Exc => Algorithm::Exclusive,
        C14nAlg::ExcWithComments => Algorithm::ExclusiveWithComments,
        C14nAlg::C14n => Algorithm::Inclusive,
        C14nAlg::C14nWithComments => Algorithm::InclusiveWithComments,
        C14nAlg::C14n11 => Algorithm::Inclusive11,
        C14nAlg::C14n11WithComments => Algorithm::Inclusive11WithComments,
    };
    let prefixes: Vec<&str> = prefixes.split_ascii_whitespace().collect();
    let out = canonicalize_to_vec(
        &doc,
        Subset::Element {
            apex: apex.id(),
            exclude: None,
        },
        alg,
        &prefixes,
    )
    .map_err(|e| usage(e.to_string()))?;
    std::io::stdout().write_all(&out)?;
    Ok(true)
}

fn sp_metadata(
    entity_id: &str,
    acs_url: &str,
    certs: &[String],
    encryption_certs: &[String],
    slo_url: Option<&str>,
    signed: bool,
) -> Result<(), UsageError> {
    let mut md =
        saml_sp::metadata::SpMetadata::new(entity_id, acs_url).authn_requests_signed(signed);
    if let Some(u) = slo_url {
        md = md.single_logout_service(u);
    }
    for path in certs {
        for c in Certificate::parse_all(&read_input(path)?)
            .map_err(|e| usage(format!("--cert {path}: {e}")))?
        {
            md = md.signing_certificate(c);
        }
    }
    for path in encryption_certs {
        for c in Certificate::parse_all(&read_input(path)?)
            .map_err(settings(&format!("--encryption-cert {path}")))?
        {
            md = md.encryption_certificate(c);
        }
    }
    let _ = std::io::stdout().write_all(md.to_xml().as_bytes());
    Ok(())
}

fn authn_request(
    sso: &str,
    entity_id: &str,
    acs_url: &str,
    relay_state: Option<&str>,
    force_authn: bool,
    sign_key: Option<&str>,
    json: bool,
) -> Result<(), UsageError> {
    let key = match sign_key {
        Some(path) => {
            let pem = String::from_utf8(read_input(path)?)
                .map_err(|_| usage(format!("{path}: not PEM")))?;
            Some(
                saml_sp::crypto::SigningKey::from_pem(&pem, None)
                    .map_err(|e| usage(e.to_string()))?,
            )
        }
        None => None,
    };
    let req = saml_sp::login::AuthnRequest::new(entity_id, acs_url)
        .destination(sso)
        .force_authn(force_authn)
        .build(Utc::now())
        .map_err(|e| usage(e.to_string()))?;
    let signing = key
        .as_ref()
        .map(|k| (k, saml_sp::crypto::SignatureAlgorithm::RsaSha256));
    let url = req
        .redirect_url(relay_state, signing)
        .map_err(|e| usage(e.to_string()))?;
    if json {
        say!("{}", json!({"url": url, "request_id": req.id()}));
    } else {
        say!("{url}");
        say!("request ID: {}", req.id());
    }
    Ok(())
}

/// Whether the command asked for JSON: then every outcome, usage errors included, is one JSON
/// object on standard output.
/// One `--key` specification as an SP key.
fn sp_key(spec: &str) -> Result<saml_sp::tenant::SpKey, UsageError> {
    let mut fields = std::collections::HashMap::new();
    for part in spec.split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| usage(format!("--key {spec:?}: {part:?} is not name=value")))?;
        fields.insert(k.trim(), v.trim());
    }
    let get = |k: &str| {
        fields
            .get(k)
            .copied()
            .ok_or_else(|| usage(format!("--key {spec:?}: no {k}=")))
    };
    let when = |k: &str| -> Result<Option<DateTime<Utc>>, UsageError> {
        fields
            .get(k)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|e| usage(format!("--key {spec:?}: {k}={v:?}: {e}")))
            })
            .transpose()
    };
    let cert = Certificate::parse(&read_input(get("cert")?)?).map_err(settings("cert"))?;
    let pem = String::from_utf8(read_input(get("key")?)?)
        .map_err(|_| usage(format!("--key {spec:?}: the key file is not PEM text")))?;
    let publish = when("publish")?.ok_or_else(|| usage(format!("--key {spec:?}: no publish=")))?;
    let mut key = saml_sp::tenant::SpKey::new(get("id")?, cert.clone(), publish)
        .signing(saml_sp::crypto::SigningKey::from_pem(&pem, Some(cert)).map_err(settings("key"))?)
        .decryption(saml_sp::xmlenc::DecryptionKey::from_pem(&pem).map_err(settings("key"))?)
        .map_err(settings("key"))?;
    if let Some(t) = when("use")? {
        key = key.use_from(t);
    }
    if let Some(t) = when("retire")? {
        key = key.retire_at(t);
    }
    if let Some(t) = when("remove")? {
        key = key.remove_at(t);
    }
    Ok(key)
}

fn sp_keys(
    keys: &[String],
    tenants: &[String],
    now: Option<&str>,
    json_out: bool,
) -> Result<(), UsageError> {
    let now = parse_now(now)?;
    let mut ring = saml_sp::tenant::SpKeyRing::new();
    for spec in keys {
        ring = ring.key(sp_key(spec)?).map_err(settings("key"))?;
    }
    let tenants: Vec<(&str, &str)> = tenants
        .iter()
        .map(|t| {
            t.split_once('=')
                .ok_or_else(|| usage(format!("--tenant {t:?}: expected SLUG=IDP_ENTITY_ID")))
        })
        .collect::<Result<_, _>>()?;
    let signing = ring.signing_key(now).map(|k| k.id().to_owned());
    let schedule = ring.schedule();
    if json_out {
        say!(
            "{}",
            json!({
                "now": saml_sp::time::format_instant(now),
                "signing_key": signing,
                "keys": ring.keys().iter().map(|k| json!({
                    "id": k.id(),
                    "fingerprint": k.certificate().fingerprint_hex(),
                    "not_after": saml_sp::time::format_instant(k.certificate().not_after()),
                    "phase": k.phase(now).as_str(),
                })).collect::<Vec<_>>(),
                "schedule": schedule.iter().map(|e| json!({
                    "at": saml_sp::time::format_instant(e.at),
                    "key": e.key,
                    "what": e.what,
                    "fingerprint": e.fingerprint,
                    "tell_idps": e.tell_idps,
                    "tenants": tenants.iter().map(|(slug, idp)| json!({"tenant": slug, "idp": idp})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        );
        return Ok(());
    }
    say!("SP keys at {}:", saml_sp::time::format_instant(now));
    for k in ring.keys() {
        say!(
            "  {:<10} {:<9} {} (certificate expires {})",
            k.id(),
            k.phase(now).as_str(),
            k.certificate().fingerprint_hex(),
            saml_sp::time::format_instant(k.certificate().not_after())
        );
    }
    say!(
        "signing with: {}",
        signing.as_deref().unwrap_or("no key (nothing is signed)")
    );
    say!("schedule:");
    for e in &schedule {
        let mark = if e.at <= now { "done" } else { "due " };
        say!(
            "  [{mark}] {} {:<13} {}: {}",
            saml_sp::time::format_instant(e.at),
            e.what,
            e.key,
            e.tell_idps
        );
        for (slug, idp) in &tenants {
            say!("           tell tenant {slug} (IdP {idp})");
        }
    }
    Ok(())
}

/// What the SP would refuse about `md` at `now`, each with its reason.
fn idp_refusals(md: &saml_sp::metadata::IdpMetadata, now: DateTime<Utc>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Err(e) = md.check_valid_at(now) {
        out.push((e.code().to_owned(), e.to_string()));
    }
    if let Err(e) = md.identity_provider() {
        out.push((e.code().to_owned(), e.to_string()));
    }
    if !md.signing_certificates().iter().any(|c| c.is_valid_at(now)) {
        out.push((
            "certificate_expired".into(),
            "no signing certificate is within its validity period (refused when the policy requires certificate validity; the IdP must rotate)".into(),
        ));
    }
    let sso = md
        .sso_url(saml_sp::ns::HTTP_REDIRECT)
        .or_else(|| md.sso_url(saml_sp::ns::HTTP_POST));
    let mut config =
        saml_sp::TenantConfig::new("check", md.entity_id(), md.signing_certificates().to_vec());
    match sso {
        Some(u) => config = config.sso_url(u),
        None => out.push((
            "binding".into(),
            "no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding".into(),
        )),
    }
    for p in config.problems() {
        out.push((format!("config_invalid ({})", p.field), p.message));
    }
    out
}

fn idp_metadata(
    input: &str,
    entity: Option<&str>,
    verify_cert: &[String],
    now: Option<&str>,
    json_out: bool,
) -> Result<bool, UsageError> {
    use saml_sp::metadata::aggregate::{AggregateLimits, IdpFilter, index_idps};
    let now = parse_now(now)?;
    let mut pinned = Vec::new();
    for path in verify_cert {
        pinned.extend(Certificate::parse_all(&read_input(path)?).map_err(settings("verify-cert"))?);
    }
    // Judged at `now` but read whatever its validUntil, so that an expired IdP is shown with
    // the reason the SP would refuse it. Read as a stream: an aggregate of any size (within
    // the aggregate limits) is never held whole.
    let read_at = DateTime::<Utc>::MIN_UTC;
    let index = index_idps(
        open_stream(input)?,
        &pinned,
        &IdpFilter::default(),
        read_at,
        &AggregateLimits::default(),
    )
    .map_err(settings("metadata"))?;
    let idps: Vec<&saml_sp::metadata::IdpMetadata> = match entity {
        Some(id) => vec![index.get(id).ok_or_else(|| UsageError {
            code: "config_invalid",
            msg: format!("no IdP with entityID {id:?} in {input}"),
        })?],
        None => index.idps.iter().collect(),
    };
    let verified = if pinned.is_empty() {
        "not checked"
    } else {
        "verified"
    };
    let instant = |t: DateTime<Utc>| saml_sp::time::format_instant(t);
    if json_out {
        say!(
            "{}",
            json!({
                "signature": verified,
                "idps": idps.iter().map(|md| json!({
                    "entity_id": md.entity_id(),
                    "sso": md.sso_endpoints().iter().map(|e| json!({"binding": e.binding, "location": e.location})).collect::<Vec<_>>(),
                    "slo": md.slo_endpoints().iter().map(|e| json!({"binding": e.binding, "location": e.location})).collect::<Vec<_>>(),
                    "certificates": md.signing_certificates().iter().map(|c| json!({
                        "sha256": c.fingerprint_hex(),
                        "subject": c.subject(),
                        "key": c.key_description(),
                        "not_after": instant(c.not_after()),
                        "days_left": (c.not_after() - now).num_days(),
                    })).collect::<Vec<_>>(),
                    "valid_until": md.valid_until().map(instant),
                    "cache_duration_seconds": md.cache_duration().map(|d| d.num_seconds()),
                    "wants_authn_requests_signed": md.wants_authn_requests_signed(),
                    "refusals": idp_refusals(md, now).iter().map(|(code, why)| json!({"code": code, "reason": why})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "skipped": index.skipped.iter().map(|(id, code)| json!({"entity_id": id, "code": code})).collect::<Vec<_>>(),
                "other_entities": index.ignored,
            })
        );
        return Ok(true);
    }
    say!(
        "{} IdP(s); signature {verified}; {} other entities{}",
        idps.len(),
        index.ignored,
        if index.skipped.is_empty() {
            String::new()
        } else {
            format!("; {} unreadable", index.skipped.len())
        }
    );
    for md in &idps {
        say!("\n{}", md.entity_id());
        for e in md.sso_endpoints() {
            say!(
                "  SSO  {} {}",
                e.binding.rsplit(':').next().unwrap_or(""),
                e.location
            );
        }
        for e in md.slo_endpoints() {
            say!(
                "  SLO  {} {}",
                e.binding.rsplit(':').next().unwrap_or(""),
                e.location
            );
        }
        for c in md.signing_certificates() {
            say!(
                "  cert {} {} ({}), expires {} ({} days)",
                c.fingerprint_hex(),
                c.subject(),
                c.key_description(),
                instant(c.not_after()),
                (c.not_after() - now).num_days()
            );
        }
        if let Some(v) = md.valid_until() {
            say!("  validUntil {}", instant(v));
        }
        if let Some(d) = md.cache_duration() {
            say!("  cacheDuration {} s", d.num_seconds());
        }
        let refusals = idp_refusals(md, now);
        if refusals.is_empty() {
            say!("  the SP accepts it");
        }
        for (code, why) in refusals {
            say!("  REFUSED {code}: {why}");
        }
    }
    for (id, code) in &index.skipped {
        say!("\nunreadable IdP entity {id}: {code}");
    }
    Ok(true)
}

fn json_output(command: &Command) -> bool {
    match command {
        Command::Verify(a) => a.json,
        Command::AuthnRequest { json, .. } => *json,
        Command::SpKeys { json, .. } => *json,
        Command::IdpMetadata { json, .. } => *json,
        _ => false,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let wants_json = std::env::args().any(|a| a == "--json");
            if wants_json && e.use_stderr() {
                say!(
                    "{}",
                    json!({"valid": false, "error": {"code": "usage", "message": e.to_string().trim()}, "checks": []})
                );
                return ExitCode::from(2);
            }
            e.exit();
        }
    };
    let result = match &cli.command {
        Command::Verify(a) => verify(a),
        Command::Inspect { input } => inspect(input).map(|()| true),
        Command::C14n {
            algorithm,
            prefixes,
            id,
            file,
        } => c14n(*algorithm, prefixes, id.as_deref(), file),
        Command::Metadata {
            entity_id,
            acs_url,
            cert,
            authn_requests_signed,
            encryption_cert,
            slo_url,
        } => sp_metadata(
            entity_id,
            acs_url,
            cert,
            encryption_cert,
            slo_url.as_deref(),
            *authn_requests_signed,
        )
        .map(|()| true),
        Command::IdpMetadata {
            input,
            entity,
            verify_cert,
            now,
            json,
        } => idp_metadata(input, entity.as_deref(), verify_cert, now.as_deref(), *json),
        Command::SpKeys {
            keys,
            tenants,
            now,
            json,
        } => sp_keys(keys, tenants, now.as_deref(), *json).map(|()| true),
        Command::AuthnRequest {
            idp_sso_url,
            entity_id,
            acs_url,
            relay_state,
            force_authn,
            sign_key,
            json,
        } => authn_request(
            idp_sso_url,
            entity_id,
            acs_url,
            relay_state.as_deref(),
            *force_authn,
            sign_key.as_deref(),
            *json,
        )
        .map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(UsageError { code, msg }) => {
            if json_output(&cli.command) {
                say!(
                    "{}",
                    json!({"valid": false, "error": {"code": code, "message": msg}, "checks": []})
                );
            } else {
                eprintln!("saml-sp: {msg}");
            }
            ExitCode::from(2)
        }
    }
}
