"""A data dir from before the cluster keys (token keys in `fernet-keys/`, the secret key in
`secret.key`, a database at revision 0004) keeps its tokens and stored secrets working
after the upgrade: the first start moves the keys into the database and renames the
files to `*.migrated`.

The old data dir is made by a server of today taken back to the old layout: its keys
unwrapped into the files the old code wrote (Keystone's numbered key files; one Fernet
key a line, newest first), its key tables dropped and its schema revision set back.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import requests
from alembic import command

from cumulo.crypto import ClusterKey
from cumulo.metadata.db import Database, _alembic_config
from tests.functional.s3_support import signed_as
from tests.harness import Server, password_token


def _back_to_the_old_layout(data: Path) -> None:
    key = ClusterKey.load(data / "cluster.key")
    with sqlite3.connect(data / "metadata.sqlite3") as conn:
        rows = conn.execute(
            "SELECT kind, position, wrapped FROM cluster_keys ORDER BY position DESC"
        ).fetchall()
    # The schema as it was at 0004: every later migration undone, however many there are.
    db = Database(f"sqlite:///{data / 'metadata.sqlite3'}")
    try:
        with db.engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0004")
    finally:
        db.dispose()
    (data / "fernet-keys").mkdir(mode=0o700)
    secrets = []
    for kind, position, wrapped in rows:
        if kind == "token":
            (data / "fernet-keys" / str(position)).write_bytes(key.unwrap(wrapped))
        else:
            secrets.append(key.unwrap(wrapped).decode())
    (data / "secret.key").write_text("".join(s + "\n" for s in secrets))
    (data / "cluster.key").unlink()


def _swift_status(node: Server, creds: dict[str, Any], token: str) -> int:
    url = f"{node.object_url}/v1/AUTH_{creds['openstack']['project_id']}"
    return requests.get(url, headers={"X-Auth-Token": token}, timeout=10).status_code


def test_an_old_data_dir_keeps_its_tokens_and_secrets(tmp_path: Path) -> None:
    data = tmp_path / "data"
    node = Server(data).start()
    try:
        creds = node.member("old", "env", "olga")
        made = password_token(node, creds)
        assert made.status_code == 201
        token = made.headers["X-Subject-Token"]
    finally:
        node.stop()
    _back_to_the_old_layout(data)

    node = Server(data).start()
    try:
        assert _swift_status(node, creds, token) in (200, 204)  # a token from before
        assert password_token(node, creds).status_code == 201  # its stored secret
        reply = signed_as(node, creds, "GET", "/")
        assert reply.status_code == 200, reply.text
        # The files are kept, renamed: nothing of the user's is deleted.
        assert not (data / "fernet-keys").exists() and not (data / "secret.key").exists()
        assert sorted(p.name for p in (data / "fernet-keys.migrated").iterdir()) == ["0", "1"]
        assert (data / "secret.key.migrated").read_text().strip()
        assert (data / "cluster.key").exists()
        assert "into the metadata database" in node.log()
        # A rotation keeps the old token valid and the new primary's tokens work.
        node.cli("keys", "rotate")
        time.sleep(1.1)
        assert _swift_status(node, creds, token) in (200, 204)
        fresh = password_token(node, creds).headers["X-Subject-Token"]
        assert _swift_status(node, creds, fresh) in (200, 204)
    finally:
        node.stop()
        assert "Traceback" not in node.log(), node.log()[-5000:]
