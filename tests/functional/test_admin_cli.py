"""The admin CLI agrees with the server: it uses the metadata database and public URLs
`cumulo serve` recorded in the data dir, its own environment and flags still win, and
without a data dir it says so instead of creating one."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.s3_support import make_tls
from tests.harness import CUMULO, Server, free_port, fresh_postgres_database, password_token


def _other_database(tmp_path: Path) -> Iterator[str]:
    """A metadata URL that is not the data dir's default: PostgreSQL when the test
    database is configured (the issue's case), else SQLite elsewhere on disk."""
    admin_url = os.environ.get("CUMULO_TEST_POSTGRES_URL")
    if not admin_url:
        (tmp_path / "elsewhere").mkdir()
        yield f"sqlite:///{tmp_path / 'elsewhere' / 'meta.sqlite3'}"
        return
    with fresh_postgres_database(admin_url, "cumulo_cli_") as url:
        yield url


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, Path]]:
    base = tmp_path_factory.mktemp("admin-cli")
    databases = _other_database(base)
    url = next(databases)
    ca, cert, key = make_tls(base / "tls")
    server = Server(
        base / "data",
        scheme="https",
        extra_args=["--metadata-url", url, "--tls-cert", str(cert), "--tls-key", str(key)],
    ).start()
    try:
        yield server, url, ca
    finally:
        server.stop()
        assert "Traceback" not in server.log(), server.log()[-5000:]
        for _ in databases:
            pass


def _bare_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUMULO_", "OS_", "AWS_"))}
    env.update(extra)
    return env


def _cumulo(*args: str, env: dict[str, str], cwd: Path | None = None) -> Any:
    return subprocess.run(
        [CUMULO, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_admin_commands_use_the_servers_database_and_urls(
    tls_server: tuple[Server, str, Path], tmp_path: Path
) -> None:
    server, url, ca = tls_server
    # Only the data dir, as an operator beside `cumulo serve --metadata-url ...` types it.
    env = _bare_env(CUMULO_DATA_DIR=str(server.data_dir))
    org = "cli-" + uuid.uuid4().hex[:8]
    for args in (
        ("org", "create", org),
        ("env", "create", org, "env"),
        ("user", "create", "olga"),
        ("member", "add", org, "env", "olga"),
    ):
        done = _cumulo(*args, env=env)
        assert done.returncode == 0, done.stderr
    assert not (server.data_dir / "metadata.sqlite3").exists()  # no fresh SQLite file
    shown = _cumulo("creds", "show", "olga", org, "env", "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    creds = json.loads(shown.stdout)
    assert creds["openstack"]["auth_url"] == server.auth_url
    assert creds["s3"]["endpoint_url"] == server.object_url
    assert server.object_url.startswith("https://")
    table = _cumulo("creds", "show", "olga", org, "env", env=env).stdout
    assert f"https://127.0.0.1:{server.object_port}" in table and ":8080" not in table
    # The server sees the CLI's writes: the printed credentials authenticate there.
    reply = password_token(server, creds, scoped=False, verify=str(ca))
    assert reply.status_code == 201
    record = server.data_dir / "serve-settings.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    recorded = json.loads(record.read_text())
    assert recorded["metadata_url"] == url and "admin_password" not in recorded
    assert recorded["public"]["object"] == server.object_url


def test_the_admin_commands_own_environment_and_flags_win(
    tls_server: tuple[Server, str, Path], tmp_path: Path
) -> None:
    server, _, _ = tls_server
    org = "win-" + uuid.uuid4().hex[:8]
    server.member(org, "env", "wendy")
    env = _bare_env(
        CUMULO_DATA_DIR=str(server.data_dir), CUMULO_OBJECT_URL="https://s3.example.test"
    )
    shown = _cumulo("creds", "show", "wendy", org, "env", "--format", "json", env=env)
    assert json.loads(shown.stdout)["s3"]["endpoint_url"] == "https://s3.example.test"
    port = free_port()
    env = _bare_env(CUMULO_DATA_DIR=str(server.data_dir), CUMULO_IDENTITY_PORT=str(port))
    shown = _cumulo("creds", "show", "wendy", org, "env", "--format", "json", env=env)
    assert json.loads(shown.stdout)["openstack"]["auth_url"] == f"https://127.0.0.1:{port}"
    # Another database by flag: the server's organizations are not in it.
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    env = _bare_env(CUMULO_DATA_DIR=str(server.data_dir))
    listed = _cumulo("org", "list", "--metadata-url", other, env=env)
    assert listed.returncode == 0, listed.stderr
    assert org not in listed.stdout.split()
    assert org in _cumulo("org", "list", env=env).stdout.split()
    settings = _cumulo("settings", env=env).stdout
    assert f"object_port = {server.object_port}" in settings


@pytest.mark.parametrize(
    "args",
    [
        ("org", "create", "x"),
        ("org", "list"),
        ("user", "create", "nobody"),
        ("creds", "show", "a", "b", "c"),
        ("creds", "regenerate", "a"),
        ("keys", "rotate"),
    ],
)
def test_without_a_data_dir_commands_stop_and_create_nothing(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = _cumulo(*args, env=_bare_env(), cwd=tmp_path)
    assert done.returncode != 0
    assert "no data directory at" in done.stderr and "cumulo serve" in done.stderr
    assert list(tmp_path.iterdir()) == []
    elsewhere = tmp_path / "missing"
    done = _cumulo("--data-dir", str(elsewhere), *args, env=_bare_env(), cwd=tmp_path)
    assert done.returncode != 0 and str(elsewhere) in done.stderr
    assert not elsewhere.exists()


def test_with_a_metadata_url_and_no_data_dir_only_the_database_is_used(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meta.sqlite3'}"
    env = _bare_env(CUMULO_METADATA_URL=url, CUMULO_DATA_DIR=str(tmp_path / "data"))
    done = _cumulo("org", "create", "dbonly", env=env)
    assert done.returncode == 0, done.stderr
    assert "dbonly" in _cumulo("org", "list", env=env).stdout.split()
    # A user's secret needs the cluster's keys, which only `serve` sets up: refused,
    # not made with a key no node has.
    refused = _cumulo("user", "create", "ursula", env=env)
    assert refused.returncode != 0 and "no cluster keys yet" in refused.stderr
    assert not (tmp_path / "data").exists()
