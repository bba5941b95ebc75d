from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `cumulo serve` per test module, on free loopback ports."""
    srv = Server(tmp_path_factory.mktemp("cumulo-data")).start()
    try:
        yield srv
    finally:
        srv.stop()
        log = srv.log()
        if "Traceback" in log:
            print(log[-5000:])


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
