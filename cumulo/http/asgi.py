"""Small shared ASGI helpers: a request view over the scope, bodies in and out.

Front ends are plain ASGI callables; these helpers keep the per-request path lean
(no framework routing or middleware stack on the object data path).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote

from cumulo import errors
from cumulo.logs import clip

_log = logging.getLogger("cumulo.http")

Scope = dict[str, Any]
Message = dict[str, Any]
Headers = list[tuple[bytes, bytes]]

# An answer given before the request's body was read (an error: no such bucket, a bad
# signature, a refused size) must still reach a client that keeps sending the body: a
# server that closes with unread bytes sends a reset, and the client, still writing,
# gets EPIPE instead of the answer. Up to DRAIN_BYTES left are read and dropped before
# answering, and the connection stays open. Beyond that the answer goes first, with
# `Connection: close`, and the body is read and dropped while the client sends it (a
# lingering close, as nginx's), for at most LINGER_BYTES and LINGER_SECONDS, and no
# more than LINGER_IDLE_SECONDS between two reads.
DRAIN_BYTES = 4 * 1024 * 1024
LINGER_BYTES = 256 * 1024 * 1024
LINGER_SECONDS = 30.0
LINGER_IDLE_SECONDS = 5.0


class ClientDisconnected(Exception):
    pass


# What uvicorn refuses in a header value (everything below 0x20 except tab, and DEL).
# It refuses once the response has started, so the client would get no answer at all.
_UNSAFE_VALUE = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def unsafe_header_value(value: str) -> bool:
    """The value holds CR, LF, NUL or another control character no HTTP header may
    carry (it would split the header, or the server refuses to send it)."""
    return _UNSAFE_VALUE.search(value) is not None


class UnsafeHeader(Exception):
    """A response header's value cannot be sent (see `unsafe_header_value`); raised
    before anything is sent, so the front end can still answer with its own error."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the value of response header {name!r} holds a control character")
        self.name = name


class _RequestIds:
    """Request ids as Swift shapes them ("tx" + 21 hex digits): a random per-process
    prefix and a counter. uuid4 per request cost a getrandom syscall and a UUID object
    (3.8% of a GET in the profile); ids need to be unique, not unguessable."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._prefix = "tx" + os.urandom(6).hex()
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFF:09x}"


_request_ids = _RequestIds()


class Request:
    __slots__ = (
        "_consumed",
        "_ended",
        "_headers",
        "_query",
        "_received",
        "receive",
        "request_id",
        "scope",
    )

    def __init__(self, scope: Scope, receive: Any) -> None:
        self.scope = scope
        self.receive = receive
        self._headers: dict[str, str] | None = None
        self._query: dict[str, str] | None = None
        self.request_id = _request_ids.next()
        self._consumed = False
        self._ended = False
        self._received = 0

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        """The decoded path (percent-escapes resolved, as UTF-8)."""
        raw = self.scope.get("raw_path")
        if raw:
            return unquote(str(raw.decode("latin-1")).split("?", 1)[0], errors="surrogateescape")
        return str(self.scope["path"])

    @property
    def raw_path(self) -> str:
        raw = self.scope.get("raw_path")
        if raw:
            return str(raw.decode("latin-1")).split("?", 1)[0]
        return str(self.scope["path"])

    @property
    def query_string(self) -> str:
        return str(self.scope.get("query_string", b"").decode("latin-1"))

    @property
    def query(self) -> dict[str, str]:
        if self._query is None:
            self._query = dict(
                parse_qsl(self.query_string, keep_blank_values=True, errors="surrogateescape")
            )
        return self._query

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case header names; repeated headers joined with "," (as SigV4 signs them)."""
        if self._headers is None:
            found: dict[str, str] = {}
            for name, value in self.scope["headers"]:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                found[key] = f"{found[key]},{text}" if key in found else text
            self._headers = found
        return self._headers

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)

    @property
    def client_ip(self) -> str:
        client = self.scope.get("client")
        return str(client[0]) if client else ""

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        if value is None:
            return None
        if not digits(value):
            raise errors.InvalidInput("Content-Length is not a number")
        return int(value)

    async def stream(self) -> AsyncIterator[bytes]:
        """The body, chunk by chunk; raises IncompleteBody when it ends short."""
        if self._consumed:
            return
        self._consumed = True
        expected = self.content_length
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self._ended = True  # nothing more will come
                raise ClientDisconnected()
            chunk = message.get("body", b"")
            if chunk:
                self._received += len(chunk)
                if expected is not None and self._received > expected:
                    raise errors.InvalidInput("the body is longer than Content-Length")
                yield chunk
            if not message.get("more_body", False):
                self._ended = True
                break
        if expected is not None and self._received < expected:
            raise errors.IncompleteBody("the body ended before Content-Length bytes")

    @property
    def body_unread(self) -> bool:
        """The request announced a body that was not read to its end. Answering it on a
        kept-alive connection would desynchronise the connection: a client that sent
        `Expect: 100-continue` and got a final status never sends that body, and the
        HTTP parser would take the next request's bytes for it."""
        if self._ended:
            return False
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return True
        length = self.headers.get("content-length", "0")
        return not digits(length) or int(length) > self._received

    @property
    def awaiting_continue(self) -> bool:
        """The client sent `Expect: 100-continue` and was not told to go on (reading the
        body is what tells it): it sends no body after a final answer."""
        expects = "100-continue" in self.headers.get("expect", "").lower()
        return expects and not self._consumed

    def body_left(self) -> int | None:
        """How many bytes of the declared body have not arrived (None: not declared)."""
        length = self.headers.get("content-length")
        if length is None or not digits(length):
            return None
        return max(0, int(length) - self._received)

    async def discard_body(self, limit: int, seconds: float) -> None:
        """Reads and drops the rest of the body: up to `limit` bytes, for at most
        `seconds` (and LINGER_IDLE_SECONDS between reads). `body_unread` tells whether
        it all came."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        dropped = 0
        while not self._ended and dropped <= limit:
            wait = min(LINGER_IDLE_SECONDS, deadline - loop.time())
            if wait <= 0:
                return
            try:
                message = await asyncio.wait_for(self.receive(), wait)
            except TimeoutError:
                return
            if message["type"] == "http.disconnect":
                self._ended = True
                return
            dropped += len(message.get("body", b""))
            self._received += len(message.get("body", b""))
            if not message.get("more_body", False):
                self._ended = True

    async def body(self, limit: int) -> bytes:
        """The whole body, for small documents only (JSON, XML, manifests)."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.stream():
            size += len(chunk)
            if size > limit:
                raise errors.EntityTooLarge(f"the body is larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    async def json(self, limit: int = 1024 * 1024) -> Any:
        raw = await self.body(limit)
        try:
            document = json.loads(raw)
        except RecursionError:
            # The C decoder recurses per nesting level: `[` x 100000 ends here.
            raise errors.InvalidInput("the body is nested too deeply") from None
        except (ValueError, UnicodeDecodeError):
            raise errors.InvalidInput("the body is not valid JSON") from None
        check_text(document)
        return document


def check_text(document: Any) -> None:
    """Refuses text no UTF-8 can carry. `json.loads` accepts lone surrogates, escaped
    (`"\\ud800"`) or raw (it decodes bytes with `surrogatepass`), and every later
    encode (the database, a hash, the log) would fail on them. Iterative, so nesting
    as deep as the decoder allows cannot exhaust the stack here."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode()
                except UnicodeEncodeError:
                    raise errors.InvalidInput(
                        "the body holds text that is not valid Unicode"
                    ) from None
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def encode_headers(headers: Iterable[tuple[str, str]]) -> Headers:
    """ASGI's form of the headers; raises UnsafeHeader for a value HTTP cannot carry
    (the last line of defense: values from clients are checked where they enter, but a
    value stored before that check must still get an answer, not a dropped connection)."""
    out: Headers = []
    for name, value in headers:
        if _UNSAFE_VALUE.search(value) is not None:
            raise UnsafeHeader(name)
        out.append((name.lower().encode("latin-1"), value.encode("latin-1", "replace")))
    return out


async def send_response(
    send: Any,
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes = b"",
    *,
    head: bool = False,
    linger: Request | None = None,
) -> None:
    """Sends a whole response. With `linger`, the response is all written, then that
    request's body is read and dropped (see LINGER_SECONDS) before the end is marked
    (and, with `Connection: close`, the connection closed)."""
    await _send_whole(send, status, encode_headers(headers), body, head=head, linger=linger)


async def _send_whole(
    send: Any, status: int, out: Headers, body: bytes, *, head: bool, linger: Request | None
) -> None:
    if not any(k == b"content-length" for k, _ in out):
        out.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    if linger is None:
        await send({"type": "http.response.body", "body": b"" if head else body})
        return
    await send({"type": "http.response.body", "body": b"" if head else body, "more_body": True})
    await linger.discard_body(LINGER_BYTES, LINGER_SECONDS)
    await send({"type": "http.response.body", "body": b""})


async def _send_streamed(
    send: Any, status: int, out: Headers, chunks: AsyncIterator[bytes]
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": out})
    async for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def respond(
    request: Request,
    send: Any,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    stream: AsyncIterator[bytes] | None = None,
) -> None:
    """Sends a response, whole or streamed (HEAD: headers only). A request body left
    unread is read and dropped first when it is small, else the connection is closed
    after a lingering read (see DRAIN_BYTES). A failure once streaming has begun can
    only cut the body short: it is logged with the request id. UnsafeHeader is raised
    before anything is sent, with the stream closed unread."""
    linger: Request | None = None
    if request.body_unread and not request.awaiting_continue:
        left = request.body_left()
        if left is not None and left <= DRAIN_BYTES:
            await request.discard_body(DRAIN_BYTES, LINGER_SECONDS)
        else:
            linger = request
    if request.body_unread:
        # Kept alive, the connection's next bytes would be read as the body's (or,
        # from a client waiting for 100-continue, the body as the next request).
        headers = [*headers, ("Connection", "close")]
    try:
        out = encode_headers(headers)
    except UnsafeHeader:
        await close_stream(stream)
        raise
    is_head = request.method == "HEAD"
    if stream is None or is_head:
        await _send_whole(send, status, out, body, head=is_head, linger=linger)
        return
    if linger is not None:
        await request.discard_body(LINGER_BYTES, LINGER_SECONDS)
    try:
        await _send_streamed(send, status, out, stream)
    except ClientDisconnected:
        _log.info("%s: client disconnected", request.request_id)
    except errors.CumuloError as exc:
        # A known fault (stored bytes unreadable mid-body): its message says which.
        log_fault(request, exc, "cut short")
    except Exception:
        _log.exception(
            "%s: %s %s failed while streaming",
            request.request_id,
            clip(request.method),
            clip(request.raw_path),
        )
    finally:
        await close_stream(stream)


def log_fault(request: Request, exc: errors.CumuloError, what: str = "failed") -> None:
    """One line for a server fault with a known cause (a StorageFault names the blob):
    the request and the cause, no traceback."""
    _log.error(
        "%s: %s %s %s: %s",
        request.request_id,
        request.method,  # a token: the HTTP parser takes nothing else
        clip(request.raw_path),
        what,
        exc.message,
    )


async def close_stream(stream: AsyncIterator[bytes] | None) -> None:
    """Gives back what a body stream holds open (blob descriptors), sent or not."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


def json_body(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


@functools.lru_cache(maxsize=4096)
def utc_seconds(second: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS` (UTC) of a whole second, each formatted once: listings
    repeat few distinct seconds across their thousand entries."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def http_date(timestamp: float) -> str:
    from email.utils import formatdate

    return formatdate(timestamp, usegmt=True)


def parse_http_date(value: str) -> float | None:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def header_text(value: str) -> str:
    """A header value as text: its latin-1 wire bytes decoded as UTF-8."""
    return value.encode("latin-1").decode("utf-8", "surrogateescape")


def digits(text: str) -> bool:
    """`text` is a decimal number in ASCII digits. `str.isdigit` alone also takes "²",
    "١" and "１", which int() refuses or reads as digits no HTTP number is written in."""
    return text.isascii() and text.isdigit()


def not_utf8(text: str) -> bool:
    """`header_text` met bytes that are not UTF-8 (kept as lone surrogates): such a
    value can be neither stored as text nor encoded back, so front ends refuse it."""
    return any("\udc80" <= c <= "\udcff" for c in text)


def header_wire(value: str) -> str:
    """Text back to the latin-1 form ASGI headers carry."""
    return value.encode("utf-8", "surrogateescape").decode("latin-1")
