"""Signing in to the portal with `requests`, as a browser would, and API-key clients."""

from __future__ import annotations

import re
from typing import Any

import requests

from tests.harness import Server

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class PortalSession(requests.Session):
    """A signed-in browser-like session; `csrf` is the session's token for forms/API."""

    def __init__(self, server: Server) -> None:
        super().__init__()
        self.base = server.portal_url
        self.csrf = ""

    def request(self, method: str | bytes, url: str | bytes, *a: Any, **kw: Any) -> Any:
        if isinstance(url, str) and url.startswith("/"):
            url = self.base + url
        kw["allow_redirects"] = False
        return super().request(method, url, *a, **kw)

    def sign_in(self, login: str, password: str) -> PortalSession:
        page = self.get("/signin")
        token = CSRF.search(page.text)
        assert token, page.text
        done = self.post(
            "/signin", data={"csrf": token.group(1), "login": login, "password": password}
        )
        assert done.status_code == 303, done.text
        self.refresh_csrf()
        return self

    def refresh_csrf(self) -> None:
        page = self.get("/profile")
        found = CSRF.search(page.text)
        assert found, page.text
        self.csrf = found.group(1)

    def api_key(self, name: str = "") -> str:
        made = self.post(
            "/api/keys", json={"name": name} if name else {}, headers={"X-CSRF-Token": self.csrf}
        )
        assert made.status_code == 201, made.text
        return str(made.json()["secret"])


def api(server: Server, key: str) -> PortalSession:
    """A client authenticated by API key only (no cookies)."""
    session = PortalSession(server)
    session.headers["Authorization"] = f"Bearer {key}"
    return session


def user_with_password(server: Server, login: str, password: str) -> None:
    server.cli("user", "create", login, "--password", password)


def admin(server: Server) -> PortalSession:
    return PortalSession(server).sign_in("admin", "admin-password-for-tests")
