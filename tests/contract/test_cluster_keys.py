"""The cluster's key set on each engine: set up once, shared by whoever holds the cluster
key, refused to whoever holds another, rotated by racing nodes without losing a key."""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cumulo import errors
from cumulo.identity.keys import SECRET, TOKEN, ClusterKeys
from cumulo.metadata.db import Database
from cumulo.metadata.keys import ClusterKeyStore


def _ring(database: Database, key_file: Path, token_key_count: int = 3) -> ClusterKeys:
    return ClusterKeys(ClusterKeyStore(database), key_file, token_key_count=token_key_count)


def _key_file(path: Path) -> Path:
    path.write_text(base64.b64encode(os.urandom(32)).decode())
    return path


def test_set_up_once_and_shared(database: Database, tmp_path: Path) -> None:
    key = _key_file(tmp_path / "cluster.key")
    first, second = _ring(database, key), _ring(database, key)
    first.setup()
    second.setup()  # finds the work done
    store = ClusterKeyStore(database)
    assert [n for n, _ in store.keys(TOKEN)] == [1, 0]
    assert [n for n, _ in store.keys(SECRET)] == [0]
    token = first.token_fernet().encrypt(b"x")
    assert second.token_fernet().decrypt(token) == b"x"
    secret = second.secret_fernet().encrypt(b"s")
    assert first.secret_fernet().decrypt(secret) == b"s"
    assert all(Fernet.generate_key() not in w for _, w in store.keys(TOKEN))


def test_another_cluster_key_is_refused_before_anything_is_unwrapped(
    database: Database, tmp_path: Path
) -> None:
    _ring(database, _key_file(tmp_path / "right.key")).setup()
    wrong = _ring(database, _key_file(tmp_path / "wrong.key"))
    expected = f"the cluster key in {tmp_path / 'wrong.key'} does not match"
    for use in (wrong.setup, wrong.verify, wrong.token_fernet, wrong.rotate_tokens):
        with pytest.raises(errors.ClusterKeyMismatch, match=expected):
            use()
    assert [n for n, _ in ClusterKeyStore(database).keys(TOKEN)] == [1, 0]


def test_racing_rotations_queue(database: Database, tmp_path: Path) -> None:
    key = _key_file(tmp_path / "cluster.key")
    _ring(database, key).setup()
    primaries: list[int] = []
    failures: list[BaseException] = []

    def rotate() -> None:
        try:
            primaries.append(_ring(database, key, token_key_count=3).rotate_tokens())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=rotate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures
    assert sorted(primaries) == [2, 3, 4, 5]
    assert [n for n, _ in ClusterKeyStore(database).keys(TOKEN)] == [5, 4, 0]


def test_rotation_needs_a_set_up_database(database: Database, tmp_path: Path) -> None:
    ring = _ring(database, _key_file(tmp_path / "cluster.key"))
    with pytest.raises(errors.ClusterNotSetUp):
        ring.rotate_tokens()
    with pytest.raises(errors.ClusterNotSetUp):
        ring.secret_fernet()
