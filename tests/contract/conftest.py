"""Every metadata adapter passes the same contract: SQLite always, PostgreSQL when given.

CUMULO_TEST_POSTGRES_URL names a server (e.g. postgresql://postgres@127.0.0.1:5432/postgres);
each test gets a fresh database on it. CI sets CUMULO_REQUIRE_POSTGRES=1, which turns a
missing server into a failure instead of a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cumulo.metadata.db import Database
from tests.seaweedfs import SeaweedCluster, start_cluster


def _postgres_admin_url() -> str | None:
    return os.environ.get("CUMULO_TEST_POSTGRES_URL") or None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
        db.migrate()
        yield db
        db.dispose()
        return
    yield from _postgres_database()


@pytest.fixture
def postgres_database() -> Iterator[Database]:
    """The PostgreSQL adapter alone, for what SQLite has no counterpart of (a server
    whose connections can be lost)."""
    yield from _postgres_database()


def _postgres_database() -> Iterator[Database]:
    admin_url = _postgres_admin_url()
    if admin_url is None:
        if os.environ.get("CUMULO_REQUIRE_POSTGRES") == "1":
            pytest.fail("CUMULO_REQUIRE_POSTGRES=1 but CUMULO_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL: set CUMULO_TEST_POSTGRES_URL to run these on it")
    import psycopg

    name = "cumulo_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    db = Database(f"{base}/{name}")
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def seaweed_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedCluster]:
    """One SeaweedFS (a master, two volume servers) for the session's blob tests."""
    cluster = start_cluster(tmp_path_factory.mktemp("seaweedfs"))
    yield cluster
    cluster.stop()
