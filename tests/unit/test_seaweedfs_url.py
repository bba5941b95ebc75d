"""`--blob-url seaweedfs://HOST:PORT?replication=XYZ&collection=NAME`, parsed in one place,
and the blob references the engine stores."""

from __future__ import annotations

import pytest

from cumulo.blobs.seaweedfs import Chunk, SeaweedSettings, decode, encode, parse_url


@pytest.mark.parametrize(
    ("url", "settings"),
    [
        ("seaweedfs://127.0.0.1:9333", SeaweedSettings("127.0.0.1:9333")),
        ("seaweedfs://master.internal:9333/", SeaweedSettings("master.internal:9333")),
        (
            "seaweedfs://10.0.0.5:9333?replication=001",
            SeaweedSettings("10.0.0.5:9333", replication="001"),
        ),
        (
            "seaweedfs://m:1?replication=010&collection=cumulo-prod_1",
            SeaweedSettings("m:1", replication="010", collection="cumulo-prod_1"),
        ),
        ("seaweedfs://[::1]:9333", SeaweedSettings("[::1]:9333")),
    ],
)
def test_good_urls(url: str, settings: SeaweedSettings) -> None:
    assert parse_url(url) == settings


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:/var/lib/cumulo", "not a seaweedfs"),
        ("seaweedfs://127.0.0.1", "HOST:PORT"),
        ("seaweedfs://:9333", "HOST:PORT"),
        ("seaweedfs://127.0.0.1:0", "HOST:PORT"),
        ("seaweedfs://127.0.0.1:99999", "bad port"),
        ("seaweedfs://127.0.0.1:x", "bad port"),
        ("seaweedfs://u:p@127.0.0.1:9333", "no user"),
        ("seaweedfs://127.0.0.1:9333/bucket", "no path"),
        ("seaweedfs://127.0.0.1:9333?replication=1", "three digits"),
        ("seaweedfs://127.0.0.1:9333?replication=abc", "three digits"),
        ("seaweedfs://127.0.0.1:9333?collection=a/b", "collection"),
        ("seaweedfs://127.0.0.1:9333?collection=", "collection"),
        ("seaweedfs://127.0.0.1:9333?ttl=1d", "unknown options"),
        ("seaweedfs://127.0.0.1:9333?replication=001&replication=000", "repeats"),
        ("seaweedfs://127.0.0.1:9333?replication", "bad query"),
        ("seaweedfs://127.0.0.1:9333#x", "fragment"),
    ],
)
def test_bad_urls(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_url(url)


def test_references_round_trip() -> None:
    chunks = [Chunk("3,01637037d6", 8388608), Chunk("12,0a1b2c3d4e5f", 17)]
    blob = encode(chunks)
    assert blob == "seaweedfs:1:3,01637037d6:8388608;12,0a1b2c3d4e5f:17"
    assert decode(blob) == chunks
    assert decode(encode([])) == []


@pytest.mark.parametrize(
    "blob",
    [
        "0123456789abcdef0123456789abcdef",  # a local blob id
        "seaweedfs:2:3,01637037d6:1",  # a format this code does not know
        "seaweedfs:1:3,01637037d6",
        "seaweedfs:1:3,01637037d6:-1",
        "seaweedfs:1:../x:1",
        "seaweedfs:1:3,01637037d6:1;",
    ],
)
def test_foreign_references_are_refused(blob: str) -> None:
    with pytest.raises(ValueError):
        decode(blob)
