"""Large objects: static (SLO) and dynamic (DLO) manifests.

OpenStack Object Storage API v1, "Large objects", with the behaviour of Swift's `slo`
and `dlo` middlewares: an SLO manifest is validated segment by segment when it is PUT
(400 with Swift's `Errors:` report otherwise) and its ETag is the MD5 of the segments'
ETags; a DLO is every object under `<container>/<prefix>`, in name order, at read time,
each read as a plain object (a DLO among them gives its own body, as Swift's segment
requests ask with `multipart-manifest=get`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from cumulo import errors
from cumulo.http.asgi import digits
from cumulo.model import ObjectRecord
from cumulo.swift.common import Call, Response, created, empty, header_value, iso_time
from cumulo.swift.errors import SwiftError, status_line, to_swift
from cumulo.swift.report import render_report, report_format

MAX_MANIFEST_SEGMENTS = 1000
MAX_MANIFEST_SIZE = 8 * 1024 * 1024
MIN_SEGMENT_SIZE = 1
MAX_DLO_MANIFEST_BODY = 64 * 1024
SEGMENT_KEYS = {"path", "etag", "size_bytes", "range"}


@dataclass(frozen=True)
class PutOptions:
    """What a PUT says about the object beside its body."""

    content_type: str
    metadata: dict[str, str]
    headers: dict[str, str]
    delete_at: float | None


# --- SLO -----------------------------------------------------------------------


def _parse_manifest(raw: bytes, own_path: str) -> list[dict[str, Any]]:
    """Swift's parse_and_validate_input: shape errors, one line per bad index."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise SwiftError(400, "Manifest must be valid JSON.\n") from None
    if not isinstance(document, list):
        raise SwiftError(400, "Manifest must be a list.\n")
    if len(document) > MAX_MANIFEST_SEGMENTS:
        raise SwiftError(413, f"Number of segments must be <= {MAX_MANIFEST_SEGMENTS}")
    if not document:
        raise SwiftError(400, "Manifest must have at least one segment.\n")
    problems = []
    for index, segment in enumerate(document):
        if not isinstance(segment, dict):
            problems.append(f"Index {index}: not a JSON object")
            continue
        if "path" not in segment or set(segment) - SEGMENT_KEYS:
            problems.append(f'Index {index}: extraneous keys or missing "path"')
            continue
        path = segment["path"]
        if not isinstance(path, str) or not path.startswith("/") or "/" not in path[1:]:
            problems.append(f'Index {index}: "path" must be of the form /container/object.')
            continue
        size = segment.get("size_bytes")
        if size is not None and (not isinstance(size, int) or size < MIN_SEGMENT_SIZE):
            problems.append(
                f"Index {index}: too small; each segment must be at least {MIN_SEGMENT_SIZE} byte."
            )
        etag = segment.get("etag")
        if etag is not None and not isinstance(etag, str):
            problems.append(f'Index {index}: "etag" must be a string or null (if provided)')
        if segment.get("range") is not None and not isinstance(segment["range"], str):
            problems.append(f"Index {index}: invalid range")
        if path == own_path:
            problems.append(f"Index {index}: manifest must not include itself as a segment")
    if problems:
        raise SwiftError(400, "\n".join(problems) + "\n")
    return document


def _segment_range(spec: str, size: int) -> tuple[int, int] | None:
    """A segment's `range` ("a-b", "a-", "-n") as inclusive bounds; None if unsatisfiable."""
    first, dash, last = spec.strip().partition("-")
    if not dash or (first and not digits(first)) or (last and not digits(last)):
        return None
    if not first:
        if not last or int(last) == 0:
            return None
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end


async def put_slo(call: Call, options: PutOptions) -> Response:
    try:
        raw = await call.request.body(MAX_MANIFEST_SIZE)
    except errors.EntityTooLarge:
        raise SwiftError(413, f"Manifest File > {MAX_MANIFEST_SIZE} bytes") from None
    own = f"/{call.container}/{call.obj}"
    document = _parse_manifest(raw, own)
    stored: list[dict[str, Any]] = []
    problems: list[list[str]] = []
    slo_etag = hashlib.md5(usedforsecurity=False)
    total = 0
    for segment in document:
        # Manifest paths are raw names (swiftclient does not encode them), as in Swift.
        path = segment["path"]
        container, _, name = path.lstrip("/").partition("/")
        try:
            record = await call.objects.head_object(call.project_id, container, name)
        except errors.NotFound:
            problems.append([quote(path), status_line(404)])
            continue
        wanted = segment.get("etag")
        if wanted is not None and wanted.strip('"') != record.etag:
            problems.append([quote(path), "Etag Mismatch"])
        if segment.get("size_bytes") is not None and segment["size_bytes"] != record.size:
            problems.append([quote(path), "Size Mismatch"])
        if record.size < MIN_SEGMENT_SIZE:
            problems.append(
                [quote(path), f"Too small; each segment must be at least {MIN_SEGMENT_SIZE} byte."]
            )
            continue
        entry: dict[str, Any] = {
            "name": path,
            "hash": record.etag,
            "bytes": record.size,
            "content_type": record.content_type,
            "last_modified": iso_time(record.last_modified),
        }
        if record.manifest_kind == "slo":
            entry["sub_slo"] = True
        length = record.size
        if segment.get("range") is not None:
            bounds = _segment_range(segment["range"], record.size)
            if bounds is None:
                problems.append([quote(path), "Unsatisfiable Range"])
                continue
            # The object service reads ranges as inclusive [first, last] pairs.
            entry["range"] = list(bounds)
            length = bounds[1] - bounds[0] + 1
            slo_etag.update(f"{record.etag}:{bounds[0]}-{bounds[1]};".encode())
        else:
            slo_etag.update(record.etag.encode())
        total += length
        stored.append(entry)
    if problems:
        kind = report_format(call)
        raise SwiftError(
            400, render_report(kind, {}, problems, "upload").decode(), {"Content-Type": kind}
        )
    etag = slo_etag.hexdigest()
    given = call.header("etag").strip().strip('"')
    if given and given != etag:
        raise SwiftError(422)
    record = await call.objects.put_manifest(
        call.project_id,
        call.container,
        call.obj,
        kind="slo",
        manifest=json.dumps(stored),
        size=total,
        etag=etag,
        content_type=options.content_type,
        metadata=options.metadata,
        headers=options.headers,
        delete_at=options.delete_at,
    )
    return created(record, f'"{etag}"')


def swift_manifest(record: ObjectRecord, *, raw: bool) -> list[dict[str, Any]]:
    """The manifest as Swift shows it: stored form, or the PUT form with `format=raw`."""
    entries: list[dict[str, Any]] = json.loads(record.manifest or "[]")
    shown = []
    for entry in entries:
        span = entry.get("range")
        spec = f"{span[0]}-{span[1]}" if span else None
        if raw:
            item: dict[str, Any] = {
                "path": entry["name"],
                "etag": entry["hash"],
                "size_bytes": entry["bytes"],
            }
        else:
            item = dict(entry)
        if spec is not None:
            item["range"] = spec
        shown.append(item)
    return shown


def get_slo_manifest(call: Call, record: ObjectRecord, headers: dict[str, str]) -> Response:
    raw = call.query("format") == "raw"
    body = json.dumps(swift_manifest(record, raw=raw)).encode()
    headers.update(
        {
            "Content-Type": "application/json; charset=utf-8",
            "Etag": hashlib.md5(body, usedforsecurity=False).hexdigest(),
            "Content-Length": str(len(body)),
        }
    )
    if raw:
        headers.pop("X-Static-Large-Object", None)
    return Response(200, headers, body if call.request.method != "HEAD" else b"")


async def delete_slo(call: Call) -> Response:
    """DELETE ?multipart-manifest=delete: the segments, then the manifest, reported."""
    record = await call.objects.head_object(call.project_id, call.container, call.obj)
    if record.manifest_kind != "slo":
        await call.objects.delete_object(call.project_id, call.container, call.obj)
        return empty(204)
    deleted, not_found = 0, 0
    problems: list[list[str]] = []
    for path in await _segment_paths(call, record, depth=0):
        container, _, name = path.lstrip("/").partition("/")
        try:
            await call.objects.delete_object(call.project_id, container, name)
            deleted += 1
        except errors.NotFound:
            not_found += 1
        except errors.CumuloError as exc:
            mapped = to_swift(exc)
            problems.append([quote(path), status_line(mapped.status if mapped else 500)])
    try:
        await call.objects.delete_object(call.project_id, call.container, call.obj)
        deleted += 1
    except errors.NotFound:
        not_found += 1
    summary: dict[str, Any] = {
        "Number Deleted": deleted,
        "Number Not Found": not_found,
        "Response Status": status_line(400 if problems else 200),
        "Response Body": "",
    }
    kind = report_format(call)
    return Response(200, {"Content-Type": kind}, render_report(kind, summary, problems, "delete"))


async def _segment_paths(call: Call, record: ObjectRecord, depth: int) -> list[str]:
    """Every segment path of an SLO, nested SLOs' segments before the nested manifest."""
    paths: list[str] = []
    for entry in json.loads(record.manifest or "[]"):
        if entry.get("sub_slo") and depth < 10:
            container, _, name = entry["name"].lstrip("/").partition("/")
            try:
                nested = await call.objects.head_object(call.project_id, container, name)
            except errors.NotFound:
                pass
            else:
                paths.extend(await _segment_paths(call, nested, depth + 1))
        paths.append(entry["name"])
    return paths


# --- DLO -----------------------------------------------------------------------


async def put_dlo(call: Call, options: PutOptions) -> Response:
    """PUT with `X-Object-Manifest: <container>/<prefix>` (value URL-encoded or not)."""
    value = header_value("x-object-manifest", call.header("x-object-manifest")).strip()
    target = unquote(value, errors="surrogateescape")
    container, slash, _ = target.lstrip("/").partition("/")
    if not container or not slash:
        raise SwiftError(400, "X-Object-Manifest must be in the format container/prefix")
    # A DLO keeps its own body: Swift serves it when the manifest is read as a plain
    # object (`multipart-manifest=get`, or listed among a DLO's segments).
    try:
        body = await call.request.body(MAX_DLO_MANIFEST_BODY)
    except errors.EntityTooLarge:
        raise SwiftError(413, "Your request is too large.") from None
    record = await call.objects.put_manifest(
        call.project_id,
        call.container,
        call.obj,
        kind="dlo",
        manifest=target.lstrip("/"),
        size=len(body),
        etag=hashlib.md5(body, usedforsecurity=False).hexdigest(),
        content_type=options.content_type,
        metadata=options.metadata,
        headers={**options.headers, "x-object-manifest": value},
        delete_at=options.delete_at,
        body=body,
    )
    return created(record, record.etag)
