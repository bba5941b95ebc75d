from __future__ import annotations

import pytest

from cumulo import errors
from cumulo.config import Settings
from cumulo.portal import openapi
from cumulo.portal.api import ROUTES
from cumulo.portal.schemas import BODIES


def test_document_describes_every_route_once() -> None:
    doc = openapi.document(ROUTES, Settings())
    ops = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ops) == len(set(ops)) == len(ROUTES)
    for route in ROUTES:
        op = doc["paths"][route.path][route.method.lower()]
        assert str(route.status) in op["responses"]
        assert "401" in op["responses"]


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ({"login": "dana"}, True),
        ({"login": "dana", "email": None, "invite": True}, True),
        ({"login": "Dana"}, False),
        ({"login": "dana", "is_admin": "yes"}, False),
        ({"login": "dana", "extra": 1}, False),
        ({}, False),
        ([], False),
        ({"login": "dana", "password": "short"}, False),
    ],
)
def test_request_bodies_are_checked_against_their_schema(body: object, ok: bool) -> None:
    if ok:
        openapi.check(BODIES["create_user"], body, "the body")
    else:
        with pytest.raises(errors.InvalidInput):
            openapi.check(BODIES["create_user"], body, "the body")
