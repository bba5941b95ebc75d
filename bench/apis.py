"""What a request looks like for each API the bench drives.

Each API object is plain data plus ``build(op, container, key)`` returning
``(method, target, headers, body)`` and ``ok(op, status)``; the load generator
(``bench.load``) is the same for all of them. Objects are picklable-free by design:
load processes are forked, so they inherit these objects as they are.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bench.http import S3Signer, target_of

SMALL_BODY = os.urandom(4096)

OK = {
    "put": (200, 201),
    "put0": (200, 201),
    "get": (200,),
    "head": (200, 204),
    "delete": (200, 204),
    "issue": (200, 201),
    "validate": (200,),
}

Req = tuple[str, str, list[tuple[str, str]], bytes]


class _ObjectOps:
    """The workload's object operations, in terms of each API's `req`."""

    def req(self, method: str, container: str = "", key: str = "", *, body: bytes = b"") -> Req:
        raise NotImplementedError

    def build(self, op: str, container: str, key: str) -> Req:
        if op == "put":
            return self.req("PUT", container, key, body=SMALL_BODY)
        if op == "put0":
            return self.req("PUT", container, key)
        return self.req(op.upper(), container, key)

    def ok(self, op: str, status: int) -> bool:
        return status in OK[op]


@dataclass
class S3Api(_ObjectOps):
    host: str
    port: int
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    signer: S3Signer = field(init=False)
    kind: str = "s3"

    def __post_init__(self) -> None:
        self.signer = S3Signer(
            self.access_key, self.secret_key, self.region, f"{self.host}:{self.port}"
        )

    def req(
        self,
        method: str,
        bucket: str,
        key: str = "",
        query: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> Req:
        path = "/" + bucket + ("/" + quote(key, safe="/~") if key else "")
        query = query or []
        return method, target_of(path, query), self.signer.headers(method, path, query), body


@dataclass
class SwiftApi(_ObjectOps):
    host: str
    port: int
    account_path: str  # /v1/AUTH_<project>
    token: str
    kind: str = "swift"

    def req(
        self,
        method: str,
        container: str = "",
        key: str = "",
        query: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        extra: list[tuple[str, str]] | None = None,
    ) -> Req:
        path = self.account_path + ("/" + container if container else "")
        path += "/" + quote(key, safe="/~") if key else ""
        headers = [("Host", f"{self.host}:{self.port}"), ("X-Auth-Token", self.token)]
        if extra:
            headers.extend(extra)
        return method, target_of(path, query or []), headers, body


@dataclass
class KeystoneApi:
    """Token issue (POST /v3/auth/tokens) and validation (GET with X-Subject-Token)."""

    host: str
    port: int
    username: str
    password: str
    project_name: str
    token: str = ""  # for validation: the caller's own token, validated as subject
    kind: str = "keystone"

    def body(self) -> bytes:
        return json.dumps(
            {
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {
                                "name": self.username,
                                "domain": {"name": "Default"},
                                "password": self.password,
                            }
                        },
                    },
                    "scope": {
                        "project": {"name": self.project_name, "domain": {"name": "Default"}}
                    },
                }
            }
        ).encode()

    def build(self, op: str, container: str, key: str) -> Req:
        host = [("Host", f"{self.host}:{self.port}")]
        if op == "issue":
            return (
                "POST",
                "/v3/auth/tokens?nocatalog",
                [*host, ("Content-Type", "application/json")],
                self.body(),
            )
        return (
            "GET",
            "/v3/auth/tokens?nocatalog",
            [*host, ("X-Auth-Token", self.token), ("X-Subject-Token", self.token)],
            b"",
        )

    def ok(self, op: str, status: int) -> bool:
        return status in OK[op]


@dataclass
class TempAuthApi:
    """OpenStack Swift's tempauth: GET /auth/v1.0 issues (or returns the cached) token."""

    host: str
    port: int
    user: str
    key: str
    kind: str = "tempauth"

    def build(self, op: str, container: str, key: str) -> Req:
        headers = [
            ("Host", f"{self.host}:{self.port}"),
            ("X-Auth-User", self.user),
            ("X-Auth-Key", self.key),
        ]
        return "GET", "/auth/v1.0", headers, b""

    def ok(self, op: str, status: int) -> bool:
        return status == 200


@dataclass
class PlainApi:
    """GET / on a bare app (the ceiling of the HTTP server stack)."""

    host: str
    port: int
    kind: str = "plain"

    def build(self, op: str, container: str, key: str) -> Req:
        return "GET", "/", [("Host", f"{self.host}:{self.port}")], b""

    def ok(self, op: str, status: int) -> bool:
        return status == 200


def cumulo_apis(info: dict[str, Any]) -> tuple[S3Api, KeystoneApi, SwiftApi]:
    """The S3, Keystone and Swift clients of the Cumulo a bench started (`Server.info`);
    the Swift one holds a fresh token."""
    s3c, osc = info["creds"]["s3"], info["creds"]["openstack"]
    s3 = S3Api(
        "127.0.0.1",
        info["object_port"],
        s3c["access_key_id"],
        s3c["secret_access_key"],
        s3c["region"],
    )
    ks = KeystoneApi(
        "127.0.0.1", info["identity_port"], osc["username"], osc["password"], osc["project_name"]
    )
    swift = SwiftApi(
        "127.0.0.1", info["object_port"], f"/v1/AUTH_{osc['project_id']}", keystone_token(ks)
    )
    return s3, ks, swift


def keystone_token(ks: KeystoneApi) -> str:
    from bench.http import SyncConn

    conn = SyncConn(ks.host, ks.port)
    m, target, headers, body = ks.build("issue", "", "")
    status, resp, data, _ = conn.request(m, target, headers, body)
    conn.close()
    if status != 201:
        raise RuntimeError(f"token issue failed: {status} {data[:300]!r}")
    return str(resp["x-subject-token"])
