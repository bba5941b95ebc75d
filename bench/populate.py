"""Bulk-populating a Cumulo bucket's metadata directly, for the 1M-object listing.

A million PUTs through the API would take longer than the rest of the bench, and the
listing only reads metadata. So the rows go straight into the metadata store, through
Cumulo's own ``Database`` and table definitions (``cumulo.metadata.schema``), in
batched multi-row INSERTs, and the container's counters are bumped to match. The
objects are empty (no segments, no blob, empty inline bytes), exactly what a 0-byte
PUT records, so a GET/HEAD of one of them works too. Names are ``obj-0000000`` .. in byte order.

This runs while the server runs (SQLite WAL: readers are not blocked; each batch is
its own short write transaction).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid

from sqlalchemy import insert, select, update

from cumulo.metadata import schema as t
from cumulo.metadata.db import Database

EMPTY_ETAG = hashlib.md5(b"").hexdigest()
EMPTY_META = json.dumps({"meta": {}, "headers": {}})


def populate(
    database_url: str, project_id: str, bucket: str, start: int, stop: int, batch: int = 20000
) -> float:
    """Inserts obj-<start>..obj-<stop-1> into the bucket; returns the seconds it took."""
    db = Database(database_url)
    t0 = time.perf_counter()
    try:
        with db.read() as conn:
            container_id = conn.execute(
                select(t.containers.c.id).where(
                    t.containers.c.project_id == project_id, t.containers.c.name == bucket
                )
            ).scalar_one()
        now = time.time()
        for first in range(start, stop, batch):
            last = min(stop, first + batch)
            rows = [
                {
                    "id": uuid.uuid4().hex,
                    "container_id": container_id,
                    "name": f"obj-{i:07d}",
                    "size": 0,
                    "etag": EMPTY_ETAG,
                    "content_type": "application/octet-stream",
                    "last_modified": now,
                    "metadata": EMPTY_META,
                    "segments": "[]",
                    "data": b"",
                    "delete_at": None,
                    "manifest_kind": None,
                    "manifest": None,
                }
                for i in range(first, last)
            ]
            with db.write() as conn:
                conn.execute(insert(t.objects), rows)
                conn.execute(
                    update(t.containers)
                    .where(t.containers.c.id == container_id)
                    .values(object_count=t.containers.c.object_count + len(rows))
                )
    finally:
        db.dispose()
    return time.perf_counter() - t0
