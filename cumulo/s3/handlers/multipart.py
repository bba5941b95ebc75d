"""Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
CompleteMultipartUpload, AbortMultipartUpload and ListParts.

Part checksums are echoed on UploadPart only when the client asked for one (the AWS CLI
then lists them in CompleteMultipartUpload). The object's checksum is S3's composite
form, `<checksum of the part checksums>-<N>`.
"""

from __future__ import annotations

import re

from cumulo.auth.checksums import composite_checksum, normalize_algorithm
from cumulo.auth.errors import AuthError
from cumulo.http.asgi import digits
from cumulo.model import Upload
from cumulo.s3 import errors as s3
from cumulo.s3.app import Reply, S3App, xml_reply
from cumulo.s3.context import S3Call, Target, owner
from cumulo.s3.handlers.buckets import iso8601, object_acl_header
from cumulo.s3.handlers.objects import source_object
from cumulo.s3.headers import content_type, stored_headers, user_metadata
from cumulo.s3.router import Op
from cumulo.s3.xml import MAX_PARTS, Node, parse_complete_multipart_upload


async def _upload(app: S3App, call: S3Call, target: Target) -> Upload:
    return await app.multipart.get(
        target.project_id, target.bucket, call.key, call.query.get("uploadId", "")
    )


def _part_number(call: S3Call) -> int:
    value = call.query.get("partNumber", "")
    if not digits(value):
        raise s3.InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=value,
        )
    return int(value)


async def create_multipart_upload(app: S3App, call: S3Call, target: Target) -> Reply:
    algorithm = call.header("x-amz-checksum-algorithm") or None
    if algorithm is not None:
        try:
            algorithm = normalize_algorithm(algorithm)
        except AuthError as exc:
            raise s3.from_auth(exc) from None
    upload = await app.multipart.create(
        target.project_id,
        target.bucket,
        call.key,
        content_type=content_type(call.request.headers, call.key),
        metadata=user_metadata(call.request.headers),
        headers={**stored_headers(call.request.headers), **object_acl_header(call)},
        checksum_algorithm=algorithm,
        principal=call.principal.username if call.principal else "anonymous",
    )
    headers = [("x-amz-checksum-algorithm", algorithm)] if algorithm else []
    result = Node(
        "InitiateMultipartUploadResult", Bucket=target.bucket, Key=call.key, UploadId=upload.id
    )
    reply = xml_reply(result)
    reply.headers += headers
    return reply


async def upload_part(app: S3App, call: S3Call, target: Target) -> Reply:
    number = _part_number(call)
    upload = await _upload(app, call, target)
    body = call.body(md5=False)
    part = await app.multipart.upload_part(
        upload, number, body.stream, expected_md5=body.expected_md5, finish=body.finish
    )
    headers = [("ETag", f'"{part.etag}"')]
    if part.checksum and upload.checksum_algorithm:
        headers.append((f"x-amz-checksum-{upload.checksum_algorithm.lower()}", part.checksum))
    return Reply(200, headers)


async def upload_part_copy(app: S3App, call: S3Call, target: Target) -> Reply:
    number = _part_number(call)
    upload = await _upload(app, call, target)
    _, _, pieces, _ = await source_object(app, call, Op.UploadPartCopy)
    size = sum(p.length for p in pieces)
    start, end = 0, size - 1
    requested = call.header("x-amz-copy-source-range")
    if requested:
        start, end = _copy_source_range(requested, size)
    part = await app.multipart.copy_part(upload, number, pieces, start, end)
    return xml_reply(
        Node("CopyPartResult", LastModified=iso8601(part.last_modified), ETag=f'"{part.etag}"')
    )


_COPY_RANGE = re.compile(r"bytes=([0-9]+)-([0-9]+)", re.ASCII)


def _copy_source_range(requested: str, size: int) -> tuple[int, int]:
    """UploadPartCopy's range: exactly `bytes=first-last`, inside the source. AWS does not
    clamp it as a GET's Range is clamped: a range past the end is an InvalidArgument."""
    found = _COPY_RANGE.fullmatch(requested.strip())
    if found is None or int(found[1]) > int(found[2]):
        raise s3.InvalidArgument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=requested,
        )
    start, end = int(found[1]), int(found[2])
    if end >= size:
        raise s3.InvalidArgument(
            f"Range specified is not valid for source object of size: {size}",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=requested,
        )
    return start, end


async def complete_multipart_upload(app: S3App, call: S3Call, target: Target) -> Reply:
    upload = await _upload(app, call, target)
    parts = parse_complete_multipart_upload(await call.document())
    chosen = [(p.number, p.etag) for p in parts]
    checksums: dict[str, str] = {}
    algorithm = upload.checksum_algorithm
    if algorithm:
        stored = {p.number: p for p in await app.multipart.parts(upload, limit=10000)}
        # A part checksum the client lists must be the one its UploadPart was given
        # (checksums of another algorithm than the upload's were never computed).
        for part in parts:
            given = part.checksums.get(algorithm)
            known = stored.get(part.number)
            if given is not None and known is not None and known.checksum != given:
                raise s3.InvalidPart()
        values = [stored[n].checksum for n, _ in chosen if n in stored]
        if len(values) == len(chosen) and all(values):
            checksums[algorithm] = composite_checksum(algorithm, [v for v in values if v])
    record = await app.multipart.complete(upload, chosen, checksums=checksums)
    location = f"{app.settings.public_object_url}/{target.bucket}/{call.key}"
    result = Node(
        "CompleteMultipartUploadResult",
        Location=location,
        Bucket=target.bucket,
        Key=call.key,
        ETag=f'"{record.etag}"',
        **{f"Checksum{a}": v for a, v in checksums.items()},
    )
    return xml_reply(result)


async def abort_multipart_upload(app: S3App, call: S3Call, target: Target) -> Reply:
    await app.multipart.abort(await _upload(app, call, target))
    return Reply(204)


async def list_parts(app: S3App, call: S3Call, target: Target) -> Reply:
    upload = await _upload(app, call, target)
    marker = call.query.get("part-number-marker", "0")
    limit_text = call.query.get("max-parts", "1000")
    if not digits(marker) or not digits(limit_text):
        raise s3.InvalidArgument("part-number-marker and max-parts must be integers")
    limit = min(int(limit_text), 1000)
    # No part is numbered above MAX_PARTS: a larger marker lists nothing (and would not
    # fit the database's integers).
    after = min(int(marker), MAX_PARTS)
    parts = await app.multipart.parts(upload, after=after, limit=limit + 1)
    truncated = len(parts) > limit
    parts = parts[:limit]
    algorithm = upload.checksum_algorithm
    me = owner(target.project_id)
    nodes = [
        Node(
            "Part",
            PartNumber=p.number,
            LastModified=iso8601(p.last_modified),
            ETag=f'"{p.etag}"',
            Size=p.size,
            **({f"Checksum{algorithm}": p.checksum} if algorithm and p.checksum else {}),
        )
        for p in parts
    ]
    return xml_reply(
        Node(
            "ListPartsResult",
            Node("Initiator", ID=upload.principal, DisplayName=upload.principal),
            Node("Owner", **me),
            Bucket=target.bucket,
            Key=call.key,
            UploadId=upload.id,
            StorageClass="STANDARD",
            PartNumberMarker=int(marker),
            NextPartNumberMarker=parts[-1].number if truncated else None,
            MaxParts=limit,
            IsTruncated=truncated,
            ChecksumAlgorithm=algorithm,
            Part=nodes,
        )
    )
