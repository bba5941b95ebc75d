from __future__ import annotations

import re
import string

from cumulo.portal.catalog_en import MESSAGES as EN
from cumulo.portal.catalog_es import MESSAGES as ES
from cumulo.portal.i18n import negotiate

TEMPLATES = __import__("pathlib").Path(__file__).resolve().parents[3] / "cumulo/portal/templates"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    assert set(EN) == set(ES)
    for key in EN:
        assert _fields(EN[key]) == _fields(ES[key]), key


def test_every_message_the_templates_use_exists() -> None:
    used = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"_\('([a-z0-9_.]+[a-z0-9_])'", path.read_text()))
    assert used - set(EN) == set()


def test_language_negotiation() -> None:
    assert negotiate("es-ES,es;q=0.9,en;q=0.8", None) == "es"
    assert negotiate("fr-FR,fr;q=0.9,en;q=0.5,es;q=0.4", None) == "en"
    assert negotiate("fr", None) == "en"
    assert negotiate("", None) == "en"
    assert negotiate("en", "es") == "es"
    assert negotiate("es;q=0, en", None) == "en"
