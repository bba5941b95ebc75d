"""The portal's REST API: API keys, CSRF, services and credentials, administration with the
seed's remove/re-add semantics, activity, and isolation between users (UI and API)."""

from __future__ import annotations

import requests

from tests.functional.portal.web_support import PortalSession, admin, api, user_with_password
from tests.harness import Server

PW = "portal-api-password"


def test_openapi_document_lists_every_operation(server: Server) -> None:
    doc = requests.get(server.portal_url + "/api/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    ops = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert {"create_key", "get_credentials", "regenerate", "add_member", "list_activity"} <= ops


def test_api_keys_lifecycle_and_csrf(server: Server) -> None:
    user_with_password(server, "keyuser", PW)
    session = PortalSession(server).sign_in("keyuser", PW)
    refused = session.post("/api/keys", json={"name": "no-csrf"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    key = session.api_key("laptop")
    client = api(server, key)
    me = client.get("/api/me").json()
    assert me["login"] == "keyuser" and me["is_admin"] is False
    assert requests.get(server.portal_url + "/api/me", headers={"X-API-Key": key}, timeout=10).ok
    keys = client.get("/api/keys").json()
    assert [k["name"] for k in keys] == ["laptop"]
    assert keys[0]["last_used_ip"] == "127.0.0.1" and keys[0]["last_used_at"]
    renamed = client.patch(f"/api/keys/{keys[0]['id']}", json={"name": "desk"})
    assert renamed.json()["name"] == "desk"
    bad = client.post("/api/keys", json={"name": 42})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidInput"
    assert client.delete(f"/api/keys/{keys[0]['id']}").status_code == 204
    gone = client.get("/api/me")
    assert gone.status_code == 401 and "not valid" in gone.json()["error"]["message"]
    assert requests.get(server.portal_url + "/api/me", timeout=10).status_code == 401


def test_signin_failures_are_throttled_and_logged(server: Server) -> None:
    user_with_password(server, "guessme", PW)
    session = PortalSession(server)
    page = session.get("/signin")
    from tests.functional.portal.web_support import CSRF

    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    statuses = [
        session.post(
            "/signin", data={"csrf": token, "login": "guessme", "password": "nope"}
        ).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    events = api(server, admin(server).api_key()).get("/api/activity").json()
    assert any(e["action"] == "signin.failed" and e["target"] == "guessme" for e in events)


def test_admin_api_and_remove_readd_semantics(server: Server) -> None:
    boss = api(server, admin(server).api_key())
    assert boss.post("/api/organizations", json={"name": "apiorg"}).status_code == 201
    assert boss.post("/api/organizations", json={"name": "apiorg"}).status_code == 409
    for env in ("prod", "dev"):
        made = boss.post("/api/organizations/apiorg/environments", json={"name": env})
        assert made.status_code == 201 and made.json()["project_name"] == f"apiorg-{env}"
    new = boss.post("/api/users", json={"login": "erin", "invite": True}).json()
    assert new["invitation_url"].startswith(server.portal_url + "/invite/")
    members = "/api/organizations/apiorg/environments/{}/members"
    first = boss.post(members.format("prod"), json={"login": "erin", "role": "member"}).json()
    dev = boss.post(members.format("dev"), json={"login": "erin", "role": "read-only"}).json()
    assert first["username"].startswith("apiorg-prod-")
    role = boss.patch(members.format("prod") + "/erin", json={"role": "admin"})
    assert role.json()["role"] == "admin"
    assert boss.delete(members.format("prod") + "/erin").status_code == 204
    again = boss.post(members.format("prod"), json={"login": "erin"}).json()
    assert again["username"] != first["username"]
    assert again["access_key_id"] != first["access_key_id"]
    still = boss.get(members.format("dev")).json()
    assert [(m["username"], m["access_key_id"]) for m in still] == [
        (dev["username"], dev["access_key_id"])
    ]
    renamed = boss.patch("/api/organizations/apiorg/environments/dev", json={"name": "qa"})
    assert renamed.json()["project_name"] == "apiorg-qa"
    assert boss.delete("/api/organizations/apiorg/environments/qa").status_code == 204
    actions = {e["action"] for e in boss.get("/api/activity?limit=50").json()}
    assert {"member.added", "member.removed", "environment.deleted"} <= actions


def test_environment_with_containers_is_not_deleted(server: Server) -> None:
    from tests.harness import run, v3_env

    creds = server.member("fullorg", "busy", "busyuser")
    run(["swift", "post", "keepme"], v3_env(server, creds))
    boss = api(server, admin(server).api_key())
    refused = boss.delete("/api/organizations/fullorg/environments/busy")
    assert refused.status_code == 409 and "container" in refused.json()["error"]["message"]


def test_users_see_only_their_own_services(server: Server) -> None:
    user_with_password(server, "alice", PW)
    user_with_password(server, "bob", PW)
    server.member("iso", "alice-env", "alice")
    bob_creds = server.member("iso", "bob-env", "bob")
    boss = api(server, admin(server).api_key())
    bob_env = next(
        e for e in boss.get("/api/organizations/iso/environments").json() if e["name"] == "bob-env"
    )
    alice_web = PortalSession(server).sign_in("alice", PW)
    alice = api(server, alice_web.api_key())
    bob_web = PortalSession(server).sign_in("bob", PW)
    bob = api(server, bob_web.api_key())

    services = alice.get("/api/services").json()
    assert [s["environment"] for s in services] == ["alice-env"]
    for path in (
        f"/api/services/{bob_env['id']}/credentials",
        f"/api/services/{bob_env['id']}/files/openrc",
    ):
        refused = alice.get(path)
        assert refused.status_code == 404, path
        assert bob_creds["openstack"]["password"] not in refused.text
    assert bob.get(f"/api/services/{bob_env['id']}/credentials").status_code == 200
    # Pages: the same ids by direct URL.
    for path in (f"/credentials?service={bob_env['id']}", f"/credentials/services/{bob_env['id']}"):
        page = alice_web.get(path)
        assert page.status_code == 404, path
        assert bob_creds["openstack"]["username"] not in page.text
    own = alice_web.get("/credentials").text
    assert bob_creds["openstack"]["username"] not in own and "bob-env" not in own
    # Another user's API keys, organizations and users are out of reach too.
    bob_key = bob.get("/api/keys").json()[0]["id"]
    assert alice.patch(f"/api/keys/{bob_key}", json={"name": "x"}).status_code == 404
    assert alice.delete(f"/api/keys/{bob_key}").status_code == 404
    assert bob.get("/api/me").ok
    assert alice.get("/api/organizations").json() == []
    assert alice.get("/api/organizations/iso/environments").status_code == 403
    assert alice.get("/api/users").status_code == 403
    assert alice.post("/api/organizations", json={"name": "mine"}).status_code == 403
    assert alice_web.get("/admin").status_code == 403
    events = alice.get("/api/activity").json()
    assert events and all(e["actor"] in ("alice", "admin") for e in events)


def test_organization_admins_manage_only_their_organization(server: Server) -> None:
    user_with_password(server, "olga", PW)
    server.member("olgaorg", "main", "olga", role="admin")
    server.member("otherorg", "main", "someone")
    olga = api(server, PortalSession(server).sign_in("olga", PW).api_key())
    assert [o["name"] for o in olga.get("/api/organizations").json()] == ["olgaorg"]
    assert olga.post("/api/organizations/olgaorg/environments", json={"name": "new"}).ok
    assert olga.get("/api/organizations/otherorg/environments").status_code == 403
    added = olga.post("/api/users", json={"login": "olgas-hire", "password": "hire-password"})
    assert added.status_code == 201 and added.json()["invitation_url"] is None
    assert olga.post(
        "/api/organizations/olgaorg/environments/new/members", json={"login": "olgas-hire"}
    ).ok
    assert olga.patch("/api/users/olgas-hire", json={"disabled": True}).json()["disabled"]
    assert olga.patch("/api/users/someone", json={"disabled": True}).status_code == 403


def test_disabled_users_lose_sessions_and_keys(server: Server) -> None:
    user_with_password(server, "leaver", PW)
    web = PortalSession(server).sign_in("leaver", PW)
    client = api(server, web.api_key())
    boss = api(server, admin(server).api_key())
    assert boss.patch("/api/users/leaver", json={"disabled": True}).json()["disabled"] is True
    assert client.get("/api/me").status_code == 401
    assert web.get("/credentials").status_code == 303
    assert boss.patch("/api/users/leaver", json={"disabled": False}).json()["disabled"] is False


def test_invitation_sets_a_password_once(server: Server) -> None:
    boss = api(server, admin(server).api_key())
    url = boss.post("/api/users", json={"login": "invitee", "email": "i@example.com"}).json()[
        "invitation_url"
    ]
    path = url[len(server.portal_url) :]
    guest = PortalSession(server)
    page = guest.get(path)
    from tests.functional.portal.web_support import CSRF

    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    done = guest.post(
        path, data={"csrf": token, "password": "invited-pw", "confirm_password": "invited-pw"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/credentials"
    assert guest.get("/credentials").status_code == 200
    assert PortalSession(server).get(path).status_code == 404
    PortalSession(server).sign_in("invitee", "invited-pw")


def test_change_password_and_language(server: Server) -> None:
    user_with_password(server, "changer", PW)
    web = PortalSession(server).sign_in("changer", PW)
    other = PortalSession(server).sign_in("changer", PW)
    wrong = web.post(
        "/api/me/password",
        json={"current_password": "wrong-one", "new_password": "another-pw"},
        headers={"X-CSRF-Token": web.csrf},
    )
    assert wrong.status_code == 403
    ok = web.post(
        "/api/me/password",
        json={"current_password": PW, "new_password": "another-pw"},
        headers={"X-CSRF-Token": web.csrf},
    )
    assert ok.status_code == 204
    assert other.get("/credentials").status_code == 303  # other sessions ended
    me = web.patch("/api/me", json={"language": "es"}, headers={"X-CSRF-Token": web.csrf})
    assert me.json()["language"] == "es"
    assert "Credenciales de API" in web.get("/credentials").text
