"""S3App in-process: error documents, URIs that are not UTF-8, and connections whose
request body was left unread."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from cumulo import config
from cumulo.app import Cumulo, build
from cumulo.s3.app import S3App


@pytest.fixture
def app(tmp_path: Path) -> S3App:
    cumulo: Cumulo = build(config.load({"data_dir": str(tmp_path)}, environ={}))
    return S3App(cumulo.identity, cumulo.objects, cumulo.multipart, cumulo.settings)


def call(
    app: S3App,
    method: str,
    path: bytes,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    query: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path.decode("latin-1"),
        "raw_path": path,
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    asyncio.run(app(scope, receive, send))
    found = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], found, b"".join(m.get("body", b"") for m in sent[1:])


def _code(body: bytes) -> str:
    return ET.fromstring(body).findtext("Code") or ""


def test_anonymous_requests_get_s3_errors_with_a_request_id(app: S3App) -> None:
    status, headers, body = call(app, "GET", b"/")
    assert status == 403 and _code(body) == "AccessDenied"
    assert ET.fromstring(body).findtext("RequestId") == headers["x-amz-request-id"]


@pytest.mark.parametrize(
    ("path", "query"),
    [(b"/bucket/%FF%FE", b""), (b"/bucket", b"prefix=%FF"), (b"/b", b"continuation-token=%C3")],
)
def test_uris_that_are_not_utf8_are_invalid(app: S3App, path: bytes, query: bytes) -> None:
    status, _, body = call(app, "GET", path, query=query)
    assert (status, _code(body)) == (400, "InvalidURI")


def test_an_unread_body_closes_the_connection(app: S3App) -> None:
    # Refused before its body is read (anonymous write): the connection must not be reused.
    status, headers, _ = call(
        app, "PUT", b"/bucket/key", {"content-length": "5", "expect": "100-continue"}
    )
    assert status == 403 and headers.get("connection") == "close"
    status, headers, _ = call(app, "GET", b"/")
    assert "connection" not in headers
