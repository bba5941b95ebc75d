from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Server


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
