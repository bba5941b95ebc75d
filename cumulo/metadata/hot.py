"""The object data path's writes (PUT and DELETE of one object), once for every engine.

Each is written against `run(statement_key, params)`: the keys name the statements in
`cumulo.metadata.objects.HOT_STATEMENTS`. In a worker, `run` executes them through
`Database.execute`; in the SQLite writer process (`cumulo.metadata.writer`), which
imports no SQLAlchemy, through the plain driver with the SQL the workers compiled
from those same statements. One logic, one set of statements, two executors.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any, Protocol

from cumulo import errors


class Rows(Protocol):
    """What running a statement returns: SQLAlchemy's result, or the plain driver's."""

    @property
    def rowcount(self) -> int: ...

    def first(self) -> Any: ...


Run = Callable[[str, dict[str, Any]], Rows]


class DriverRows:
    """`Rows` from the plain sqlite3 driver: tuples made into named rows."""

    def __init__(self, cursor: sqlite3.Cursor, row_type: Any) -> None:
        self._cursor, self._row_type = cursor, row_type

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def first(self) -> Any:
        row = self._cursor.fetchone()
        return None if row is None else self._row_type._make(row)


def put(run: Run, values: dict[str, Any]) -> list[str]:
    """Makes the row `values` the object at its name; returns the blobs it replaced."""
    container_id, size = values["container_id"], values["size"]
    # Writers to one container queue on its row (they all update its counters
    # anyway), so two PUTs of one new name cannot both insert it.
    if run("lock_container", {"id": container_id}).first() is None:
        raise errors.NoSuchContainer("the container was deleted")
    old = run("lock_object", {"container_id": container_id, "name": values["name"]}).first()
    count, delta, replaced = 1, size, []
    if old is not None:
        replaced = [blob for blob, _ in json.loads(old.segments)]
        run("delete_object", {"id": old.id})
        count, delta = 0, size - old.size
    run("insert_object", values)
    run("count_objects", {"container": container_id, "count": count, "size": delta})
    return replaced


def delete(run: Run, container_id: str, name: str) -> Any:
    """Deletes the live object at `name`; returns its row (all of `objects`' columns)."""
    row = run("lock_whole_object", {"container_id": container_id, "name": name}).first()
    if row is None or (row.delete_at is not None and row.delete_at <= time.time()):
        raise errors.NoSuchObject(f"no object {name!r}")
    remove(run, row.id, container_id, row.size)
    return row


def remove(run: Run, object_id: str, container_id: str, size: int) -> None:
    run("delete_object", {"id": object_id})
    run("count_objects", {"container": container_id, "count": -1, "size": -size})
