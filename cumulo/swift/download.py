"""Object bodies out: whole, one range (206), several ranges (206 multipart/byteranges).

RFC 9110 §14 as Swift's swob applies it: unsatisfiable ranges are dropped, none left is
416 with `Content-Range: bytes */<size>`, and a Range header asking for too many pieces
is ignored (the whole object is sent), as swob does beyond its limit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from cumulo import errors
from cumulo.http.ranges import ByteRange, parse_range
from cumulo.model import ObjectRecord
from cumulo.objects.service import ObjectService, OpenBody, Piece
from cumulo.swift.common import Response

MAX_RANGES = 50


async def body_response(
    objects: ObjectService,
    pieces: list[Piece],
    size: int,
    headers: dict[str, str],
    range_header: str,
    *,
    is_head: bool,
    source: tuple[str, ObjectRecord] | None = None,
) -> Response:
    """The 200/206 answer. A GET's blobs are opened before it is returned (before any
    header is sent): missing bytes are a 500 the client can still be told, and a
    DELETE or overwrite landing later cannot cut the body short."""
    ranges = parse_range(range_header, size) if range_header else None
    if ranges is not None and size == 0:
        # RFC 9110 §14.1.3: no range, suffix ones included, is satisfiable when empty.
        raise errors.InvalidRange("the object is empty", size=0)
    if ranges is not None and len(ranges) > MAX_RANGES:
        ranges = None
    stream = None
    if ranges is None:
        headers["Content-Length"] = str(size)
        if not is_head and size:
            body = await objects.open_body(pieces, [(0, size - 1)], source=source)
            stream = body.once(0, size - 1)
        return Response(200, headers, stream=stream)
    if len(ranges) == 1:
        first = ranges[0]
        headers["Content-Length"] = str(first.length)
        headers["Content-Range"] = f"bytes {first.start}-{first.end}/{size}"
        if not is_head:
            body = await objects.open_body(pieces, [(first.start, first.end)], source=source)
            stream = body.once(first.start, first.end)
        return Response(206, headers, stream=stream)
    boundary = uuid.uuid4().hex
    part_type = headers.get("Content-Type", "application/octet-stream")
    preambles = [
        (
            f"--{boundary}\r\nContent-Type: {part_type}\r\n"
            f"Content-Range: bytes {r.start}-{r.end}/{size}\r\n\r\n"
        ).encode("latin-1", "replace")
        for r in ranges
    ]
    closing = f"--{boundary}--".encode()
    length = sum(len(p) + r.length + 2 for p, r in zip(preambles, ranges, strict=True))
    headers["Content-Type"] = f"multipart/byteranges;boundary={boundary}"
    headers["Content-Length"] = str(length + len(closing))
    if not is_head:
        spans = [(r.start, r.end) for r in ranges]
        body = await objects.open_body(pieces, spans, source=source)
        stream = _multipart(body, ranges, preambles, closing)
    return Response(206, headers, stream=stream)


async def _multipart(
    body: OpenBody,
    ranges: list[ByteRange],
    preambles: list[bytes],
    closing: bytes,
) -> AsyncIterator[bytes]:
    try:
        for preamble, byte_range in zip(preambles, ranges, strict=True):
            yield preamble
            async for chunk in body.stream(byte_range.start, byte_range.end):
                yield chunk
            yield b"\r\n"
        yield closing
    finally:
        body.close()
