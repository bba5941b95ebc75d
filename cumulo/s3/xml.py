"""S3's XML: one hardened, typed parser per request document, and a small writer.

Request documents (CreateBucketConfiguration, Delete, CompleteMultipartUpload,
AccessControlPolicy) are read as Swift's s3api reads them (each validated against its
schema) and Garage does (each deserialised into its own typed value): a `Shape` names
the elements a document may hold, how often, and which hold text; `parse_*` checks a
body against its shape and returns a typed value. Anything else is `MalformedXML`
(`MalformedACLError` for an ACL): not well-formed, a DTD or an entity declared, an
unknown or repeated element, text where elements belong, elements inside a text
field, nesting deeper or more elements than the shape allows (the parse stops there,
before the tree grows), or a body larger than the limit. Namespaces are not
compared: clients send the S3 namespace or none, and only local names matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from cumulo.s3.errors import MalformedACLError, MalformedXML, S3Error

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_DOCUMENT = 1024 * 1024
MAX_DELETE = 1000  # keys in one DeleteObjects request
MAX_PARTS = 10000  # parts of a multipart upload
MAX_GRANTS = 100  # grants in one ACL, as S3 allows
CHECKSUMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
PERMISSIONS = frozenset({"FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP"})


# --- shapes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A child element: text (no shape) or a nested shape, `low`..`high` times."""

    name: str
    shape: Shape | None = None
    low: int = 0
    high: int = 1


@dataclass(frozen=True)
class Shape:
    name: str
    fields: tuple[Field, ...] = ()

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def depth(self) -> int:
        return 1 + max((f.shape.depth if f.shape else 1 for f in self.fields), default=0)

    @cached_property
    def max_elements(self) -> int:
        return 1 + sum(f.high * (f.shape.max_elements if f.shape else 1) for f in self.fields)


CREATE_BUCKET_CONFIGURATION = Shape("CreateBucketConfiguration", (Field("LocationConstraint"),))

DELETE = Shape(
    "Delete",
    (
        Field(
            "Object",
            Shape(
                "Object",
                (
                    Field("Key", low=1),
                    Field("VersionId"),
                    Field("ETag"),
                    Field("LastModifiedTime"),
                    Field("Size"),
                ),
            ),
            low=1,
            high=MAX_DELETE,
        ),
        Field("Quiet"),
    ),
)

COMPLETE_MULTIPART_UPLOAD = Shape(
    "CompleteMultipartUpload",
    (
        Field(
            "Part",
            Shape(
                "Part",
                (
                    Field("PartNumber", low=1),
                    Field("ETag", low=1),
                    *(Field(f"Checksum{name}") for name in CHECKSUMS),
                ),
            ),
            low=1,
            high=MAX_PARTS,
        ),
    ),
)

_OWNER = Shape("Owner", (Field("ID"), Field("DisplayName")))
_GRANTEE = Shape(
    "Grantee", (Field("ID"), Field("DisplayName"), Field("URI"), Field("EmailAddress"))
)
ACCESS_CONTROL_POLICY = Shape(
    "AccessControlPolicy",
    (
        Field("Owner", _OWNER),
        Field(
            "AccessControlList",
            Shape(
                "AccessControlList",
                (
                    Field(
                        "Grant",
                        Shape("Grant", (Field("Grantee", _GRANTEE, 1), Field("Permission", low=1))),
                        high=MAX_GRANTS,
                    ),
                ),
            ),
            low=1,
        ),
    ),
)


# --- typed documents ------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectIdentifier:
    key: str
    version_id: str | None = None
    etag: str | None = None
    last_modified_time: str | None = None
    size: str | None = None

    @property
    def conditional(self) -> bool:
        return any(v is not None for v in (self.etag, self.last_modified_time, self.size))


@dataclass(frozen=True)
class DeleteRequest:
    objects: list[ObjectIdentifier]
    quiet: bool


@dataclass(frozen=True)
class CompletedPart:
    number: int
    etag: str
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm → value


@dataclass(frozen=True)
class Grant:
    kind: str  # xsi:type: CanonicalUser, Group or AmazonCustomerByEmail
    permission: str
    id: str | None = None
    uri: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class AccessControlPolicy:
    owner_id: str | None
    grants: list[Grant]


def parse_create_bucket_configuration(body: bytes) -> str | None:
    """The LocationConstraint, or None when none is given (an empty one included)."""
    root = _document(body, CREATE_BUCKET_CONFIGURATION)
    return _text(root, "LocationConstraint") or None


def parse_delete(body: bytes) -> DeleteRequest:
    root = _document(body, DELETE)
    objects = [
        ObjectIdentifier(
            key=_text(o, "Key") or "",
            version_id=_text(o, "VersionId"),
            etag=_text(o, "ETag"),
            last_modified_time=_text(o, "LastModifiedTime"),
            size=_text(o, "Size"),
        )
        for o in _children(root, "Object")
    ]
    if any(not o.key for o in objects):
        raise MalformedXML()
    return DeleteRequest(objects, _boolean(_text(root, "Quiet"), MalformedXML))


def parse_complete_multipart_upload(body: bytes) -> list[CompletedPart]:
    root = _document(body, COMPLETE_MULTIPART_UPLOAD)
    parts = []
    for part in _children(root, "Part"):
        number = (_text(part, "PartNumber") or "").strip()
        if not (number.isascii() and number.isdigit()):
            raise MalformedXML()
        checksums = {
            name: value.strip()
            for name in CHECKSUMS
            if (value := _text(part, f"Checksum{name}")) is not None
        }
        parts.append(CompletedPart(int(number), _text(part, "ETag") or "", checksums))
    return parts


def parse_access_control_policy(body: bytes) -> AccessControlPolicy:
    root = _document(body, ACCESS_CONTROL_POLICY, MalformedACLError)
    owner = _child(root, "Owner")
    grants = []
    for acl in _children(root, "AccessControlList"):
        for grant in _children(acl, "Grant"):
            grants.append(_grant(grant))
    return AccessControlPolicy(_text(owner, "ID") if owner is not None else None, grants)


def _grant(grant: Element) -> Grant:
    grantee = _child(grant, "Grantee")
    assert grantee is not None  # the shape requires it
    permission = (_text(grant, "Permission") or "").strip()
    kind = grantee.get(f"{{{XSI}}}type", "")
    found = {name: _text(grantee, name) for name in ("ID", "URI", "EmailAddress")}
    needed = {"CanonicalUser": "ID", "Group": "URI", "AmazonCustomerByEmail": "EmailAddress"}
    if permission not in PERMISSIONS or kind not in needed or not found[needed[kind]]:
        raise MalformedACLError()
    return Grant(kind, permission, found["ID"], found["URI"], found["EmailAddress"])


# --- parsing and validation -------------------------------------------------------------


class _Bounded(TreeBuilder):
    """Builds the tree, stopping as soon as it is deeper or larger than a shape allows."""

    def __init__(self, shape: Shape, error: type[S3Error]) -> None:
        super().__init__()
        self.max_depth, self.max_elements, self.error = shape.depth, shape.max_elements, error
        self.depth = self.elements = 0

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self.depth += 1
        self.elements += 1
        if self.depth > self.max_depth or self.elements > self.max_elements:
            raise self.error()
        return super().start(tag, attrs)

    def end(self, tag: str) -> Element:
        self.depth -= 1
        return super().end(tag)


def _document(body: bytes, shape: Shape, error: type[S3Error] = MalformedXML) -> Element:
    if len(body) > MAX_DOCUMENT:
        raise error()
    parser = DefusedXMLParser(
        target=_Bounded(shape, error), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(body)
        root: Element = parser.close()
    except (DefusedXmlException, SyntaxError, ValueError):
        raise error() from None
    if _local(root.tag) != shape.name:
        raise error()
    _validate(root, shape, error)
    return root


def _validate(element: Element, shape: Shape, error: type[S3Error]) -> None:
    if (element.text or "").strip():
        raise error()  # text where only elements belong
    counts: dict[str, int] = {}
    for child in element:
        name = _local(child.tag)
        spec = shape.by_name.get(name)
        if spec is None or (child.tail or "").strip():
            raise error()
        counts[name] = counts.get(name, 0) + 1
        if counts[name] > spec.high:
            raise error()
        if spec.shape is not None:
            _validate(child, spec.shape, error)
        elif len(child):
            raise error()  # elements inside a text field
    if any(counts.get(f.name, 0) < f.low for f in shape.fields):
        raise error()


def _boolean(value: str | None, error: type[S3Error]) -> bool:
    if value is None:
        return False
    word = value.strip().lower()
    if word not in ("true", "false", "1", "0"):
        raise error()
    return word in ("true", "1")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: Element, name: str) -> Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _text(element: Element, name: str) -> str | None:
    child = _child(element, name)
    return None if child is None else child.text or ""


# --- writing ----------------------------------------------------------------------------


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
