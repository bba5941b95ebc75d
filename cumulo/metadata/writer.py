"""One writer process per node for SQLite's hot writes (object PUT and DELETE).

SQLite takes one writer at a time, and each worker process used to commit its own
group of writes: the workers' batches alternated on the lock, and each batch ran in a
thread that competed for its worker's GIL with the event loop, holding the lock
while it waited (profiles: ~5 ms per batch, of which ~1 ms was the commit's fsync).
Here the supervisor starts one writer process beside the workers. Each worker sends
its PUT and DELETE rows over a private socketpair; the writer takes everything that
has arrived from every worker, runs it in one transaction (each job in its own
SAVEPOINT, so one job's error undoes only that job) and answers each job once the
commit is durable. Durability is unchanged: every caller hears back only after the
fsync that covers its row.

The writer imports no SQLAlchemy (it stays small): a worker's first message gives it
the SQL compiled from `cumulo.metadata.objects.HOT_STATEMENTS`, and it runs the
same logic as the workers do (`cumulo.metadata.hot`). Messages are marshal-encoded
tuples of plain values, length-prefixed, on sockets no other process holds.
If the writer is gone, workers fall back to committing their own writes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import marshal
import selectors
import socket
import sqlite3
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cumulo import errors
from cumulo.metadata import hot
from cumulo.metadata.locks import FileLock

log = logging.getLogger("cumulo.metadata.writer")

_LENGTH = struct.Struct("<I")
MAX_BATCH = 512
# A statement as the workers compiled it: SQL, parameter names in order, column names.
Shape = tuple[str, list[str], list[str]]

OPS: dict[str, Callable[..., Any]] = {
    "put": hot.put,
    "delete": lambda run, project_id, container, name: tuple(
        hot.delete(run, project_id, container, name)
    ),
}


def encode(message: Any) -> bytes:
    data = marshal.dumps(message)
    return _LENGTH.pack(len(data)) + data


class Frames:
    """Splits a byte stream into the messages `encode` framed."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        self._buffer += data
        messages = []
        start = 0
        while len(self._buffer) - start >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(self._buffer, start)
            end = start + _LENGTH.size + size
            if len(self._buffer) < end:
                break
            messages.append(marshal.loads(memoryview(self._buffer)[start + _LENGTH.size : end]))
            start = end
        del self._buffer[:start]
        return messages


def describe(exc: BaseException) -> tuple[str, str]:
    """An error as it crosses the socket: a `cumulo.errors` class name and message."""
    if isinstance(exc, errors.CumuloError):
        return type(exc).__name__, exc.message
    return "", f"{type(exc).__name__}: {exc}"


def rebuild(described: tuple[str, str]) -> Exception:
    name, message = described
    cls = getattr(errors, name, None) if name else None
    if isinstance(cls, type) and issubclass(cls, errors.CumuloError):
        return cls(message)
    return RuntimeError(f"metadata writer: {message}")


# --- the writer process --------------------------------------------------------


class Writer:
    def __init__(self, database: Path, control: socket.socket) -> None:
        self.conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        for pragma in ("synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.lock = FileLock(Path(f"{database}.lock"))
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ, self._accept)
        self.control: socket.socket | None = control
        self.frames: dict[socket.socket, Frames] = {}
        self.shapes: dict[str, tuple[str, list[str], Any]] = {}
        self.pending: list[tuple[socket.socket, int, str, list[Any]]] = []

    def serve(self) -> None:
        """Runs until the supervisor and every worker have hung up."""
        while self.control is not None or self.frames:
            for key, _ in self.selector.select(0 if self.pending else None):
                key.data(key.fileobj)
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                self._commit(batch)

    def _accept(self, control: socket.socket) -> None:
        """The supervisor passes one socket per worker it starts."""
        try:
            message, fds, _, _ = socket.recv_fds(control, 16, 8)
        except OSError:
            message, fds = b"", []
        for fd in fds:
            peer = socket.socket(fileno=fd)
            self.frames[peer] = Frames()
            self.selector.register(peer, selectors.EVENT_READ, self._read)
        if not message:  # the supervisor has hung up
            self.selector.unregister(control)
            control.close()
            self.control = None

    def _read(self, peer: socket.socket) -> None:
        try:
            data = peer.recv(1 << 20)
        except OSError:
            data = b""
        if not data:  # the worker has exited
            self.selector.unregister(peer)
            del self.frames[peer]
            peer.close()
            return
        for message in self.frames[peer].feed(data):
            if message[0] == "hello":
                for key, (sql, names, columns) in message[1].items():
                    self.shapes[key] = (sql, names, collections.namedtuple("Row", columns))
            else:
                _, job, op, args = message
                self.pending.append((peer, job, op, args))

    def _run(self, key: str, params: dict[str, Any]) -> hot.Rows:
        sql, names, row_type = self.shapes[key]
        return hot.DriverRows(self.conn.execute(sql, [params[n] for n in names]), row_type)

    def _commit(self, batch: list[tuple[socket.socket, int, str, list[Any]]]) -> None:
        replies: dict[socket.socket, list[bytes]] = {}
        answers: list[tuple[socket.socket, tuple[Any, ...]]] = []
        with self.lock.held():
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                for peer, job, op, args in batch:
                    self.conn.execute("SAVEPOINT job")
                    try:
                        answers.append((peer, (job, True, OPS[op](self._run, *args))))
                    except Exception as exc:
                        self.conn.execute("ROLLBACK TO job")
                        answers.append((peer, (job, False, describe(exc))))
                    self.conn.execute("RELEASE job")
                self.conn.execute("COMMIT")
            except Exception as exc:
                # BEGIN or COMMIT failed: nothing of the batch is durable.
                log.error("metadata writer: batch of %d failed: %s", len(batch), exc)
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                answers = [(peer, (job, False, describe(exc))) for peer, job, _, _ in batch]
        for peer, answer in answers:
            replies.setdefault(peer, []).append(encode(answer))
        for peer, frames in replies.items():
            with contextlib.suppress(OSError):  # a worker that has gone
                peer.sendall(b"".join(frames))


def serve(database: Path, control: socket.socket) -> None:
    Writer(database, control).serve()


# --- the workers' side ---------------------------------------------------------


class WriterClient(asyncio.Protocol):
    """A worker's connection to the writer process, on its event loop."""

    def __init__(self, sock: socket.socket, shapes: dict[str, Shape]) -> None:
        self._sock = sock
        self._shapes = shapes
        self._transport: asyncio.Transport | None = None
        self._futures: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count()
        self._frames = Frames()
        self.alive = False

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_unix_connection(lambda: self, sock=self._sock)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's transports are not asyncio.Transport subclasses, only alike.)
        self._transport = transport  # type: ignore[assignment]
        transport.write(encode(("hello", self._shapes)))  # type: ignore[attr-defined]
        self.alive = True

    async def call(self, op: str, *args: Any) -> Any:
        assert self._transport is not None
        job = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._futures[job] = future
        self._transport.write(encode(("job", job, op, args)))
        return await future

    def data_received(self, data: bytes) -> None:
        for job, ok, value in self._frames.feed(data):
            future = self._futures.pop(job, None)
            if future is None or future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(rebuild(value))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.alive:
            log.error("the metadata writer is gone; this worker commits its own writes")
        self.alive = False
        futures, self._futures = self._futures, {}
        for future in futures.values():
            if not future.done():
                # Committed or not, nobody can tell now: the request fails.
                future.set_exception(RuntimeError("the metadata writer went away"))
