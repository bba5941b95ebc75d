"""SQLite's group commit: shared transactions, per-job failure, threads and coroutines."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from cumulo.metadata.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    with database.write() as conn:
        conn.exec_driver_sql("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
    return database


def insert(k: str, v: int = 0) -> object:
    def work(conn: Connection) -> str:
        conn.execute(text("INSERT INTO t VALUES (:k, :v)"), {"k": k, "v": v})
        return k

    return work


def keys(db: Database) -> list[str]:
    with db.read() as conn:
        return [r[0] for r in conn.execute(text("SELECT k FROM t ORDER BY k"))]


def test_threads_and_coroutines_share_commits_and_get_their_own_results(db: Database) -> None:
    commits = []
    original = db._group._run_batch

    def counting(batch: list) -> None:  # type: ignore[type-arg]
        commits.append(len(batch))
        original(batch)

    db._group._run_batch = counting  # type: ignore[method-assign]

    async def many() -> list[str]:
        return list(
            await asyncio.gather(*[db.transact_async(insert(f"a{i:03}")) for i in range(200)])
        )

    with ThreadPoolExecutor(16) as pool:
        threaded = pool.map(lambda i: db.transact(insert(f"t{i:03}")), range(200))
        awaited = asyncio.run(many())
        assert list(threaded) == [f"t{i:03}" for i in range(200)]
    assert awaited == [f"a{i:03}" for i in range(200)]
    assert len(keys(db)) == 400
    assert sum(commits) == 400 and len(commits) < 400  # batches formed


def test_a_failing_job_undoes_only_its_own_work(db: Database) -> None:
    def half_then_fail(conn: Connection) -> None:
        conn.execute(text("INSERT INTO t VALUES ('half', 1)"))
        conn.execute(text("INSERT INTO t VALUES ('dup', 1)"))

    db.transact(insert("dup"))

    async def together() -> list[object]:
        return list(
            await asyncio.gather(
                db.transact_async(insert("before")),
                db.transact_async(half_then_fail),
                db.transact_async(insert("after")),
                return_exceptions=True,
            )
        )

    before, failed, after = asyncio.run(together())
    assert (before, after) == ("before", "after")
    assert isinstance(failed, Exception) and "UNIQUE" in str(failed)
    assert keys(db) == ["after", "before", "dup"]


def test_a_failed_commit_fails_every_job_of_the_batch(db: Database) -> None:
    original = db._group._begin
    batches = []

    @contextlib.contextmanager
    def second_commit_fails() -> Iterator[Connection]:
        batches.append(1)
        with original() as conn:
            yield conn
            if len(batches) == 2:  # raised before COMMIT: the transaction rolls back
                raise OSError("disk I/O error")

    db._group._begin = second_commit_fails  # type: ignore[method-assign]
    gate = threading.Event()

    def held(conn: Connection) -> str:
        gate.wait(10)  # keeps the writer busy while "a" and "b" queue behind it
        return "held"

    async def together() -> list[object]:
        first = asyncio.ensure_future(db.transact_async(held))
        await asyncio.sleep(0.05)
        queued = [asyncio.ensure_future(db.transact_async(insert(k))) for k in ("a", "b")]
        await asyncio.sleep(0.05)
        gate.set()
        return list(await asyncio.gather(first, *queued, return_exceptions=True))

    held_result, *results = asyncio.run(together())
    assert held_result == "held" and len(batches) == 2
    assert all(isinstance(r, OSError) for r in results), results
    assert keys(db) == []
    assert db.transact(insert("c")) == "c"  # the writer lives on
    assert keys(db) == ["c"]


def test_a_forked_child_commits_with_its_own_writer(db: Database) -> None:
    db.transact(insert("parent"))  # the parent's writer thread exists now
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            db.engine.dispose(close=False)
            db.transact(insert("child"))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert keys(db) == ["child", "parent"]
