#!/usr/bin/env python3
"""libxml2 as an independent C14N oracle for tests/c14n_differential.rs.

Reads jobs from stdin, one per line: `<path>\t<ID or ''>\t<mode>\t<space-separated PrefixList>`,
where mode is exc, exc-wc, inc or inc-wc. Writes for each job `<length>\n<canonical bytes>`.

The document subset is the XPath node-set of the element's subtree (elements, attributes and
namespace nodes), canonicalized by libxml2's xmlC14NDocDumpMemory through its Python binding.
Exclusive mode with a PrefixList goes through lxml (also libxml2), because the Python binding of
xmlC14NDocDumpMemory cannot pass a prefix list on Python 3; lxml canonicalizes a subtree as the
same document subset for the exclusive algorithm.
"""
import sys

import libxml2
from lxml import etree

libxml2.registerErrorHandler(lambda ctx, msg: None, None)
out = sys.stdout.buffer
cache = {}
for line in sys.stdin:
    path, ident, mode, prefixes = line.rstrip("\n").split("\t")
    prefixes = prefixes.split()
    exclusive = mode.startswith("exc")
    comments = mode.endswith("-wc")
    if exclusive and prefixes:
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
