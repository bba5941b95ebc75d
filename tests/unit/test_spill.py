"""The large-body pipeline (`cumulo.objects.spill`) against a blob writer whose disk
is stuck: an aborted upload never makes the event loop wait for it."""

from __future__ import annotations

import asyncio
import hashlib
import threading

import pytest

from cumulo.objects.spill import Spill


class StuckDisk:
    """A blob writer whose first write blocks until `gate` opens."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.events: list[str] = []

    @property
    def size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.events.append(f"write {data[:1].decode()} starts")
        assert self.gate.wait(10)
        self.events.append(f"write {data[:1].decode()} ends")

    def commit(self) -> str:
        raise AssertionError("an aborted upload is never committed")

    def abort(self) -> None:
        self.events.append("abort")


def test_abort_waits_for_the_running_write_off_the_loop_and_drops_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("cumulo.objects.spill.RUN_BYTES", 4)
    disk = StuckDisk()

    async def scenario() -> None:
        spill = Spill(disk, hashlib.md5())
        await spill.add(b"aaaa")  # shipped: its write starts, and sticks
        await spill.add(b"bbbb")  # shipped, queued behind it
        while disk.events != ["write a starts"]:
            await asyncio.sleep(0.01)
        aborting = asyncio.create_task(spill.abort())
        ticks = 0
        for _ in range(10):  # the loop keeps running other work meanwhile
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 10 and not aborting.done()
        assert disk.events == ["write a starts"]
        disk.gate.set()
        await aborting
        assert Spill.in_flight == 0

    asyncio.run(scenario())
    # The running write finished before the writer was dropped; the queued one never ran.
    assert disk.events == ["write a starts", "write a ends", "abort"]
