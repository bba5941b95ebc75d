from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Server

# The ports `make serve` listens on by default.
DEFAULT_PORTS = (5000, 8080, 8000)


@pytest.fixture(scope="session", autouse=True)
def default_ports_taken() -> Iterator[None]:
    """Holds the default ports (bound, not listening) for the whole run, as a
    `make serve` beside the suite would: a test that binds one fails here too, and
    one that connects to one is refused instead of reaching a stray server."""
    held = []
    for port in DEFAULT_PORTS:
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:  # taken already: by a server beside us or another test worker
            sock.close()
            continue
        held.append(sock)
    try:
        yield
    finally:
        for sock in held:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One `cumulo serve` per test module, on free loopback ports; a module's
    `SERVER_ARGS` list adds flags."""
    extra = list(getattr(request.module, "SERVER_ARGS", []))
    srv = Server(tmp_path_factory.mktemp("cumulo-data"), extra_args=extra).start()
    try:
        yield srv
    finally:
        srv.stop()
        # A traceback in the log is a server bug even when every client got its answer.
        log = srv.log()
        assert "Traceback" not in log, log[-5000:]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
