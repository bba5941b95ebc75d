"""Failed-login counters in the metadata database: every process (here: several
`Throttle`s and threads on one database) adds to the same count, the window closes on
time, a success clears, and expired rows are swept."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from cumulo import errors
from cumulo.identity.service import Throttle
from cumulo.metadata.db import Database
from cumulo.metadata.identity import IdentityStore
from cumulo.metadata.schema import login_failures


def _rows(database: Database) -> int:
    with database.read() as conn:
        return int(conn.execute(select(func.count()).select_from(login_failures)).scalar_one())


def test_failures_from_every_process_add_up(database: Database) -> None:
    store = IdentityStore(database)
    workers = [Throttle(store, "keystone", 5, 60) for _ in range(3)]
    for n in range(5):
        workers[n % 3].check("mallory")
        workers[n % 3].fail("mallory")
    for worker in workers:
        with pytest.raises(errors.TooManyAttempts):
            worker.check("mallory")
    workers[0].check("someone-else")  # per name
    Throttle(store, "portal", 5, 60).check("mallory")  # and per scope


def test_concurrent_failures_are_each_counted(database: Database) -> None:
    store = IdentityStore(database)
    throttle = Throttle(store, "keystone", 100, 60)

    def fail_five() -> None:
        for _ in range(5):
            throttle.fail("bob")

    threads = [threading.Thread(target=fail_five) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.login_failures("keystone:bob", time.time()) == 20


def test_the_window_opens_on_the_first_failure_and_closes_on_time(database: Database) -> None:
    store = IdentityStore(database)
    store.add_login_failure("k", 1000.0, 60)
    store.add_login_failure("k", 1030.0, 60)
    assert store.login_failures("k", 1059.0) == 2
    assert store.login_failures("k", 1060.0) == 0  # closed
    store.add_login_failure("k", 1061.0, 60)  # a new window, counting from one
    assert store.login_failures("k", 1120.0) == 1
    assert store.login_failures("k", 1121.0) == 0


def test_expired_rows_are_swept_on_failures(database: Database) -> None:
    store = IdentityStore(database)
    for n in range(10):
        store.add_login_failure(f"name-{n}", 1000.0, 60)
    assert _rows(database) == 10
    store.add_login_failure("late", 2000.0, 60)
    assert _rows(database) == 1


def test_success_clears_and_only_writes_after_a_failure(database: Database) -> None:
    store = IdentityStore(database)
    throttle = Throttle(store, "portal", 2, 60)
    throttle.check("carol")
    throttle.succeed("carol")  # nothing seen: no write at all
    assert _rows(database) == 0
    throttle.fail("carol")
    other = Throttle(store, "portal", 2, 60)  # another worker sees it and clears it
    other.check("carol")
    other.succeed("carol")
    assert store.login_failures("portal:carol", time.time()) == 0
    throttle.fail("carol")
    throttle.fail("carol")
    with pytest.raises(errors.TooManyAttempts):
        throttle.check("carol")


def test_long_names_count_under_their_digest(database: Database) -> None:
    store = IdentityStore(database)
    throttle = Throttle(store, "portal-ip", 1, 60)
    name = "x" * 100_000
    throttle.fail(name)
    with pytest.raises(errors.TooManyAttempts):
        throttle.check(name)
    with database.read() as conn:
        (key,) = conn.execute(select(login_failures.c.key)).scalars()
    assert key.startswith("portal-ip:sha256:") and len(key) < 96
