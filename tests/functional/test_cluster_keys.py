"""One cluster, one set of keys: nodes on one PostgreSQL database, each with its own data
dir and the same cluster key file, accept each other's tokens, passwords and S3
signatures; a rotation made from one node holds on both within a second; a node given
another cluster key refuses to start. Runs when CUMULO_TEST_POSTGRES_URL names a server.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.functional.s3_support import signed_as
from tests.harness import (
    CUMULO,
    Server,
    fresh_postgres_database,
    password_token,
    postgres_admin_url,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with fresh_postgres_database(postgres_admin_url(), "cumulo_keys_") as url:
        yield url


def _key_file(path: Path) -> Path:
    path.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")  # openssl rand -base64 32
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def nodes(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Two nodes started at the same time on an empty database."""
    base = tmp_path_factory.mktemp("cluster")
    key = _key_file(base / "cluster.key")
    args = ["--metadata-url", database_url, "--cluster-key-file", str(key)]
    a = Server(base / "node-a", extra_args=args)
    b = Server(base / "node-b", extra_args=args)
    failures: list[BaseException] = []

    def start(node: Server) -> None:
        try:
            node.start()
        except BaseException as exc:  # reported below, on the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(n,)) for n in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert not failures, (failures, a.log(), b.log())
        yield a, b
    finally:
        for node in (a, b):
            node.stop()
            assert "Traceback" not in node.log(), node.log()[-5000:]


def _token(node: Server, creds: dict[str, Any]) -> str:
    made = password_token(node, creds)
    assert made.status_code == 201, made.text
    return str(made.headers["X-Subject-Token"])


def _swift_status(node: Server, creds: dict[str, Any], token: str) -> int:
    """A Swift account GET with the token."""
    url = f"{node.object_url}/v1/AUTH_{creds['openstack']['project_id']}"
    return requests.get(url, headers={"X-Auth-Token": token}, timeout=10).status_code


def _s3_status(node: Server, creds: dict[str, Any]) -> int:
    return signed_as(node, creds, "GET", "/").status_code


def test_nodes_started_together_share_one_key_set_and_one_admin(
    nodes: tuple[Server, Server], database_url: str
) -> None:
    import psycopg

    with psycopg.connect(database_url) as conn:
        kinds = dict(
            conn.execute("SELECT kind, count(*) FROM cluster_keys GROUP BY kind").fetchall()
        )
        admins = conn.execute("SELECT count(*) FROM users WHERE is_admin").fetchone()
    assert kinds == {"token": 2, "secret": 1}
    assert admins is not None and admins[0] == 1
    made = sum(node.log().count("created system admin") for node in nodes)
    assert made == 1


def test_tokens_passwords_and_s3_keys_hold_on_both_nodes(nodes: tuple[Server, Server]) -> None:
    a, b = nodes
    creds = a.member("clu", "env", "carol")
    from_a, from_b = _token(a, creds), _token(b, creds)  # password auth on each
    for node in nodes:
        for token in (from_a, from_b):
            assert _swift_status(node, creds, token) in (200, 204)
        assert _s3_status(node, creds) == 200


def test_rotation_from_one_node_holds_on_both_within_a_second(
    nodes: tuple[Server, Server],
) -> None:
    a, b = nodes
    creds = a.member("clu", "rot", "rita")
    old = _token(a, creds)
    rotated = a.cli("keys", "rotate")  # the admin CLI on node A's data dir
    assert "primary key is now 2" in rotated.stdout
    time.sleep(1.1)
    fresh = [_token(a, creds), _token(b, creds)]
    for node in nodes:
        for token in (old, *fresh):
            assert _swift_status(node, creds, token) in (200, 204)


def test_admin_cli_reaches_the_cluster_with_url_and_key_file(
    nodes: tuple[Server, Server], database_url: str, tmp_path: Path
) -> None:
    a, _ = nodes
    key = a.extra_args[a.extra_args.index("--cluster-key-file") + 1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUMULO_")}
    env["CUMULO_DATA_DIR"] = str(tmp_path / "no-data-dir")

    def cli(*args: str, key_file: str = key) -> subprocess.CompletedProcess[str]:
        flags = ["--metadata-url", database_url, "--cluster-key-file", key_file]
        command = [CUMULO, *args, *flags]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    assert cli("user", "create", "cliuser").returncode == 0
    assert cli("org", "create", "cliorg").returncode == 0
    assert cli("env", "create", "cliorg", "e").returncode == 0
    assert cli("member", "add", "cliorg", "e", "cliuser").returncode == 0
    shown = cli("creds", "show", "cliuser", "cliorg", "e", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    wrong = _key_file(tmp_path / "other.key")
    refused = cli("creds", "show", "cliuser", "cliorg", "e", key_file=str(wrong))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"cumulo: the cluster key in {wrong} does not match the one this database was set "
        "up with (every node on it needs the same --cluster-key-file)"
    )
    assert not (tmp_path / "no-data-dir").exists()


def test_a_node_with_another_cluster_key_refuses_to_start(
    nodes: tuple[Server, Server], tmp_path: Path
) -> None:
    a, _ = nodes
    url = a.extra_args[a.extra_args.index("--metadata-url") + 1]
    wrong = _key_file(tmp_path / "wrong.key")
    third = Server(tmp_path / "node-c", extra_args=["--metadata-url", url])
    env = third.environ()
    serve = [CUMULO, "serve", "--identity-port", "0", "--object-port", "0", "--portal-port", "0"]
    started = subprocess.run(
        [*serve, "--metadata-url", url, "--cluster-key-file", str(wrong)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert started.stderr.strip().splitlines() == [
        f"cumulo: the cluster key in {wrong} does not match the one this database was set "
        "up with (every node on it needs the same --cluster-key-file)"
    ]
    assert "Traceback" not in started.stdout + started.stderr
    # Its own data dir's default key (made on first start) is just as foreign.
    started = subprocess.run(
        [*serve, "--metadata-url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0 and "does not match" in started.stderr
