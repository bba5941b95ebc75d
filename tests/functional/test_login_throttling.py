"""Failed logins count cluster-wide: the server runs two workers, and failures answered
by either add up to one lockout, which both workers then enforce (before, each process
counted its own, so N workers allowed N times the attempts)."""

from __future__ import annotations

from typing import Any

import requests

from tests.functional.portal.web_support import CSRF, user_with_password
from tests.harness import Server, password_body

ATTEMPTS = 4
SERVER_ARGS = ["--workers", "2", "--login-attempts", str(ATTEMPTS), "--lockout-seconds", "600"]
MAX_TRIES = 200


def _keystone(server: Server, os_: dict[str, Any], password: str) -> requests.Response:
    body = password_body(os_["username"], password, os_["project_name"])
    # A fresh connection each time, so the kernel spreads them over the workers.
    with requests.Session() as fresh:
        return fresh.post(server.auth_url + "/v3/auth/tokens", json=body, timeout=10)


def _worker(reply: requests.Response) -> str:
    return reply.headers["x-openstack-request-id"].removeprefix("req-")[:14]


def test_keystone_failures_on_both_workers_add_up(server: Server) -> None:
    creds = server.member("throrg", "env", "mallory")
    os_ = creds["openstack"]
    assert _keystone(server, os_, os_["password"]).status_code == 201
    failed = [_keystone(server, os_, "wrong") for _ in range(ATTEMPTS)]
    assert [r.status_code for r in failed] == [401] * ATTEMPTS
    # Every worker refuses the right password now, though none saw all the failures.
    refused: set[str] = set()
    tries = 0
    while tries < MAX_TRIES and (tries < 8 or len(refused) < 2):
        reply = _keystone(server, os_, os_["password"])
        assert reply.status_code == 401, reply.text
        assert reply.json()["error"]["code"] == 401
        refused.add(_worker(reply))
        tries += 1
    assert len(refused) == 2, f"one worker answered all {tries} requests"


def _sign_in(server: Server, login: str, password: str) -> int:
    with requests.Session() as fresh:  # one browser-like visit per connection
        page = fresh.get(server.portal_url + "/signin", timeout=10)
        token = CSRF.search(page.text)
        assert token, page.text
        done = fresh.post(
            server.portal_url + "/signin",
            data={"csrf": token.group(1), "login": login, "password": password},
            allow_redirects=False,
            timeout=10,
        )
        return done.status_code


def test_portal_sign_in_failures_on_both_workers_add_up(server: Server) -> None:
    user_with_password(server, "guessed", "the-right-password")
    assert [_sign_in(server, "guessed", "nope") for _ in range(ATTEMPTS)] == [401] * ATTEMPTS
    # Many fresh connections, so both workers answer: each refuses with 429.
    assert {_sign_in(server, "guessed", "the-right-password") for _ in range(12)} == {429}
