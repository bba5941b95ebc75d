"""Requests as real clients put them on the wire, for the auth tests.

``Capture`` drives a real boto3 client and stops each request at botocore's
``before-send`` event, after signing and body encoding: what it records is what
an S3 server would receive, in the shape ``cumulo.auth`` takes.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from cumulo.auth import sigv4

# The credentials of the examples in the S3 API reference (SigV4 section).
DOC_KEY = "AKIAIOSFODNN7EXAMPLE"
DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_NOW = calendar.timegm((2013, 5, 24, 0, 0, 0))

# Object keys that stress path encoding.
KEYS = [
    "plain.txt",
    "a key with spaces",
    "ünïcødé/ключ/鍵.bin",
    "plus+sign",
    "tilde~and_dash-dot.",
    "100%/percent%25",
    "dir/./sub/../x",
    "!$&'()*,;=:@[]",
    "  lead and trail  ",
    "slash//double",
]

ACCESS_KEY = "AKIDCUMULOTEST"
SECRET_KEY = "cumulo/Secret+Key=with~odd chars"


def split_query(query: str) -> list[tuple[str, str]]:
    """Decoded query pairs in their original order ('+' stays '+')."""
    pairs = []
    for part in query.split("&") if query else []:
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return pairs


@dataclass
class Wire:
    method: str
    raw_path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_url(
        cls,
        method: str,
        url: str,
        headers: list[tuple[str, str]] | dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Wire:
        parts = urlsplit(url)
        joined: dict[str, str] = {}
        items = headers.items() if isinstance(headers, dict) else (headers or [])
        for name, value in items:
            name = name.lower()
            # Repeated headers are joined with "," as SigV4 joins them.
            joined[name] = f"{joined[name]},{value}" if name in joined else value
        joined.setdefault("host", parts.netloc)
        return cls(method, parts.path, split_query(parts.query), joined, body)

    def args(self) -> tuple[str, str, list[tuple[str, str]], dict[str, str]]:
        return self.method, self.raw_path, self.query, self.headers


class _Raw:
    def stream(self, **_: object) -> Any:
        yield b"<Response/>"


class Capture:
    """A boto3 S3 client whose requests are recorded instead of sent."""

    def __init__(
        self,
        *,
        signature_version: str = "s3v4",
        addressing_style: str = "path",
        scheme: str = "https",
        region: str = "us-east-1",
        secret_key: str = SECRET_KEY,
        **s3_config: Any,
    ) -> None:
        self.requests: list[Wire] = []
        self.client = boto3.client(
            "s3",
            endpoint_url=f"{scheme}://s3.example.test",
            region_name=region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=secret_key,
            config=Config(
                signature_version=signature_version,
                s3={"addressing_style": addressing_style, **s3_config},
                retries={"max_attempts": 1},
            ),
        )
        self.client.meta.events.register("before-send.s3", self._record)

    def _record(self, request: Any, **_: object) -> AWSResponse:
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = [
            (name, value.decode() if isinstance(value, bytes) else value)
            for name, value in request.headers.items()
        ]
        self.requests.append(Wire.from_url(request.method, request.url, headers, body or b""))
        return AWSResponse(request.url, 200, {}, _Raw())

    def call(self, operation: str, **params: Any) -> Wire:
        getattr(self.client, operation)(**params)
        return self.requests[-1]

    def presign(self, operation: str, expires: int = 3600, **params: Any) -> Wire:
        url = self.client.generate_presigned_url(operation, Params=params, ExpiresIn=expires)
        method = {"put_object": "PUT", "delete_object": "DELETE", "head_object": "HEAD"}
        return Wire.from_url(method.get(operation, "GET"), url)


def verify_v4(
    wire: Wire, secret: str = SECRET_KEY, now: float | None = None, region: str = "us-east-1"
) -> sigv4.Verified:
    """Parse and verify a SigV4 request, at ``now`` or the current time."""
    cred = sigv4.parse(*wire.args())
    assert cred is not None
    return sigv4.verify(cred, secret, *wire.args(), time.time() if now is None else now, region)
