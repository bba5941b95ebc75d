"""Refused forms in the browser: the page that holds the form comes back with the reason
beside the field, in the page's language (never a 405 page); the service picker's search
filters; Copy reveals and copies only its own secret."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.portal.conftest import Shots, new_page, sign_in
from tests.functional.portal.web_support import CSRF, PortalSession, admin, api
from tests.functional.swift_support import make_account
from tests.harness import Server

ADMIN = ("admin", "admin-password-for-tests")
PASSWORD = "refused-forms-password"


def _submit(page: Any, button: str) -> None:
    """Clicks a form's submit button and waits for the page the server answers with."""
    with page.expect_navigation():
        page.click(button)


def _reason(page: Any, form: str) -> str:
    """The reason shown beside a field: inside its form, or its table row's."""
    assert "405" not in page.title() and page.locator(".error-card").count() == 0
    error = page.locator(f"{form} .field-error")
    assert error.count() == 1, page.content()
    return str(error.inner_text())


@pytest.mark.parametrize(
    ("locale", "texts"),
    [
        (
            "en-US",
            {
                "org": "An organization named acme-en exists already.",
                "env": "This organization has an environment named dev already.",
                "rename": "This organization has an environment named dev already.",
                "user": "There is no user ghost.",
                "full": "The environment full still holds containers: empty it first.",
                "password": "The current password is not right.",
            },
        ),
        (
            "es-ES",
            {
                "org": "Ya existe una organización llamada acme-es.",
                "env": "Esta organización ya tiene un entorno llamado dev.",
                "rename": "Esta organización ya tiene un entorno llamado dev.",
                "user": "No existe el usuario ghost.",
                "full": "El entorno full todavía tiene contenedores: vacíalo primero.",
                "password": "La contraseña actual no es correcta.",
            },
        ),
    ],
)
def test_refused_forms_say_why_beside_the_field(
    server: Server, browser: Any, shots: Shots, locale: str, texts: dict[str, str]
) -> None:
    acme = "acme-" + locale[:2]  # one organization per language: one server serves both
    server.member(acme, "dev", "dora-" + locale[:2])
    server.member(acme, "prod", "dora-" + locale[:2])
    # An environment holding a container cannot be deleted.
    filler = make_account(server, acme, "full", "filler-" + locale[:2])
    filler.request("PUT", "/box").raise_for_status()
    page = new_page(browser, server, locale=locale)
    sign_in(page, *ADMIN)

    page.goto("/admin")
    page.fill("#org-name", acme)
    _submit(page, "form:has(#org-name) button[type=submit]")
    assert _reason(page, "form:has(#org-name)") == texts["org"]
    assert page.get_attribute("#org-name", "aria-invalid") == "true"
    assert page.input_value("#org-name") == acme
    shots(page, "duplicate organization")

    page.goto(f"/admin/orgs/{acme}")
    page.fill("#env-name", "dev")
    _submit(page, "form:has(#env-name) button[type=submit]")
    assert _reason(page, "form:has(#env-name)") == texts["env"]
    shots(page, "duplicate environment")

    rename = "form[action$='/envs/prod/rename']"
    page.fill(f"{rename} input[name=name]", "dev")
    _submit(page, f"{rename} button[type=submit]")
    assert _reason(page, f"tr:has({rename})") == texts["rename"]
    assert page.locator(".field-error").count() == 1, "the reason shows by that row only"
    shots(page, "rename to an existing name")

    delete = "form[action$='/envs/full/delete']"
    _submit(page, f"{delete} button[type=submit]")
    assert _reason(page, f"tr:has({delete})") == texts["full"]
    assert page.locator(f"a[href='/admin/orgs/{acme}/envs/full']").count() == 1, "deleted"
    shots(page, "non-empty environment")

    page.goto(f"/admin/orgs/{acme}/envs/dev")
    page.fill("#member-login", "ghost")
    _submit(page, "form:has(#member-login) button[type=submit]")
    assert _reason(page, "form:has(#member-login)") == texts["user"]
    assert page.locator("#members tr[data-login='ghost']").count() == 0
    shots(page, "unknown user")

    page.goto("/profile")
    page.fill("#current_password", "not-the-password")
    page.fill("#new_password", "a-new-password")
    page.fill("#confirm_password", "a-new-password")
    _submit(page, "form:has(#current_password) button[type=submit]")
    assert _reason(page, "form:has(#current_password)") == texts["password"]
    assert page.get_attribute("#current_password", "aria-invalid") == "true"
    shots(page, "wrong current password")
    # Nothing changed: the old password still signs in.
    again = new_page(browser, server, locale=locale)
    sign_in(again, *ADMIN)


def _visible_options(page: Any) -> list[str]:
    return [
        str(o.get_attribute("data-id"))
        for o in page.locator("#service-list [role=option]").all()
        if o.is_visible()
    ]


def test_service_search_hides_what_does_not_match(
    server: Server, browser: Any, shots: Shots
) -> None:
    server.cli("user", "create", "sam", "--password", PASSWORD)
    for env in ("alpha", "beta", "gamma"):
        server.member("picker", env, "sam")
    page = new_page(browser, server)
    sign_in(page, "sam", PASSWORD)
    page.click("#service-search")
    page.wait_for_selector("#service-list:not([hidden])")
    assert len(_visible_options(page)) == 3
    page.type("#service-search", "bet", delay=20)
    shown = page.locator("#service-list [role=option]:visible")
    assert shown.count() == 1 and "picker-beta" in shown.inner_text()
    assert len(_visible_options(page)) == 1
    shots(page, "filtered to one")
    page.fill("#service-search", "")
    page.type("#service-search", "nothing-like-it", delay=10)
    assert _visible_options(page) == []
    assert page.is_visible(".listbox-empty")
    shots(page, "no match")


def test_copy_reveals_and_copies_only_its_own_secret(
    server: Server, browser: Any, shots: Shots
) -> None:
    server.cli("user", "create", "cody", "--password", PASSWORD)
    creds = server.member("copier", "prod", "cody")
    # One object-storage secret serves Swift and S3 alike, shown in several fields.
    password, secret = creds["openstack"]["password"], creds["s3"]["secret_access_key"]
    page = new_page(browser, server)
    sign_in(page, "cody", PASSWORD)
    page.click("#service-search")
    page.type("#service-search", "prod", delay=20)
    page.keyboard.press("Enter")
    page.wait_for_selector("#os-username")
    mask = str(page.get_attribute(".service", "data-mask"))

    page.click("[data-copy='os-password']")
    page.wait_for_function(
        "() => !document.getElementById('os-password').textContent.includes('••')"
    )
    assert page.evaluate("navigator.clipboard.readText()") == password
    assert page.inner_text("#os-password") == password
    # Every other secret of the page is still masked.
    for other in (
        "s3-secret_access_key",
        "block-openrc",
        "block-openrc-v2",
        "block-aws-credentials",
    ):
        assert mask in page.inner_text(f"#{other}"), other
    shots(page, "password copied")

    page.click("[data-copy='s3-secret_access_key']")
    page.wait_for_function(
        "() => !document.getElementById('s3-secret_access_key').textContent.includes('••')"
    )
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert mask in page.inner_text("#block-openrc")
    # Reveal, then Hide, puts every mask back.
    page.click(".service [data-reveal]")
    page.wait_for_function(
        "() => !document.getElementById('block-openrc').textContent.includes('••')"
    )
    page.click(".service [data-reveal]")
    page.wait_for_function(
        "() => document.getElementById('os-password').textContent.includes('••')"
    )
    assert password not in page.inner_text("#service-panel")
    shots(page, "hidden again")


def test_refused_form_without_a_browser(server: Server) -> None:
    """The same answer to a plain client, whatever extra fields it sends."""
    session = admin(server)
    stray = {"key": "x", "lang": "y", "reason": "{0}", "self": "z"}
    assert session.post("/admin/orgs", data={"csrf": session.csrf, "name": "plain"}).ok
    again = session.post("/admin/orgs", data={"csrf": session.csrf, "name": "plain", **stray})
    assert again.status_code == 409
    assert "An organization named plain exists already." in again.text
    assert again.headers["Content-Type"].startswith("text/html")


def test_refused_invitation_shows_the_form_again(server: Server) -> None:
    boss = api(server, admin(server).api_key())
    url = boss.post("/api/users", json={"login": "shorty", "invite": True}).json()
    path = url["invitation_url"][len(server.portal_url) :]
    guest = PortalSession(server)
    token = CSRF.search(guest.get(path).text)
    assert token
    short = {"csrf": token.group(1), "password": "short", "confirm_password": "short"}
    refused = guest.post(path, data=short, headers={"Accept-Language": "es"})
    assert refused.status_code == 400
    assert "Una contraseña necesita al menos 8 caracteres." in refused.text
    assert 'id="password"' in refused.text  # the form itself, not an error page
    assert guest.get(path).status_code == 200, "the invitation was used up"
