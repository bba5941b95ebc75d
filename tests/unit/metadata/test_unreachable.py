"""A PostgreSQL metadata database that cannot be reached is `errors.Unavailable`
on every way into the store, quickly and on one rate-limited log line (the restart
itself, and the recovery, are driven for real in tests/functional/test_postgres_restart.py)."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import select, text

from cumulo import errors
from cumulo.metadata import schema as t
from cumulo.metadata.db import Database
from tests.harness import free_port


@pytest.fixture
def db() -> Database:
    # Nothing listens on a fresh free port: every connection is refused.
    return Database(
        f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
        pool_timeout=1,
        connect_timeout=1,
    )


def test_every_way_in_raises_unavailable(db: Database) -> None:
    started = time.monotonic()
    with pytest.raises(errors.Unavailable):
        db.first(select(t.cluster.c.key_generation), {})
    with pytest.raises(errors.Unavailable), db.read() as conn:
        conn.execute(text("SELECT 1"))
    with pytest.raises(errors.Unavailable), db.write() as conn:
        conn.execute(text("SELECT 1"))
    with pytest.raises(errors.Unavailable):
        db.transact(lambda conn: conn.execute(text("SELECT 1")))
    with pytest.raises(errors.Unavailable), db.setup_lock():
        pass
    assert time.monotonic() - started < 5


def test_an_outage_is_one_log_line_not_one_per_request(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cumulo.metadata"):
        for _ in range(20):
            with pytest.raises(errors.Unavailable):
                db.transact(lambda conn: conn.execute(text("SELECT 1")))
    lines = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None


def test_statement_errors_are_not_outages(tmp_path: object) -> None:
    # A wrong statement is a bug with a traceback, not a 503 (SQLite shows it too).
    db = Database(f"sqlite:///{tmp_path}/m.sqlite3")
    with pytest.raises(Exception) as caught, db.read() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(caught.value, errors.Unavailable)


def test_a_pool_timeout_is_unavailable(db: Database) -> None:
    # Every pooled connection busy for longer than --metadata-pool-timeout.
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    with pytest.raises(errors.Unavailable), db.reachable():
        raise PoolTimeout("QueuePool limit reached")
