from __future__ import annotations

import time
from pathlib import Path

import pytest

from cumulo import errors
from cumulo.identity.tokens import KeyRepository, TokenCodec, TokenPayload


def payload(expires_in: float = 60) -> TokenPayload:
    now = time.time()
    return TokenPayload("m" * 32, "p" * 32, ("password",), now, now + expires_in, "a" * 32, 3)


def test_round_trip_and_tamper(tmp_path: Path) -> None:
    keys = KeyRepository(tmp_path / "keys")
    keys.initialize()
    codec = TokenCodec(keys)
    token = codec.encode(payload())
    decoded = codec.decode(token)
    assert decoded.membership_id == "m" * 32 and decoded.secret_generation == 3
    assert "=" not in token
    with pytest.raises(errors.TokenNotFound):
        codec.decode(token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:])
    with pytest.raises(errors.TokenNotFound):
        codec.decode("not a token")
    with pytest.raises(errors.TokenNotFound):
        codec.decode(codec.encode(payload(expires_in=-1)))


def test_rotation_keeps_recent_keys(tmp_path: Path) -> None:
    keys = KeyRepository(tmp_path / "keys", max_keys=3)
    keys.initialize()
    codec = TokenCodec(keys)
    old = codec.encode(payload())
    keys.rotate()
    assert codec.decode(old)  # previous primary still decrypts
    files = sorted(int(p.name) for p in (tmp_path / "keys").iterdir())
    assert files == [0, 1, 2]
    keys.rotate()
    keys.rotate()
    files = sorted(int(p.name) for p in (tmp_path / "keys").iterdir())
    assert files == [0, 3, 4]
    with pytest.raises(errors.TokenNotFound):
        codec.decode(old)  # its key was dropped


def test_another_process_sees_rotation(tmp_path: Path) -> None:
    writer = KeyRepository(tmp_path / "keys")
    writer.initialize()
    reader = TokenCodec(KeyRepository(tmp_path / "keys"))
    reader.decode(TokenCodec(writer).encode(payload()))
    writer.rotate()
    time.sleep(1.05)
    assert reader.decode(TokenCodec(writer).encode(payload()))
