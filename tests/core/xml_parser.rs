//! The hardened XML parser: every refusal, every limit, and the whole-text accessor.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use saml_sp::xml::{Document, Limits, Node, ParseOptions, XmlError};

fn err(input: &str) -> XmlError {
    Document::parse(input.as_bytes()).expect_err(&format!("must refuse {input:?}"))
}

fn code(input: &str) -> &'static str {
    err(input).code()
}

#[test]
fn parses_elements_namespaces_and_attributes() {
    let doc = Document::parse(
        br#"<?xml version="1.0" encoding="UTF-8"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns="urn:d" ID="r1" Version="2.0">
  <Issuer a:x="1" xmlns:a="urn:a" xml:lang="en">idp</Issuer>
</samlp:Response>"#,
    )
    .unwrap();
    let root = doc.root();
    assert_eq!(root.qname(), "samlp:Response");
    assert_eq!(root.prefix(), Some("samlp"));
    assert_eq!(root.local_name(), "Response");
    assert_eq!(
        root.namespace(),
        Some("urn:oasis:names:tc:SAML:2.0:protocol")
    );
    assert_eq!(root.attribute("Version"), Some("2.0"));
    let decls: Vec<_> = root
        .namespace_declarations()
        .map(|d| (d.prefix, d.uri))
        .collect();
    assert_eq!(
        decls,
        [
            (Some("samlp"), "urn:oasis:names:tc:SAML:2.0:protocol"),
            (None, "urn:d")
        ]
    );
    let issuer = root.child_elements().next().unwrap();
    assert_eq!(issuer.namespace(), Some("urn:d"));
    assert_eq!(issuer.attribute_ns("urn:a", "x"), Some("1"));
    assert_eq!(
        issuer.attribute_ns(saml_sp::xml::XML_NS, "lang"),
        Some("en")
    );
    assert_eq!(
        issuer.attribute("x"),
        None,
        "a prefixed attribute is not the unqualified one"
    );
    assert_eq!(issuer.text(), "idp");
    assert_eq!(issuer.parent(), Some(root));
    assert_eq!(doc.element_by_id("r1"), Some(root));
    assert_eq!(issuer.offset(), 145);
}

#[test]
fn whole_text_survives_comment_cdata_and_reference_splits() {
    let cases = [
        (
            "<n>victim@corp.example<!---->.attacker.test</n>",
            "victim@corp.example.attacker.test",
        ),
        (
            "<n>victim@<!-- c -->corp.example</n>",
            "victim@corp.example",
        ),
        (
            "<n>victim@corp.example<![CDATA[.attacker.test]]></n>",
            "victim@corp.example.attacker.test",
        ),
        (
            "<n>victim@corp.example&#46;attacker.test</n>",
            "victim@corp.example.attacker.test",
        ),
        (
            "<n>victim@corp.example&#x2E;attacker.test</n>",
            "victim@corp.example.attacker.test",
        ),
        ("<n>a&amp;b&lt;c&gt;d&quot;e&apos;f</n>", "a&b<c>d\"e'f"),
        ("<n>a<?pi x?>b</n>", "ab"),
        ("<n><![CDATA[]]>x<![CDATA[<y>]]></n>", "x<y>"),
        ("<n>l1\r\nl2\rl3</n>", "l1\nl2\nl3"),
        ("<n>&#13;</n>", "\r"),
    ];
    for (xml, want) in cases {
        let doc = Document::parse(xml.as_bytes()).unwrap();
        assert_eq!(doc.root().text(), want, "{xml}");
    }
    // Text inside child elements is not part of an element's own text.
    let doc = Document::parse(b"<n>a<c>b</c>c</n>").unwrap();
    assert_eq!(doc.root().text(), "ac");
    assert!(doc.root().has_child_elements());
}

#[test]
fn comments_and_pis_are_nodes() {
    let doc = Document::parse(b"<r><!-- c --><?t d?>x</r>").unwrap();
    let kinds: Vec<String> = doc
        .root()
        .children()
        .map(|n| match n {
            Node::Comment(c) => format!("comment:{c}"),
            Node::ProcessingInstruction { target, data } => format!("pi:{target}:{data}"),
            Node::Text(t) => format!("text:{t}"),
            Node::Element(e) => format!("element:{}", e.qname()),
            _ => "other".into(),
        })
        .collect();
    assert_eq!(kinds, ["comment: c ", "pi:t:d", "text:x"]);
}

#[test]
fn attribute_values_are_normalized() {
    let doc = Document::parse(
        b"<r a=\"x\ty\nz\r\nw\" b=\"&#9;&#10;&#13;\" c=\"&lt;&amp;&quot;\" d='\"'/>",
    )
    .unwrap();
    let r = doc.root();
    assert_eq!(r.attribute("a"), Some("x y z w"));
    assert_eq!(r.attribute("b"), Some("\t\n\r"));
    assert_eq!(r.attribute("c"), Some("<&\""));
    assert_eq!(r.attribute("d"), Some("\""));
}

#[test]
fn refuses_any_doctype() {
    for xml in [
        "<!DOCTYPE r><r/>",
        "<!DOCTYPE r SYSTEM \"http://x/\"><r/>",
        "<!DOCTYPE r PUBLIC \"-//x\" \"y\"><r/>",
        "<!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>",
        "<!DOCTYPE foo [ <!ENTITY % xxe SYSTEM \"http://attacker/x\"> %xxe; ]><r/>",
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><r>&b;</r>",
    ] {
        assert_eq!(code(xml), "xml_forbidden", "{xml}");
    }
}

#[test]
fn refuses_unknown_entities() {
    assert_eq!(code("<r>&foo;</r>"), "xml_forbidden");
    assert_eq!(code("<r a=\"&foo;\"/>"), "xml_forbidden");
    assert_eq!(code("<r>&nbsp;</r>"), "xml_forbidden");
}

#[test]
fn refuses_undeclared_prefixes_and_bad_namespace_declarations() {
    assert_eq!(code("<foo:Bar/>"), "xml_malformed");
    assert_eq!(code("<r foo:a=\"1\"/>"), "xml_malformed");
    assert_eq!(code("<r xmlns:saml=\"\"/>"), "xml_malformed");
    assert_eq!(code("<r xmlns:xml=\"urn:x\"/>"), "xml_malformed");
    assert_eq!(code("<r xmlns:xmlns=\"urn:x\"/>"), "xml_malformed");
    assert_eq!(
        code("<r xmlns:p=\"http://www.w3.org/XML/1998/namespace\"/>"),
        "xml_malformed"
    );
    assert_eq!(
        code("<r xmlns=\"http://www.w3.org/2000/xmlns/\"/>"),
        "xml_malformed"
    );
    assert_eq!(code("<xmlns:r/>"), "xml_malformed");
    assert_eq!(
        code("<r xmlns:e=\"http://example.com\u{80}\"/>"),
        "xml_forbidden"
    );
    // A prefix declared on a sibling is not in scope.
    assert_eq!(code("<r><a xmlns:p=\"urn:p\"/><p:b/></r>"), "xml_malformed");
    // xml:* needs no declaration and xmlns:xml with the right URI is allowed.
    Document::parse(b"<r xml:lang=\"en\" xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"/>")
        .unwrap();
}

#[test]
fn refuses_malformed_names() {
    for xml in [
        "<:Assertion/>",
        "<saml:x:Assertion xmlns:saml=\"urn:s\"/>",
        "<r ::foo=\"bar\"/>",
        "<r xmlns:=\"urn:x\"/>",
        "<1r/>",
    ] {
        assert_eq!(code(xml), "xml_malformed", "{xml}");
    }
}

#[test]
fn refuses_duplicate_attributes() {
    assert_eq!(code("<r ID=\"a\" ID=\"b\"/>"), "xml_malformed");
    assert_eq!(
        code("<r xmlns:a=\"urn:x\" xmlns:b=\"urn:x\" a:x=\"1\" b:x=\"2\"/>"),
        "xml_malformed"
    );
    assert_eq!(
        code("<r xmlns:a=\"urn:x\" xmlns:a=\"urn:y\"/>"),
        "xml_malformed"
    );
    // Same local name in different namespaces is fine.
    Document::parse(b"<r xmlns:a=\"urn:x\" xmlns:b=\"urn:y\" a:x=\"1\" b:x=\"2\" x=\"3\"/>")
        .unwrap();
}

#[test]
fn refuses_malformed_and_truncated_input() {
    let full = "<r a=\"1\"><c>text</c><d/></r>";
    for cut in 1..full.len() {
        let part = &full[..cut];
        assert!(
            Document::parse(part.as_bytes()).is_err(),
            "truncated at {cut}: {part:?}"
        );
    }
    for xml in [
        "",
        "   ",
        "<r>",
        "<r></s>",
        "</r>",
        "<r a=1/>",
        "<r a=\"1\"b=\"2\"/>",
        "<r a='1'b='2'></r>",
        "<r a/>",
        "<r =\"1\"/>",
        "<r a=\"<\"/>",
        "<r>a & b</r>",
        "<r>]]></r>",
        "<r><!-- a -- b --></r>",
        "<r><!-- a ---></r>",
        "<r>&#0;</r>",
        "<r>&#x1;</r>",
        "<r>&#xD800;</r>",
        "<r>&#xFFFE;</r>",
        "<r>&#;</r>",
    ] {
        assert!(Document::parse(xml.as_bytes()).is_err(), "{xml:?}");
    }
}

#[test]
fn refuses_content_after_the_document_element() {
    assert_eq!(code("<r/><r/>"), "xml_malformed");
    assert_eq!(code("<r/>text"), "xml_malformed");
    assert_eq!(code("text<r/>"), "xml_malformed");
    assert_eq!(code("<r/><![CDATA[x]]>"), "xml_malformed");
    assert_eq!(code("<r/>&amp;"), "xml_malformed");
    assert_eq!(code("<r/><?xml version=\"1.0\"?>"), "xml_malformed");
    assert_eq!(code(" <?xml version=\"1.0\"?><r/>"), "xml_malformed");
    // White space, comments and PIs around the document element are allowed.
    let doc = Document::parse(b"<!--a-->\n<?p?> <r/>\n<!--b-->\t").unwrap();
    assert_eq!(doc.top_level().count(), 4);
}

#[test]
fn refuses_non_utf8_and_other_encodings() {
    assert_eq!(
        Document::parse(b"<r>\xff</r>").unwrap_err().code(),
        "xml_forbidden"
    );
    assert_eq!(
        Document::parse(b"<r>\xc0\xae</r>").unwrap_err().code(),
        "xml_forbidden",
        "overlong encoding"
    );
    assert_eq!(
        Document::parse(b"\xff\xfe<\0r\0/\0>\0").unwrap_err().code(),
        "xml_forbidden",
        "UTF-16"
    );
    assert_eq!(
        code("<?xml version=\"1.0\" encoding=\"UTF-16\"?><r/>"),
        "xml_forbidden"
    );
    assert_eq!(
        code("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>"),
        "xml_forbidden"
    );
    // A UTF-8 BOM is fine.
    Document::parse(b"\xef\xbb\xbf<r/>").unwrap();
    Document::parse(b"<?xml version=\"1.0\" encoding=\"utf-8\"?><r/>").unwrap();
}

#[test]
fn refuses_xml_1_1() {
    assert_eq!(code("<?xml version=\"1.1\"?><r/>"), "xml_forbidden");
}

#[test]
fn refuses_illegal_characters() {
    assert!(Document::parse(b"<r>\x00</r>").is_err());
    assert!(Document::parse(b"<r>\x1f</r>").is_err());
    assert!(Document::parse("<r>\u{FFFE}</r>".as_bytes()).is_err());
    assert!(Document::parse(b"<r a=\"\x01\"/>").is_err());
    assert!(Document::parse(b"<r><!--\x02--></r>").is_err());
    assert!(Document::parse(b"<r><![CDATA[\x03]]></r>").is_err());
}

#[test]
fn processing_instructions_can_be_forbidden() {
    let opts = ParseOptions::default().forbidding_processing_instructions();
    let e = Document::parse_with(b"<?xml-stylesheet href=\"x\"?><r/>", &opts).unwrap_err();
    assert_eq!(e.code(), "xml_forbidden");
    let e = Document::parse_with(b"<r><?x y?></r>", &opts).unwrap_err();
    assert_eq!(e.code(), "xml_forbidden");
    Document::parse_with(b"<?xml version=\"1.0\"?><r/>", &opts).unwrap();
}

#[test]
fn duplicate_ids_anywhere_are_refused() {
    let e = err("<r ID=\"a\"><x ID=\"a\"/></r>");
    assert_eq!(e.code(), "duplicate_id");
    assert!(matches!(e, XmlError::DuplicateId { ref id, .. } if id == "a"));
    // Only the unqualified `ID` attribute is an ID.
    let doc = Document::parse(b"<r ID=\"a\"><x Id=\"a\" id=\"a\" xml:id=\"a\"/></r>").unwrap();
    assert_eq!(doc.element_by_id("a").unwrap().qname(), "r");
}

fn limit(err: XmlError) -> &'static str {
    match err {
        XmlError::LimitExceeded { limit, .. } => limit,
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn limit_input_bytes() {
    let opts = ParseOptions::default().with_limits(Limits::default().with_max_input_bytes(100));
    let big = format!("<r>{}</r>", "x".repeat(100));
    assert_eq!(
        limit(Document::parse_with(big.as_bytes(), &opts).unwrap_err()),
        "max_input_bytes"
    );
    assert!(Limits::default().max_input_bytes >= 256 * 1024);
}

#[test]
fn limit_depth_without_stack_overflow() {
    let deep = "<a>".repeat(100_000) + &"</a>".repeat(100_000);
    let opts = ParseOptions::default().with_limits(Limits::default().with_max_input_bytes(1 << 20));
    let e = Document::parse_with(deep.as_bytes(), &opts).unwrap_err();
    assert_eq!(limit(e.clone()), "max_depth");
    assert_eq!(e.code(), "xml_limit_exceeded");
    let ok = "<a>".repeat(64) + &"</a>".repeat(64);
    Document::parse(ok.as_bytes()).unwrap();
    let too_deep = "<a>".repeat(65) + &"</a>".repeat(65);
    assert_eq!(
        limit(Document::parse(too_deep.as_bytes()).unwrap_err()),
        "max_depth"
    );
}

#[test]
fn limit_attributes() {
    let attrs: String = (0..65).map(|i| format!(" a{i}=\"v\"")).collect();
    let xml = format!("<r{attrs}/>");
    assert_eq!(
        limit(Document::parse(xml.as_bytes()).unwrap_err()),
        "max_attributes"
    );
    let attrs: String = (0..64).map(|i| format!(" a{i}=\"v\"")).collect();
    Document::parse(format!("<r{attrs}/>").as_bytes()).unwrap();
}

#[test]
fn limit_namespace_declarations() {
    let decls: String = (0..33)
        .map(|i| format!(" xmlns:p{i}=\"urn:{i}\""))
        .collect();
    let xml = format!("<r{decls}/>");
    assert_eq!(
        limit(Document::parse(xml.as_bytes()).unwrap_err()),
        "max_namespace_declarations"
    );
}

#[test]
fn limit_nodes() {
    let opts = ParseOptions::default().with_limits(Limits::default().with_max_nodes(10));
    let xml = format!("<r>{}</r>", "<a/>".repeat(10));
    assert_eq!(
        limit(Document::parse_with(xml.as_bytes(), &opts).unwrap_err()),
        "max_nodes"
    );
}

#[test]
fn limits_are_configurable_upwards() {
    let opts = ParseOptions::default().with_limits(
        Limits::default()
            .with_max_depth(200)
            .with_max_attributes(200)
            .with_max_namespace_declarations(100),
    );
    let deep = "<a>".repeat(150) + &"</a>".repeat(150);
    Document::parse_with(deep.as_bytes(), &opts).unwrap();
}
