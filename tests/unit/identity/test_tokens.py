from __future__ import annotations

import time
from pathlib import Path

import pytest

from cumulo import errors
from cumulo.identity.keys import ClusterKeys
from cumulo.identity.tokens import TokenCodec, TokenPayload, legacy_repository, rotation
from cumulo.metadata.db import Database
from cumulo.metadata.keys import ClusterKeyStore


def payload(expires_in: float = 60) -> TokenPayload:
    now = time.time()
    return TokenPayload("m" * 32, "p" * 32, ("password",), now, now + expires_in, "a" * 32, 3)


def ring(tmp_path: Path, max_keys: int = 3) -> ClusterKeys:
    db = Database(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    db.migrate()
    keys = ClusterKeys(
        ClusterKeyStore(db), tmp_path / "cluster.key", create=True, token_key_count=max_keys
    )
    keys.setup()
    return keys


def test_round_trip_and_tamper(tmp_path: Path) -> None:
    codec = TokenCodec(ring(tmp_path))
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


def test_rotation_plan_is_keystones() -> None:
    plan = rotation(3)
    assert plan([0, 1]) == (2, [])
    assert plan([0, 1, 2]) == (3, [1])
    assert plan([0, 2, 3]) == (4, [2])
    assert rotation(5)([0, 1, 2, 3, 4]) == (5, [1])
    assert rotation(1)([0, 1]) == (2, [1])  # at least staged + primary are kept


def test_rotation_keeps_recent_keys(tmp_path: Path) -> None:
    keys = ring(tmp_path, max_keys=3)
    codec = TokenCodec(keys)
    old = codec.encode(payload())
    assert keys.rotate_tokens() == 2
    assert codec.decode(old)  # previous primary still decrypts
    assert sorted(n for n, _ in keys.store.keys("token")) == [0, 1, 2]
    keys.rotate_tokens()
    assert keys.rotate_tokens() == 4
    assert sorted(n for n, _ in keys.store.keys("token")) == [0, 3, 4]
    with pytest.raises(errors.TokenNotFound):
        codec.decode(old)  # its key was dropped


def test_another_process_sees_rotation(tmp_path: Path) -> None:
    writer = ring(tmp_path)
    reader = ClusterKeys(ClusterKeyStore(writer.store.db), tmp_path / "cluster.key")
    reader_codec = TokenCodec(reader)
    reader_codec.decode(TokenCodec(writer).encode(payload()))
    writer.rotate_tokens()
    time.sleep(1.05)
    assert reader_codec.decode(TokenCodec(writer).encode(payload()))


def test_legacy_repository_reads_keystone_layout(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    for n in (0, 3, 4):
        (tmp_path / "keys" / str(n)).write_bytes(b"key%d\n" % n)
    (tmp_path / "keys" / ".0.tmp").write_bytes(b"half-written")
    assert legacy_repository(tmp_path / "keys") == [(0, b"key0"), (3, b"key3"), (4, b"key4")]
    assert legacy_repository(tmp_path / "missing") == []


def test_keys_at_hand_outlive_an_unreachable_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = ring(tmp_path)
    codec = TokenCodec(keys)
    token = codec.encode(payload())

    def unreachable() -> int:
        raise errors.Unavailable()

    monkeypatch.setattr(keys.store, "generation", unreachable)
    keys._checked = 0.0  # as if the second had passed
    assert codec.decode(token)
    fresh = ClusterKeys(keys.store, tmp_path / "cluster.key")
    with pytest.raises(errors.Unavailable):
        fresh.token_fernet()  # no keys at hand: the outage is the answer (a 503)
