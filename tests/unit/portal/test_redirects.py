"""Redirect targets from clients: only paths on this site, as a browser would read them."""

from __future__ import annotations

import pytest

from cumulo import errors
from cumulo.portal.web import local_target

DEFAULT = "/credentials"


@pytest.mark.parametrize(
    "target",
    [
        "",
        "https://evil.example/",
        "//evil.example/",
        "/\t/evil.example/",  # browsers drop the tab: //evil.example/
        "\t//evil.example/",
        " //evil.example/",
        "/\\evil.example/",  # browsers read "\" as "/"
        "\\\\evil.example",
        "javascript:alert(1)",
        "credentials",
    ],
)
def test_other_sites_get_the_default(target: str) -> None:
    assert local_target(target, DEFAULT) == DEFAULT


@pytest.mark.parametrize("target", ["/\n/x", "/\r\nSet-Cookie: x=1", "/\x0bx", "/\x00x"])
def test_control_characters_are_refused(target: str) -> None:
    with pytest.raises(errors.InvalidInput):
        local_target(target, DEFAULT)


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/credentials?service=abc#service-keys", "/credentials?service=abc#service-keys"),
        ("/admin/orgs/a%20b", "/admin/orgs/a%20b"),
        ("/admin/orgs/a b", "/admin/orgs/a%20b"),
        ("/profile/ü", "/profile/%C3%BC"),
    ],
)
def test_paths_are_kept(target: str, kept: str) -> None:
    assert local_target(target, DEFAULT) == kept
