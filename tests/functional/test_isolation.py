"""Isolation and credential life cycle, with the real `swift` CLI.

Each credential reaches only its own project with its role's rights; *Regenerate*
changes the password everywhere; removing and re-adding a member changes that
environment only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.harness import Server, run, v2_env, v3_env


def _swift(env: dict[str, str], *args: str, cwd: Path | None = None) -> Any:
    return run(["swift", *args], env, cwd=cwd, check=False)


def _assert_unauthorized(result: Any) -> None:
    # swiftclient words a 401 from Keystone as "Unauthorized. Check username/id, ..."
    assert result.returncode != 0
    assert "Unauthorized" in result.stderr or "401" in result.stderr, result.stderr


def test_other_environments_account_is_forbidden(server: Server) -> None:
    mine = server.member("iso", "one", "ana")
    theirs = server.member("iso", "two", "beto")
    env = v3_env(server, mine)
    other_url = f"{server.object_url}/v1/AUTH_{theirs['openstack']['project_id']}"
    result = _swift(env, "--os-storage-url", other_url, "list")
    assert result.returncode != 0
    assert "403" in result.stderr


def test_read_only_member_reads_but_cannot_write(server: Server, workdir: Path) -> None:
    writer = server.member("iso", "shared", "carla")
    reader = server.member("iso", "shared", "dani", role="read-only")
    (workdir / "f.txt").write_text("data\n")
    run(["swift", "upload", "box", "f.txt"], v3_env(server, writer), cwd=workdir)
    env = v3_env(server, reader)
    assert run(["swift", "list", "box"], env).stdout.split() == ["f.txt"]
    denied = _swift(env, "upload", "box", "f.txt", cwd=workdir)
    assert denied.returncode != 0 and "403" in denied.stderr
    denied = _swift(env, "delete", "box", "f.txt")
    assert denied.returncode != 0
    assert run(["swift", "list", "box"], env).stdout.split() == ["f.txt"]


def test_wrong_password_is_401(server: Server) -> None:
    creds = server.member("iso", "pw", "eva")
    env = v3_env(server, creds)
    env["OS_PASSWORD"] = "not-the-password"
    _assert_unauthorized(_swift(env, "stat"))


def test_regenerate_changes_the_password_in_every_environment(server: Server) -> None:
    first = server.member("regen", "a", "fede")
    second = server.member("regen", "b", "fede")
    for creds in (first, second):
        run(["swift", "stat"], v3_env(server, creds))
        run(["swift", "stat"], v2_env(server, creds))
    server.cli("creds", "regenerate", "fede")  # holds at once: no wait
    for creds in (first, second):
        for make_env in (v3_env, v2_env):
            _assert_unauthorized(_swift(make_env(server, creds), "stat"))
    fresh_a = server.creds("fede", "regen", "a")
    fresh_b = server.creds("fede", "regen", "b")
    assert fresh_a["openstack"]["password"] != first["openstack"]["password"]
    assert fresh_a["openstack"]["password"] == fresh_b["openstack"]["password"]
    for creds in (fresh_a, fresh_b):
        run(["swift", "stat"], v3_env(server, creds))
        run(["swift", "stat"], v2_env(server, creds))


def test_remove_and_re_add_changes_that_environment_only(server: Server) -> None:
    kept = server.member("readd", "kept", "gabi")
    before = server.member("readd", "moved", "gabi")
    server.cli("member", "remove", "readd", "moved", "gabi")
    _assert_unauthorized(_swift(v3_env(server, before), "stat"))
    server.cli("member", "add", "readd", "moved", "gabi")
    after = server.creds("gabi", "readd", "moved")
    assert after["openstack"]["username"] != before["openstack"]["username"]
    assert after["s3"]["access_key_id"] != before["s3"]["access_key_id"]
    run(["swift", "stat"], v3_env(server, after))
    assert server.creds("gabi", "readd", "kept") == kept
    run(["swift", "stat"], v3_env(server, kept))
