"""One `cumulo serve` worker: builds the app and serves every endpoint with uvicorn.

Runs in a process forked by the supervisor (`cumulo.server`), which imports none of
this: the application, SQLAlchemy and uvicorn live in the workers only. Each worker
serves the three shared listening sockets on one uvloop loop (httptools parser).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cumulo import errors
from cumulo.app import Cumulo, asgi_apps, build
from cumulo.config import Settings
from cumulo.metadata.objects import ObjectStore
from cumulo.metadata.writer import WriterClient

log = logging.getLogger("cumulo.server")

REAP_INTERVAL = 10.0

# Writes smaller than this wait for the end of the loop turn, to leave in one syscall.
COALESCE_BYTES = 64 * 1024


class CoalescingTransport:
    """A transport that holds small writes until the end of the current loop turn.

    ASGI sends a response as two messages (status + headers, then the body), and
    uvicorn writes each at once: two syscalls and two wake-ups of the client for every
    small response. Held back to the end of the turn, they leave together (a vectored
    write on uvloop): +20-30% requests/s on small GETs and token issues. Large bodies
    are not delayed (a write reaching COALESCE_BYTES goes out at once), so uvicorn's
    flow control sees the real transport's buffer.
    """

    __slots__ = ("_held", "_held_bytes", "_loop", "_scheduled", "_transport")

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._scheduled = False

    def write(self, data: bytes) -> None:
        self._held.append(data)
        self._held_bytes += len(data)
        if self._held_bytes >= COALESCE_BYTES:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def writelines(self, data: Iterable[bytes]) -> None:
        for chunk in data:
            self.write(chunk)

    def flush(self) -> None:
        self._scheduled = False
        if not self._held:
            return
        held, self._held, self._held_bytes = self._held, [], 0
        if self._transport.is_closing():
            return
        if len(held) == 1:
            self._transport.write(held[0])
        else:
            self._transport.writelines(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return bool(self._transport.is_closing())

    def get_write_buffer_size(self) -> int:
        return self._held_bytes + int(self._transport.get_write_buffer_size())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through a CoalescingTransport."""

    def connection_made(self, transport: Any) -> None:
        # (uvloop's transports are not asyncio.Transport subclasses, only alike.)
        wrapped: Any = CoalescingTransport(transport, self.loop)
        super().connection_made(wrapped)


class _Server(uvicorn.Server):
    """Several servers share one loop; the worker handles signals for all of them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def run(
    settings: Settings,
    sockets: dict[str, socket.socket],
    index: int,
    to_writer: socket.socket | None = None,
    from_supervisor: socket.socket | None = None,
) -> int:
    # SIGTERM is at its default and SIGINT ignored from the fork on (`server._fork_child`).
    cumulo = build(settings, migrate=False)
    apps = asgi_apps(cumulo)
    servers = []
    for name, sock in sockets.items():
        config = uvicorn.Config(
            apps[name],
            loop="none",
            http=HttpProtocol,
            ws="none",
            interface="asgi3",
            lifespan="off",
            access_log=False,
            log_level="warning",
            ssl_certfile=settings.tls_cert or None,
            ssl_keyfile=settings.tls_key or None,
            timeout_keep_alive=75,
            server_header=False,
            # date_header stays on: Swift clients read the Date of every response.
        )
        servers.append((_Server(config), sock))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=32))
        store = cumulo.objects.store
        if to_writer is not None:
            await _attach(store, to_writer)
        if from_supervisor is not None:
            _take_new_writers(loop, from_supervisor, store)

        def exit_all() -> None:
            for server, _ in servers:
                server.should_exit = True

        loop.add_signal_handler(signal.SIGTERM, exit_all)
        reaper = asyncio.create_task(_reap(cumulo)) if index == 0 else None
        await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in servers))
        if reaper is not None:
            reaper.cancel()

    uvloop.run(main())
    return 0


async def _attach(store: ObjectStore, sock: socket.socket) -> None:
    writer = WriterClient(sock, store.hot_shapes())
    try:
        await writer.connect()
    except BaseException:
        sock.close()
        raise
    store.writer = writer


def _take_new_writers(
    loop: asyncio.AbstractEventLoop, channel: socket.socket, store: ObjectStore
) -> None:
    """Attaches to each metadata writer the supervisor starts after this worker (when
    the one before died), from the socket it sends over `channel`."""
    attaching: set[asyncio.Task[None]] = set()
    channel.setblocking(False)

    def readable() -> None:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 16, 4)
        except BlockingIOError:
            return
        except OSError:
            message, fds = b"", []
        if not message and not fds:  # the supervisor is gone
            loop.remove_reader(channel.fileno())
            channel.close()
            return
        for fd in fds:
            task = loop.create_task(_attach(store, socket.socket(fileno=fd)))
            attaching.add(task)
            task.add_done_callback(_attached(attaching))

    loop.add_reader(channel.fileno(), readable)


def _attached(attaching: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def done(task: asyncio.Task[None]) -> None:
        attaching.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("could not attach to the new metadata writer: %s", task.exception())
        else:
            log.warning("attached to the new metadata writer")

    return done


async def _reap(cumulo: Cumulo) -> None:
    while True:
        await asyncio.sleep(REAP_INTERVAL)
        try:
            reaped = await cumulo.objects.reap_expired()
            if reaped:
                log.info("deleted %d expired objects", reaped)
        except errors.Unavailable:
            pass  # the database is down (logged by the store); the next sweep catches up
        except Exception:
            log.exception("expiry sweep failed")
