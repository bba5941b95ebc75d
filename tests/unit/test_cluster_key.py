"""The cluster key: wrapping the shared keys, and the check value that tells a wrong key."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cumulo import errors
from cumulo.crypto import ClusterKey


def key(seed: bytes = b"") -> ClusterKey:
    material = (seed * 32)[:32] if seed else os.urandom(32)
    return ClusterKey.from_text(base64.b64encode(material).decode(), "test")


def test_wrap_round_trip_and_wrong_key_refused() -> None:
    one, other = key(b"a"), key(b"b")
    secret = Fernet.generate_key()
    wrapped = one.wrap(secret)
    assert secret not in wrapped and one.unwrap(wrapped) == secret
    with pytest.raises(errors.ClusterKeyMismatch):
        other.unwrap(wrapped)


def test_check_value_tells_keys_apart() -> None:
    one, same, other = key(b"a"), key(b"a"), key(b"b")
    assert one.check_value() == same.check_value()
    assert same.matches(one.check_value())
    assert not other.matches(one.check_value())
    # Derived apart from the wrapping key: the check value is not a wrap of anything.
    assert len(one.check_value()) == 32


def test_file_made_once_with_owner_only_mode(tmp_path: Path) -> None:
    path = tmp_path / "cluster.key"
    made = ClusterKey.load(path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_text().strip())) == 32
    again = ClusterKey.load(path, create=True)
    assert again.matches(made.check_value())


def test_openssl_style_file_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    assert ClusterKey.load(path).wrap(b"x")


@pytest.mark.parametrize("text", ["not base64 at all!", base64.b64encode(b"short").decode(), ""])
def test_unusable_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "k"
    path.write_text(text)
    with pytest.raises(errors.ClusterKeyInvalid, match=str(path)):
        ClusterKey.load(path)


def test_missing_file_is_not_made_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(errors.ClusterKeyMissing, match="--cluster-key-file"):
        ClusterKey.load(tmp_path / "none")
    assert not (tmp_path / "none").exists()
