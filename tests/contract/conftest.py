"""Every metadata adapter passes the same contract: SQLite always, PostgreSQL when given.

CUMULO_TEST_POSTGRES_URL names a server (e.g. postgresql://postgres@127.0.0.1:5432/postgres);
each test gets a fresh database on it. CI sets CUMULO_REQUIRE_POSTGRES=1, which turns a
missing server into a failure instead of a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cumulo.metadata.db import Database
from tests.harness import fresh_postgres_database, postgres_admin_url
from tests.seaweedfs import SeaweedCluster, start_cluster


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
    with fresh_postgres_database(postgres_admin_url()) as url:
        db = Database(url)
        try:
            db.migrate()
            yield db
        finally:
            db.dispose()


@pytest.fixture(scope="session")
def seaweed_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedCluster]:
    """One SeaweedFS (a master, two volume servers) for the session's blob tests."""
    cluster = start_cluster(tmp_path_factory.mktemp("seaweedfs"))
    yield cluster
    cluster.stop()
