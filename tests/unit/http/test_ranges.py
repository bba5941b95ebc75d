from __future__ import annotations

import pytest

from cumulo import errors
from cumulo.http.asgi import http_date
from cumulo.http.ranges import ByteRange, check_conditions, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-0", [ByteRange(0, 0)]),
        ("bytes=2-", [ByteRange(2, 9)]),
        ("bytes=-3", [ByteRange(7, 9)]),
        ("bytes=-30", [ByteRange(0, 9)]),
        ("bytes=5-100", [ByteRange(5, 9)]),
        ("bytes=0-1, 4-5", [ByteRange(0, 1), ByteRange(4, 5)]),
        ("bytes=20-30, 1-1", [ByteRange(1, 1)]),
        ("", None),
        ("items=0-1", None),
        ("bytes=5-1", None),
        ("bytes=x-1", None),
        ("bytes=", None),
    ],
)
def test_parse_range(header: str, expected: list[ByteRange] | None) -> None:
    assert parse_range(header, 10) == expected


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=20-30", "bytes=-0"])
def test_unsatisfiable(header: str) -> None:
    with pytest.raises(errors.InvalidRange):
        parse_range(header, 10)


def test_conditions_in_rfc_order() -> None:
    etag, modified = "abc", 1_000_000.0
    check_conditions({}, etag, modified)
    check_conditions({"if-match": '"abc"'}, etag, modified)
    check_conditions({"if-match": "*"}, etag, modified)
    with pytest.raises(errors.PreconditionFailed):
        check_conditions({"if-match": '"nope"'}, etag, modified)
    with pytest.raises(errors.NotModified):
        check_conditions({"if-none-match": '"abc"'}, etag, modified)
    with pytest.raises(errors.PreconditionFailed):
        check_conditions({"if-none-match": "*"}, etag, modified, is_read=False)
    with pytest.raises(errors.NotModified):
        check_conditions({"if-modified-since": http_date(modified + 10)}, etag, modified)
    check_conditions({"if-modified-since": http_date(modified - 10)}, etag, modified)
    with pytest.raises(errors.PreconditionFailed):
        check_conditions({"if-unmodified-since": http_date(modified - 10)}, etag, modified)
    # If-Match present: If-Unmodified-Since is ignored (RFC 9110 13.2.2).
    check_conditions(
        {"if-match": '"abc"', "if-unmodified-since": http_date(modified - 10)}, etag, modified
    )
    # If-None-Match present: If-Modified-Since is ignored.
    check_conditions(
        {"if-none-match": '"zzz"', "if-modified-since": http_date(modified + 10)}, etag, modified
    )
