"""The FHIR R4 narrative rules txt-1 and txt-2, i.e. what FHIRPath `htmlChecks()` means.

Why here and not in fhirpathpy: fhirpathpy has no `htmlChecks()`, and R4 declares both
`Narrative.div` invariants (txt-1: only basic HTML elements and attributes; txt-2: some
non-whitespace content) with the same expression `htmlChecks()`. Their normative FHIRPath
is that opaque call, but the same StructureDefinition (hl7.fhir.r4.core#4.0.1,
StructureDefinition-Narrative, element Narrative.div) carries an XPath for each rule that
spells the rule out exactly. This module implements those two XPaths, nothing more or less,
so that a verdict can be traced to the published text:

- txt-1: every element's local name and every attribute's name is in the lists below
  (copied from the txt-1 XPath; note that `xml:lang` is not in that list);
- txt-2: some descendant text is not whitespace, or there is an `img` with a `src`.

The root-element rule of the xhtml type (a `div` in the XHTML namespace) is not part of these
invariants and is left to the structural validator. Named HTML entities (`&nbsp;`, ...) are
accepted: txt-1/txt-2 say nothing about entities, and refusing them would fail narratives
that the rules allow.
"""
from __future__ import annotations

import html.entities
import re
import xml.etree.ElementTree as ET

#: Element local names allowed by the txt-1 XPath.
ALLOWED_ELEMENTS = frozenset((
    "a", "abbr", "acronym", "b", "big", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "dfn", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "q", "samp", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "ul", "var",
))

#: Attribute names allowed by the txt-1 XPath (namespace declarations are not attributes).
ALLOWED_ATTRIBUTES = frozenset((
    "abbr", "accesskey", "align", "alt", "axis", "bgcolor", "border", "cellhalign",
    "cellpadding", "cellspacing", "cellvalign", "char", "charoff", "charset", "cite", "class",
    "colspan", "compact", "coords", "dir", "frame", "headers", "height", "href", "hreflang",
    "hspace", "id", "lang", "longdesc", "name", "nowrap", "rel", "rev", "rowspan", "rules",
    "scope", "shape", "span", "src", "start", "style", "summary", "tabindex", "title", "type",
    "valign", "value", "vspace", "width",
))

_XML_NS = "{http://www.w3.org/XML/1998/namespace}"


_XML_ENTITIES = frozenset(("lt", "gt", "amp", "quot", "apos"))
_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


def _html_entity(match: re.Match) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES or name not in html.entities.name2codepoint:
        return match.group(0)  # XML's own, or unknown: left for the parser to accept or refuse
    return f"&#{html.entities.name2codepoint[name]};"


def _parse(div: str) -> ET.Element:
    """Parse as XML, HTML named entities written as character references (expat knows none)."""
    return ET.fromstring(_NAMED_ENTITY.sub(_html_entity, div))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attribute_name(name: str) -> str:
    """The XPath `name()` of a parsed attribute: `xml:lang` stays prefixed, others are local."""
    if name.startswith(_XML_NS):
        return "xml:" + name[len(_XML_NS):]
    return _local(name)


def narrative_problems(div: str) -> list[str]:
    """What breaks txt-1 or txt-2 in this xhtml text (empty list: both rules hold)."""
    try:
        root = _parse(div)
    except ET.ParseError as exc:
        return [f"not well-formed XHTML: {exc}"]
    problems: list[str] = []
    has_content = False
    for element in root.iter():
        name = _local(element.tag)
        if name not in ALLOWED_ELEMENTS:
            problems.append(f"txt-1: element <{name}> is not allowed")
        for attribute in element.attrib:
            if _attribute_name(attribute) not in ALLOWED_ATTRIBUTES:
                problems.append(f"txt-1: attribute {_attribute_name(attribute)!r} on <{name}> is not allowed")
        texts = (element.text, element.tail if element is not root else None)
        if any(t and t.strip() for t in texts) or (name == "img" and element.get("src")):
            has_content = True
    if not has_content:
        problems.append("txt-2: the narrative has no non-whitespace content")
    return problems
