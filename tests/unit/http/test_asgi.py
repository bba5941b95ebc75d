"""An answer given before the request body was read still reaches the client."""

from __future__ import annotations

import asyncio
from typing import Any

from cumulo.http import asgi
from cumulo.http.asgi import Request, respond


class Peer:
    """The server side of one request: the body as ASGI messages, and what was sent,
    in order, with the point where each body message was taken."""

    def __init__(self, body: bytes, chunk: int, *, length: int | None = None) -> None:
        self.messages = [
            {"type": "http.request", "body": body[at : at + chunk], "more_body": True}
            for at in range(0, len(body), chunk)
        ]
        if self.messages:
            self.messages[-1]["more_body"] = False
        self.length = len(body) if length is None else length
        self.log: list[Any] = []

    async def receive(self) -> dict[str, Any]:
        if not self.messages:
            await asyncio.sleep(3600)  # a client that stopped sending
        message = self.messages.pop(0)
        self.log.append(("received", len(message["body"])))
        return message

    async def send(self, message: dict[str, Any]) -> None:
        self.log.append(message)

    def request(self, *headers: tuple[bytes, bytes]) -> Request:
        scope = {
            "type": "http",
            "method": "PUT",
            "path": "/b/k",
            "headers": [(b"content-length", str(self.length).encode()), *headers],
        }
        return Request(scope, self.receive)

    def headers(self) -> dict[bytes, bytes]:
        return dict(self.log[[type(m) is dict for m in self.log].index(True)]["headers"])


def test_a_small_unread_body_is_dropped_before_the_answer_and_the_connection_kept() -> None:
    peer = Peer(b"x" * 1_500_000, 65536)
    request = peer.request()
    asyncio.run(respond(request, peer.send, 404, [], b"<Error/>"))
    assert all(entry[0] == "received" for entry in peer.log[:-2])
    assert peer.log[-1] == {"type": "http.response.body", "body": b"<Error/>"}
    assert b"connection" not in peer.headers() and not request.body_unread


def test_a_large_unread_body_is_answered_first_then_read_then_closed() -> None:
    peer = Peer(b"x" * (asgi.DRAIN_BYTES + 1), 1 << 20)
    request = peer.request()
    asyncio.run(respond(request, peer.send, 404, [], b"<Error/>"))
    start, body = peer.log[0], peer.log[1]
    assert start["type"] == "http.response.start"
    assert body == {"type": "http.response.body", "body": b"<Error/>", "more_body": True}
    assert peer.headers()[b"connection"] == b"close"
    assert [e[0] for e in peer.log[2:-1]] == ["received"] * 5
    assert peer.log[-1] == {"type": "http.response.body", "body": b""}


def test_lingering_stops_at_its_bounds(monkeypatch: Any) -> None:
    monkeypatch.setattr(asgi, "LINGER_IDLE_SECONDS", 0.05)
    # The client declared more than it sends, then stops: the linger gives up.
    peer = Peer(b"x" * 100, 100, length=asgi.DRAIN_BYTES * 2)
    peer.messages[-1]["more_body"] = True
    request = peer.request()
    asyncio.run(asyncio.wait_for(respond(request, peer.send, 403, [], b"no"), 5))
    assert peer.log[-1] == {"type": "http.response.body", "body": b""}
    assert request.body_unread


def test_a_client_waiting_for_100_continue_is_answered_at_once() -> None:
    peer = Peer(b"x" * 10, 10)
    request = peer.request((b"expect", b"100-continue"))
    asyncio.run(respond(request, peer.send, 404, [], b"<Error/>"))
    # Reading would have told it to send the body: nothing is read, the connection closes.
    assert not any(entry[0] == "received" for entry in peer.log if type(entry) is tuple)
    assert peer.headers()[b"connection"] == b"close"
