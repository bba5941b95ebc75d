"""Every front end answers a response header that cannot be sent with its own 400,
instead of the connection closing without an answer (S3 and Swift are driven over the
wire in tests/functional; these two have no client-given header values at all)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from cumulo import config
from cumulo.app import Cumulo, build
from cumulo.http.asgi import Request
from cumulo.keystone.app import KeystoneApp, Reply
from cumulo.portal.app import PortalApp
from cumulo.portal.web import Response


@pytest.fixture
def cumulo(tmp_path: Path) -> Cumulo:
    return build(config.load({"data_dir": str(tmp_path)}, environ={}))


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _answer(sent: list[dict[str, Any]]) -> tuple[int, dict[str, str], bytes]:
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, sent[1]["body"]


def test_keystone(cumulo: Cumulo) -> None:
    app = KeystoneApp(cumulo.identity, cumulo.settings)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    bad = Reply(200, {"ok": True}, [("X-Subject-Token", "a\r\nSet-Cookie: x=1")])
    asyncio.run(app._send(Request(_scope("/v3"), _receive), send, bad))
    status, headers, body = _answer(sent)
    assert status == 400 and "x-subject-token" not in headers
    assert json.loads(body)["error"]["code"] == 400


def test_portal(cumulo: Cumulo, monkeypatch: pytest.MonkeyPatch) -> None:
    app = PortalApp(cumulo.portal, cumulo.admin, cumulo.settings)

    async def dispatch(request: Request, is_api: bool) -> Response:
        return Response(303, b"", [("Location", "/\n/x")])

    monkeypatch.setattr(app, "_dispatch", dispatch)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(_scope("/credentials"), _receive, send))
    status, headers, body = _answer(sent)
    assert status == 400 and "location" not in headers
    assert headers["content-type"].startswith("text/html") and b"400" in body
