"""Group commit for SQLite: many writers' transactions share one commit (one fsync).

SQLite admits one writer at a time and each commit with `synchronous=FULL` costs a
WAL fsync. Under concurrent PUTs every request used to wait for the lock in SQLite's
busy handler (which sleeps and polls: seconds of p99) and then pay its own fsync.
Here the threads of a process queue their work; whichever finds no batch running
becomes the leader, takes everything queued, and runs it in one transaction — each
piece inside its own SAVEPOINT, so one piece's error undoes only that piece — and one
commit makes them all durable before any caller returns. Between processes, the
leaders queue on an flock'd lock file, so waiting is a kernel wait, not polling.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

MAX_BATCH = 256


@dataclass
class _Job:
    work: Callable[[Connection], Any]
    done: bool = False
    result: Any = None
    error: BaseException | None = None


class FileLock:
    """An exclusive lock between processes (flock on a file beside the database)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.Lock()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._local:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock


class GroupCommitter:
    def __init__(self, begin: Callable[[], contextlib.AbstractContextManager[Connection]]):
        self._begin = begin
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._leading = False

    def run(self, work: Callable[[Connection], Any]) -> Any:
        """Runs `work(conn)` in a transaction shared with other callers; returns its
        result (or raises its error) once that transaction is committed."""
        job = _Job(work)
        with self._cond:
            self._queue.append(job)
            while not job.done:
                if self._leading:
                    self._cond.wait()
                    continue
                self._leading = True
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                self._cond.release()
                try:
                    self._run_batch(batch)
                finally:
                    self._cond.acquire()
                    for done in batch:
                        done.done = True
                    self._leading = False
                    self._cond.notify_all()
        if job.error is not None:
            raise job.error
        return job.result

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
