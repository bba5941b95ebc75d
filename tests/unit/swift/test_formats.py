"""Listing formats, bulk reports, byte ranges and SLO manifest parsing, without a server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cumulo import errors
from cumulo.http.asgi import Request
from cumulo.model import ListEntry
from cumulo.objects.service import Piece
from cumulo.swift import router
from cumulo.swift.common import Call, check_metadata, title
from cumulo.swift.download import body_response
from cumulo.swift.errors import SwiftError
from cumulo.swift.large import _parse_manifest, _segment_range
from cumulo.swift.listing import listing_format, listing_params, render_objects
from cumulo.swift.report import render_report


def _call(query: str = "", headers: dict[str, str] | None = None) -> Call:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/v1/AUTH_p/c",
        "query_string": query.encode(),
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    return Call(Request(scope, None), None, None, "AUTH_p", "p", container="c")  # type: ignore[arg-type]


def test_format_query_wins_over_accept() -> None:
    assert listing_format(_call("format=xml", {"accept": "application/json"})) == "xml"
    assert listing_format(_call("", {"accept": "application/json"})) == "json"
    assert listing_format(_call("", {"accept": "text/xml;q=0.5, application/json;q=0.9"})) == "json"
    assert listing_format(_call("", {"accept": "*/*"})) == "plain"


def test_limit_rules() -> None:
    assert listing_params(_call("limit=5")).limit == 5
    assert listing_params(_call("limit=abc")).limit == 10000  # ignored, as Swift does
    with pytest.raises(SwiftError) as excinfo:
        listing_params(_call("limit=10001"))
    assert excinfo.value.status == 412
    with pytest.raises(SwiftError):
        listing_params(_call("prefix=%00"))


def test_object_listing_forms() -> None:
    entries = [
        ListEntry("a&b", 3, "e", "text/plain", 0.0),
        ListEntry("d/", is_prefix=True),
    ]
    as_json = json.loads(render_objects(_call("format=json"), entries, {}).body)
    assert as_json == [
        {
            "name": "a&b",
            "hash": "e",
            "bytes": 3,
            "content_type": "text/plain",
            "last_modified": "1970-01-01T00:00:00.000000",
        },
        {"subdir": "d/"},
    ]
    as_xml = render_objects(_call("format=xml"), entries, {}).body.decode()
    assert "<name>a&amp;b</name>" in as_xml
    assert '<subdir name="d/"><name>d/</name></subdir>' in as_xml
    assert render_objects(_call(), entries, {}).body == b"a&b\nd/\n"
    assert render_objects(_call(), [], {}).status == 204


def test_report_forms() -> None:
    summary = {"Number Deleted": 1, "Response Status": "400 Bad Request"}
    problems = [["/c", "409 Conflict"]]
    assert render_report("text/plain", summary, problems, "delete") == (
        b"Number Deleted: 1\nResponse Status: 400 Bad Request\nErrors:\n/c, 409 Conflict\n"
    )
    assert json.loads(render_report("application/json", summary, problems, "delete")) == {
        **summary,
        "Errors": problems,
    }
    xml = render_report("application/xml", summary, problems, "delete").decode()
    assert "<delete><number_deleted>1</number_deleted>" in xml
    assert "<errors><object><name>/c</name><status>409 Conflict</status></object>" in xml


class _Objects:
    """Serves the bytes of one blob named "b"; counts the bodies opened and closed."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.opened = 0
        self.closed = 0

    async def open_body(self, pieces: list[Piece], spans: Any, *, source: Any = None) -> Any:
        self.opened += 1
        return _Body(self)


class _Body:
    def __init__(self, objects: _Objects) -> None:
        self.objects = objects

    async def stream(self, start: int, end: int | None) -> AsyncIterator[bytes]:
        data = self.objects.data
        yield data[start : (len(data) if end is None else end + 1)]

    async def once(self, start: int, end: int | None) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.stream(start, end):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self.objects.closed += 1


async def _collect(stream: AsyncIterator[bytes] | None) -> bytes:
    return b"".join([chunk async for chunk in stream]) if stream else b""


def test_multipart_length_is_exact() -> None:
    data = bytes(range(100))
    objects: Any = _Objects(data)
    response = asyncio.run(
        body_response(
            objects,
            [Piece("b", 0, 100)],
            100,
            {"Content-Type": "x/y"},
            "bytes=0-9,50-",
            is_head=False,
        )
    )
    # The body is opened once, before the response (and its headers) exist.
    assert objects.opened == 1 and objects.closed == 0
    body = asyncio.run(_collect(response.stream))
    assert response.status == 206
    assert int(response.headers["Content-Length"]) == len(body)
    assert b"Content-Range: bytes 50-99/100" in body and body.endswith(b"--")
    assert objects.closed == 1


def test_range_edge_cases() -> None:
    objects: Any = _Objects(b"")
    with pytest.raises(errors.InvalidRange):
        asyncio.run(body_response(objects, [], 0, {}, "bytes=-5", is_head=False))
    whole = asyncio.run(body_response(objects, [], 10, {}, "bytes=a-b", is_head=True))
    assert whole.status == 200 and whole.headers["Content-Length"] == "10"
    assert objects.opened == 0  # HEAD opens nothing


def test_segment_ranges() -> None:
    assert _segment_range("10-19", 100) == (10, 19)
    assert _segment_range("-5", 100) == (95, 99)
    assert _segment_range("90-", 100) == (90, 99)
    assert _segment_range("100-", 100) is None
    assert _segment_range("x", 100) is None


def test_manifest_shape_errors() -> None:
    with pytest.raises(SwiftError) as excinfo:
        _parse_manifest(b'[{"path": "nope"}, {"path": "/c/o", "size_bytes": 0}, 3]', "/c/m")
    text = excinfo.value.body.decode()
    assert 'Index 0: "path" must be of the form /container/object.' in text
    assert "Index 1: too small" in text
    assert "Index 2: not a JSON object" in text
    with pytest.raises(SwiftError) as excinfo:
        _parse_manifest(json.dumps([{"path": "/c/o"}] * 1001).encode(), "/c/m")
    assert excinfo.value.status == 413


def test_metadata_constraints() -> None:
    check_metadata({"a": "b"}, "x-object")
    for bad in ({"n" * 129: "v"}, {"a": "v" * 257}, {str(i): "v" for i in range(91)}):
        with pytest.raises(SwiftError):
            check_metadata(bad, "x-object")
    assert title("x-object-meta-foo-bar") == "X-Object-Meta-Foo-Bar"


def test_only_get_and_head_are_reads() -> None:
    for (_, method), found in router.ROUTES.items():
        assert found.writes == (method not in ("GET", "HEAD"))
    assert router.route("account", "POST", {"bulk-delete": ""}) is router.BULK_DELETE
    assert router.route("object", "PATCH", {}) is None
