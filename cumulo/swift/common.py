"""What every Swift handler shares: the call context, the response value, header forms.

Header values travel as latin-1 text in ASGI; Swift metadata is UTF-8 bytes. Values are
stored as real text (UTF-8 decoded) so the S3 front end sees the same metadata, and
turned back into latin-1 text on the way out (`wire`). A value that will be sent back as a
header is checked on the way in (`header_value`): one holding CR, LF, NUL or another
control character could not be sent, so it is refused with a 400.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from cumulo.config import Settings
from cumulo.http.asgi import Request, http_date, not_utf8, unsafe_header_value, utc_seconds
from cumulo.model import ObjectRecord
from cumulo.objects.service import ObjectService
from cumulo.swift.errors import HTML, SwiftError, default_body

# Swift's constraints (swift.conf defaults), also advertised in /info.
MAX_META_NAME_LENGTH = 128
MAX_META_VALUE_LENGTH = 256
MAX_META_COUNT = 90
MAX_META_OVERALL_SIZE = 4096
MAX_HEADER_SIZE = 8192
MAX_OBJECT_NAME_LENGTH = 1024
MAX_CONTAINER_NAME_LENGTH = 256
MAX_ACCOUNT_NAME_LENGTH = 256
LISTING_LIMIT = 10000

TRUE_VALUES = {"true", "1", "yes", "on", "t", "y"}


@dataclass
class Call:
    """One authorized request against one account, container or object."""

    request: Request
    objects: ObjectService
    settings: Settings
    account: str  # "AUTH_<project_id>", as it appears in paths
    project_id: str
    can_write: bool = False
    container: str = ""
    obj: str = ""

    def query(self, name: str, default: str = "") -> str:
        return self.request.query.get(name, default)

    def header(self, name: str, default: str = "") -> str:
        return self.request.header(name, default)


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # A streamed body; its length must already be in Content-Length.
    stream: AsyncIterator[bytes] | None = None


def empty(status: int, headers: dict[str, str] | None = None) -> Response:
    """A body-less success, typed as Swift types them."""
    body = default_body(status)
    return Response(status, {"Content-Type": HTML, **(headers or {})}, body)


def created(record: ObjectRecord, etag: str, extra: dict[str, str] | None = None) -> Response:
    """201 for a stored object, with what Swift tells about it."""
    return empty(
        201,
        {
            "Etag": etag,
            "Last-Modified": last_modified(record.last_modified),
            "X-Timestamp": timestamp(record.last_modified),
            **(extra or {}),
        },
    )


def true_value(value: str) -> bool:
    return value.strip().lower() in TRUE_VALUES


def timestamp(when: float) -> str:
    """Swift's X-Timestamp form: 16 characters, 5 decimals."""
    return f"{when:016.05f}"


def last_modified(when: float) -> str:
    # Whole seconds, as the conditionals (If-Modified-Since) compare them.
    return http_date(math.floor(when))


def iso_time(when: float) -> str:
    """The listing form: 2024-01-01T00:00:00.000000 (UTC, no zone suffix), rounded to
    the microsecond as `datetime.fromtimestamp` rounds."""
    fraction, whole = math.modf(when)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    return f"{utc_seconds(int(whole))}.{micro:06d}"


def text(value: str) -> str:
    """A header value as text: its latin-1 wire bytes decoded as UTF-8."""
    return value.encode("latin-1").decode("utf-8", "surrogateescape")


def header_value(name: str, value: str) -> str:
    """A request header's value as text (`text`), when it may be stored and sent back."""
    if unsafe_header_value(value):
        raise SwiftError(400, f"Invalid character in the value of {title(name)}")
    decoded = text(value)
    if not_utf8(decoded):
        # Swift's constraints.check_metadata says this of account and container metadata.
        raise SwiftError(
            400,
            "Metadata must be valid UTF-8"
            if "-meta-" in name
            else f"Invalid UTF-8 in the value of {title(name)}",
        )
    return decoded


def wire(value: str) -> str:
    """Text back to the latin-1 form ASGI headers carry."""
    return value.encode("utf-8", "surrogateescape").decode("latin-1")


def title(name: str) -> str:
    """x-object-meta-foo-bar -> X-Object-Meta-Foo-Bar, as swob shows header names."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def check_utf8(name: str) -> None:
    """Swift refuses names (and listing parameters) that are not UTF-8 or hold NUL."""
    if "\x00" in name or any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        raise SwiftError(412, "Invalid UTF8 or contains NULL")


def check_name(name: str, what: str, limit: int) -> None:
    check_utf8(name)
    size = len(name.encode())
    if size > limit:
        raise SwiftError(400, f"{what} name length of {size} longer than {limit}")


def metadata_changes(
    headers: dict[str, str], prefix: str, *, allow_remove: bool = True
) -> dict[str, str | None]:
    """User metadata headers `<prefix>-meta-*` as {name suffix (lowercase): value or None}.

    None removes: an empty value, or X-Remove-<Prefix>-Meta-Name (Swift's two ways).
    """
    meta = f"{prefix}-meta-"
    remove = f"x-remove-{prefix.removeprefix('x-')}-meta-"
    changes: dict[str, str | None] = {}
    for name, value in headers.items():
        if name.startswith(meta):
            changes[name[len(meta) :]] = header_value(name, value) or None
        elif allow_remove and name.startswith(remove):
            changes.setdefault(name[len(remove) :], None)
    check_metadata({k: v for k, v in changes.items() if v is not None}, prefix)
    return changes


def check_metadata(metadata: dict[str, str], prefix: str) -> None:
    """Swift's constraints.check_metadata, with its messages."""
    total = 0
    for name, value in metadata.items():
        if not name:
            raise SwiftError(400, "Metadata name cannot be empty")
        name_size, value_size = len(name.encode()), len(value.encode())
        if name_size > MAX_META_NAME_LENGTH:
            raise SwiftError(400, f"Metadata name too long: {prefix}-meta-{name}")
        if value_size > MAX_META_VALUE_LENGTH:
            raise SwiftError(400, f"Metadata value longer than {MAX_META_VALUE_LENGTH}: {name}")
        total += name_size + value_size
    if len(metadata) > MAX_META_COUNT:
        raise SwiftError(400, f"Too many metadata items; max {MAX_META_COUNT}")
    if total > MAX_META_OVERALL_SIZE:
        raise SwiftError(400, f"Total metadata too large; max {MAX_META_OVERALL_SIZE}")


def meta_headers(metadata: dict[str, str], prefix: str) -> dict[str, str]:
    """Stored {suffix: value} back as X-<Prefix>-Meta-Suffix headers."""
    return {title(f"{prefix}-meta-{k}"): wire(v) for k, v in sorted(metadata.items())}
