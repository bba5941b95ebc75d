"""The seed page's walk in Spanish, the seed's own language, chosen by the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.functional.portal.conftest import Shots, new_page, sign_in
from tests.functional.portal.test_seed_walk import copy_from_page, run_block, walk_to_service
from tests.harness import Server


def test_seed_walk_in_spanish(server: Server, browser: Any, shots: Shots, tmp_path: Path) -> None:
    server.cli("user", "create", "carla", "--password", "clave-de-carla")
    creds = server.member("sistema", "produccion", "carla")
    page = new_page(browser, server, locale="es-ES")
    page.goto("/")
    assert page.inner_text("h1") == "Iniciar sesión en Cumulo"
    shots(page, "inicio de sesion")
    sign_in(page, "carla", "clave-de-carla")
    walk_to_service(page, shots, menu_item="Credenciales de API", typed="produc")
    assert "Parámetros de OpenStack" in page.inner_text("#service-panel")
    assert "Claves de API de servicio" in page.inner_text("#service-keys")
    assert page.inner_text("#os-username") == creds["openstack"]["username"]
    block = copy_from_page(page, "block-openrc")
    home = tmp_path / "home"
    home.mkdir()
    listed = run_block(block, "swift list", home)
    assert listed.returncode == 0, listed.stderr
    shots(page, "bloque copiado")
    page.locator(".service-actions [data-open-dialog]").click()
    assert "en todos los entornos" in page.inner_text("#regenerate-dialog")
    shots(page, "confirmacion regenerar")
    page.click("#regenerate-dialog [data-close-dialog]")

    # The language is also a per-user choice, from the user menu.
    page.click("#user-menu-button")
    page.click("#user-menu button[value='en']")
    page.wait_for_selector(".flash-ok")
    assert page.inner_text("h1") == "API Credentials"
    page.click("#user-menu-button")
    page.click("#user-menu button[value='es']")
    page.wait_for_selector(".flash-ok")
    assert page.inner_text("h1") == "Credenciales de API"
    shots(page, "idioma elegido")
