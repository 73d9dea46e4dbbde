#!/usr/bin/env python3
"""libxml2 as an independent C14N oracle for tests/c14n_differential.rs.

Reads jobs from stdin, one per line: `<path>\t<ID or ''>\t<mode>\t<space-separated PrefixList>`,
where mode is exc, exc-wc, inc, inc-wc, c11 or c11-wc. Writes for each job
`<length>\n<canonical bytes>`.

The document subset is the XPath node-set of the element's subtree (elements, attributes and
namespace nodes), canonicalized by libxml2's xmlC14NDocDumpMemory through its Python binding.
Exclusive mode with a PrefixList goes through lxml (also libxml2), because the Python binding of
xmlC14NDocDumpMemory cannot pass a prefix list on Python 3; lxml canonicalizes a subtree as the
same document subset for the exclusive algorithm. Canonical XML 1.1 (c11) calls
xmlC14NDocDumpMemory with mode XML_C14N_1_1 through ctypes, because the Python binding turns
its mode argument into the exclusive flag.
"""
import ctypes
import sys

import libxml2
from lxml import etree

libxml2.registerErrorHandler(lambda ctx, msg: None, None)

_lib = ctypes.CDLL("libxml2.so.2")
_lib.xmlReadFile.restype = ctypes.c_void_p
_lib.xmlReadFile.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
_lib.xmlXPathNewContext.restype = ctypes.c_void_p
_lib.xmlXPathNewContext.argtypes = [ctypes.c_void_p]
_lib.xmlXPathEvalExpression.restype = ctypes.c_void_p
_lib.xmlXPathEvalExpression.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
_lib.xmlC14NDocDumpMemory.restype = ctypes.c_int
_lib.xmlC14NDocDumpMemory.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                                      ctypes.c_void_p, ctypes.c_int,
                                      ctypes.POINTER(ctypes.c_void_p)]


class _XPathObject(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("nodesetval", ctypes.c_void_p)]


_c11_docs = {}


def c14n11(path, ident, comments):
    """Canonical XML 1.1 (libxml2 mode 2) of the element with ID `ident` (or the root)."""
    if path not in _c11_docs:
        _c11_docs[path] = _lib.xmlReadFile(path.encode(), None, 0)
    doc = _c11_docs[path]
    ctx = _lib.xmlXPathNewContext(doc)
    if ident:
        expr = "(//. | //@* | //namespace::*)[ancestor-or-self::*[@ID='%s']]" % ident
    else:
        expr = "(//. | //@* | //namespace::*)[ancestor-or-self::*[not(parent::*)]]"
    obj = _lib.xmlXPathEvalExpression(expr.encode(), ctx)
    nodes = _XPathObject.from_address(obj).nodesetval
    out = ctypes.c_void_p()
    n = _lib.xmlC14NDocDumpMemory(doc, nodes, 2, None, 1 if comments else 0, ctypes.byref(out))
    return ctypes.string_at(out, n) if n >= 0 else b""
out = sys.stdout.buffer
cache = {}
for line in sys.stdin:
    path, ident, mode, prefixes = line.rstrip("\n").split("\t")
    prefixes = prefixes.split()
    exclusive = mode.startswith("exc")
    comments = mode.endswith("-wc")
    if mode.startswith("c11"):
        data = c14n11(path, ident, comments)
    elif exclusive and prefixes:
        tree = etree.parse(path, etree.XMLParser(remove_blank_text=False, resolve_entities=False))
        el = tree.getroot() if not ident else tree.xpath("//*[@ID=$i]", i=ident)[0]
        data = etree.tostring(el, method="c14n", exclusive=True, with_comments=comments,
                              inclusive_ns_prefixes=prefixes)
    else:
        if path not in cache:
            cache[path] = libxml2.parseFile(path)
        doc = cache[path]
        ctx = doc.xpathNewContext()
        if ident:
            ctx.xpathRegisterVariable("i", None, ident)
            nodes = ctx.xpathEval("(//. | //@* | //namespace::*)[ancestor-or-self::*[@ID=$i]]")
        else:
            nodes = ctx.xpathEval("(//. | //@* | //namespace::*)[ancestor-or-self::*[not(parent::*)]]")
        data = doc.c14nMemory(nodes, 1 if exclusive else 0, None, 1 if comments else 0)
        ctx.xpathFreeContext()
        if isinstance(data, str):
            data = data.encode("utf-8")
    out.write(b"%d\n" % len(data))
    out.write(data)
out.flush()
