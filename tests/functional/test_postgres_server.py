"""The whole server on PostgreSQL metadata (`--metadata-url`), driven by the swift CLI.

Runs when CUMULO_TEST_POSTGRES_URL names a server; CI sets it and
CUMULO_REQUIRE_POSTGRES=1, which turns its absence into a failure.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Server, fresh_postgres_database, postgres_admin_url, run, v3_env

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_server(tmp_path: Path) -> Iterator[Server]:
    with fresh_postgres_database(postgres_admin_url(), "cumulo_srv_") as url:
        # A flag of `serve` only: the admin CLI finds the database in the server's record.
        server = Server(tmp_path / "data", workers=2, extra_args=["--metadata-url", url]).start()
        try:
            yield server
        finally:
            server.stop()


def test_seed_workflow_on_postgresql(pg_server: Server, tmp_path: Path) -> None:
    creds = pg_server.member("pg", "env", "pat")
    env = v3_env(pg_server, creds)
    work = tmp_path / "work"
    work.mkdir()
    data = os.urandom(2 * 1024 * 1024 + 7)
    (work / "f.bin").write_bytes(data)
    run(["swift", "upload", "--segment-size", "1048576", "box", "f.bin"], env, cwd=work)
    run(["swift", "upload", "box", "f.bin", "--object-name", "plain.bin"], env, cwd=work)
    assert sorted(run(["swift", "list", "box"], env).stdout.split()) == ["f.bin", "plain.bin"]
    out = tmp_path / "out"
    out.mkdir()
    run(["swift", "download", "box", "-D", str(out)], env)
    for name in ("f.bin", "plain.bin"):
        assert hashlib.sha256((out / name).read_bytes()).digest() == hashlib.sha256(data).digest()
    run(["swift", "delete", "box"], env)
    assert "box" not in run(["swift", "list"], env).stdout.split()
