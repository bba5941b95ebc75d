"""Starts `cumulo serve` the way the README does, and drives the admin CLI beside it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
CUMULO = str(BIN / "cumulo")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, timeout: float = 30.0, proc: subprocess.Popen[Any] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open within {timeout}s")


@dataclass
class Server:
    data_dir: Path
    identity_port: int = field(default_factory=free_port)
    object_port: int = field(default_factory=free_port)
    portal_port: int = field(default_factory=free_port)
    workers: int = 1
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    scheme: str = "http"
    _services: Any = field(default=None, repr=False)

    @property
    def auth_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.identity_port}"

    @property
    def object_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.object_port}"

    @property
    def portal_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.portal_port}"

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_", "AWS_"))}
        # No ports here: `serve` gets them as flags and records them in the data dir,
        # where the admin CLI (and `services()`) read them.
        env.update(self.env)
        env["CUMULO_DATA_DIR"] = str(self.data_dir)
        env["CUMULO_ADMIN_PASSWORD"] = "admin-password-for-tests"
        env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
        return env

    def start(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [
                CUMULO,
                "serve",
                "--identity-port",
                str(self.identity_port),
                "--object-port",
                str(self.object_port),
                "--portal-port",
                str(self.portal_port),
                "--workers",
                str(self.workers),
                *self.extra_args,
            ],
            env=self.environ(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.identity_port, proc=self.proc)
        wait_for_port(self.object_port, proc=self.proc)
        wait_for_port(self.portal_port, proc=self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        path = self.data_dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [CUMULO, *args], env=self.environ(), capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"cumulo {' '.join(args)} failed: {result.stderr}")
        return result

    def services(self) -> Any:
        """The same services the admin CLI builds on this data dir, in this process:
        test set-up through them costs milliseconds instead of a CLI start each.
        (The CLI itself is tested by the tests that run it.)"""
        if self._services is None:
            from cumulo import config
            from cumulo.app import build

            self._services = build(config.load({}, self.environ(), recorded=True))
        return self._services

    def member(self, org: str, env: str, login: str, role: str = "member") -> dict[str, Any]:
        """Creates what is missing of org/env/user, adds the membership, returns creds JSON."""
        from cumulo import errors
        from cumulo.model import Role

        identity = self.services().identity
        for create in (
            lambda: identity.create_organization(org),
            lambda: identity.create_environment(org, env),
            lambda: identity.create_user(login),
        ):
            with contextlib.suppress(errors.Conflict):
                create()
        identity.add_member(org, env, login, Role(role))
        return self.creds(login, org, env)

    def creds(self, login: str, org: str, env: str) -> dict[str, Any]:
        """What `cumulo creds show ... --format json` prints (the same code, in process)."""
        from cumulo.identity.snippets import creds_document

        services = self.services()
        found = services.identity.credentials(login, org, env)
        return dict(json.loads(json.dumps(creds_document(services.settings, found))))


def v3_env(server: Server, creds: dict[str, Any]) -> dict[str, str]:
    """The seed's Keystone v3 export block, verbatim but for the host."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    env.update(
        OS_PASSWORD=creds["openstack"]["password"],
        OS_USERNAME=creds["openstack"]["username"],
        OS_PROJECT_NAME=creds["openstack"]["project_name"],
        OS_AUTH_URL=server.auth_url,
        OS_IDENTITY_API_VERSION="3",
    )
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    return env


def v2_env(server: Server, creds: dict[str, Any]) -> dict[str, str]:
    """The seed's Keystone v2.0 export block, verbatim but for the host."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    env.update(
        OS_USERNAME=creds["openstack"]["username"],
        OS_PROJECT_NAME=creds["openstack"]["project_name"],
        OS_PASSWORD=creds["openstack"]["password"],
        OS_AUTH_URL=server.auth_url + "/v2.0",
    )
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    return env


def run(
    args: list[str],
    env: dict[str, str],
    *,
    cwd: Path | None = None,
    check: bool = True,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    if args[0] in ("swift", "openstack", "rclone"):
        args = [str(BIN / args[0]), *args[1:]]
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
            f"stderr: {result.stderr}"
        )
    return result


def password_body(
    username: str,
    password: str,
    project: str | None,
    *,
    user_domain: dict[str, str] | None = None,
    project_domain: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Keystone v3 password authentication request, scoped to `project` unless None."""
    user: dict[str, Any] = {"name": username, "password": password}
    if user_domain is not None:
        user["domain"] = user_domain
    body: dict[str, Any] = {
        "auth": {"identity": {"methods": ["password"], "password": {"user": user}}}
    }
    if project is not None:
        scope: dict[str, Any] = {"name": project}
        if project_domain is not None:
            scope["domain"] = project_domain
        body["auth"]["scope"] = {"project": scope}
    return body


def password_token(
    server: Server, creds: dict[str, Any], *, scoped: bool = True, **options: Any
) -> Any:
    """`POST /v3/auth/tokens` with a membership's password (`creds` as `creds show`
    prints them), scoped to its project unless told not to; the `requests` reply."""
    import requests

    os_ = creds["openstack"]
    project = os_["project_name"] if scoped else None
    body = password_body(os_["username"], os_["password"], project)
    options.setdefault("timeout", 10)
    return requests.post(server.auth_url + "/v3/auth/tokens", json=body, **options)


def postgres_admin_url() -> str:
    """The server CUMULO_TEST_POSTGRES_URL names; without one, the test skips (fails
    under CUMULO_REQUIRE_POSTGRES=1, as in CI)."""
    import pytest

    admin_url = os.environ.get("CUMULO_TEST_POSTGRES_URL")
    if not admin_url:
        if os.environ.get("CUMULO_REQUIRE_POSTGRES") == "1":
            pytest.fail("CUMULO_REQUIRE_POSTGRES=1 but CUMULO_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL: set CUMULO_TEST_POSTGRES_URL to run these on it")
    return admin_url


@contextlib.contextmanager
def fresh_postgres_database(admin_url: str, prefix: str = "cumulo_test_") -> Iterator[str]:
    """A new, empty database on the server of `admin_url`, dropped afterwards; its URL."""
    import uuid

    import psycopg

    name = prefix + uuid.uuid4().hex[:12]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
