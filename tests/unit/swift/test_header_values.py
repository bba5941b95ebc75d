"""Swift refuses header values it could not send back, where they come in."""

from __future__ import annotations

import pytest

from cumulo.swift.common import header_value, metadata_changes
from cumulo.swift.errors import SwiftError


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\x0bb", "a\x00b"])
@pytest.mark.parametrize("prefix", ["x-object", "x-container", "x-account"])
def test_metadata_values(prefix: str, value: str) -> None:
    with pytest.raises(SwiftError) as refused:
        metadata_changes({f"{prefix}-meta-note": value}, prefix)
    assert refused.value.status == 400
    assert (
        refused.value.body
        == f"Invalid character in the value of {prefix.title()}-Meta-Note".encode()
    )


def test_other_values() -> None:
    with pytest.raises(SwiftError):
        header_value("content-disposition", 'attachment; filename="a\nb"')
    assert header_value("content-disposition", "inline;\tx=1") == "inline;\tx=1"
    # UTF-8 on the wire (latin-1 text in ASGI) comes back as text.
    assert header_value("x-object-meta-a", "caf\u00c3\u00a9") == "caf\u00e9"
