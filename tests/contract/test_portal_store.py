"""The portal store's contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import time

import pytest

from cumulo import errors
from cumulo.crypto import new_id
from cumulo.metadata.db import Database
from cumulo.metadata.identity import IdentityStore
from cumulo.metadata.objects import ObjectStore
from cumulo.metadata.portal import PortalStore
from cumulo.model import ActivityEvent, Role


def _event(action: str, **kw: object) -> ActivityEvent:
    values: dict[str, object] = {
        "id": new_id(),
        "at": time.time(),
        "actor": "someone",
        "actor_id": None,
        "subject_id": None,
        "action": action,
        "target": "t",
        "organization_id": None,
        "ip": "127.0.0.1",
    }
    values.update(kw)
    return ActivityEvent(**values)  # type: ignore[arg-type]


def test_api_keys_sessions_and_invitations(database: Database) -> None:
    ids, store = IdentityStore(database), PortalStore(database)
    user = ids.create_user("alice", email=None, password_hash="h", secret_enc="x")
    key = store.add_api_key(user.id, "laptop", "d" * 64)
    assert [k.name for k in store.api_keys(user.id)] == ["laptop"]
    found = store.api_key_secret(key.id)
    assert found is not None and found[1] == "d" * 64
    store.touch_api_key(key.id, "10.0.0.1")
    assert store.api_keys(user.id)[0].last_used_ip == "10.0.0.1"
    assert store.update_api_key(user.id, key.id, name="desk").name == "desk"
    with pytest.raises(errors.CredentialNotFound):
        store.update_api_key(new_id(), key.id, name="theirs")
    store.update_api_key(user.id, key.id, revoked_at=time.time())
    assert store.api_keys(user.id) == []

    store.create_session("s" * 64, user.id, "csrf", "127.0.0.1", 60)
    assert store.session("s" * 64) == (user.id, "csrf")
    store.create_session("e" * 64, user.id, "csrf2", "127.0.0.1", -1)
    assert store.session("e" * 64) is None  # expired
    store.set_disabled(user.id, True)
    assert store.session("s" * 64) is None  # disabling ends sessions
    assert store.portal_user(login="alice").user.disabled

    store.create_invitation("i" * 64, user.id, "admin", 60)
    assert store.invitation("i" * 64) == user.id
    assert store.delete_invitation("i" * 64) and not store.delete_invitation("i" * 64)
    store.set_language(user.id, "es")
    store.set_password_hash(user.id, "new")
    account = store.portal_user(user_id=user.id)
    assert (account.language, account.password_hash) == ("es", "new")


def test_services_members_and_admin_scope(database: Database) -> None:
    ids, store = IdentityStore(database), PortalStore(database)
    org = ids.create_organization("acme")
    prod = ids.create_environment(org, "prod", "acme-prod")
    dev = ids.create_environment(org, "dev", "acme-dev")
    user = ids.create_user("bob", email=None, password_hash=None, secret_enc="x")
    ids.add_member(user, prod, Role.ADMIN)
    ids.add_member(user, dev, Role.READ_ONLY)
    services = store.services(user.id)
    assert [(s.organization.name, s.environment.name) for s in services] == [
        ("acme", "dev"),
        ("acme", "prod"),
    ]
    assert services[1].environment.project_id == prod.project_id
    assert store.organization_ids(user.id, admin_only=True) == {org.id}
    assert [login for _, login in store.members(prod.id)] == ["bob"]

    renamed = store.rename_environment(dev, "qa", "acme-qa")
    assert ids.environment(org, "qa").project_id == dev.project_id == renamed.project_id
    with pytest.raises(errors.Conflict):
        store.rename_environment(renamed, "prod", "acme-prod")
    ObjectStore(database).create_container(prod.project_id, "busy", {})
    with pytest.raises(errors.Conflict):
        store.delete_environment(prod)
    store.delete_environment(renamed)
    assert [s.environment.name for s in store.services(user.id)] == ["prod"]


def test_activity_scopes(database: Database) -> None:
    store = PortalStore(database)
    store.record(_event("a", actor_id="u1"))
    store.record(_event("b", subject_id="u1"))
    store.record(_event("c", organization_id="o1"))
    store.record(_event("d", organization_id="o2"))
    assert len(store.activity(user_id=None, org_ids=None, limit=10)) == 4
    mine = store.activity(user_id="u1", org_ids=set(), limit=10)
    assert {e.action for e in mine} == {"a", "b"}
    scoped = store.activity(user_id="u1", org_ids={"o1"}, limit=10)
    assert {e.action for e in scoped} == {"a", "b", "c"}
