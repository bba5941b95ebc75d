"""S3's XML: one hardened parser (no DTDs, no entities, no network) and a small writer.

Request documents (CompleteMultipartUpload, Delete, AccessControlPolicy,
CreateBucketConfiguration) are small and bounded; anything that is not well-formed,
declares a DTD or an entity, or is larger than the limit is `MalformedXML`.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from cumulo.s3.errors import MalformedXML

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_DOCUMENT = 1024 * 1024


def parse(body: bytes, root: str) -> Element:
    """The root element of a request document, which must be named `root`."""
    if len(body) > MAX_DOCUMENT:
        raise MalformedXML()
    try:
        element: Element = fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except (DefusedXmlException, SyntaxError, ValueError):
        raise MalformedXML() from None
    if local(element.tag) != root:
        raise MalformedXML()
    return element


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(element: Element, name: str) -> list[Element]:
    return [child for child in element if local(child.tag) == name]


def text(element: Element, name: str) -> str | None:
    for child in element:
        if local(child.tag) == name:
            return child.text or ""
    return None


class Raw(str):
    """Markup already rendered (and escaped), placed in a `Node` as it is: for the
    thousand entries of a listing page, formatted in one f-string each."""


class Node:
    """A tiny XML writer: `Node("A", B="x", C=[Node(...)])`; None values are left out."""

    __slots__ = ("attributes", "children", "name", "text")

    def __init__(self, name: str, *items: Node | None, **fields: Any) -> None:
        self.name = name
        self.attributes: dict[str, str] = {}
        self.text = ""
        self.children: list[tuple[str, Any]] = [(item.name, item) for item in items if item]
        for key, value in fields.items():
            if value is None:
                continue
            if isinstance(value, list):
                self.children.extend((key, v) for v in value if v is not None)
            else:
                self.children.append((key, value))

    def attrs(self, **attributes: str) -> Node:
        """Adds attributes; `__` in a name stands for `:` (xmlns__xsi → xmlns:xsi)."""
        self.attributes.update(attributes)
        return self

    def with_text(self, value: str) -> Node:
        self.text = value
        return self

    def render(self) -> str:
        attrs = "".join(
            f' {name.replace("__", ":")}="{escape(value)}"'
            for name, value in self.attributes.items()
        )
        inner = escape(self.text) + "".join(_render(n, v) for n, v in self.children)
        return f"<{self.name}{attrs}>{inner}</{self.name}>"


def _render(name: str, value: Any) -> str:
    if isinstance(value, Node):
        return value.render()
    if isinstance(value, Raw):
        return value
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def document(root: Node) -> bytes:
    root.attrs(xmlns=NS)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + root.render()).encode()
