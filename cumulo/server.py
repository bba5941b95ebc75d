"""`cumulo serve`: a supervisor that binds the endpoint sockets and forks workers.

The supervisor prepares the data dir (migrations, token keys, first admin, orphan
collection) once, binds one listening socket per endpoint, then forks N workers that
each serve every endpoint on those shared sockets with uvicorn (uvloop + httptools).
Workers die with the supervisor (PR_SET_PDEATHSIG), so killing it frees the ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn

from cumulo.app import ADMIN_LOGIN, asgi_apps, build
from cumulo.config import Settings

log = logging.getLogger("cumulo.server")

REAP_INTERVAL = 10.0


class _Server(uvicorn.Server):
    """Several servers share one loop; the worker handles signals for all of them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def prepare(settings: Settings) -> None:
    """One-time start-up work, done by the supervisor before any worker runs."""
    cumulo = build(settings)
    created = cumulo.identity.ensure_admin(ADMIN_LOGIN, settings.admin_password or None)
    if created is not None:
        _, password = created
        shown = "(from CUMULO_ADMIN_PASSWORD)" if settings.admin_password else password
        print(
            f"cumulo: created system admin {ADMIN_LOGIN!r} with password: {shown}\n"
            "cumulo: it is shown only this once.",
            flush=True,
        )
    removed = cumulo.collect_orphans()
    if removed:
        log.info("collected %d orphaned blob files", removed)
    cumulo.db.dispose()


def serve(settings: Settings) -> int:
    prepare(settings)
    sockets = {
        "identity": _bind(settings.host, settings.identity_port),
        "object": _bind(settings.host, settings.object_port),
        "portal": _bind(settings.host, settings.portal_port),
    }
    workers = settings.workers or os.cpu_count() or 1
    children: dict[int, int] = {}
    stopping = False

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _die_with_parent()
                code = _worker(settings, sockets, index)
            finally:
                os._exit(code)
        children[pid] = index

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(workers):
        spawn(index)
    for name, sock in sockets.items():
        host, port = sock.getsockname()[:2]
        print(f"cumulo: {name} endpoint listening on {host}:{port}", flush=True)
    print(
        f"cumulo: serving with {workers} worker(s); identity {settings.public_identity_url}, "
        f"objects {settings.public_object_url}, portal {settings.public_portal_url}",
        flush=True,
    )
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        index = children.pop(pid, -1)
        if index >= 0 and not stopping:
            log.error("worker %d exited (status %d); restarting it", pid, status)
            time.sleep(0.5)
            spawn(index)
    return 0


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _worker(settings: Settings, sockets: dict[str, socket.socket], index: int) -> int:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import uvloop

    cumulo = build(settings, migrate=False)
    apps = asgi_apps(cumulo)
    servers = []
    for name, sock in sockets.items():
        config = uvicorn.Config(
            apps[name],
            loop="none",
            http="httptools",
            lifespan="off",
            access_log=False,
            log_level="warning",
            ssl_certfile=settings.tls_cert or None,
            ssl_keyfile=settings.tls_key or None,
            timeout_keep_alive=75,
            server_header=False,
        )
        servers.append((_Server(config), sock))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=32))

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


async def _reap(cumulo: Any) -> None:
    while True:
        await asyncio.sleep(REAP_INTERVAL)
        try:
            reaped = await cumulo.objects.reap_expired()
            if reaped:
                log.info("deleted %d expired objects", reaped)
        except Exception:
            log.exception("expiry sweep failed")
