"""Identity endpoint: what keystoneauth1, the openstack CLI, swiftclient and rclone send.

Raw HTTP checks pin down the wire shapes; the CLI tests run the seed's export blocks.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from tests.harness import Server, password_body, run, v2_env, v3_env


@pytest.fixture(scope="module")
def alice(server: Server) -> dict[str, Any]:
    return server.member("ksorg", "ccontini", "alice")


def issue(server: Server, creds: dict[str, Any], path: str = "/v3/auth/tokens", **kw: Any) -> Any:
    os_ = creds["openstack"]
    body = password_body(os_["username"], os_["password"], os_["project_name"], **kw)
    return requests.post(server.auth_url + path, json=body, timeout=10)


def test_root_discovery_lists_v3_and_deprecated_v2(server: Server) -> None:
    reply = requests.get(server.auth_url + "/", timeout=10)
    assert reply.status_code == 300
    versions = {v["id"]: v for v in reply.json()["versions"]["values"]}
    assert versions["v3.14"]["status"] == "stable"
    assert versions["v2.0"]["status"] == "deprecated"
    v3 = requests.get(server.auth_url + "/v3", timeout=10)
    assert v3.status_code == 200 and v3.json()["version"]["id"] == "v3.14"
    v2 = requests.get(server.auth_url + "/v2.0", timeout=10)
    assert v2.status_code == 200 and v2.headers["Deprecation"] == "true"


@pytest.mark.parametrize(
    ("path", "user_domain", "project_domain"),
    [
        ("/v3/auth/tokens", {"id": "default"}, {"id": "default"}),  # openstack, swift CLIs
        ("/auth/tokens", None, {"name": "Default"}),  # rclone: root path, no user domain
        ("/v3/auth/tokens", None, None),  # no domains at all
    ],
)
def test_password_token_with_every_domain_form(
    server: Server,
    alice: dict[str, Any],
    path: str,
    user_domain: dict[str, str] | None,
    project_domain: dict[str, str] | None,
) -> None:
    reply = issue(server, alice, path, user_domain=user_domain, project_domain=project_domain)
    assert reply.status_code == 201, reply.text
    assert reply.headers["X-Subject-Token"]
    token = reply.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"]["name"] == alice["openstack"]["username"]
    assert token["project"]["id"] == alice["openstack"]["project_id"]
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}
    assert token["expires_at"].endswith("Z") and token["issued_at"].endswith("Z")
    services = {s["type"]: s for s in token["catalog"]}
    assert set(services) == {"identity", "object-store"}
    interfaces = {e["interface"] for e in services["object-store"]["endpoints"]}
    assert interfaces == {"public", "internal", "admin"}
    url = services["object-store"]["endpoints"][0]["url"]
    assert url == f"{server.object_url}/v1/AUTH_{alice['openstack']['project_id']}"


def test_other_domain_and_bad_bodies(server: Server, alice: dict[str, Any]) -> None:
    assert issue(server, alice, user_domain={"id": "other"}).status_code == 401
    bad = requests.post(server.auth_url + "/v3/auth/tokens", data=b"{not json", timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == 400
    missing = requests.post(server.auth_url + "/v3/auth/tokens", json={"auth": {}}, timeout=10)
    assert missing.status_code == 400


def test_wrong_password_is_401_with_keystone_body(server: Server, alice: dict[str, Any]) -> None:
    os_ = alice["openstack"]
    body = password_body(os_["username"], "wrong", os_["project_name"])
    reply = requests.post(server.auth_url + "/v3/auth/tokens", json=body, timeout=10)
    assert reply.status_code == 401
    assert reply.json()["error"]["title"] == "Unauthorized"
    assert reply.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_validate_check_revoke_and_rescope(server: Server, alice: dict[str, Any]) -> None:
    token = issue(server, alice).headers["X-Subject-Token"]
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    got = requests.get(server.auth_url + "/v3/auth/tokens", headers=headers, timeout=10)
    assert got.status_code == 200 and got.json()["token"]["project"]["name"]
    assert requests.head(server.auth_url + "/v3/auth/tokens", headers=headers, timeout=10).ok
    projects = requests.get(
        server.auth_url + "/v3/auth/projects", headers={"X-Auth-Token": token}, timeout=10
    ).json()["projects"]
    assert [p["id"] for p in projects] == [alice["openstack"]["project_id"]]
    catalog = requests.get(
        server.auth_url + "/v3/auth/catalog", headers={"X-Auth-Token": token}, timeout=10
    ).json()["catalog"]
    assert {s["type"] for s in catalog} == {"identity", "object-store"}

    rescope = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": token}},
            "scope": {"project": {"id": alice["openstack"]["project_id"]}},
        }
    }
    second = requests.post(server.auth_url + "/v3/auth/tokens", json=rescope, timeout=10)
    assert second.status_code == 201
    assert "token" in second.json()["token"]["methods"]

    unscoped = dict(rescope, auth={**rescope["auth"], "scope": "unscoped"})
    third = requests.post(server.auth_url + "/v3/auth/tokens", json=unscoped, timeout=10)
    assert third.status_code == 201 and "project" not in third.json()["token"]

    assert (
        requests.delete(
            server.auth_url + "/v3/auth/tokens", headers=headers, timeout=10
        ).status_code
        == 204
    )
    other = second.headers["X-Subject-Token"]
    again = requests.get(
        server.auth_url + "/v3/auth/tokens",
        headers={"X-Auth-Token": other, "X-Subject-Token": token},
        timeout=10,
    )
    assert again.status_code == 404


def test_v2_tokens(server: Server, alice: dict[str, Any]) -> None:
    os_ = alice["openstack"]
    body = {
        "auth": {
            "passwordCredentials": {"username": os_["username"], "password": os_["password"]},
            "tenantName": os_["project_name"],
        }
    }
    reply = requests.post(server.auth_url + "/v2.0/tokens", json=body, timeout=10)
    assert reply.status_code == 200
    assert reply.headers["Deprecation"] == "true"
    access = reply.json()["access"]
    assert access["token"]["tenant"]["id"] == os_["project_id"]
    store = next(s for s in access["serviceCatalog"] if s["type"] == "object-store")
    assert store["endpoints"][0]["publicURL"].endswith("/v1/AUTH_" + os_["project_id"])
    assert access["user"]["name"] == os_["username"]
    body["auth"]["passwordCredentials"]["password"] = "nope"
    assert requests.post(server.auth_url + "/v2.0/tokens", json=body, timeout=10).status_code == 401


def test_openstack_cli_token_issue_and_ec2_credentials(
    server: Server, alice: dict[str, Any]
) -> None:
    env = v3_env(server, alice)
    issued = json.loads(run(["openstack", "token", "issue", "-f", "json"], env).stdout)
    assert issued["project_id"] == alice["openstack"]["project_id"]

    made = json.loads(run(["openstack", "ec2", "credentials", "create", "-f", "json"], env).stdout)
    assert made["access"] and made["secret"]
    listed = json.loads(run(["openstack", "ec2", "credentials", "list", "-f", "json"], env).stdout)
    assert made["access"] in {c["Access"] for c in listed}
    run(["openstack", "ec2", "credentials", "delete", made["access"]], env)
    listed = json.loads(run(["openstack", "ec2", "credentials", "list", "-f", "json"], env).stdout)
    assert made["access"] not in {c["Access"] for c in listed}


def test_openstack_cli_v2_block(server: Server, alice: dict[str, Any]) -> None:
    issued = run(["openstack", "token", "issue", "-f", "json"], v2_env(server, alice)).stdout
    assert json.loads(issued)["project_id"] == alice["openstack"]["project_id"]


def test_failed_logins_are_throttled(server: Server) -> None:
    creds = server.member("ksorg", "throttle", "mallory")
    os_ = creds["openstack"]
    wrong = password_body(os_["username"], "wrong", os_["project_name"])
    statuses = [
        requests.post(server.auth_url + "/v3/auth/tokens", json=wrong, timeout=10).status_code
        for _ in range(6)
    ]
    assert set(statuses) == {401}
    # Locked out now: even the right password is refused for the window.
    assert issue(server, creds).status_code == 401


def test_key_rotation_keeps_old_tokens_valid(server: Server, alice: dict[str, Any]) -> None:
    token = issue(server, alice).headers["X-Subject-Token"]
    server.cli("keys", "rotate")
    time.sleep(1.1)
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    assert requests.get(server.auth_url + "/v3/auth/tokens", headers=headers, timeout=10).ok
    fresh = issue(server, alice).headers["X-Subject-Token"]
    headers = {"X-Auth-Token": fresh, "X-Subject-Token": fresh}
    assert requests.get(server.auth_url + "/v3/auth/tokens", headers=headers, timeout=10).ok


HOSTILE_BODIES = {
    "nested": b'{"auth":' + b"[" * 100000 + b"]" * 100000 + b"}",
    "escaped-surrogate": (
        b'{"auth":{"identity":{"methods":["password"],"password":{"user":'
        b'{"name":"\\ud800","password":"x"}}}}}'
    ),
    "raw-surrogate": (
        b'{"auth":{"identity":{"methods":["password"],"password":{"user":'
        b'{"name":"\xed\xa0\x80","password":"x"}}}}}'
    ),
    "surrogate-key": b'{"auth":{"\\udfff":1}}',
}


@pytest.mark.parametrize("path", ["/v3/auth/tokens", "/auth/tokens", "/v2.0/tokens"])
@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
def test_hostile_auth_bodies_are_400_with_keystone_body(
    server: Server, alice: dict[str, Any], kind: str, path: str
) -> None:
    reply = requests.post(
        server.auth_url + path,
        data=HOSTILE_BODIES[kind],
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["code"] == 400
    assert reply.json()["error"]["title"] == "Bad Request"
    assert issue(server, alice).status_code == 201  # nothing else changed


def test_ids_that_are_not_utf8_are_not_found(server: Server, alice: dict[str, Any]) -> None:
    made = issue(server, alice)
    token, user_id = made.headers["X-Subject-Token"], made.json()["token"]["user"]["id"]
    headers = {"X-Auth-Token": token}
    for path in (
        "/v3/users/%ED%A0%80",
        f"/v3/users/{user_id}/credentials/OS-EC2/%ED%A0%80",
        f"/v3/users/{user_id}/credentials/OS-EC2/%FF",
        "/v3/projects/%FF",
    ):
        reply = requests.get(server.auth_url + path, headers=headers, timeout=10)
        assert reply.status_code == 404, path
        assert reply.json()["error"]["title"] == "Not Found"
    ec2 = requests.post(
        f"{server.auth_url}/v3/users/{user_id}/credentials/OS-EC2",
        data=b'{"tenant_id":"\\ud800"}',
        headers=headers,
        timeout=10,
    )
    assert ec2.status_code == 400 and ec2.json()["error"]["code"] == 400


def test_a_huge_user_name_makes_a_short_log_line(server: Server) -> None:
    name = "n" * 100_000
    body = password_body(name, "wrong", None)
    reply = requests.post(server.auth_url + "/v3/auth/tokens", json=body, timeout=10)
    assert reply.status_code == 401
    time.sleep(0.2)  # the worker's log line reaches the file
    lines = [line for line in server.log().splitlines() if "failed password authentication" in line]
    assert any("(+99800 chars)" in line for line in lines), lines[-3:]
    assert max(len(line) for line in server.log().splitlines()) < 5000
