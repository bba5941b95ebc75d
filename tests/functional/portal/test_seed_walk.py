"""The seed help page, walked in a browser as a new user would, in English and Spanish:
sign in → user menu at the top right → API Credentials → Service API keys → search box →
type part of the environment's name → select → the parameters appear. The export block
and the AWS files are copied from the page and run with the real `swift` and `aws` CLIs;
Regenerate from the page kills the old password for Swift and S3 and the new one works.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.functional.portal.conftest import Shots, new_page, sign_in
from tests.harness import BIN, Server

PASSWORD = "seed-walk-password"


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_", "AWS_"))}
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["HOME"] = str(home)
    return env


def run_block(block: str, command: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Pastes the page's export block into a shell, then runs the command."""
    return subprocess.run(
        ["bash", "-c", f"{block}\n{command}"],
        env=_clean_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )


def aws_ls(credentials: str, config: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Writes the page's ~/.aws/credentials and ~/.aws/config, then runs `aws s3 ls`."""
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    (home / ".aws" / "credentials").write_text(credentials)
    (home / ".aws" / "config").write_text(config)
    return subprocess.run(
        [str(BIN / "aws"), "s3", "ls"],
        env=_clean_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_from_page(page: Any, block_id: str) -> str:
    """Clicks the block's Copy button and reads the clipboard; it must match the DOM."""
    page.click(f"[data-copy='{block_id}']")
    page.wait_for_function(
        "id => !document.getElementById(id).textContent.includes('••••')", arg=block_id
    )
    copied = str(page.evaluate("navigator.clipboard.readText()"))
    assert copied.strip() == page.inner_text(f"#{block_id}").strip()
    return copied


def walk_to_service(page: Any, shots: Shots, *, menu_item: str, typed: str) -> None:
    shots(page, "signed in")
    button = page.locator("#user-menu-button")
    box = button.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["x"] > viewport["width"] * 0.6 and box["y"] < 80, "the user menu is top right"
    button.click()
    page.locator("#user-menu").get_by_text(menu_item).wait_for()
    shots(page, "user menu")
    page.locator("#user-menu").get_by_text(menu_item).click()
    page.wait_for_url("**/credentials**")
    page.locator("#service-keys").scroll_into_view_if_needed()
    shots(page, "service api keys")
    page.click("#service-search")
    page.wait_for_selector("#service-list:not([hidden])")
    shots(page, "search box open")
    page.type("#service-search", typed, delay=30)
    shots(page, "typed part of the environment")
    page.keyboard.press("Enter")
    page.wait_for_selector("#os-username")
    page.locator("#openstack-parameters").scroll_into_view_if_needed()
    shots(page, "parameters")


def test_seed_walk_swift_and_s3_then_regenerate(
    server: Server, browser: Any, shots: Shots, tmp_path: Path
) -> None:
    server.cli("user", "create", "ccontini", "--password", PASSWORD)
    creds = server.member("system", "ccontini", "ccontini")
    server.member("system", "other", "ccontini")  # a second service to choose from
    page = new_page(browser, server)
    page.goto("/")
    shots(page, "sign in page")
    sign_in(page, "ccontini", PASSWORD)
    walk_to_service(page, shots, menu_item="API Credentials", typed="ccont")

    # The parameters table, with the password hidden until revealed.
    assert page.inner_text("#os-username") == creds["openstack"]["username"]
    assert page.inner_text("#os-project_name") == "system-ccontini"
    assert page.inner_text("#os-auth_url") == server.auth_url
    assert page.inner_text("#os-identity_api_version") == "3"
    assert creds["openstack"]["password"] not in page.content()

    block = copy_from_page(page, "block-openrc")
    assert block.splitlines()[0] == f"export OS_PASSWORD={creds['openstack']['password']}"
    assert block.splitlines()[3] == f"export OS_AUTH_URL={server.auth_url}"
    shots(page, "revealed and copied")
    home = tmp_path / "home"
    home.mkdir()
    made = run_block(block, "swift post from-portal && swift list", home)
    assert made.returncode == 0, made.stderr
    assert made.stdout.split() == ["from-portal"]

    page.locator("#s3-api").scroll_into_view_if_needed()
    shots(page, "s3 section")
    # Each Copy reveals and copies its own block only.
    aws_credentials = copy_from_page(page, "block-aws-credentials")
    aws_config = copy_from_page(page, "block-aws-config")
    listed = aws_ls(aws_credentials, aws_config, home)
    assert listed.returncode == 0, listed.stderr
    assert "from-portal" in listed.stdout

    # Regenerate from the page: the confirmation says what happens.
    page.locator(".service-actions [data-open-dialog]").click()
    dialog = page.locator("#regenerate-dialog")
    dialog.wait_for()
    assert "every environment" in dialog.inner_text()
    assert "stops working at once" in dialog.inner_text()
    shots(page, "regenerate confirmation")
    page.click("#regenerate-confirm")
    page.wait_for_selector(".flash-ok")
    shots(page, "regenerated")
    time.sleep(1.2)  # identity facts are cached for at most a second

    old = run_block(block, "swift list", home)
    assert old.returncode != 0, "the old password still works for Swift"
    old_s3 = aws_ls(aws_credentials, aws_config, home)
    assert old_s3.returncode != 0, "the old secret still works for S3"

    page.wait_for_selector("#os-username")
    new_block = copy_from_page(page, "block-openrc")
    assert new_block != block
    fresh = run_block(new_block, "swift list", home)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.split() == ["from-portal"]
    new_s3 = aws_ls(
        copy_from_page(page, "block-aws-credentials"),
        copy_from_page(page, "block-aws-config"),
        home,
    )
    assert new_s3.returncode == 0, new_s3.stderr
    shots(page, "new credentials", full_page=True)


@pytest.mark.parametrize("width", [390])
def test_credentials_page_on_a_phone(
    server: Server, browser: Any, shots: Shots, width: int
) -> None:
    server.cli("user", "create", "phone", "--password", PASSWORD)
    server.member("system", "mobile", "phone")
    page = new_page(browser, server, width=width)
    sign_in(page, "phone", PASSWORD)
    page.click("#service-search")
    page.keyboard.type("mob")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector("#os-username")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, "the page scrolls sideways on a phone"
    shots(page, "phone", full_page=True)
