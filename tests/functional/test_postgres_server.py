"""The whole server on PostgreSQL metadata (`--metadata-url`), driven by the swift CLI.

Runs when CUMULO_TEST_POSTGRES_URL names a server; CI sets it and
CUMULO_REQUIRE_POSTGRES=1, which turns its absence into a failure.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Server, run, v3_env

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_server(tmp_path: Path) -> Iterator[Server]:
    admin_url = os.environ.get("CUMULO_TEST_POSTGRES_URL")
    if not admin_url:
        if os.environ.get("CUMULO_REQUIRE_POSTGRES") == "1":
            pytest.fail("CUMULO_REQUIRE_POSTGRES=1 but CUMULO_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL: set CUMULO_TEST_POSTGRES_URL to run this")
    import psycopg

    name = "cumulo_srv_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    # A flag of `serve` only: the admin CLI finds the database in the server's record.
    server = Server(tmp_path / "data", workers=2, extra_args=["--metadata-url", url]).start()
    try:
        yield server
    finally:
        server.stop()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
