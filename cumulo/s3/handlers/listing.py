"""ListObjects (v1), ListObjectsV2, ListObjectVersions and ListMultipartUploads.

Keys come in UTF-8 byte order. With `encoding-type=url`, keys and prefixes in the
response are percent-encoded (as `aws s3 ls` asks). A page is fetched with one more
entry than asked for, to know whether the listing is truncated.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from urllib.parse import quote
from xml.sax.saxutils import escape

from cumulo.http.asgi import digits
from cumulo.model import ListEntry
from cumulo.s3 import errors as s3
from cumulo.s3.app import Reply, S3App, xml_reply
from cumulo.s3.context import S3Call, Target, owner
from cumulo.s3.handlers.buckets import iso8601
from cumulo.s3.handlers.versions import NULL_VERSION
from cumulo.s3.xml import Node, Raw

MAX_KEYS = 1000

# How keys and prefixes appear in a response: as stored, or url-encoded.
Encode = Callable[[str], str]


def _max_keys(call: S3Call, name: str = "max-keys") -> int:
    value = call.query.get(name, str(MAX_KEYS))
    if not digits(value):
        raise s3.InvalidArgument(
            "Provided max-keys not an integer or within integer range",
            ArgumentName=name,
            ArgumentValue=value,
        )
    return min(int(value), MAX_KEYS)


def _encoder(call: S3Call) -> tuple[str | None, Encode]:
    encoding = call.query.get("encoding-type")
    if encoding is None:
        return None, lambda value: value
    if encoding != "url":
        raise s3.InvalidArgument(
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding,
        )
    return "url", lambda value: quote(value, safe="/")


async def _page(
    app: S3App, target: Target, prefix: str, delimiter: str, marker: str, limit: int
) -> tuple[list[ListEntry], bool]:
    entries = await app.objects.list_objects(
        target.project_id,
        target.bucket,
        prefix=prefix,
        delimiter=delimiter,
        marker=marker,
        limit=limit + 1,
    )
    return entries[:limit], len(entries) > limit


def _contents(
    entries: list[ListEntry], encode: Encode, target: Target, with_owner: bool
) -> tuple[list[Raw], list[Node]]:
    # One f-string per entry (a Node tree per entry was two thirds of a page's cost);
    # only the key needs escaping: the rest are hex, digits and dates.
    tail = "<StorageClass>STANDARD</StorageClass>"
    if with_owner:
        tail += Node("Owner", **owner(target.project_id)).render()
    contents = [
        Raw(
            f"<Contents><Key>{escape(encode(e.name))}</Key>"
            f"<LastModified>{iso8601(e.last_modified)}</LastModified>"
            f'<ETag>"{escape(e.etag)}"</ETag><Size>{e.size}</Size>{tail}</Contents>'
        )
        for e in entries
        if not e.is_prefix
    ]
    prefixes = [Node("CommonPrefixes", Prefix=encode(e.name)) for e in entries if e.is_prefix]
    return contents, prefixes


async def list_objects(app: S3App, call: S3Call, target: Target) -> Reply:
    await app.objects.container(target.project_id, target.bucket)
    encoding, encode = _encoder(call)
    prefix = call.query.get("prefix", "")
    delimiter = call.query.get("delimiter", "")
    marker = call.query.get("marker", "")
    limit = _max_keys(call)
    entries, truncated = await _page(app, target, prefix, delimiter, marker, limit)
    contents, prefixes = _contents(entries, encode, target, with_owner=True)
    next_marker = entries[-1].name if truncated and delimiter and entries else None
    return xml_reply(
        Node(
            "ListBucketResult",
            Name=target.bucket,
            Prefix=encode(prefix),
            Marker=encode(marker),
            NextMarker=encode(next_marker) if next_marker else None,
            MaxKeys=limit,
            Delimiter=encode(delimiter) if delimiter else None,
            IsTruncated=truncated,
            EncodingType=encoding,
            Contents=contents,
            CommonPrefixes=prefixes,
        )
    )


def _token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise s3.InvalidArgument(
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
            ArgumentValue=token,
        ) from None


async def list_objects_v2(app: S3App, call: S3Call, target: Target) -> Reply:
    await app.objects.container(target.project_id, target.bucket)
    encoding, encode = _encoder(call)
    prefix = call.query.get("prefix", "")
    delimiter = call.query.get("delimiter", "")
    token = call.query.get("continuation-token")
    start_after = call.query.get("start-after", "")
    marker = _untoken(token) if token is not None else start_after
    limit = _max_keys(call)
    entries, truncated = await _page(app, target, prefix, delimiter, marker, limit)
    contents, prefixes = _contents(
        entries, encode, target, with_owner=call.query.get("fetch-owner") == "true"
    )
    return xml_reply(
        Node(
            "ListBucketResult",
            Name=target.bucket,
            Prefix=encode(prefix),
            Delimiter=encode(delimiter) if delimiter else None,
            MaxKeys=limit,
            KeyCount=len(entries),
            IsTruncated=truncated,
            EncodingType=encoding,
            ContinuationToken=token,
            NextContinuationToken=_token(entries[-1].name) if truncated and entries else None,
            StartAfter=encode(start_after) if start_after else None,
            Contents=contents,
            CommonPrefixes=prefixes,
        )
    )


def _version_marker(call: S3Call, key_marker: str) -> None:
    """Checks version-id-marker: with one version per key (`null`), a page that ended on
    a key ended on its last version, so the key marker alone says where to go on."""
    marker = call.query.get("version-id-marker", "")
    if not marker:
        return
    if not key_marker:
        raise s3.InvalidArgument(
            "A version-id marker cannot be specified without a key marker.",
            ArgumentName="version-id-marker",
            ArgumentValue=marker,
        )
    if marker != NULL_VERSION:
        raise s3.InvalidArgument(
            "Invalid version id specified", ArgumentName="version-id-marker", ArgumentValue=marker
        )


async def list_object_versions(app: S3App, call: S3Call, target: Target) -> Reply:
    """Every object's one version, `null` and latest, in key order (versioning itself
    is not kept yet: the document has the shape it will keep)."""
    await app.objects.container(target.project_id, target.bucket)
    encoding, encode = _encoder(call)
    prefix = call.query.get("prefix", "")
    delimiter = call.query.get("delimiter", "")
    key_marker = call.query.get("key-marker", "")
    _version_marker(call, key_marker)
    limit = _max_keys(call)
    entries, truncated = await _page(app, target, prefix, delimiter, key_marker, limit)
    truncated = truncated and bool(entries)
    tail = "<StorageClass>STANDARD</StorageClass>"
    me = Node("Owner", **owner(target.project_id)).render()
    versions = [
        Raw(
            f"<Version><Key>{escape(encode(e.name))}</Key><VersionId>{NULL_VERSION}</VersionId>"
            f"<IsLatest>true</IsLatest><LastModified>{iso8601(e.last_modified)}</LastModified>"
            f'<ETag>"{escape(e.etag)}"</ETag><Size>{e.size}</Size>{me}{tail}</Version>'
        )
        for e in entries
        if not e.is_prefix
    ]
    prefixes = [Node("CommonPrefixes", Prefix=encode(e.name)) for e in entries if e.is_prefix]
    last = entries[-1] if truncated else None
    return xml_reply(
        Node(
            "ListVersionsResult",
            Name=target.bucket,
            Prefix=encode(prefix),
            KeyMarker=encode(key_marker),
            VersionIdMarker=call.query.get("version-id-marker", ""),
            NextKeyMarker=encode(last.name) if last else None,
            # A page ending on a common prefix ends past all of its keys' versions.
            NextVersionIdMarker=NULL_VERSION if last and not last.is_prefix else None,
            MaxKeys=limit,
            Delimiter=encode(delimiter) if delimiter else None,
            IsTruncated=truncated,
            EncodingType=encoding,
            Version=versions,
            CommonPrefixes=prefixes,
        )
    )


async def list_multipart_uploads(app: S3App, call: S3Call, target: Target) -> Reply:
    encoding, encode = _encoder(call)
    prefix = call.query.get("prefix", "")
    key_marker = call.query.get("key-marker", "")
    upload_marker = call.query.get("upload-id-marker", "")
    limit = _max_keys(call, "max-uploads")
    uploads = await app.multipart.list_uploads(
        target.project_id,
        target.bucket,
        prefix=prefix,
        key_marker=key_marker,
        upload_id_marker=upload_marker if key_marker else "",
        limit=limit + 1,
    )
    truncated = len(uploads) > limit
    uploads = uploads[:limit]
    me = owner(target.project_id)
    nodes = [
        Node(
            "Upload",
            Node("Initiator", ID=u.principal, DisplayName=u.principal),
            Node("Owner", **me),
            Key=encode(u.name),
            UploadId=u.id,
            StorageClass="STANDARD",
            Initiated=iso8601(u.created_at),
        )
        for u in uploads
    ]
    return xml_reply(
        Node(
            "ListMultipartUploadsResult",
            Bucket=target.bucket,
            KeyMarker=encode(key_marker),
            UploadIdMarker=upload_marker,
            NextKeyMarker=encode(uploads[-1].name) if truncated else None,
            NextUploadIdMarker=uploads[-1].id if truncated else None,
            MaxUploads=limit,
            IsTruncated=truncated,
            Prefix=encode(prefix) if prefix else None,
            EncodingType=encoding,
            Upload=nodes,
        )
    )
