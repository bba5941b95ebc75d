"""A large body on its way to the disk: hashed and written off the event loop.

The event loop only gathers the body's chunks into runs of `RUN_BYTES`. Each run goes
to two stages at once, MD5 and the blob writer, each a `Serial` queue on the shared
thread pool: a stage runs its runs one after another in order, back to back in one
thread while more are queued, and holds no thread while its queue is empty. MD5 (one
core at ~800 MB/s, the PUT's ceiling) so never waits for the event loop between runs,
the disk write and the network receive overlap it on the other cores, and a request
holds at most `DEPTH + 1` runs in memory; past `PROCESS_RUNS` runs in flight across
the whole process (many uploads at once), each upload keeps only one in flight, so a
worker's memory stays bounded however many large bodies arrive together.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from cumulo.blobs import BlobWriter

RUN_BYTES = 1024 * 1024
# Runs handed to the stages and not yet done, past which the receiver waits.
DEPTH = 4
# Runs in flight across the process past which every upload keeps just one.
PROCESS_RUNS = 32


class Serial:
    """Runs jobs in submission order on the event loop's thread pool."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._jobs: deque[tuple[Future[None], Callable[..., None], tuple[Any, ...]]] = deque()
        self._running = False

    def submit(self, fn: Callable[..., None], *args: Any) -> Future[None]:
        done: Future[None] = Future()
        with self._lock:
            self._jobs.append((done, fn, args))
            if self._running:
                return done
            self._running = True
        self._loop.run_in_executor(None, self._drain)
        return done

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    self._running = False
                    return
                done, fn, args = self._jobs.popleft()
            if not done.set_running_or_notify_cancel():
                continue  # its request was cancelled, and will abort
            try:
                fn(*args)
            except BaseException as exc:
                done.set_exception(exc)
            else:
                done.set_result(None)


class Spill:
    """The bytes of a body past the inline limit, hashed into `md5` and written to
    `writer`. `abort` may come while a write is running (a cancelled request): it goes
    through the write stage's queue, so the writer closes only after that write, no
    later write runs, and the event loop never waits for the disk."""

    in_flight = 0  # runs shipped and not yet landed, all uploads of this process

    def __init__(self, writer: BlobWriter, md5: hashlib._Hash) -> None:
        self.writer = writer
        self._md5 = md5
        self._run: list[bytes] = []
        self._run_bytes = 0
        loop = asyncio.get_running_loop()
        self._hashing = Serial(loop)
        self._writing = Serial(loop)
        self._flights: deque[tuple[Future[None], Future[None]]] = deque()
        self._aborted = False

    async def add(self, chunk: bytes) -> None:
        self._run.append(chunk)
        self._run_bytes += len(chunk)
        if self._run_bytes >= RUN_BYTES:
            self._ship()
            while len(self._flights) > DEPTH or (
                len(self._flights) > 1 and Spill.in_flight > PROCESS_RUNS
            ):
                await self._land(self._flights.popleft())

    async def drain(self) -> None:
        """Waits until every byte added is hashed and written."""
        if self._run:
            self._ship()
        while self._flights:
            await self._land(self._flights.popleft())

    async def abort(self) -> None:
        """Drops the runs not yet hashed or written, and the blob writer after them."""
        self._aborted = True
        Spill.in_flight -= len(self._flights)
        for flight in self._flights:
            for done in flight:
                done.cancel()  # those not started are skipped
        self._flights.clear()
        self._run.clear()
        try:
            closed = self._writing.submit(self.writer.abort)
        except RuntimeError:  # the pool is shut down: nothing else writes either
            self.writer.abort()
            return
        # Shielded: a second cancellation must not cancel the writer's removal.
        await asyncio.shield(asyncio.wrap_future(closed))

    def _ship(self) -> None:
        run, self._run, self._run_bytes = self._run, [], 0
        data = run[0] if len(run) == 1 else b"".join(run)
        self._flights.append(
            (self._hashing.submit(self._md5.update, data), self._writing.submit(self._write, data))
        )
        Spill.in_flight += 1

    async def _land(self, flight: tuple[Future[None], Future[None]]) -> None:
        try:
            for done in flight:
                await asyncio.wrap_future(done)
        finally:
            Spill.in_flight -= 1

    def _write(self, data: bytes) -> None:
        if not self._aborted:
            self.writer.write(data)
