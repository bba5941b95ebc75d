"""Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects and
CopyObject, over the same objects Swift serves.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

from cumulo import errors
from cumulo.http.asgi import digits, http_date
from cumulo.http.ranges import check_conditions, parse_range
from cumulo.model import ObjectRecord
from cumulo.objects.service import Piece
from cumulo.s3 import errors as s3
from cumulo.s3.app import Reply, S3App, xml_reply
from cumulo.s3.context import S3Call, Target
from cumulo.s3.handlers.buckets import iso8601, object_acl_header
from cumulo.s3.handlers.versions import NULL_VERSION, check_version
from cumulo.s3.headers import (
    RESPONSE_OVERRIDES,
    apply_overrides,
    content_type,
    object_headers,
    stored_headers,
    user_metadata,
)
from cumulo.s3.router import Op
from cumulo.s3.xml import Node, parse_delete


def _etag_header(record: ObjectRecord) -> tuple[str, str]:
    return ("ETag", f'"{record.etag}"')


def _checksum_headers(checksums: dict[str, str]) -> list[tuple[str, str]]:
    return [(f"x-amz-checksum-{a.lower()}", v) for a, v in checksums.items()]


async def put_object(app: S3App, call: S3Call, target: Target) -> Reply:
    headers = {**stored_headers(call.request.headers), **object_acl_header(call)}
    metadata = user_metadata(call.request.headers)
    if call.header("if-none-match") == "*":
        try:
            await app.objects.head_object(target.project_id, target.bucket, call.key)
            raise s3.PreconditionFailed(Condition="If-None-Match")
        except errors.NoSuchObject:
            pass
    body = call.body(md5=False)
    record = await app.objects.put_object(
        target.project_id,
        target.bucket,
        call.key,
        body.stream,
        content_type=content_type(call.request.headers, call.key),
        metadata=metadata,
        headers=headers,
        expected_md5=body.expected_md5,
        finish=body.finish,
    )
    return Reply(200, [_etag_header(record), *_checksum_headers(record.checksums)])


async def head_object(app: S3App, call: S3Call, target: Target) -> Reply:
    return await get_object(app, call, target)


async def get_object(app: S3App, call: S3Call, target: Target) -> Reply:
    if call.principal is None and RESPONSE_OVERRIDES.keys() & call.query.keys():
        # Only a signed request may choose the headers of the answer, as in S3: a
        # public link must not become a page of another type (text/html) at will.
        raise s3.InvalidRequest(
            "Request specific response headers cannot be used for anonymous GET requests."
        )
    await check_version(app, target, call.key, call.query.get("versionId"))
    # Again if replaced between reading its record and opening its bytes.
    return await app.objects.retrying(lambda: _get_object_once(app, call, target))


async def _get_object_once(app: S3App, call: S3Call, target: Target) -> Reply:
    record = await app.objects.head_object(target.project_id, target.bucket, call.key)
    pieces, etag = await app.objects.resolve(target.project_id, record)
    check_conditions(call.request.headers, etag, record.last_modified)
    size = sum(p.length for p in pieces)
    part = call.query.get("partNumber")
    range_header = call.header("range")
    ranges = None
    if part is not None:
        ranges = _part_range(record, part, size)
    elif range_header:
        ranges = parse_range(range_header, size)
        if ranges is not None and len(ranges) > 1:
            ranges = ranges[:1]  # S3 serves the first range of a multi-range request
    whole = ranges is None
    want_checksums = call.header("x-amz-checksum-mode").upper() == "ENABLED" and whole
    headers = object_headers(record, etag=etag, checksums=want_checksums)
    headers = [(k, v) for k, v in headers if k != "x-amz-acl"]
    if record.delete_at:
        headers.append(("Expires", http_date(record.delete_at)))
    apply_overrides(headers, call.query)
    if ranges is None:
        start, end, status = 0, size - 1, 200
    else:
        start, end, status = ranges[0].start, ranges[0].end, 206
        headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
    length = max(0, end - start + 1)
    headers.append(("Content-Length", str(length)))
    if call.request.method == "HEAD" or length == 0:
        return Reply(status, headers)
    # The blobs are open before the headers go out: missing bytes are still a 500, and
    # a DELETE or overwrite landing later cannot cut this body short.
    body = await app.objects.open_body(pieces, [(start, end)], source=(target.project_id, record))
    return Reply(status, headers, stream=body.once(start, end))


def _part_range(record: ObjectRecord, part: str, size: int) -> list:  # type: ignore[type-arg]
    from cumulo.http.ranges import ByteRange

    if not digits(part) or int(part) < 1:
        raise s3.InvalidArgument("Part number must be an integer between 1 and 10000")
    number = int(part)
    segments = record.segments if record.manifest_kind is None else ()
    if not segments or len(segments) == 1:
        if number != 1:
            raise s3.InvalidPartNumber()
        return [ByteRange(0, size - 1)] if size else []
    if number > len(segments):
        raise s3.InvalidPartNumber()
    start = sum(s.size for s in segments[: number - 1])
    return [ByteRange(start, start + segments[number - 1].size - 1)]


async def delete_object(app: S3App, call: S3Call, target: Target) -> Reply:
    version = call.query.get("versionId")
    await check_version(app, target, call.key, version)
    try:
        await app.objects.delete_object(target.project_id, target.bucket, call.key)
    except errors.NoSuchObject:
        await app.objects.container(target.project_id, target.bucket)  # NoSuchBucket
    return Reply(204, [("x-amz-version-id", NULL_VERSION)] if version else [])


async def delete_objects(app: S3App, call: S3Call, target: Target) -> Reply:
    raw = await call.document()
    if "content-md5" not in call.request.headers and not any(
        h.startswith("x-amz-checksum-") or h == "x-amz-sdk-checksum-algorithm"
        for h in call.request.headers
    ):
        raise s3.InvalidRequest(
            "Missing required header for this request: Content-MD5 or x-amz-checksum-*"
        )
    request = parse_delete(raw)
    if any(o.conditional for o in request.objects):
        raise s3.NotImplementedOp("Conditional deletes (ETag, LastModifiedTime, Size).")
    await app.objects.container(target.project_id, target.bucket)
    deleted: list[Node] = []
    failed: list[Node] = []
    for item in request.objects:
        key, version = item.key, item.version_id
        if version is not None and version != NULL_VERSION:
            failed.append(
                Node(
                    "Error",
                    Key=key,
                    VersionId=version,
                    Code="NoSuchVersion",
                    Message=s3.NoSuchVersion.message,
                )
            )
            continue
        try:
            await app.objects.delete_object(target.project_id, target.bucket, key)
        except errors.NoSuchObject:
            pass  # S3 reports deleting a missing key as a success
        except errors.CumuloError as exc:
            mapped = s3.from_domain(exc) or s3.InternalError()
            failed.append(Node("Error", Key=key, Code=mapped.code, Message=mapped.message))
            continue
        if not request.quiet:
            deleted.append(Node("Deleted", Key=key, VersionId=version))
    return xml_reply(Node("DeleteResult", *deleted, *failed))


# --- CopyObject ------------------------------------------------------------------


def copy_source(call: S3Call) -> tuple[Target, str, str | None]:
    """The bucket, key and version named by x-amz-copy-source (`/bucket/key`, url-encoded,
    optionally `?versionId=...`)."""
    raw = call.header("x-amz-copy-source")
    # Split before decoding: a key may hold an encoded "?".
    path, _, query = raw.partition("?")
    versions = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "versionId"]
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key or len(versions) > 1:
        raise s3.InvalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
            ArgumentValue=raw,
        )
    saved = call.bucket
    call.bucket = bucket
    try:
        source = call.target()
    finally:
        call.bucket = saved
    return source, key, versions[0] if versions else None


async def source_object(
    app: S3App, call: S3Call, op: Op
) -> tuple[Target, ObjectRecord, list[Piece], str]:
    target, key, version = copy_source(call)
    saved = call.key
    call.key = key
    try:
        await app.authorize(call, Op.GetObject, target)
    finally:
        call.key = saved
    await check_version(app, target, key, version)
    record = await app.objects.head_object(target.project_id, target.bucket, key)
    pieces, etag = await app.objects.resolve(target.project_id, record)
    conditions = {
        name.removeprefix("x-amz-copy-source-"): value
        for name, value in call.request.headers.items()
        if name.startswith("x-amz-copy-source-if-")
    }
    try:
        check_conditions(conditions, etag, record.last_modified)
    except errors.NotModified:
        raise s3.PreconditionFailed() from None
    return target, record, pieces, etag


async def copy_object(app: S3App, call: S3Call, target: Target) -> Reply:
    return await app.objects.retrying(lambda: _copy_object(app, call, target))


async def _copy_object(app: S3App, call: S3Call, target: Target) -> Reply:
    source_target, source, _, _ = await source_object(app, call, Op.CopyObject)
    directive = call.header("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise s3.InvalidArgument(
            "Unknown metadata directive.",
            ArgumentName="x-amz-metadata-directive",
            ArgumentValue=directive,
        )
    same = source_target.project_id == target.project_id and (
        source_target.bucket,
        source.name,
    ) == (target.bucket, call.key)
    if same and directive == "COPY":
        raise s3.InvalidRequest(
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect "
            "location or encryption attributes."
        )
    if directive == "REPLACE":
        metadata = user_metadata(call.request.headers)
        headers = stored_headers(call.request.headers)
        kind = content_type(call.request.headers, call.key)
    else:
        metadata, headers, kind = dict(source.metadata), dict(source.headers), source.content_type
        headers.pop("x-amz-acl", None)
    headers.update(object_acl_header(call))
    record = await app.objects.copy_object(
        source,
        source_target.project_id,
        target.project_id,
        target.bucket,
        call.key,
        content_type=kind,
        metadata=metadata,
        headers=headers,
    )
    result = Node(
        "CopyObjectResult",
        LastModified=iso8601(record.last_modified),
        ETag=f'"{record.etag}"',
        **{f"Checksum{a}": v for a, v in source.checksums.items() if "-" not in v},
    )
    return xml_reply(result)
