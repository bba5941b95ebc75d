"""The cluster's wrapped keys and their check value, in the shared metadata database.

The store sees only wrapped bytes: wrapping, the check value and Keystone's rotation
rules are the identity layer's (`identity/keys.py`). Every change to the key set runs
in one transaction holding the `cluster` row (`FOR UPDATE` on PostgreSQL; SQLite's
write transactions are exclusive already) and bumps its generation, so two rotations
from two nodes queue instead of racing, and every process sees a change by polling one
integer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from cumulo import errors
from cumulo.metadata import schema as t
from cumulo.metadata.db import Database

CLUSTER_ROW = 1

_GENERATION = select(t.cluster.c.key_generation).where(t.cluster.c.id == bindparam("cluster_id"))

# Given the positions of one kind's keys, a rotation's plan: the position the staged
# key moves to (None: none moves), and the positions to drop.
RotationPlan = Callable[[list[int]], tuple[int | None, list[int]]]


class ClusterKeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def key_check(self) -> bytes | None:
        """The check value the database was set up with; None before set-up."""
        with self.db.read() as conn:
            row = conn.execute(
                select(t.cluster.c.key_check).where(t.cluster.c.id == CLUSTER_ROW)
            ).first()
        return None if row is None else bytes(row.key_check)

    def generation(self) -> int | None:
        """The key set's generation (a cheap point read: processes poll it);
        `Unavailable` when the database cannot be reached."""
        try:
            row = self.db.first(_GENERATION, {"cluster_id": CLUSTER_ROW})
        except (OperationalError, InterfaceError):
            # SQLite (PostgreSQL's are translated by the database already).
            raise errors.Unavailable() from None
        return None if row is None else int(row.key_generation)

    def keys(self, kind: str) -> list[tuple[int, bytes]]:
        """One kind's wrapped keys, by position, highest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.cluster_keys.c.position, t.cluster_keys.c.wrapped)
                .where(t.cluster_keys.c.kind == kind)
                .order_by(t.cluster_keys.c.position.desc())
            ).all()
        return [(int(r.position), bytes(r.wrapped)) for r in rows]

    def initialize(self, key_check: bytes, keys: Mapping[str, Sequence[tuple[int, bytes]]]) -> None:
        """Records the check value and the keys of each kind that has none yet (a
        no-op for what is there: the caller holds the set-up lock, but a second node
        started later finds the work done)."""
        now = time.time()
        with self.db.write() as conn:
            if self._locked_generation(conn) is None:
                conn.execute(
                    insert(t.cluster).values(
                        id=CLUSTER_ROW, key_check=key_check, key_generation=0, created_at=now
                    )
                )
            for kind, rows in keys.items():
                if not rows or self._has(conn, kind):
                    continue
                conn.execute(
                    insert(t.cluster_keys),
                    [
                        {"kind": kind, "position": p, "wrapped": w, "created_at": now}
                        for p, w in rows
                    ],
                )
            self._bump(conn)

    def rotate(self, kind: str, new_staged: bytes, plan: RotationPlan) -> int | None:
        """Moves the staged key (position 0) to where `plan` says, stores `new_staged`
        at 0 and drops what `plan` drops, in one transaction; returns the new primary's
        position (None when the kind has no keys: the caller says so)."""
        now = time.time()
        with self.db.write() as conn:
            if self._locked_generation(conn) is None:
                return None
            positions = [
                int(p)
                for p in conn.execute(
                    select(t.cluster_keys.c.position).where(t.cluster_keys.c.kind == kind)
                ).scalars()
            ]
            if not positions:
                return None
            primary, drop = plan(positions)
            mine = t.cluster_keys.c.kind == kind
            if drop:
                conn.execute(
                    delete(t.cluster_keys).where(mine, t.cluster_keys.c.position.in_(drop))
                )
            if primary is not None:
                conn.execute(
                    update(t.cluster_keys)
                    .where(mine, t.cluster_keys.c.position == 0)
                    .values(position=primary)
                )
            conn.execute(
                insert(t.cluster_keys).values(
                    kind=kind, position=0, wrapped=new_staged, created_at=now
                )
            )
            self._bump(conn)
            return primary

    def _locked_generation(self, conn: Connection) -> int | None:
        row = conn.execute(
            select(t.cluster.c.key_generation)
            .where(t.cluster.c.id == CLUSTER_ROW)
            .with_for_update()
        ).first()
        return None if row is None else int(row.key_generation)

    def _has(self, conn: Connection, kind: str) -> bool:
        found = conn.execute(
            select(t.cluster_keys.c.position).where(t.cluster_keys.c.kind == kind).limit(1)
        ).first()
        return found is not None

    def _bump(self, conn: Connection) -> None:
        conn.execute(
            update(t.cluster)
            .where(t.cluster.c.id == CLUSTER_ROW)
            .values(key_generation=t.cluster.c.key_generation + 1)
        )
