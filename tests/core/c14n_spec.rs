//! The W3C Canonical XML 1.0 (section 3) and Exclusive XML Canonicalization 1.0 (section 2.2)
//! examples, plus the enveloped-subtree exclusion and the `#default` PrefixList token.
//!
//! Examples that depend on a DTD (default attributes, entity declarations) are given without it:
//! saml-sp refuses every DTD, so those inputs cannot occur.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use saml_sp::xml::Document;
use saml_sp::xml::c14n::{Algorithm, Subset, canonicalize_to_vec};

fn c14n_doc(xml: &str, alg: Algorithm) -> String {
    let doc = Document::parse(xml.as_bytes()).unwrap();
    String::from_utf8(canonicalize_to_vec(&doc, Subset::Document, alg, &[]).unwrap()).unwrap()
}

fn c14n_id(xml: &str, id: &str, alg: Algorithm, prefixes: &[&str]) -> String {
    let doc = Document::parse(xml.as_bytes()).unwrap();
    let apex = doc.element_by_id(id).unwrap().id();
    String::from_utf8(
        canonicalize_to_vec(
            &doc,
            Subset::Element {
                apex,
                exclude: None,
            },
            alg,
            prefixes,
        )
        .unwrap(),
    )
    .unwrap()
}

fn oracle_whole_document(xml: &str, comments: bool) -> String {
    let mut out = Vec::new();
    xml_canonicalization::Canonicalizer::read_from_str(xml)
        .write_to_writer(std::io::Cursor::new(&mut out))
        .canonicalize(comments)
        .unwrap();
    String::from_utf8(out).unwrap()
}

const SPEC_3_1: &str = "<?xml version=\"1.0\"?>\n\n<?xml-stylesheet   href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n\n<doc>Hello, world!<!-- Comment 1 --></doc>\n\n<?pi-without-data     ?>\n\n<!-- Comment 2 -->\n\n<!-- Comment 3 -->\n";

#[test]
fn spec_3_1_pis_comments_and_outside_of_document_element() {
    assert_eq!(
        c14n_doc(SPEC_3_1, Algorithm::Inclusive),
        "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!</doc>\n<?pi-without-data?>"
    );
    assert_eq!(
        c14n_doc(SPEC_3_1, Algorithm::InclusiveWithComments),
        "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!<!-- Comment 1 --></doc>\n<?pi-without-data?>\n<!-- Comment 2 -->\n<!-- Comment 3 -->"
    );
}

const SPEC_3_2: &str = "<doc>\n   <clean>   </clean>\n   <dirty>   A   B   </dirty>\n   <mixed>\n      A\n      <clean>   </clean>\n      B\n      <dirty>   A   B   </dirty>\n      C\n   </mixed>\n</doc>";

#[test]
fn spec_3_2_whitespace_in_document_content() {
    assert_eq!(c14n_doc(SPEC_3_2, Algorithm::Inclusive), SPEC_3_2);
    assert_eq!(c14n_doc(SPEC_3_2, Algorithm::Exclusive), SPEC_3_2);
}

const SPEC_3_3: &str = r#"<doc>
   <e1   />
   <e2   ></e2>
   <e3   name = "elem3"   id="elem3"   />
   <e4   name="elem4"   id="elem4"   ></e4>
   <e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm"
      xmlns:b="http://www.ietf.org"
      xmlns:a="http://www.w3.org"
      xmlns="http://example.org"/>
   <e6 xmlns="" xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="" xmlns:a="http://www.w3.org">
            <e9 xmlns="" xmlns:a="http://www.ietf.org"/>
         </e8>
      </e7>
   </e6>
</doc>"#;

#[test]
fn spec_3_3_start_and_end_tags() {
    // As the spec's output, less e9's DTD-defaulted attr="default".
    let want = r#"<doc>
   <e1></e1>
   <e2></e2>
   <e3 id="elem3" name="elem3"></e3>
   <e4 id="elem4" name="elem4"></e4>
   <e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>
   <e6 xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="">
            <e9 xmlns:a="http://www.ietf.org"></e9>
         </e8>
      </e7>
   </e6>
</doc>"#;
    assert_eq!(c14n_doc(SPEC_3_3, Algorithm::Inclusive), want);
    assert_eq!(oracle_whole_document(SPEC_3_3, false), want);
}

const SPEC_3_4: &str = r#"<doc>
   <text>First line&#x0d;&#10;Second line</text>
   <value>&#x32;</value>
   <compute><![CDATA[value>"0" && value<"10" ?"valid":"error"]]></compute>
   <compute expr='value>"0" &amp;&amp; value&lt;"10" ?"valid":"error"'>valid</compute>
   <norm attr=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/>
</doc>"#;

#[test]
fn spec_3_4_character_modifications_and_references() {
    let want = "<doc>\n   <text>First line&#xD;\nSecond line</text>\n   <value>2</value>\n   <compute>value&gt;\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"</compute>\n   <compute expr=\"value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;\">valid</compute>\n   <norm attr=\" '    &#xD;&#xA;&#x9;   ' \"></norm>\n</doc>";
    assert_eq!(c14n_doc(SPEC_3_4, Algorithm::Inclusive), want);
}

#[test]
fn spec_3_6_utf8() {
    assert_eq!(
        c14n_doc(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><doc>&#169;</doc>",
            Algorithm::Inclusive
        ),
        "<doc>©</doc>"
    );
}

const EXC_1: &str = r#"<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org"><n1:elem2 ID="e" xmlns:n1="http://example.net" xml:lang="en">
       <n3:stuff xmlns:n3="ftp://example.org"/>
   </n1:elem2></n0:local>"#;

const EXC_2: &str = r#"<n2:pdu xmlns:n1="http://example.com"
           xmlns:n2="http://foo.example"
           xml:lang="fr"
           xml:space="retain"><n1:elem2 ID="e" xmlns:n1="http://example.net" xml:lang="en">
       <n3:stuff xmlns:n3="ftp://example.org"/>
   </n1:elem2></n2:pdu>"#;

#[test]
fn exc_c14n_spec_2_2_inclusive_versus_exclusive() {
    // The spec's example, with an ID on elem2 to name the subset.
    assert_eq!(
        c14n_id(EXC_1, "e", Algorithm::Inclusive, &[]),
        "<n1:elem2 xmlns:n0=\"foo:bar\" xmlns:n1=\"http://example.net\" xmlns:n3=\"ftp://example.org\" ID=\"e\" xml:lang=\"en\">\n       <n3:stuff></n3:stuff>\n   </n1:elem2>"
    );
    assert_eq!(
        c14n_id(EXC_2, "e", Algorithm::Inclusive, &[]),
        "<n1:elem2 xmlns:n1=\"http://example.net\" xmlns:n2=\"http://foo.example\" ID=\"e\" xml:lang=\"en\" xml:space=\"retain\">\n       <n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff>\n   </n1:elem2>"
    );
    let exclusive = "<n1:elem2 xmlns:n1=\"http://example.net\" ID=\"e\" xml:lang=\"en\">\n       <n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff>\n   </n1:elem2>";
    assert_eq!(c14n_id(EXC_1, "e", Algorithm::Exclusive, &[]), exclusive);
    assert_eq!(c14n_id(EXC_2, "e", Algorithm::Exclusive, &[]), exclusive);
}

#[test]
fn exc_c14n_prefix_list_renders_in_scope_prefixes() {
    assert_eq!(
        c14n_id(EXC_1, "e", Algorithm::Exclusive, &["n0", "n3", "unknown"]),
        "<n1:elem2 xmlns:n0=\"foo:bar\" xmlns:n1=\"http://example.net\" xmlns:n3=\"ftp://example.org\" ID=\"e\" xml:lang=\"en\">\n       <n3:stuff></n3:stuff>\n   </n1:elem2>"
    );
}

#[test]
fn exc_c14n_default_token_in_prefix_list() {
    let xml =
        r#"<r xmlns="urn:d"><p:a xmlns:p="urn:p" ID="a"><p:b xmlns=""><c/></p:b><d/></p:a></r>"#;
    // Without #default, the default namespace is output only where an unprefixed element uses it.
    assert_eq!(
        c14n_id(xml, "a", Algorithm::Exclusive, &[]),
        r#"<p:a xmlns:p="urn:p" ID="a"><p:b><c></c></p:b><d xmlns="urn:d"></d></p:a>"#
    );
    // With #default, it is rendered on the apex like an inclusive namespace (so `d` inherits it
    // without a declaration of its own), and undeclared where the document undeclares it.
    assert_eq!(
        c14n_id(xml, "a", Algorithm::Exclusive, &["#default"]),
        r#"<p:a xmlns="urn:d" xmlns:p="urn:p" ID="a"><p:b xmlns=""><c></c></p:b><d></d></p:a>"#
    );
}

#[test]
fn enveloped_subtree_is_left_out() {
    let xml = r#"<a:A xmlns:a="urn:a" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="x"><a:I>i</a:I><ds:Signature><ds:SignedInfo/></ds:Signature><a:S>s</a:S></a:A>"#;
    let doc = Document::parse(xml.as_bytes()).unwrap();
    let apex = doc.root();
    let sig = apex.child_elements().nth(1).unwrap();
    let out = canonicalize_to_vec(
        &doc,
        Subset::Element {
            apex: apex.id(),
            exclude: Some(sig.id()),
        },
        Algorithm::Exclusive,
        &[],
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"<a:A xmlns:a="urn:a" ID="x"><a:I>i</a:I><a:S>s</a:S></a:A>"#
    );
}

#[test]
fn whole_document_agrees_with_xml_canonicalization_crate() {
    for xml in [
        SPEC_3_2,
        SPEC_3_3,
        "<r xmlns:a=\"urn:a\"><a:b c=\"&#9;\">x &amp; y<!--k--></a:b></r>",
    ] {
        assert_eq!(
            c14n_doc(xml, Algorithm::Inclusive),
            oracle_whole_document(xml, false),
            "{xml}"
        );
        assert_eq!(
            c14n_doc(xml, Algorithm::InclusiveWithComments),
            oracle_whole_document(xml, true),
            "{xml}"
        );
    }
}

#[test]
fn many_distinct_prefixes_use_the_indexed_scope() {
    // 60 distinct prefixes, some redeclared deeper: past 16 the scope switches to an index.
    let decls: String = (0..30)
        .map(|i| format!(" xmlns:p{i}=\"urn:{i}\""))
        .collect();
    let kids: String = (0..30)
        .map(|i| format!("<p{i}:e ID=\"e{i}\" xmlns:p{}=\"urn:re{i}\" xmlns:q{i}=\"urn:q{i}\" p{i}:a=\"{i}\" q{i}:b=\"x\"/>", (i + 1) % 30))
        .collect();
    let xml = format!("<r{decls}>{kids}</r>");
    assert_eq!(
        c14n_doc(&xml, Algorithm::Inclusive),
        oracle_whole_document(&xml, false)
    );
    // Exclusive: each child renders exactly its own prefix.
    assert_eq!(
        c14n_id(&xml, "e7", Algorithm::Exclusive, &[]),
        "<p7:e xmlns:p7=\"urn:7\" xmlns:q7=\"urn:q7\" ID=\"e7\" p7:a=\"7\" q7:b=\"x\"></p7:e>"
    );
    assert_eq!(
        c14n_id(&xml, "e7", Algorithm::Exclusive, &["p8", "p20"]),
        "<p7:e xmlns:p20=\"urn:20\" xmlns:p7=\"urn:7\" xmlns:p8=\"urn:re7\" xmlns:q7=\"urn:q7\" ID=\"e7\" p7:a=\"7\" q7:b=\"x\"></p7:e>"
    );
}
