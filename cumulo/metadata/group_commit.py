"""Group commit for SQLite: many writers' transactions share one commit (one fsync).

SQLite admits one writer at a time and each commit with `synchronous=FULL` costs a
WAL fsync. Under concurrent PUTs every request used to wait for the lock in SQLite's
busy handler (which sleeps and polls: seconds of p99) and then pay its own fsync.
Here callers queue their work for one writer thread per process, which takes
everything queued and runs it in one transaction — each piece inside its own
SAVEPOINT, so one piece's error undoes only that piece — and one commit makes them
all durable before any caller hears back. Coroutines queue without a thread hop of
their own (`run_async`): the writer answers each event loop once per batch. Between
processes, the writers queue on an flock'd lock file, so waiting is a kernel wait,
not polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection

log = logging.getLogger("cumulo.metadata")

MAX_BATCH = 256


@dataclass
class _Job:
    work: Callable[[Connection], Any]
    result: Any = None
    error: BaseException | None = None
    # Who waits: a thread (on `event`) or a coroutine (on `future`, in `loop`).
    event: threading.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future[Any] | None = None


class GroupCommitter:
    def __init__(self, begin: Callable[[], contextlib.AbstractContextManager[Connection]]):
        self._begin = begin
        self._reset()
        # A forked child inherits the queue's lock in any state and not the thread.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _reset_if_alive(ref))

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._writer: threading.Thread | None = None

    def run(self, work: Callable[[Connection], Any]) -> Any:
        """Runs `work(conn)` in a transaction shared with other callers; returns its
        result (or raises its error) once that transaction is committed."""
        job = _Job(work, event=threading.Event())
        self._submit(job)
        assert job.event is not None
        job.event.wait()
        if job.error is not None:
            raise job.error
        return job.result

    async def run_async(self, work: Callable[[Connection], Any]) -> Any:
        """`run` for a coroutine: awaits the commit instead of blocking a thread."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._submit(_Job(work, loop=loop, future=future))
        return await future

    def _submit(self, job: _Job) -> None:
        with self._cond:
            self._queue.append(job)
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write, name="cumulo-group-commit", daemon=True
                )
                self._writer.start()
            self._cond.notify()

    def _write(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                self._run_batch(batch)
            except BaseException as exc:  # never lose the writer: answer and go on
                log.exception("group commit failed")
                for job in batch:
                    job.error = job.error or exc
            _answer(batch)

    def _run_batch(self, batch: list[_Job]) -> None:
        try:
            with self._begin() as conn:
                # Savepoints through the plain driver: SQLAlchemy's nested-transaction
                # objects cost more than the statements of a small job.
                raw = conn.connection.driver_connection
                assert raw is not None
                for job in batch:
                    raw.execute("SAVEPOINT job")
                    try:
                        job.result = job.work(conn)
                    except Exception as exc:
                        raw.execute("ROLLBACK TO job")
                        job.error = exc
                    raw.execute("RELEASE job")
        except BaseException as exc:
            # The commit itself failed: nothing of the batch is durable.
            for job in batch:
                job.result = None
                job.error = job.error or exc


def _reset_if_alive(ref: weakref.ref[GroupCommitter]) -> None:
    committer = ref()
    if committer is not None:
        committer._reset()


def _answer(batch: list[_Job]) -> None:
    """Wakes each waiting thread, and each event loop once for all of its jobs."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in batch:
        if job.event is not None:
            job.event.set()
        elif job.loop is not None:
            by_loop.setdefault(job.loop, []).append(job)
    for loop, jobs in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
            loop.call_soon_threadsafe(_settle, jobs)


def _settle(jobs: list[_Job]) -> None:
    for job in jobs:
        future = job.future
        if future is None or future.done():  # the caller was cancelled
            continue
        if job.error is not None:
            future.set_exception(job.error)
        else:
            future.set_result(job.result)
