"""Identity lookups answer inline from the caches and go to a thread only on a miss."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from cumulo import config, errors
from cumulo.app import Cumulo, build
from cumulo.identity.service import CacheMiss, IdentityService, cached_or_in_thread
from cumulo.metadata.schema import login_failures
from cumulo.model import Role


@pytest.fixture
def cumulo(tmp_path: Path) -> Cumulo:
    return build(config.load({"data_dir": str(tmp_path)}, environ={}))


def _member(identity: IdentityService) -> tuple[str, str]:
    identity.create_organization("org")
    identity.create_environment("org", "env")
    identity.create_user("alice")
    member = identity.add_member("org", "env", "alice", Role.MEMBER)
    return member.username, identity.credentials("alice", "org", "env").password


def _threads(identity: IdentityService) -> list[str]:
    """Records the thread of every database lookup of principals."""
    seen: list[str] = []
    load = identity.store.principal_row

    def recording(**kwargs: str) -> object:
        seen.append(threading.current_thread().name)
        return load(**kwargs)

    identity.store.principal_row = recording  # type: ignore[method-assign]
    return seen


def test_cached_only_raises_on_a_miss_before_any_side_effect(cumulo: Cumulo) -> None:
    identity = cumulo.identity
    username, password = _member(identity)
    with pytest.raises(CacheMiss):
        identity.authenticate(username=username, password="wrong", cached_only=True)
    # The miss counted no failed attempt: the retry in a thread is the only one.
    with pytest.raises(errors.Unauthenticated):
        identity.authenticate(username=username, password="wrong")
    assert identity.store.login_failures(f"keystone:{username}", time.time()) == 1
    token = identity.authenticate(username=username, password=password).token
    identity.forget()
    with pytest.raises(CacheMiss):
        identity.validate(token, cached_only=True)


def test_a_miss_queries_in_a_thread_and_a_hit_stays_inline(cumulo: Cumulo) -> None:
    identity = cumulo.identity
    username, password = _member(identity)
    identity.forget()
    seen = _threads(identity)

    async def issue_twice() -> tuple[str, str]:
        loop_thread = threading.current_thread().name
        first = await cached_or_in_thread(
            identity.authenticate, username=username, password=password
        )
        await cached_or_in_thread(identity.authenticate, username=username, password=password)
        return loop_thread, first.token

    loop_thread, token = asyncio.run(issue_twice())
    assert len(seen) == 1 and seen[0] != loop_thread  # one query, off the loop

    async def validate() -> str:
        principal, _ = await cached_or_in_thread(identity.validate, token)
        return principal.username

    assert asyncio.run(validate()) == username
    assert len(seen) == 2 and seen[1] != loop_thread  # by membership id: another miss
    assert asyncio.run(validate()) == username
    assert len(seen) == 2  # then cached


def test_client_sized_names_are_not_kept_whole(cumulo: Cumulo) -> None:
    identity = cumulo.identity
    name = "x" * 100_000
    for _ in range(2):
        with pytest.raises(CacheMiss):  # the failure is a write: counted in a thread
            identity.authenticate(username=name, password="p", cached_only=True)
        with pytest.raises(errors.Unauthenticated):
            identity.authenticate(username=name, password="p")
    assert name not in identity._by_username._items  # answered without a lookup
    with identity.store.db.read() as conn:
        keys = [row.key for row in conn.execute(select(login_failures.c.key))]
    assert len(keys) == 1 and len(keys[0]) < 100
    assert identity.s3_key("k" * 100_000, cached_only=True) is None
