"""`cumulo serve`: a supervisor that binds the endpoint sockets and forks workers.

The supervisor stays lean: it never imports the application (SQLAlchemy, alembic,
Jinja, uvicorn...), since it would carry that heap beside every worker for the life of
the server. A short-lived child prepares the data dir once (migrations, token keys,
first admin, orphan collection) and exits; the supervisor then binds one listening
socket per endpoint and forks N workers, each of which imports and builds the app and
serves every endpoint on those shared sockets (`cumulo.worker`). On SQLite it also
starts the node's metadata writer (`cumulo.metadata.writer`) and gives each worker a
private socket to it; if the writer dies, workers commit their own writes meanwhile, and
the supervisor starts a new writer and sends each worker a socket to it over the
worker's channel. Children die with the supervisor (PR_SET_PDEATHSIG), so killing it
frees the ports.

glibc's malloc gives each thread that allocates its own arena (up to 8 per core), and
memory freed in one arena is not reused by the others: a worker's thread pool (SQLite
reads, blob writes, large bodies) grew its RSS by 15-20 MiB that way. The supervisor
caps the arenas at `MALLOC_ARENAS` before it forks, so every child inherits the cap.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import logging
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cumulo import config, errors
from cumulo.config import Settings

log = logging.getLogger("cumulo.server")

MALLOC_ARENAS = 2
# A metadata writer that dies is replaced, unless it died this often in the last minute.
WRITER_RESTARTS_PER_MINUTE = 3
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def prepare(settings: Settings) -> None:
    """One-time start-up work, done before any worker runs (in a child: see above)."""
    from cumulo.app import ADMIN_LOGIN, build

    cumulo = build(settings)  # migrations and cluster keys, under the set-up lock
    # Under it again: of nodes starting together, one makes the first admin.
    with cumulo.db.setup_lock():
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


def _prepare_in_child(settings: Settings) -> int:
    """Run `prepare` in a forked child and return its exit code; its imports and its
    peak memory (migrations) leave with it."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _die_with_parent()
            prepare(settings)
            code = 0
        except errors.CumuloError as exc:
            print(f"cumulo: {exc.message}", file=sys.stderr)
        except OSError as exc:
            print(f"cumulo: {exc}", file=sys.stderr)
        except KeyboardInterrupt:
            code = 130
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status)
        except InterruptedError:
            continue


class _WriterProcess:
    """The SQLite metadata writer, and the control socket that hands it workers'."""

    def __init__(self, database: str, unrelated: Iterable[socket.socket] = ()) -> None:
        self.database = database
        self.control, theirs = socket.socketpair()
        self.pid = _fork_child()
        if self.pid == 0:
            code = 1
            try:
                _die_with_parent()
                self.control.close()
                for sock in unrelated:
                    sock.close()
                from cumulo.metadata.writer import serve

                serve(Path(database), theirs)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        theirs.close()

    def connect(self) -> socket.socket | None:
        """A new socket to the writer, for a worker about to start."""
        ours, theirs = socket.socketpair()
        try:
            socket.send_fds(self.control, [b"w"], [theirs.fileno()])
        except OSError:
            ours.close()
            return None
        finally:
            theirs.close()
        return ours

    def close(self) -> None:
        """Once the workers are gone, the writer finishes and exits."""
        self.control.close()

    def hand_over(self, channels: Iterable[socket.socket]) -> None:
        """Sends running workers, over their channels, a socket to this writer."""
        for channel in channels:
            sock = self.connect()
            if sock is None:
                return
            with contextlib.suppress(OSError):  # that worker is exiting
                socket.send_fds(channel, [b"w"], [sock.fileno()])
            sock.close()


def serve(settings: Settings) -> int:
    _cap_malloc_arenas()
    code = _prepare_in_child(settings)
    if code != 0:
        return code
    sockets = {
        "identity": _bind(settings.host, settings.identity_port),
        "object": _bind(settings.host, settings.object_port),
        "portal": _bind(settings.host, settings.portal_port),
    }
    # The ports really bound (a 0 asks for any), in the URLs the workers publish and in
    # the record the admin commands read (`config.record`).
    settings = dataclasses.replace(
        settings, **{f"{name}_port": sock.getsockname()[1] for name, sock in sockets.items()}
    )
    config.record(settings)
    workers = settings.workers or os.cpu_count() or 1
    database = settings.database_url
    writer = (
        _WriterProcess(database.removeprefix("sqlite:///"), sockets.values())
        if database.startswith("sqlite:///")
        else None
    )
    children: dict[int, int] = {}
    # Each worker's channel from the supervisor, which sends it a socket to every
    # metadata writer started after it.
    channels: dict[int, socket.socket] = {}
    writer_starts: list[float] = []
    stopping = False

    def spawn(index: int) -> None:
        to_writer = writer.connect() if writer is not None else None
        ours, theirs = socket.socketpair() if writer is not None else (None, None)
        pid = _fork_child()
        if pid == 0:
            code = 1
            try:
                _die_with_parent()
                if writer is not None:
                    writer.control.close()
                for channel in [ours, *channels.values()]:
                    if channel is not None:
                        channel.close()
                # The application is imported here, after the fork: see above.
                from cumulo.worker import run

                code = run(settings, sockets, index, to_writer, theirs)
            finally:
                os._exit(code)
        if to_writer is not None:
            to_writer.close()
        if ours is not None and theirs is not None:
            theirs.close()
            channels[pid] = ours
        children[pid] = index

    def restart_writer(old: _WriterProcess, status: int) -> _WriterProcess | None:
        now = time.monotonic()
        writer_starts[:] = [t for t in writer_starts if now - t < 60]
        if len(writer_starts) >= WRITER_RESTARTS_PER_MINUTE:
            log.error(
                "the metadata writer exited (status %d) after %d restarts within a minute; "
                "workers commit alone from now on",
                status,
                len(writer_starts),
            )
            return None
        log.error("the metadata writer exited (status %d); starting a new one", status)
        writer_starts.append(now)
        new = _WriterProcess(old.database, [*sockets.values(), *channels.values()])
        children[new.pid] = -1
        new.hand_over(channels.values())
        return new

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            if children.get(pid, -1) >= 0:  # a worker (the writer finishes after them)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if writer is not None:
        children[writer.pid] = -1
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
        if stopping and writer is not None and set(children) == {writer.pid}:
            writer.close()  # the workers are gone: let the writer finish
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        index = children.pop(pid, -1)
        channel = channels.pop(pid, None)
        if channel is not None:
            channel.close()
        if writer is not None and pid == writer.pid:
            writer.close()
            writer = None if stopping else restart_writer(writer, status)
        elif index >= 0 and not stopping:
            log.error("worker %d exited (status %d); restarting it", pid, status)
            time.sleep(0.5)
            spawn(index)
    return 0


def _fork_child() -> int:
    """`os.fork`, with the child's SIGTERM back to the default and SIGINT ignored before
    any signal can reach it: it must never run the supervisor's handler (which signals
    the supervisor's children) in the window before it sets up its own."""
    stops = {signal.SIGTERM, signal.SIGINT}
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    return pid


def _cap_malloc_arenas() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to cap
            ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, MALLOC_ARENAS)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
