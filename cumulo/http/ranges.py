"""HTTP ranges (RFC 9110 §14) and conditional requests (§13), shared by Swift and S3."""

from __future__ import annotations

from dataclasses import dataclass

from cumulo import errors
from cumulo.http.asgi import digits, parse_http_date


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str, size: int) -> list[ByteRange] | None:
    """The satisfiable ranges of a Range header; None when it is absent or malformed
    (ignored, as RFC 9110 says); raises InvalidRange when none can be satisfied."""
    header = header.strip()
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    ranges: list[ByteRange] = []
    for part in spec.split(","):
        part = part.strip()
        first, dash, last = part.partition("-")
        first, last = first.strip(), last.strip()
        if not dash or (first and not digits(first)) or (last and not digits(last)):
            return None
        if not first:
            if not last:
                return None
            suffix = int(last)
            if suffix == 0:
                continue
            ranges.append(ByteRange(max(0, size - suffix), size - 1))
            continue
        start = int(first)
        if last and int(last) < start:
            return None
        end = int(last) if last else size - 1
        if start >= size:
            continue
        ranges.append(ByteRange(start, min(end, size - 1)))
    if not ranges:
        raise errors.InvalidRange("the range is not satisfiable", size=size)
    return ranges


def _etags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/").strip('"') for tag in header.split(",") if tag.strip()]


def check_conditions(
    headers: dict[str, str], etag: str, last_modified: float, *, is_read: bool = True
) -> None:
    """Raises PreconditionFailed or NotModified as If-Match / If-None-Match /
    If-Modified-Since / If-Unmodified-Since require (RFC 9110 §13.2.2 order)."""
    if_match = headers.get("if-match")
    if if_match is not None:
        tags = _etags(if_match)
        if "*" not in tags and etag not in tags:
            raise errors.PreconditionFailed("If-Match does not match")
    else:
        since = headers.get("if-unmodified-since")
        when = parse_http_date(since) if since else None
        if when is not None and int(last_modified) > when:
            raise errors.PreconditionFailed("modified since If-Unmodified-Since")
    if_none = headers.get("if-none-match")
    if if_none is not None:
        tags = _etags(if_none)
        if "*" in tags or etag in tags:
            if is_read:
                raise errors.NotModified("If-None-Match matches")
            raise errors.PreconditionFailed("If-None-Match matches")
    elif is_read:
        since = headers.get("if-modified-since")
        when = parse_http_date(since) if since else None
        if when is not None and int(last_modified) <= when:
            raise errors.NotModified("not modified since If-Modified-Since")
