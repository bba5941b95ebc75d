"""Restarting PostgreSQL under a running server (issue 11's fault "restart PostgreSQL").

While the metadata database is down every request that needs it answers 503 with its
protocol's error body (S3's ServiceUnavailable XML, Swift's 503 page, Keystone's JSON
error, the portal's page and API error), promptly: never a 500, never a hang. When it is
back, requests succeed again without restarting Cumulo, pooled connections from before
the restart are not handed out, and what was stored before is intact.

The test runs its own PostgreSQL cluster (initdb into a temporary directory, on a free
port) so it can stop it without touching the shared server other tests use. Skipped
when initdb is not installed, unless CUMULO_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.functional.portal.web_support import CSRF
from tests.functional.s3_support import S3User, signed
from tests.harness import Server, free_port, password_token

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# A request meeting the outage must be answered within this (a hang fails the test).
PROMPT = 8.0
RECOVERY = 15.0
DATA = os.urandom(100 * 1024 + 3)  # above the inline limit: a blob too


@dataclass
class Cluster:
    """A private PostgreSQL cluster, run as the `postgres` OS user when we are root
    (PostgreSQL refuses to run as root)."""

    root: Path
    port: int
    bin: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"

    def init(self) -> None:
        self._run("initdb", "-A", "trust", "-U", "postgres", "-D", str(self.data))

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "pg.log"),
            "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or (
        [shutil.which("initdb")] if shutil.which("initdb") else []
    )
    return Path(found[-1]).parent if found and found[-1] else None


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bin_dir = _postgres_bin()
    if bin_dir is None:
        if os.environ.get("CUMULO_REQUIRE_POSTGRES") == "1":
            pytest.fail("CUMULO_REQUIRE_POSTGRES=1 but initdb is not installed")
        pytest.skip("initdb is not installed: cannot run a private PostgreSQL to restart")
    root = Path(tempfile.mkdtemp(prefix="cumulo-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    pg = Cluster(root, free_port(), bin_dir)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        if pg.running():
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_server(cluster: Cluster, tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "data", workers=2, extra_args=["--metadata-url", cluster.url])
    server.start()
    try:
        yield server
    finally:
        server.stop()
        log = server.log()
        assert "Traceback" not in log, log[-5000:]


def _timed(call: Callable[[], requests.Response]) -> requests.Response:
    started = time.monotonic()
    response = call()
    assert time.monotonic() - started < PROMPT, "the request hung"
    return response


class Clients:
    """Each front end's requests, raw, each with a timeout."""

    def __init__(self, server: Server, user: S3User, token: str) -> None:
        self.server = server
        self.user = user
        self.token = token
        self.swift = f"{server.object_url}/v1/AUTH_{user.project_id}"

    def s3(self, method: str, path: str, body: bytes = b"") -> requests.Response:
        return _timed(
            lambda: signed(
                self.server,
                method,
                path,
                access_key=self.user.access_key,
                secret_key=self.user.secret_key,
                region=self.user.region,
                body=body,
            )
        )

    def swift_call(self, method: str, path: str, body: bytes = b"") -> requests.Response:
        headers = {"X-Auth-Token": self.token}
        return _timed(
            lambda: requests.request(
                method, self.swift + path, headers=headers, data=body, timeout=PROMPT
            )
        )

    def keystone_token(self) -> requests.Response:
        return _timed(lambda: password_token(self.server, self.user.creds, timeout=PROMPT))

    def portal_signin(self) -> requests.Response:
        session = requests.Session()
        page = _timed(lambda: session.get(self.server.portal_url + "/signin", timeout=PROMPT))
        if page.status_code != 200:
            return page
        found = CSRF.search(page.text)
        assert found, page.text
        form = {"csrf": found.group(1), "login": "admin", "password": "admin-password-for-tests"}
        return _timed(
            lambda: session.post(
                self.server.portal_url + "/signin",
                data=form,
                allow_redirects=False,
                timeout=PROMPT,
            )
        )

    def portal_api(self) -> requests.Response:
        # An API key that does not exist still has to be looked up: a database read.
        headers = {"Authorization": "Bearer cumulo_" + "0" * 32 + "_not-a-key-but-looked-up"}
        url = self.server.portal_url + "/api/me"
        return _timed(lambda: requests.get(url, headers=headers, timeout=PROMPT))


def _s3_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    if response.request.method == "HEAD":
        return
    root = ET.fromstring(response.content)
    assert root.tag == "Error" and root.findtext("Code") == "ServiceUnavailable", response.text
    assert root.findtext("RequestId") == response.headers["x-amz-request-id"]


def _swift_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    if response.request.method != "HEAD":
        assert response.text == (
            "<html><h1>Service Unavailable</h1><p>The server is currently unavailable. "
            "Please try again at a later time.</p></html>"
        )


def _down_answers(clients: Clients) -> None:
    _s3_unavailable(clients.s3("GET", "/box/kept"))
    _s3_unavailable(clients.s3("PUT", "/box/new", b"during the outage"))
    _s3_unavailable(clients.s3("GET", "/box?list-type=2"))
    _s3_unavailable(clients.s3("HEAD", "/box/kept"))
    _swift_unavailable(clients.swift_call("GET", "/box/kept"))
    _swift_unavailable(clients.swift_call("PUT", "/box/swift-new", b"during the outage"))
    _swift_unavailable(clients.swift_call("HEAD", "/box/kept"))
    _swift_unavailable(clients.swift_call("GET", "/box"))
    issued = clients.keystone_token()
    assert issued.status_code == 503, issued.text
    assert issued.json()["error"] == {
        "code": 503,
        "title": "Service Unavailable",
        "message": "The service is unavailable for a moment; try again shortly.",
    }
    page = clients.portal_signin()
    assert page.status_code == 503, page.text
    assert page.headers["Content-Type"].startswith("text/html") and "503" in page.text
    assert page.headers["Retry-After"].isdigit()
    api = clients.portal_api()
    assert api.status_code == 503, api.text
    assert api.json()["error"]["code"] == "Unavailable" and api.headers["Retry-After"].isdigit()


def _everything_works(clients: Clients, round_: int) -> None:
    kept = clients.s3("GET", "/box/kept")
    assert kept.status_code == 200 and kept.content == DATA
    put = clients.s3("PUT", f"/box/after-{round_}", b"after")
    assert put.status_code == 200, put.text
    listed = clients.s3("GET", "/box?list-type=2")
    assert listed.status_code == 200 and b"<Key>kept</Key>" in listed.content
    got = clients.swift_call("GET", "/box/swift-kept")
    assert got.status_code == 200 and got.content == DATA
    assert clients.swift_call("PUT", f"/box/swift-after-{round_}", b"after").status_code == 201
    assert clients.swift_call("HEAD", "/box/kept").status_code == 200
    assert clients.keystone_token().status_code == 201
    assert clients.portal_signin().status_code == 303
    assert clients.portal_api().status_code == 401  # looked up, and not a key


def _eventually(check: Callable[[], Any], within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_requests_answer_503_while_postgresql_is_down_and_recover_by_themselves(
    cluster: Cluster, pg_server: Server, tmp_path: Path
) -> None:
    # The in-process services the harness builds read the server's record: same database.
    assert pg_server.services().settings.database_url == cluster.url
    user = S3User.create(pg_server, "org", "env", "pat", tmp_path / "home")
    token = password_token(pg_server, user.creds)
    assert token.status_code == 201, token.text
    clients = Clients(pg_server, user, token.headers["X-Subject-Token"])
    assert clients.s3("PUT", "/box").status_code == 200
    assert clients.s3("PUT", "/box/kept", DATA).status_code == 200
    assert clients.swift_call("PUT", "/box/swift-kept", DATA).status_code == 201
    _everything_works(clients, 0)  # every worker's pool holds connections now

    cluster.stop()
    # Past the caches' one-second bound, everything that needs the database says 503;
    # several rounds, so both workers (and their stale pools) meet the outage.
    time.sleep(1.2)
    for _ in range(3):
        _down_answers(clients)

    cluster.start()
    _eventually(lambda: _everything_works(clients, 1), RECOVERY)
    # No stale connection is handed out afterwards: every request, on both workers.
    for round_ in range(2, 8):
        _everything_works(clients, round_)

    log = pg_server.log()
    outage_lines = log.count("the metadata database is unreachable")
    assert 1 <= outage_lines <= 12, log[-5000:]
