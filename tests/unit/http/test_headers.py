"""Response header values that HTTP cannot carry are caught before anything is sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cumulo.http.asgi import (
    Request,
    UnsafeHeader,
    encode_headers,
    respond,
    send_response,
    unsafe_header_value,
)


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\x0bb", "a\x00b", "\x1f", "a\x7f"])
def test_control_characters_are_unsafe(value: str) -> None:
    assert unsafe_header_value(value)
    with pytest.raises(UnsafeHeader) as refused:
        encode_headers([("Content-Type", "text/plain"), ("X-Object-Meta-A", value)])
    assert refused.value.name == "X-Object-Meta-A"


@pytest.mark.parametrize("value", ["", "text/html", "a\tb", "caf\u00e9", "\u0080"])
def test_other_values_are_safe(value: str) -> None:
    assert not unsafe_header_value(value)
    assert encode_headers([("X-A", value)])[0][0] == b"x-a"


def _request(method: str = "GET") -> Request:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": method, "path": "/", "headers": [], "query_string": b""}
    return Request(scope, receive)


def test_nothing_is_sent_and_the_stream_is_closed() -> None:
    sent: list[dict[str, Any]] = []
    closed: list[bool] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def body() -> AsyncIterator[bytes]:
        try:
            yield b"never"
        finally:
            closed.append(True)

    async def scenario() -> None:
        stream = body()
        await stream.__anext__()  # started, as a real read would be
        with pytest.raises(UnsafeHeader):
            await respond(_request(), send, 200, [("Content-Type", "a\nb")], stream=stream)
        with pytest.raises(UnsafeHeader):
            await send_response(send, 200, [("Location", "/\r\nSet-Cookie: x=1")])

    asyncio.run(scenario())
    assert sent == []
    assert closed == [True]
