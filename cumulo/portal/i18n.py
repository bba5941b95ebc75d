"""Languages: English and Spanish (the seed's), per user, defaulting to the browser's.

The catalogs are plain dicts keyed by message id (`catalog_en.py`, `catalog_es.py`);
a unit test checks both have the same keys and the same placeholders.
"""

from __future__ import annotations

from typing import Any

from cumulo.portal.catalog_en import MESSAGES as EN
from cumulo.portal.catalog_es import MESSAGES as ES

CATALOGS: dict[str, dict[str, str]] = {"en": EN, "es": ES}
DEFAULT = "en"
NAMES = {"en": "English", "es": "Español"}


def negotiate(accept_language: str, preferred: str | None) -> str:
    """The user's choice if any, else the best of Accept-Language, else English."""
    if preferred in CATALOGS:
        return preferred
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in CATALOGS and quality > 0:
            ranked.append((-quality, index, primary))
    return sorted(ranked)[0][2] if ranked else DEFAULT


class I18n:
    def text(self, lang: str, key: str, **values: Any) -> str:
        catalog = CATALOGS.get(lang, EN)
        template = catalog.get(key) or EN.get(key) or key
        return template.format(**values) if values else template

    def translator(self, lang: str) -> Any:
        def translate(key: str, **values: Any) -> str:
            return self.text(lang, key, **values)

        return translate
