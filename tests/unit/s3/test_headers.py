"""S3 refuses header values it could not send back, where they come in."""

from __future__ import annotations

import pytest

from cumulo.s3 import errors as s3
from cumulo.s3.headers import apply_overrides, content_type, stored_headers, user_metadata

BAD = ["a\r\nSet-Cookie: x=1", "a\nb", "a\x0bb", "a\x00b"]


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("x-amz-meta-note", user_metadata),
        ("content-disposition", stored_headers),
        ("content-encoding", stored_headers),
        ("cache-control", stored_headers),
        ("expires", stored_headers),
        ("content-language", stored_headers),
        ("content-type", lambda headers: content_type(headers, "key")),
    ],
)
def test_stored_values(name: str, check: object, value: str) -> None:
    with pytest.raises(s3.InvalidArgument) as refused:
        check({name: value})  # type: ignore[operator]
    assert refused.value.fields["ArgumentName"] == name


@pytest.mark.parametrize("value", BAD)
def test_response_overrides(value: str) -> None:
    headers = [("Content-Type", "text/plain")]
    with pytest.raises(s3.InvalidArgument) as refused:
        apply_overrides(headers, {"response-content-disposition": value})
    assert refused.value.fields["ArgumentName"] == "response-content-disposition"
    assert headers == [("Content-Type", "text/plain")]


def test_tabs_and_text_pass() -> None:
    assert user_metadata({"x-amz-meta-note": "a\tb"}) == {"note": "a\tb"}
    headers: list[tuple[str, str]] = []
    apply_overrides(headers, {"response-content-type": "text/html; charset=utf-8"})
    assert headers == [("Content-Type", "text/html; charset=utf-8")]
