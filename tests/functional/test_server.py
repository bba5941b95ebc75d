"""`cumulo serve` as a process tree: a lean supervisor, one-time preparation, restarts."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import requests

from tests.harness import Server


def _children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def _mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.slow
def test_supervisor_stays_lean_and_restarts_a_dead_worker(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", workers=1).start()
    try:
        assert server.proc is not None
        assert requests.get(server.auth_url + "/v3", timeout=30).ok  # the worker is up
        supervisor = server.proc.pid
        (worker,) = _children(supervisor)  # the preparing child has come and gone
        # The application's native libraries are loaded in the worker only.
        for library in ("sqlalchemy", "uvloop", "cryptography", "argon2"):
            assert library in _mapped(worker)
            assert library not in _mapped(supervisor), library

        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replacement = _children(supervisor)
            if replacement and replacement != [worker]:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the supervisor did not restart its worker")
        deadline = time.monotonic() + 30
        while True:
            try:
                assert requests.get(server.auth_url + "/v3", timeout=5).ok
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        server.stop()
    log = server.log()
    assert log.count("created system admin") == 1
    assert "restarting it" in log

    again = Server(server.data_dir, workers=1).start()  # prepared already: no new admin
    again.stop()
    assert again.log().count("created system admin") == 1
