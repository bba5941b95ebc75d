"""Connections the server drops (a restart, an administrator's pg_terminate_backend):
one lost mid-transaction is `errors.Unavailable` for that caller only, and the pool
never hands a dead one to the next caller. On SQLite there is no server to lose, so
these run on PostgreSQL only; each kills only the backends of its own connections."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, select, text

from cumulo import errors
from cumulo.metadata import schema as t
from cumulo.metadata.db import Database

GENERATION = select(t.cluster.c.key_generation)


def _terminate(db: Database, pids: list[int]) -> None:
    # From a pool of its own: the killer must not be one of the victims.
    killer = Database(db.url)
    try:
        with killer.read() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        killer.dispose()


def _pid(conn: Connection) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.mark.postgres
def test_a_dead_pooled_connection_is_replaced_not_handed_out(postgres_database: Database) -> None:
    db = postgres_database
    with db.read() as a, db.read() as b:  # two pooled connections
        pids = [_pid(a), _pid(b)]
    _terminate(db, pids)
    for _ in range(5):
        db.first(GENERATION, {})
        with db.read() as conn:
            assert _pid(conn) not in pids


@pytest.mark.postgres
def test_a_connection_lost_mid_transaction_is_unavailable_then_recovers(
    postgres_database: Database,
) -> None:
    db = postgres_database

    def work(conn: Connection) -> None:
        _terminate(db, [_pid(conn)])
        conn.execute(text("SELECT 1"))

    with pytest.raises(errors.Unavailable):
        db.transact(work)
    assert db.transact(lambda conn: conn.execute(text("SELECT 1")).scalar_one()) == 1
