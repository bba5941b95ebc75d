"""Object operations (OpenStack Object Storage API v1, "Objects").

User metadata (`X-Object-Meta-*`) is stored under bare lowercase names, the same keys the
S3 front end maps `x-amz-meta-*` to; the other headers Swift keeps with an object
(Content-Disposition, Content-Encoding, ...) go to the record's `headers`.
"""

from __future__ import annotations

import mimetypes
import time
from urllib.parse import quote, unquote

from cumulo import errors
from cumulo.http.ranges import check_conditions
from cumulo.model import ObjectRecord
from cumulo.objects.service import Piece
from cumulo.swift import large
from cumulo.swift.common import (
    MAX_CONTAINER_NAME_LENGTH,
    MAX_OBJECT_NAME_LENGTH,
    Call,
    Response,
    check_name,
    created,
    empty,
    header_value,
    last_modified,
    meta_headers,
    metadata_changes,
    text,
    timestamp,
    title,
    true_value,
    wire,
)
from cumulo.swift.download import body_response
from cumulo.swift.errors import SwiftError

PREFIX = "x-object"

# Headers Swift stores with an object and returns on GET/HEAD (its allowed_headers).
STORED_HEADERS = (
    "content-disposition",
    "content-encoding",
    "content-language",
    "cache-control",
    "expires",
    "x-robots-tag",
)


# --- request parsing ---------------------------------------------------------


def content_type(call: Call, name: str) -> str:
    given = call.header("content-type").strip()
    if given and not true_value(call.header("x-detect-content-type")):
        return header_value("content-type", given)
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def user_metadata(call: Call) -> dict[str, str]:
    changes = metadata_changes(call.request.headers, PREFIX, allow_remove=False)
    return {k: v for k, v in changes.items() if v is not None}


def stored_headers(call: Call) -> dict[str, str]:
    return {
        name: header_value(name, call.header(name)) for name in STORED_HEADERS if call.header(name)
    }


def delete_at(call: Call) -> float | None:
    """X-Delete-After wins over X-Delete-At, as Swift turns the one into the other."""
    now = time.time()
    after = call.header("x-delete-after").strip()
    if after:
        try:
            seconds = int(after)
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-After") from None
        if seconds < 0:
            raise SwiftError(400, "X-Delete-After in past")
        return float(int(now + seconds))
    at = call.header("x-delete-at").strip()
    if at:
        try:
            when = int(at)
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-At") from None
        if when < now:
            raise SwiftError(400, "X-Delete-At in past")
        return float(when)
    return None


def check_object_name(call: Call) -> None:
    check_name(call.obj, "Object", MAX_OBJECT_NAME_LENGTH)


def expected_etag(call: Call) -> str | None:
    given = call.header("etag").strip().strip('"')
    return given or None


# --- response headers ----------------------------------------------------------


def object_headers(record: ObjectRecord, etag: str, size: int | None = None) -> dict[str, str]:
    headers = {
        "Content-Type": wire(record.content_type),
        "Etag": etag,
        "Last-Modified": last_modified(record.last_modified),
        "X-Timestamp": timestamp(record.last_modified),
        "Accept-Ranges": "bytes",
    }
    if size is not None:
        headers["Content-Length"] = str(size)
    for name, value in sorted(record.headers.items()):
        headers[title(name)] = wire(value)
    headers.update(meta_headers(record.metadata, PREFIX))
    if record.delete_at is not None:
        headers["X-Delete-At"] = str(int(record.delete_at))
    if record.manifest_kind == "slo" or _is_multipart(record):
        # As Swift's s3api shows an S3 multipart object: clients then know its
        # ETag ("<md5>-N") is not the MD5 of the bytes.
        headers["X-Static-Large-Object"] = "True"
    return headers


def _is_multipart(record: ObjectRecord) -> bool:
    """Bytes assembled from several parts (an S3 multipart upload)."""
    return record.manifest_kind is None and len(record.segments) > 1


def _quoted_if_large(record: ObjectRecord, etag: str) -> str:
    # Swift quotes a large object's ETag: it is not the MD5 of the bytes.
    return f'"{etag}"' if record.manifest_kind or _is_multipart(record) else etag


# --- handlers ------------------------------------------------------------------


async def put_object(call: Call) -> Response:
    check_object_name(call)
    if call.header("x-copy-from"):
        return await copy_from(call)
    if call.query("multipart-manifest") == "put":
        return await large.put_slo(call, await _put_options(call))
    if "x-object-manifest" in call.request.headers:
        return await large.put_dlo(call, await _put_options(call))
    length = call.request.content_length
    chunked = "chunked" in call.header("transfer-encoding").lower()
    if length is None and not chunked:
        raise SwiftError(411)
    if length is not None and length > call.settings.max_object_size:
        raise SwiftError(413, "Your request is too large.")
    options = await _put_options(call)
    record = await call.objects.put_object(
        call.project_id,
        call.container,
        call.obj,
        call.request.stream(),
        content_type=options.content_type,
        metadata=options.metadata,
        headers=options.headers,
        expected_md5=expected_etag(call),
        delete_at=options.delete_at,
    )
    return created(record, record.etag)


async def _put_options(call: Call) -> large.PutOptions:
    options = large.PutOptions(
        content_type=content_type(call, call.obj),
        metadata=user_metadata(call),
        headers=stored_headers(call),
        delete_at=delete_at(call),
    )
    await _check_if_none_match(call)
    return options


async def _check_if_none_match(call: Call) -> None:
    """`If-None-Match: *` on PUT: create only (Swift refuses any other value)."""
    value = call.header("if-none-match").strip()
    if not value:
        return
    if value != "*":
        raise SwiftError(400, "If-None-Match only supports *")
    try:
        await call.objects.head_object(call.project_id, call.container, call.obj)
    except errors.NoSuchObject:
        return
    raise SwiftError(412)


async def get_object(call: Call) -> Response:
    return await _read(call, is_head=False)


async def head_object(call: Call) -> Response:
    return await _read(call, is_head=True)


async def _read(call: Call, *, is_head: bool) -> Response:
    # Again if replaced between reading its record and opening its bytes.
    return await call.objects.retrying(lambda: _read_once(call, is_head=is_head))


async def _read_once(call: Call, *, is_head: bool) -> Response:
    record = await call.objects.head_object(call.project_id, call.container, call.obj)
    as_stored = call.query("multipart-manifest") == "get"
    raw_dlo = record.manifest_kind == "dlo" and as_stored
    if record.manifest_kind == "slo" and as_stored:
        return large.get_slo_manifest(call, record, object_headers(record, ""))
    if raw_dlo:
        # Swift's dlo middleware lets `multipart-manifest=get` through: the manifest
        # object itself, its own body and ETag.
        pieces: list[Piece] = call.objects.stored_pieces(record)
        etag, size = record.etag, sum(p.length for p in pieces)
    elif record.manifest_kind == "slo" and is_head:
        # The stored size and ETag are the assembled object's; no need to resolve.
        pieces = []
        etag, size = record.etag, record.size
    else:
        pieces, etag = await call.objects.resolve(call.project_id, record)
        size = sum(p.length for p in pieces)
    # A DLO's X-Object-Manifest is among its stored headers.
    shown = etag if raw_dlo else _quoted_if_large(record, etag)
    headers = object_headers(record, shown)
    try:
        check_conditions(call.request.headers, etag, record.last_modified)
    except errors.NotModified:
        return Response(304, {k: v for k, v in headers.items() if k != "Content-Type"})
    except errors.PreconditionFailed:
        raise SwiftError(412, headers={"Etag": headers["Etag"]}) from None
    return await body_response(
        call.objects,
        pieces,
        size,
        headers,
        call.header("range"),
        is_head=is_head,
        source=(call.project_id, record),
    )


async def post_object(call: Call) -> Response:
    record = await call.objects.head_object(call.project_id, call.container, call.obj)
    headers = stored_headers(call)
    if "x-object-manifest" in record.headers:
        headers["x-object-manifest"] = record.headers["x-object-manifest"]
    given_type = call.header("content-type").strip()
    await call.objects.set_object_metadata(
        call.project_id,
        call.container,
        call.obj,
        metadata=user_metadata(call),
        headers=headers,
        content_type=header_value("content-type", given_type) if given_type else None,
        delete_at=delete_at(call),
    )
    return empty(202)


async def delete_object(call: Call) -> Response:
    if call.query("multipart-manifest") == "delete":
        return await large.delete_slo(call)
    await call.objects.delete_object(call.project_id, call.container, call.obj)
    return empty(204)


# --- server-side copy ------------------------------------------------------------


def _split_target(value: str, header: str) -> tuple[str, str]:
    container, _, obj = unquote(text(value), errors="surrogateescape").lstrip("/").partition("/")
    if not container or not obj:
        raise SwiftError(412, f"{header} header must be of the form <container name>/<object name>")
    check_name(container, "Container", MAX_CONTAINER_NAME_LENGTH)
    check_name(obj, "Object", MAX_OBJECT_NAME_LENGTH)
    return container, obj


def _same_account(call: Call, header: str) -> None:
    other = call.header(header).strip()
    if other and unquote(other) != call.account:
        # Cross-account copies would need the other account's rights; not offered.
        raise SwiftError(403)


async def copy_object(call: Call) -> Response:
    """COPY /container/object with `Destination: container/object`."""
    check_object_name(call)
    if not call.header("destination"):
        raise SwiftError(412, "Destination header required")
    _same_account(call, "destination-account")
    container, obj = _split_target(call.header("destination"), "Destination")
    return await _copy(call, (call.container, call.obj), (container, obj))


async def copy_from(call: Call) -> Response:
    """PUT /container/object with `X-Copy-From: container/object`."""
    if call.request.content_length:
        raise SwiftError(400, "Copy requests require a zero byte body")
    _same_account(call, "x-copy-from-account")
    source = _split_target(call.header("x-copy-from"), "X-Copy-From")
    return await _copy(call, source, (call.container, call.obj))


async def _copy(call: Call, source: tuple[str, str], target: tuple[str, str]) -> Response:
    return await call.objects.retrying(lambda: _copy_once(call, source, target))


async def _copy_once(call: Call, source: tuple[str, str], target: tuple[str, str]) -> Response:
    record = await call.objects.head_object(call.project_id, *source)
    fresh = true_value(call.header("x-fresh-metadata"))
    # Swift's copy middleware: the source's metadata, then the request's on top;
    # X-Fresh-Metadata keeps only the request's.
    metadata = {} if fresh else dict(record.metadata)
    for name, value in metadata_changes(call.request.headers, PREFIX, allow_remove=False).items():
        if value is None:
            metadata.pop(name, None)
        else:
            metadata[name] = value
    headers = {} if fresh else {k: v for k, v in record.headers.items() if k in STORED_HEADERS}
    headers.update(stored_headers(call))
    given_type = call.header("content-type").strip()
    kind = content_type(call, target[1]) if given_type else record.content_type
    expiry = delete_at(call)
    if expiry is None and not fresh:
        expiry = record.delete_at
    extra = {
        "X-Copied-From": quote(f"{source[0]}/{source[1]}"),
        "X-Copied-From-Account": quote(call.account),
        "X-Copied-From-Last-Modified": last_modified(record.last_modified),
    }
    if record.manifest_kind == "slo" and call.query("multipart-manifest") == "get":
        copied = await call.objects.put_manifest(
            call.project_id,
            target[0],
            target[1],
            kind="slo",
            manifest=record.manifest or "[]",
            size=record.size,
            etag=record.etag,
            content_type=kind,
            metadata=metadata,
            headers=headers,
            delete_at=expiry,
        )
        return created(copied, f'"{copied.etag}"', extra)
    copied = await call.objects.copy_object(
        record,
        call.project_id,
        call.project_id,
        target[0],
        target[1],
        content_type=kind,
        metadata=metadata,
        headers=headers,
        delete_at=expiry,
    )
    return created(copied, copied.etag, extra)
