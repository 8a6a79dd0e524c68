"""XMP packets, parsed safely (defusedxml: no DTD, no entity expansion) into property values.

The same property can be written three ways (an attribute of rdf:Description, an element with
text, an element with rdf:resource), and language alternatives/bags wrap values in rdf:li; all
collapse here to `{"{namespace}Local": [values...]}`, so that readers ask for a property by name.
"""

from __future__ import annotations

from typing import Any

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS = {
    "iptcext": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
}
MAX_XMP_CHARS = 4 * 1024 * 1024


def q(prefix: str, local: str) -> str:
    return "{" + NS[prefix] + "}" + local


def parse_xmp(packet: str) -> dict[str, list[str]]:
    """Property values of an XMP packet; raises (defusedxml / ParseError) for unsafe or broken XML."""
    from defusedxml import ElementTree

    text = packet.strip("\x00 \t\r\n\ufeff")[:MAX_XMP_CHARS]
    root = ElementTree.fromstring(text.encode("utf-8"), forbid_dtd=True, forbid_entities=True,
                                  forbid_external=True)
    values: dict[str, list[str]] = {}
    for el in root.iter():
        if el.tag == "{" + RDF + "}Description":
            for attr, value in el.attrib.items():
                if not attr.startswith("{" + RDF):
                    values.setdefault(attr, []).append(value)
            for child in el:
                _collect(child, values)
    return values


def _collect(el: Any, values: dict[str, list[str]]) -> None:
    """One property element: its text, its rdf:resource, or the rdf:li items inside it."""
    tag = el.tag
    resource = el.attrib.get("{" + RDF + "}resource")
    if resource:
        values.setdefault(tag, []).append(resource)
    items = [li for li in el.iter("{" + RDF + "}li")]
    if items:
        for li in items:
            if (li.text or "").strip():
                values.setdefault(tag, []).append(li.text.strip())
            if li.attrib.get("{" + RDF + "}resource"):
                values.setdefault(tag, []).append(li.attrib["{" + RDF + "}resource"])
    elif (el.text or "").strip():
        values.setdefault(tag, []).append(el.text.strip())


def xmp_values(ctx: Any) -> dict[str, list[str]]:
    """The file's XMP values, parsed once per file (shared by every reader of the same context)."""
    cache = ctx.cache
    if "xmp" not in cache:
        cache["xmp"] = {}  # a packet that fails to parse is reported once (by the first reader), then empty
        cache["xmp"] = parse_xmp(ctx.container.xmp) if ctx.container.xmp else {}
    return cache["xmp"]


def first(values: dict[str, list[str]], prefix: str, local: str) -> str | None:
    found = values.get(q(prefix, local))
    return found[0] if found else None
