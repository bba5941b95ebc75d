"""Durability and flat memory: a killed server leaves no half object; a GiB streams through.

Each test starts its own server (it kills or loads it), as the README does.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.harness import Server, password_token, run, v3_env

MiB = 1024 * 1024


def _token(server: Server, creds: dict[str, Any]) -> tuple[str, str]:
    os_ = creds["openstack"]
    reply = password_token(server, creds)
    reply.raise_for_status()
    return reply.headers["X-Subject-Token"], f"/v1/AUTH_{os_['project_id']}"


def _blob_files(data_dir: Path) -> list[Path]:
    root = data_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file() and p.parent != root / "tmp"]


def _pids(root: int) -> list[int]:
    found = [root]
    for task in Path(f"/proc/{root}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            found.extend(_pids(int(child)))
    return found


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_sigkill_during_upload_leaves_previous_version_and_no_temp_bytes(
    tmp_path: Path,
) -> None:
    server = Server(tmp_path / "data").start()
    try:
        creds = server.member("dur", "env", "kim")
        token, account = _token(server, creds)
        headers = {"X-Auth-Token": token}
        assert requests.put(server.object_url + account + "/c", headers=headers, timeout=10).ok
        first = os.urandom(MiB)
        put = requests.put(
            server.object_url + account + "/c/obj", data=first, headers=headers, timeout=30
        )
        assert put.status_code == 201

        conn = http.client.HTTPConnection("127.0.0.1", server.object_port, timeout=30)
        conn.putrequest("PUT", account + "/c/obj")
        conn.putheader("X-Auth-Token", token)
        conn.putheader("Content-Length", str(200 * MiB))
        conn.endheaders()
        chunk = os.urandom(MiB)
        for _ in range(40):
            conn.send(chunk)
        deadline = time.monotonic() + 10
        tmp_dir = server.data_dir / "blobs" / "tmp"
        while not any(tmp_dir.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(tmp_dir.iterdir()), "the upload never reached the blob store"
        server.stop(signal.SIGKILL)
        conn.close()
    finally:
        server.stop()

    restarted = Server(server.data_dir).start()
    try:
        token, account = _token(restarted, creds)
        headers = {"X-Auth-Token": token}
        got = requests.get(restarted.object_url + account + "/c/obj", headers=headers, timeout=30)
        assert got.status_code == 200 and got.content == first
        listing = requests.get(
            restarted.object_url + account + "/c?format=json", headers=headers, timeout=10
        ).json()
        assert [(o["name"], o["bytes"]) for o in listing] == [("obj", MiB)]
        assert list((restarted.data_dir / "blobs" / "tmp").iterdir()) == []
        assert len(_blob_files(restarted.data_dir)) == 1
    finally:
        restarted.stop()


def _random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(4 * MiB)
    with open(path, "wb") as f:
        written = 0
        while written < size:
            # Vary each block cheaply so the file is not one repeated pattern.
            piece = written.to_bytes(8, "big") + block[8:]
            piece = piece[: size - written]
            f.write(piece)
            digest.update(piece)
            written += len(piece)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 * MiB), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.slow
def test_one_gib_through_the_swift_cli_in_flat_memory(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", workers=1).start()
    try:
        creds = server.member("mem", "env", "lou")
        env = v3_env(server, creds)
        work = tmp_path / "work"
        work.mkdir()
        expected = _random_file(work / "gib.bin", 1024 * MiB)
        run(["swift", "upload", "big", "gib.bin"], env, cwd=work, timeout=600)
        (work / "gib.bin").unlink()
        out = tmp_path / "out"
        out.mkdir()
        run(["swift", "download", "big", "gib.bin"], env, cwd=out, timeout=600)
        assert _sha256(out / "gib.bin") == expected
        assert server.proc is not None
        # The whole tree (supervisor, metadata writer, worker), as a user's `ps`/`top`
        # would add it up.
        peaks = {pid: _peak_rss_kib(pid) for pid in _pids(server.proc.pid)}
        assert len(peaks) == 3, f"expected supervisor, metadata writer, 1 worker: {peaks}"
        assert sum(peaks.values()) < 200 * 1024, f"peak RSS (KiB) by process: {peaks}"
    finally:
        server.stop()
