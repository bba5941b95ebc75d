from __future__ import annotations

from typing import Any

import pytest

from cumulo import errors
from cumulo.keystone.auth_body import AuthRequest, parse_v2, parse_v3


def v3(user: dict[str, Any], scope: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "auth": {"identity": {"methods": ["password"], "password": {"user": user}}}
    }
    if scope is not None:
        body["auth"]["scope"] = scope
    return body


def test_domains_by_id_name_or_absent() -> None:
    for domain in ({"id": "default"}, {"name": "Default"}, None):
        user = {"name": "u", "password": "p"}
        if domain:
            user["domain"] = domain  # type: ignore[assignment]
        scope = {"project": {"name": "proj", "domain": {"name": "Default"}}}
        assert parse_v3(v3(user, scope)) == AuthRequest(
            username="u", password="p", project_name="proj"
        )


def test_other_domains_cannot_authenticate() -> None:
    with pytest.raises(errors.Unauthenticated):
        parse_v3(v3({"name": "u", "password": "p", "domain": {"id": "elsewhere"}}))
    with pytest.raises(errors.Unauthenticated):
        parse_v3(v3({"name": "u", "password": "p"}, {"domain": {"id": "default"}}))


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"auth": None},
        {"auth": {"identity": {"methods": "password"}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {}}}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": 5}}}}},
        {"auth": {"identity": {"methods": ["token"], "token": {}}}},
    ],
)
def test_malformed_bodies_are_bad_requests(body: Any) -> None:
    with pytest.raises(errors.InvalidInput):
        parse_v3(body)


def test_scopes() -> None:
    user = {"id": "abc", "password": "p"}
    assert parse_v3(v3(user, "unscoped")).unscoped
    assert parse_v3(v3(user, {"project": {"id": "x"}})).project_id == "x"


def test_v2() -> None:
    body = {"auth": {"passwordCredentials": {"username": "u", "password": "p"}, "tenantId": "t"}}
    assert parse_v2(body) == AuthRequest(username="u", password="p", project_id="t")
    assert parse_v2({"auth": {"token": {"id": "tok"}, "tenantName": "n"}}).token == "tok"
    with pytest.raises(errors.InvalidInput):
        parse_v2({"auth": {}})
