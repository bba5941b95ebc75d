"""The bench's HTTP/1.1 clients and request signers.

Two clients, both lean on purpose so that the server, not the client, is what gets
measured:

- ``AsyncConn``: one keep-alive connection over asyncio streams (uvloop when
  installed), for small-object and identity load. One coroutine owns one
  connection; a load cell at concurrency C opens C of them.
- ``SyncConn``: one blocking socket, for large transfers (1 GiB PUT/GET, multipart
  parts): ``sendall`` from a reused buffer and ``recv_into`` a preallocated one, so
  the client copies nothing it does not have to and releases the GIL while waiting.

Signers: ``S3Signer`` signs SigV4 with ``UNSIGNED-PAYLOAD`` (as rclone does) and
caches the derived signing key per day, so a signature costs one SHA-256 and one
HMAC. It reuses ``cumulo.auth.sigv4``'s ``derive_signing_key`` and
``canonical_query_string``, which implement the AWS specification (the same
signatures work against SeaweedFS, which checks them).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from cumulo.auth.sigv4 import canonical_query_string, derive_signing_key

UNSIGNED = "UNSIGNED-PAYLOAD"
SIGNED_HEADERS = "host;x-amz-content-sha256;x-amz-date"


class HTTPError(Exception):
    def __init__(self, method: str, path: str, status: int, body: bytes = b"") -> None:
        super().__init__(f"{method} {path} -> {status} {body[:300]!r}")
        self.status = status


# --- signing ----------------------------------------------------------------------


@dataclass
class S3Signer:
    access_key: str
    secret_key: str
    region: str
    host: str  # the Host header value, e.g. 127.0.0.1:8080
    _keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    _stamp: tuple[int, str] = (0, "")

    def _amz_date(self) -> str:
        now = int(time.time())
        if self._stamp[0] != now:
            self._stamp = (now, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)))
        return self._stamp[1]

    def headers(
        self, method: str, path: str, query: Sequence[tuple[str, str]] = ()
    ) -> list[tuple[str, str]]:
        """Host, x-amz-* and Authorization headers; ``path`` already URI-encoded."""
        amz_date = self._amz_date()
        day = amz_date[:8]
        key = self._keys.get(day)
        if key is None:
            key = self._keys[day] = derive_signing_key(self.secret_key, day, self.region, "s3")
        scope = f"{day}/{self.region}/s3/aws4_request"
        canonical = (
            f"{method}\n{path}\n{canonical_query_string(query, presigned=False) if query else ''}\n"
            f"host:{self.host}\nx-amz-content-sha256:{UNSIGNED}\nx-amz-date:{amz_date}\n\n"
            f"{SIGNED_HEADERS}\n{UNSIGNED}"
        )
        to_sign = (
            f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n"
            f"{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return [
            ("Host", self.host),
            ("x-amz-content-sha256", UNSIGNED),
            ("x-amz-date", amz_date),
            (
                "Authorization",
                f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                f"SignedHeaders={SIGNED_HEADERS}, Signature={signature}",
            ),
        ]


def target_of(path: str, query: Sequence[tuple[str, str]]) -> str:
    if not query:
        return path
    return (
        path + "?" + "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
    )


# --- response parsing ---------------------------------------------------------------


def _parse_head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


def _no_body(method: str, status: int) -> bool:
    return method == "HEAD" or status in (204, 304) or 100 <= status < 200


# --- asyncio client ---------------------------------------------------------------


class AsyncConn:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, limit=1 << 20
        )
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes = b"",
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            await self._connect()
        assert self.reader is not None and self.writer is not None
        head = [f"{method} {target} HTTP/1.1\r\n"]
        head.extend(f"{k}: {v}\r\n" for k, v in headers)
        if body or method in ("PUT", "POST"):
            head.append(f"Content-Length: {len(body)}\r\n")
        head.append("\r\n")
        self.writer.write("".join(head).encode("latin-1") + body)
        reader = self.reader
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            # A keep-alive connection the server closed: retry once on a new one.
            await self.close()
            return await self.request(method, target, headers, body)
        status, resp = _parse_head(raw[:-4])
        data = b""
        if not _no_body(method, status):
            if "content-length" in resp:
                data = await reader.readexactly(int(resp["content-length"]))
            elif "chunked" in resp.get("transfer-encoding", ""):
                parts = []
                while True:
                    size = int((await reader.readline()).split(b";")[0], 16)
                    if size == 0:
                        await reader.readuntil(b"\r\n")
                        break
                    parts.append(await reader.readexactly(size))
                    await reader.readexactly(2)
                data = b"".join(parts)
            else:
                data = await reader.read()
                await self.close()
        if resp.get("connection", "").lower() == "close":
            await self.close()
        return status, resp, data


# --- blocking client (large transfers) ------------------------------------------------


class SyncConn:
    BUF = 4 << 20

    def __init__(self, host: str, port: int, timeout: float = 300) -> None:
        self.addr, self.timeout = (host, port), timeout
        self.buf = bytearray(self.BUF)
        self.view = memoryview(self.buf)
        self._connect()

    def _connect(self) -> None:
        self.sock = socket.create_connection(self.addr, timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = bytearray()
        self.closed = False

    def close(self) -> None:
        self.sock.close()
        self.closed = True

    def _more(self) -> None:
        n = self.sock.recv_into(self.view)
        if n == 0:
            raise ConnectionError("server closed the connection")
        self.pending += self.view[:n]

    def _take(self, n: int) -> bytes:
        while len(self.pending) < n:
            self._more()
        out = bytes(self.pending[:n])
        del self.pending[:n]
        return out

    def _line(self) -> bytes:
        while (i := self.pending.find(b"\r\n")) < 0:
            self._more()
        out = bytes(self.pending[:i])
        del self.pending[: i + 2]
        return out

    def request(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | Iterable[memoryview | bytes] = b"",
        length: int | None = None,
        discard: bool = False,
    ) -> tuple[int, dict[str, str], bytes, int]:
        """Sends a request (body: bytes, or chunks totalling ``length``); returns
        status, headers, body (empty when ``discard``) and the body's size."""
        if isinstance(body, bytes | bytearray):
            length = len(body)
            chunks: Iterable[memoryview | bytes] = (body,) if body else ()
        else:
            chunks = body
        if self.closed:
            self._connect()
        head = [f"{method} {target} HTTP/1.1\r\n"]
        head.extend(f"{k}: {v}\r\n" for k, v in headers)
        if length or method in ("PUT", "POST"):
            head.append(f"Content-Length: {length or 0}\r\n")
        head.append("\r\n")
        self.sock.sendall("".join(head).encode("latin-1"))
        for chunk in chunks:
            self.sock.sendall(chunk)
        while (i := self.pending.find(b"\r\n\r\n")) < 0:
            self._more()
        status, resp = _parse_head(bytes(self.pending[:i]))
        del self.pending[: i + 4]
        out = self._body(method, target, status, resp, discard)
        if resp.get("connection", "").lower() == "close":
            self.close()
        return out

    def _body(
        self, method: str, target: str, status: int, resp: dict[str, str], discard: bool
    ) -> tuple[int, dict[str, str], bytes, int]:
        if _no_body(method, status):
            return status, resp, b"", 0
        if "content-length" in resp:
            return (status, resp, *self._fixed(int(resp["content-length"]), discard))
        if "chunked" in resp.get("transfer-encoding", ""):
            parts, total = [], 0
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    self._line()
                    break
                data, n = self._fixed(size, discard)
                total += n
                if not discard:
                    parts.append(data)
                self._take(2)
            return status, resp, b"".join(parts), total
        raise HTTPError(method, target, status, b"no length")

    def _fixed(self, n: int, discard: bool) -> tuple[bytes, int]:
        if not discard:
            return self._take(n), n
        got = min(n, len(self.pending))
        del self.pending[:got]
        while got < n:
            want = min(self.BUF, n - got)
            r = self.sock.recv_into(self.view, want)
            if r == 0:
                raise ConnectionError("server closed the connection mid-body")
            got += r
        return b"", n
