"""The worker's coalescing transport: a small response leaves in one write."""

from __future__ import annotations

import asyncio

from cumulo.worker import COALESCE_BYTES, CoalescingTransport


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[list[bytes]] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append([data])

    def writelines(self, data: list[bytes]) -> None:
        self.writes.append(list(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass


def test_head_and_body_leave_together_at_the_end_of_the_turn() -> None:
    async def scenario() -> FakeTransport:
        real = FakeTransport()
        transport = CoalescingTransport(real, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"body")
        assert real.writes == [] and transport.get_write_buffer_size() == 23
        transport.pause_reading()  # anything else reaches the real transport
        await asyncio.sleep(0)
        return real

    real = asyncio.run(scenario())
    assert real.writes == [[b"HTTP/1.1 200 OK\r\n\r\n", b"body"]]


def test_large_writes_are_not_delayed_and_close_flushes() -> None:
    async def scenario() -> FakeTransport:
        real = FakeTransport()
        transport = CoalescingTransport(real, asyncio.get_running_loop())
        transport.write(b"head")
        transport.write(b"x" * COALESCE_BYTES)
        assert real.writes == [[b"head", b"x" * COALESCE_BYTES]]
        transport.write(b"tail")
        transport.close()
        assert real.writes[-1] == [b"tail"] and real.closed
        transport.write(b"late")  # after close: dropped, as the transport would
        await asyncio.sleep(0)
        return real

    real = asyncio.run(scenario())
    assert len(real.writes) == 2
