"""Redirect targets a client gives the portal (`next` after sign-in, `back` after a
language change): only paths on this site; a control character gets the 400 page."""

from __future__ import annotations

import pytest
import requests

from tests.functional.portal.web_support import CSRF, PortalSession, admin
from tests.harness import Server

ADMIN_PASSWORD = "admin-password-for-tests"


def _sign_in(
    server: Server, target: str, password: str = ADMIN_PASSWORD
) -> tuple[requests.Response, bool]:
    """POSTs the sign-in form with `next`; the reply, and whether a session was made."""
    session = PortalSession(server)
    token = CSRF.search(session.get("/signin?next=%2Fprofile").text)
    assert token
    reply = session.post(
        "/signin",
        data={"csrf": token.group(1), "login": "admin", "password": password, "next": target},
    )
    return reply, bool(reply.cookies.get("cumulo_session"))


@pytest.mark.parametrize(
    "target",
    ["/\t/evil.example/", "/\\evil.example/", "//evil.example/", "https://evil.example/", " //e"],
)
def test_sign_in_never_leaves_the_site(server: Server, target: str) -> None:
    reply, signed_in = _sign_in(server, target)
    assert reply.status_code == 303
    assert reply.headers["Location"] == "/credentials"
    assert signed_in


@pytest.mark.parametrize("target", ["/\n/x", "/\r\nSet-Cookie: x=1", "/\x0bx", "/\x00x"])
def test_sign_in_with_a_control_character_gets_the_400_page(server: Server, target: str) -> None:
    reply, signed_in = _sign_in(server, target)
    assert reply.status_code == 400, reply.text
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "The request is not valid" in reply.text
    assert "Location" not in reply.headers
    assert not signed_in, "a session was made for a refused sign-in"
    # The same target with a wrong password is refused the same way, before the check.
    reply, _ = _sign_in(server, target, "wrong")
    assert reply.status_code == 400


def test_sign_in_follows_a_path_on_the_site(server: Server) -> None:
    reply, _ = _sign_in(server, "/profile?x=1#language")
    assert reply.headers["Location"] == "/profile?x=1#language"


def test_language_change_goes_back_only_to_the_site(server: Server) -> None:
    session = admin(server)
    for back, expected in (
        ("/\t/evil.example/", "/profile"),
        ("/\\evil.example", "/profile"),
        ("/admin/users", "/admin/users"),
    ):
        reply = session.post(
            "/profile/language", data={"csrf": session.csrf, "language": "en", "back": back}
        )
        assert (reply.status_code, reply.headers["Location"]) == (303, expected)
    refused = session.post(
        "/profile/language",
        data={
            "csrf": session.csrf,
            "language": "es",
            "back": "/\r\nSet-Cookie: x=1",
        },
    )
    assert refused.status_code == 400 and "Location" not in refused.headers
    assert "x=1" not in refused.headers.get("Set-Cookie", "")
    # Nothing changed: the language is still the one chosen before.
    assert '<html lang="en">' in session.get("/profile").text
