"""`cumulo serve` as a process tree: a lean supervisor, one-time preparation, restarts."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.harness import Server, password_token


def _children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def _mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def _worker_and_writer(supervisor: int) -> tuple[int, int]:
    """The supervisor's two children with one worker on SQLite: the worker serves
    HTTP (uvloop), the metadata writer does not."""
    children = _children(supervisor)
    assert len(children) == 2, children
    workers = [pid for pid in children if "uvloop" in _mapped(pid)]
    assert len(workers) == 1, children
    (writer,) = set(children) - set(workers)
    return workers[0], writer


@pytest.mark.slow
def test_supervisor_stays_lean_and_restarts_a_dead_worker(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", workers=1).start()
    try:
        assert server.proc is not None
        assert requests.get(server.auth_url + "/v3", timeout=30).ok  # the worker is up
        supervisor = server.proc.pid
        # The preparing child has come and gone.
        worker, writer = _worker_and_writer(supervisor)
        # The application's native libraries are loaded in the worker only.
        for library in ("sqlalchemy", "uvloop", "cryptography", "argon2"):
            assert library in _mapped(worker)
            assert library not in _mapped(supervisor), library
            assert library not in _mapped(writer), library

        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replacement = set(_children(supervisor)) - {writer}
            if replacement and replacement != {worker}:
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


def _swift(server: Server) -> tuple[dict[str, str], str]:
    creds = server.member("wr", "env", "wes")
    os_ = creds["openstack"]
    reply = password_token(server, creds)
    reply.raise_for_status()
    account = f"{server.object_url}/v1/AUTH_{os_['project_id']}"
    return {"X-Auth-Token": reply.headers["X-Subject-Token"]}, account


def _wait_for(what: str, check: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.slow
def test_writes_survive_the_metadata_writer(tmp_path: Path) -> None:
    """Workers send PUTs and DELETEs to the writer process. When it dies they commit
    their own until the supervisor has started a new one and handed it to them; one
    that keeps dying is given up on. Nothing is lost either way."""
    server = Server(tmp_path / "data", workers=1).start()
    try:
        assert server.proc is not None
        supervisor = server.proc.pid
        headers, account = _swift(server)
        assert requests.put(f"{account}/c", headers=headers, timeout=10).status_code == 201
        worker, writer = _worker_and_writer(supervisor)
        with requests.Session() as http:

            def put(i: int, body: bytes) -> None:
                reply = http.put(f"{account}/c/o{i}", data=body, headers=headers, timeout=10)
                assert reply.status_code == 201

            for i in range(50):
                put(i, b"x" * i)
            assert http.delete(f"{account}/c/o0", headers=headers, timeout=10).status_code == 204
            # Three deaths within a minute: each time a new writer, and the worker
            # attaches to it (it notices the next death: it was writing through it).
            for death in range(1, 4):
                os.kill(writer, signal.SIGKILL)
                _wait_for(
                    "no new writer",
                    lambda dead=writer: len(set(_children(supervisor)) - {worker, dead}) == 1,
                )
                (writer,) = set(_children(supervisor)) - {worker}
                _wait_for(
                    "the worker did not attach",
                    lambda n=death: server.log().count("attached to the new metadata writer") == n,
                )
                for i in range(50 + 10 * death, 60 + 10 * death):
                    put(i, b"y")
            assert server.log().count("the metadata writer is gone") == 3
            # The fourth: given up on, the worker commits alone from now on.
            os.kill(writer, signal.SIGKILL)
            _wait_for("the writer was not reaped", lambda: _children(supervisor) == [worker])
            for i in range(90, 100):
                put(i, b"z")
            assert http.delete(f"{account}/c/o1", headers=headers, timeout=10).status_code == 204
            listing = http.get(f"{account}/c?format=json", headers=headers, timeout=10).json()
            head = http.head(f"{account}/c", headers=headers, timeout=10)
        names = [f"o{i}" for i in (*range(2, 50), *range(60, 100))]
        assert [o["name"] for o in listing] == sorted(names)
        assert head.headers["X-Container-Object-Count"] == str(len(names))
        assert head.headers["X-Container-Bytes-Used"] == str(sum(range(2, 50)) + 40)
        time.sleep(0.5)
        assert _children(supervisor) == [worker]  # the worker lived through it all
    finally:
        server.stop()
    log = server.log()
    assert log.count("the metadata writer exited") == 4
    assert "after 3 restarts within a minute; workers commit alone" in log
