"""Identity changes hold at once on every worker of the node: a revoked token, a
regenerated secret, a removed membership and a deleted EC2 credential are refused by the
next request, whichever worker takes it. The server runs two workers; each check is
repeated on fresh connections until both have answered (a request id's prefix names
the process that made it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from tests.functional.portal.web_support import CSRF, PortalSession, api, user_with_password
from tests.functional.s3_support import error_code, signed, unique
from tests.harness import Server, password_token

SERVER_ARGS = ["--workers", "2"]
TRIES = 8  # answers per check at least, and until both workers have given some
MAX_TRIES = 200
PW = "identity-changes-password"


def _worker(request_id: str) -> str:
    return request_id.removeprefix("req-")[:14]  # "tx" + the process's random prefix


def _both_workers(send: Callable[[], requests.Response]) -> list[requests.Response]:
    """`send()` on fresh connections, TRIES times and until both workers answered."""
    replies: list[requests.Response] = []
    workers: set[str] = set()
    while len(replies) < MAX_TRIES and (len(replies) < TRIES or len(workers) < 2):
        reply = send()
        replies.append(reply)
        request_id = reply.headers.get("x-amz-request-id") or reply.headers.get(
            "x-openstack-request-id", ""
        )
        workers.add(_worker(request_id))
    assert len(workers) == 2, f"one worker answered all {len(replies)} requests"
    return replies


def _token(server: Server, creds: dict[str, Any]) -> tuple[str, str]:
    made = password_token(server, creds)
    assert made.status_code == 201, made.text
    return made.headers["X-Subject-Token"], made.json()["token"]["user"]["id"]


def _ec2(server: Server, creds: dict[str, Any]) -> dict[str, str]:
    """`POST /v3/users/{id}/credentials/OS-EC2 {"tenant_id": P}`, as the issue sends it."""
    token, user_id = _token(server, creds)
    made = requests.post(
        f"{server.auth_url}/v3/users/{user_id}/credentials/OS-EC2",
        json={"tenant_id": creds["openstack"]["project_id"]},
        headers={"X-Auth-Token": token},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    return dict(made.json()["credential"])


def _statuses(server: Server, cred: dict[str, str], region: str) -> set[tuple[int, str]]:
    """A SigV4 ListBuckets signed with the pair, answered by both workers."""

    def send() -> requests.Response:
        return signed(
            server, "GET", "/", access_key=cred["access"], secret_key=cred["secret"], region=region
        )

    return {
        (reply.status_code, error_code(reply) if reply.status_code != 200 else "")
        for reply in _both_workers(send)
    }


def _warm(server: Server, cred: dict[str, str], region: str) -> None:
    # Every worker caches the pair as valid before the change.
    assert _statuses(server, cred, region) == {(200, "")}


def _listed(server: Server, login: str, org: str, env: str) -> list[dict[str, Any]]:
    shown = server.cli("creds", "show", login, org, env, "--format", "json").stdout
    return list(json.loads(shown)["ec2_credentials"])


def test_regenerate_kills_every_ec2_credential_at_once(server: Server) -> None:
    org = unique("regen-ec2")
    creds = {env: server.member(org, env, "rita") for env in ("a", "b")}
    region = creds["a"]["s3"]["region"]
    pairs = {env: _ec2(server, c) for env, c in creds.items()}
    for cred in pairs.values():
        _warm(server, cred, region)
    listed = _listed(server, "rita", org, "a")
    assert [c["access"] for c in listed] == [pairs["a"]["access"]]
    assert listed[0]["project_id"] == creds["a"]["openstack"]["project_id"]
    table = server.cli("creds", "show", "rita", org, "a").stdout
    assert pairs["a"]["access"] in table and pairs["a"]["secret"] not in table

    # The admin CLI's code, in this process on the same data dir: a CLI start takes
    # longer than the caches' second, which would hide a stale cache.
    server.services().identity.regenerate("rita")
    # No wait: the next request, on either worker, is refused.
    for cred in pairs.values():
        assert _statuses(server, cred, region) == {(403, "InvalidAccessKeyId")}
    assert _listed(server, "rita", org, "a") == [] and _listed(server, "rita", org, "b") == []
    # The membership's own key works with the new secret.
    fresh = server.creds("rita", org, "a")["s3"]
    own = {"access": fresh["access_key_id"], "secret": fresh["secret_access_key"]}
    assert _statuses(server, own, region) == {(200, "")}


def test_member_removal_kills_that_memberships_ec2_credentials_only(server: Server) -> None:
    org = unique("rm-ec2")
    creds = {env: server.member(org, env, "remo") for env in ("gone", "kept")}
    region = creds["gone"]["s3"]["region"]
    pairs = {env: _ec2(server, c) for env, c in creds.items()}
    for cred in pairs.values():
        _warm(server, cred, region)
    server.services().identity.remove_member(org, "gone", "remo")  # as the CLI does
    assert _statuses(server, pairs["gone"], region) == {(403, "InvalidAccessKeyId")}
    assert _statuses(server, pairs["kept"], region) == {(200, "")}
    assert [c["access"] for c in _listed(server, "remo", org, "kept")] == [pairs["kept"]["access"]]


def test_cli_deletes_one_ec2_credential_at_once(server: Server) -> None:
    org = unique("del-ec2")
    creds = server.member(org, "env", "dora")
    region = creds["s3"]["region"]
    first, second = _ec2(server, creds), _ec2(server, creds)
    _warm(server, first, region)
    server.cli("creds", "ec2-delete", "dora", org, "env", first["access"])
    assert _statuses(server, first, region) == {(403, "InvalidAccessKeyId")}
    assert _statuses(server, second, region) == {(200, "")}
    again = server.cli("creds", "ec2-delete", "dora", org, "env", first["access"], check=False)
    assert again.returncode == 1 and "no such EC2 credential" in again.stderr


def test_a_revoked_token_is_refused_by_every_worker_at_once(server: Server) -> None:
    creds = server.member(unique("revoke"), "env", "tom")
    token, _ = _token(server, creds)
    caller, _ = _token(server, creds)
    url = server.auth_url + "/v3/auth/tokens"
    headers = {"X-Auth-Token": caller, "X-Subject-Token": token}

    def head() -> requests.Response:
        return requests.head(url, headers=headers, timeout=10)

    def get() -> requests.Response:
        return requests.get(url, headers=headers, timeout=10)

    def as_caller() -> requests.Response:
        return requests.get(
            url, headers={"X-Auth-Token": token, "X-Subject-Token": caller}, timeout=10
        )

    # Every worker has validated (and cached) it.
    assert {r.status_code for r in _both_workers(head)} == {200}
    revoked = requests.delete(url, headers=headers, timeout=10)
    assert revoked.status_code == 204
    assert {r.status_code for r in _both_workers(head)} == {404}
    got = _both_workers(get)
    assert {(r.status_code, r.json()["error"]["code"]) for r in got} == {(404, 404)}
    assert {r.status_code for r in _both_workers(as_caller)} == {401}
    assert requests.get(url, headers={"X-Auth-Token": caller, "X-Subject-Token": caller}).ok


def test_portal_lists_and_deletes_ec2_credentials(server: Server) -> None:
    user_with_password(server, "petra", PW)
    org = unique("portal-ec2")
    creds = server.member(org, "env", "petra")
    region = creds["s3"]["region"]
    pair = _ec2(server, creds)
    _warm(server, pair, region)
    web = PortalSession(server).sign_in("petra", PW)
    client = api(server, web.api_key())
    service = next(s for s in client.get("/api/services").json() if s["organization"] == org)
    listed = client.get(f"/api/services/{service['id']}/ec2-credentials")
    assert listed.status_code == 200
    assert [c["access"] for c in listed.json()] == [pair["access"]]
    assert set(listed.json()[0]) == {"access", "project_id", "created_at"}
    panel = web.get(f"/credentials/services/{service['id']}").text
    assert pair["access"] in panel and pair["secret"] not in panel
    form = f"/credentials/services/{service['id']}/ec2/{pair['access']}/delete"
    csrf = CSRF.search(panel)
    assert form in panel and csrf is not None
    done = web.post(form, data={"csrf": csrf.group(1)})
    assert done.status_code == 303
    assert _statuses(server, pair, region) == {(403, "InvalidAccessKeyId")}
    assert client.get(f"/api/services/{service['id']}/ec2-credentials").json() == []
    # The API's delete: a second pair, then an unknown one.
    other = _ec2(server, creds)
    path = f"/api/services/{service['id']}/ec2-credentials/{other['access']}"
    assert client.delete(path).status_code == 204
    assert _statuses(server, other, region) == {(403, "InvalidAccessKeyId")}
    assert client.delete(path).status_code == 404


def test_a_huge_portal_login_makes_a_short_log_line(server: Server) -> None:
    session = PortalSession(server)
    token = CSRF.search(session.get("/signin").text)
    assert token is not None
    login = "p" * 50_000
    failed = session.post("/signin", data={"csrf": token.group(1), "login": login, "password": "x"})
    assert failed.status_code == 401
    lines = [line for line in server.log().splitlines() if "failed portal sign-in" in line]
    assert any("(+49800 chars)" in line for line in lines), lines[-3:]
    assert max(len(line) for line in server.log().splitlines()) < 5000
