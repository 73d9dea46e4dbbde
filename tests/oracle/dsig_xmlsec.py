#!/usr/bin/env python3
"""libxmlsec1 as the verifier of record for tests/c14n_differential.rs (signature decisions).

Reads jobs from stdin: a header line `<length> <certificate PEM path>` followed by exactly
<length> bytes of an XML document. For each job writes one line: `1` when the first ds:Signature
of the document (in document order) verifies over its parent element with the given certificate's
key, else `0 <reason>`.

The document is parsed by lxml (libxml2) without entity expansion, network access or DTD
loading; every `ID` attribute is registered as an XML ID (as SAML's schema declares it), so
same-document references resolve; the key is the certificate given, never one from KeyInfo.
This is what `xmlsec1 --verify --pubkey-cert-pem <cert> --id-attr:ID ...` does, in-process so
that a million documents take minutes rather than hours.
"""
import sys

import xmlsec
from lxml import etree

DSIG = "http://www.w3.org/2000/09/xmldsig#"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                         huge_tree=False, remove_blank_text=False)
_keys = {}


def key(path):
    if path not in _keys:
        _keys[path] = xmlsec.Key.from_file(path, xmlsec.constants.KeyDataFormatCertPem)
    return _keys[path]


def verify(doc_bytes, cert):
    try:
        root = etree.fromstring(doc_bytes, PARSER)
    except Exception as e:  # noqa: BLE001 - any parse failure is a refusal
        return "0 parse: %s" % str(e).splitlines()[0][:80]
    sig = next(root.iter("{%s}Signature" % DSIG), None)
    if sig is None:
        return "0 no signature"
    try:
        xmlsec.tree.add_ids(root, ["ID"])
        ctx = xmlsec.SignatureContext()
        ctx.key = key(cert)
        ctx.verify(sig)
    except Exception as e:  # noqa: BLE001 - xmlsec raises on every failure
        return "0 verify: %s" % str(e).splitlines()[0][:80] if str(e) else "0 verify"
    return "1"


def main():
    stdin = sys.stdin.buffer
    out = sys.stdout
    while True:
        header = stdin.readline()
        if not header:
            break
        length, cert = header.decode().rstrip("\n").split(" ", 1)
        doc = stdin.read(int(length))
        out.write(verify(doc, cert) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
