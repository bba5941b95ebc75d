"""SwiftApp in-process: routing, auth outcomes and the internal-error wrapper."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from cumulo import config, errors
from cumulo.app import Cumulo, build
from cumulo.model import Role
from cumulo.swift.app import SwiftApp


@pytest.fixture
def cumulo(tmp_path: Path) -> Cumulo:
    return build(config.load({"data_dir": str(tmp_path)}, environ={}))


def _token(cumulo: Cumulo, role: Role = Role.MEMBER) -> tuple[str, str]:
    identity = cumulo.identity
    identity.create_organization("org")
    env = identity.create_environment("org", "env")
    identity.create_user("alice")
    member = identity.add_member("org", "env", "alice", role)
    password = identity.credentials("alice", "org", "env").password
    result = identity.authenticate(username=member.username, password=password)
    return result.token, env.project_id


def call(
    app: Any, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    found = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], found, b"".join(m.get("body", b"") for m in sent[1:])


def test_info_and_unknown_paths(cumulo: Cumulo) -> None:
    app = SwiftApp(cumulo.identity, cumulo.objects, cumulo.settings)
    status, headers, body = call(app, "GET", "/info")
    assert status == 200 and b'"slo"' in body
    assert call(app, "POST", "/info")[0] == 405
    status, headers, body = call(app, "GET", "/bucket/key")
    assert status == 404 and headers["content-type"].startswith("text/plain")


def test_fallback_gets_other_paths(cumulo: Cumulo) -> None:
    seen: list[str] = []

    async def fallback(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"s3"})

    app = SwiftApp(cumulo.identity, cumulo.objects, cumulo.settings, fallback=fallback)
    assert call(app, "GET", "/bucket/key")[2] == b"s3"
    assert call(app, "GET", "/info")[0] == 200
    assert seen == ["/bucket/key"]


def test_every_response_carries_the_request_id(cumulo: Cumulo) -> None:
    app = SwiftApp(cumulo.identity, cumulo.objects, cumulo.settings)
    status, headers, _ = call(app, "GET", "/v1/AUTH_x")
    assert status == 401
    assert headers["x-trans-id"] == headers["x-openstack-request-id"]
    assert headers["x-trans-id"].startswith("tx")


def test_unexpected_errors_show_only_the_request_id(
    cumulo: Cumulo, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token, project = _token(cumulo)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(cumulo.objects, "account", broken)
    app = SwiftApp(cumulo.identity, cumulo.objects, cumulo.settings)
    with caplog.at_level(logging.ERROR, logger="cumulo.swift"):
        status, headers, body = call(app, "HEAD", f"/v1/AUTH_{project}", {"X-Auth-Token": token})
        assert status == 500
        status, headers, body = call(app, "GET", f"/v1/AUTH_{project}", {"X-Auth-Token": token})
    assert status == 500
    assert body.decode() == f"Internal Error (request {headers['x-trans-id']})\n"
    assert b"hunter2" not in body
    assert "hunter2" in caplog.text  # the traceback is logged, not shown


def test_unmapped_domain_errors_are_internal(
    cumulo: Cumulo, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, project = _token(cumulo)

    async def unmapped(*args: object, **kwargs: object) -> None:
        raise errors.CumuloError("internal detail")

    monkeypatch.setattr(cumulo.objects, "account", unmapped)
    app = SwiftApp(cumulo.identity, cumulo.objects, cumulo.settings)
    status, _, body = call(app, "GET", f"/v1/AUTH_{project}", {"X-Auth-Token": token})
    assert status == 500 and b"internal detail" not in body


def test_read_only_role_cannot_write(cumulo: Cumulo) -> None:
    token, project = _token(cumulo, Role.READ_ONLY)
    app = SwiftApp(cumulo.identity, cumulo.objects, cumulo.settings)
    assert call(app, "PUT", f"/v1/AUTH_{project}/c", {"X-Auth-Token": token})[0] == 403
    assert call(app, "GET", f"/v1/AUTH_{project}", {"X-Auth-Token": token})[0] == 204
