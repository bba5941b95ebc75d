"""Object headers between S3 and the shared model.

User metadata is `x-amz-meta-<name>` here and `X-Object-Meta-<Name>` in Swift: both are
stored as `<name>` (lower case) in the object's metadata, so each API sees the other's.

Every value that will be sent back as a response header is checked here, where it comes
in: one holding CR, LF, NUL or another control character is refused (InvalidArgument)
rather than stored or echoed, since it could not be sent.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping

from cumulo.http.asgi import header_text, header_wire, http_date, not_utf8, unsafe_header_value
from cumulo.model import ObjectRecord, Upload
from cumulo.s3 import errors as s3

META = "x-amz-meta-"
# Headers S3 stores with an object and returns on GET/HEAD.
STORED = ("content-disposition", "content-encoding", "content-language", "cache-control", "expires")
MAX_METADATA_BYTES = 2048
DEFAULT_TYPE = "binary/octet-stream"


def _checked(name: str, value: str) -> str:
    if unsafe_header_value(value):
        raise s3.unsafe_header(name)
    if not_utf8(value):
        raise s3.InvalidArgument("Header value must be valid UTF-8.", ArgumentName=name)
    return value


def user_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    metadata = {
        name[len(META) :]: _checked(name, header_text(value).strip())
        for name, value in headers.items()
        if name.startswith(META) and len(name) > len(META)
    }
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise s3.S3Error(
            "Your metadata headers exceed the maximum allowed metadata size.",
            code="MetadataTooLarge",
            status=400,
            Size=size,
            MaxSizeAllowed=MAX_METADATA_BYTES,
        )
    return metadata


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    found = {name: _checked(name, header_text(headers[name])) for name in STORED if name in headers}
    # aws-chunked is how the body travelled, not how it is stored.
    encoding = found.get("content-encoding")
    if encoding is not None:
        kept = [e.strip() for e in encoding.split(",") if e.strip().lower() != "aws-chunked"]
        if kept:
            found["content-encoding"] = ", ".join(kept)
        else:
            del found["content-encoding"]
    return found


def content_type(headers: Mapping[str, str], key: str) -> str:
    given = headers.get("content-type")
    if given:
        return _checked("content-type", header_text(given))
    guessed, _ = mimetypes.guess_type(key, strict=False)
    return guessed or DEFAULT_TYPE


def object_headers(
    record: ObjectRecord | Upload, *, etag: str | None = None, checksums: bool = False
) -> list[tuple[str, str]]:
    """Headers describing an object (GET/HEAD), before range and overrides."""
    out: list[tuple[str, str]] = []
    if isinstance(record, ObjectRecord):
        out += [
            ("ETag", f'"{etag or record.etag}"'),
            ("Last-Modified", http_date(record.last_modified)),
            ("Accept-Ranges", "bytes"),
        ]
        if checksums:
            for algorithm, value in record.checksums.items():
                out.append((f"x-amz-checksum-{algorithm.lower()}", value))
                kind = "COMPOSITE" if "-" in value else "FULL_OBJECT"
                out.append(("x-amz-checksum-type", kind))
        if len(record.segments) > 1 and record.manifest_kind is None:
            out.append(("x-amz-mp-parts-count", str(len(record.segments))))
    out.append(("Content-Type", header_wire(record.content_type)))
    out += [(name, header_wire(value)) for name, value in record.headers.items()]
    out += [(META + name, header_wire(value)) for name, value in sorted(record.metadata.items())]
    return out


RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def apply_overrides(headers: list[tuple[str, str]], query: Mapping[str, str]) -> None:
    for param, name in RESPONSE_OVERRIDES.items():
        if param in query:
            value = _checked(param, query[param])
            headers[:] = [(k, v) for k, v in headers if k.lower() != name.lower()]
            headers.append((name, header_wire(value)))
