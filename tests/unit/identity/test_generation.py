"""The node's identity generation: a change committed by one process (another worker, the
admin CLI) makes every other process's cached identity facts stale at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from cumulo import config, errors
from cumulo.app import build
from cumulo.identity.generation import NodeGeneration
from cumulo.identity.service import CacheMiss, TtlCache
from cumulo.model import Role


def test_a_bump_is_seen_through_every_mapping_of_the_file(tmp_path: Path) -> None:
    one, other = NodeGeneration(tmp_path / "g"), NodeGeneration(tmp_path / "g")
    assert one.value() == other.value() == 0
    assert one.bump() == 1
    assert other.value() == 1
    other.bump()
    assert one.value() == 2
    assert (tmp_path / "g").stat().st_mode & 0o777 == 0o600


def test_entries_loaded_under_an_old_generation_are_stale(tmp_path: Path) -> None:
    generation = NodeGeneration(tmp_path / "g")
    cache: TtlCache[str, str] = TtlCache(generation.value, seconds=3600)
    assert cache.get("k", lambda: "old") == "old"
    assert cache.get("k", lambda: "unused", cached_only=True) == "old"
    generation.bump()
    with pytest.raises(CacheMiss):
        cache.get("k", lambda: "unused", cached_only=True)

    # A change committed while a load runs: the entry is tagged with the generation
    # read before the load, so the next lookup loads again.
    def racing_load() -> str:
        generation.bump()
        return "read before the commit"

    assert cache.get("k", racing_load) == "read before the commit"
    assert cache.get("k", lambda: "fresh") == "fresh"


def test_a_change_in_another_process_reaches_this_ones_caches(tmp_path: Path) -> None:
    settings = config.load({"data_dir": str(tmp_path)}, environ={})
    worker, cli = build(settings).identity, build(settings).identity
    cli.create_organization("org")
    cli.create_environment("org", "env")
    cli.create_user("alice")
    member = cli.add_member("org", "env", "alice", Role.MEMBER)
    secret = cli.credentials("alice", "org", "env").password
    token = worker.authenticate(username=member.username, password=secret).token
    worker.validate(token)
    assert worker.s3_key(member.access_key) is not None

    worker_cached = worker.validate(token, cached_only=True)
    assert worker_cached[0].username == member.username
    cli.regenerate("alice")
    with pytest.raises(errors.TokenNotFound):
        worker.validate(token)
    principal, new_secret = worker.s3_key(member.access_key) or (None, "")
    assert new_secret != secret and principal is not None

    token = worker.authenticate(username=member.username, password=new_secret).token
    worker.validate(token)
    cli.remove_member("org", "env", "alice")
    with pytest.raises(errors.TokenNotFound):
        worker.validate(token)
    assert worker.s3_key(member.access_key) is None


def test_regenerate_deletes_the_users_ec2_credentials_everywhere(tmp_path: Path) -> None:
    identity = build(config.load({"data_dir": str(tmp_path)}, environ={})).identity
    identity.create_organization("org")
    identity.create_user("bob")
    principals = []
    for env in ("a", "b"):
        identity.create_environment("org", env)
        member = identity.add_member("org", env, "bob", Role.MEMBER)
        row = identity.store.principal_row(id=member.id)
        principals.append(identity._secrets(row).principal)  # type: ignore[union-attr]
    made = [identity.create_ec2(p, p.project_id) for p in principals]
    assert all(identity.s3_key(m.access) is not None for m in made)
    assert [c.access for c in identity.member_ec2("bob", "org", "a")] == [made[0].access]
    assert identity.member_ec2("bob", "org", "a")[0].secret == ""  # never shown again
    identity.regenerate("bob")
    assert all(identity.s3_key(m.access) is None for m in made)
    assert identity.member_ec2("bob", "org", "a") == identity.member_ec2("bob", "org", "b") == []
