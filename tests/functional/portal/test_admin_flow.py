"""Administration in the browser: create an organization, environments and a user, add
the member; remove and re-add → a new username in that environment only."""

from __future__ import annotations

from typing import Any

from tests.functional.portal.conftest import Shots, new_page, sign_in
from tests.harness import Server


def _username(page: Any, login: str) -> str:
    return str(page.inner_text(f"#members tr[data-login='{login}'] .member-username"))


def test_admin_creates_org_env_user_and_member(server: Server, browser: Any, shots: Shots) -> None:
    page = new_page(browser, server)
    sign_in(page, "admin", "admin-password-for-tests")
    page.click("nav.mainnav >> text=Administration")
    page.fill("#org-name", "acme")
    shots(page, "administration")
    page.click("text=Create organization")
    page.wait_for_selector(".flash-ok")
    for env in ("dev", "prod"):
        page.goto("/admin/orgs/acme")
        page.fill("#env-name", env)
        page.click("text=Create environment")
        page.wait_for_selector(".flash-ok")
    page.goto("/admin/orgs/acme")
    shots(page, "organization with environments")

    page.goto("/admin/users")
    page.fill("#user-login", "dana")
    page.fill("#user-email", "dana@example.com")
    page.click("text=Create user")
    link = page.inner_text("#invitation-url")
    assert link.startswith(server.portal_url + "/invite/")
    shots(page, "user created with invitation link")

    for env in ("prod", "dev"):
        page.goto(f"/admin/orgs/acme/envs/{env}")
        page.fill("#member-login", "dana")
        page.select_option("#member-role", "member")
        page.click("button:has-text('Add member')")
        page.wait_for_selector("#members tr[data-login='dana']")
    dev_username = _username(page, "dana")
    page.goto("/admin/orgs/acme/envs/prod")
    first = _username(page, "dana")
    assert first.startswith("acme-prod-")
    shots(page, "member added")

    page.click("#members tr[data-login='dana'] button:has-text('Remove')")
    page.wait_for_selector(".flash-ok")
    assert page.locator("#members tr[data-login='dana']").count() == 0
    shots(page, "member removed")
    page.fill("#member-login", "dana")
    page.click("button:has-text('Add member')")
    page.wait_for_selector("#members tr[data-login='dana']")
    again = _username(page, "dana")
    assert again != first and again.startswith("acme-prod-")
    shots(page, "member re-added with a new username")
    page.goto("/admin/orgs/acme/envs/dev")
    assert _username(page, "dana") == dev_username, "the other environment changed"

    page.goto("/activity")
    actions = page.locator("#activity tr[data-action='member.removed']")
    assert actions.count() >= 1
    shots(page, "activity")
