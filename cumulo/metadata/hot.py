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


def put(
    run: Run, values: dict[str, Any], container: tuple[str, str] | None = None
) -> tuple[str, list[str]]:
    """Makes the row `values` the object at its name; returns the id of the container
    it went into and the blobs it replaced.

    `container`, if given, is (project id, container name): the container is the one
    that name holds at this commit, looked up under its row lock, so one deleted and
    created again since the caller last looked is the new one, on every process and
    node at once. Otherwise it is `values["container_id"]` (callers that hold a row
    which pins it, as a multipart upload's does)."""
    if container is None:
        found = run("lock_container", {"id": values["container_id"]}).first()
    else:
        project_id, name = container
        found = run("lock_named_container", {"project_id": project_id, "name": name}).first()
    # Writers to one container queue on its row (they all update its counters
    # anyway), so two PUTs of one new name cannot both insert it.
    if found is None:
        raise errors.NoSuchContainer("the container was deleted")
    container_id, size = found.id, values["size"]
    values = {**values, "container_id": container_id}
    old = run("lock_object", {"container_id": container_id, "name": values["name"]}).first()
    count, delta, replaced = 1, size, []
    if old is not None:
        replaced = [blob for blob, _ in json.loads(old.segments)]
        run("delete_object", {"id": old.id})
        count, delta = 0, size - old.size
    run("insert_object", values)
    run("count_objects", {"container": container_id, "count": count, "size": delta})
    return container_id, replaced


def delete(run: Run, project_id: str, container: str, name: str) -> Any:
    """Deletes the live object at `name` in the container named `container` now;
    returns its row (all of `objects`' columns)."""
    params = {"project_id": project_id, "container": container, "name": name}
    row = run("lock_named_object", params).first()
    if row is None or (row.delete_at is not None and row.delete_at <= time.time()):
        if run("container_id", {"project_id": project_id, "name": container}).first() is None:
            raise errors.NoSuchContainer(f"no container {container!r}")
        raise errors.NoSuchObject(f"no object {name!r}")
    remove(run, row.id, row.container_id, row.size)
    return row


def remove(run: Run, object_id: str, container_id: str, size: int) -> None:
    run("delete_object", {"id": object_id})
    run("count_objects", {"container": container_id, "count": -1, "size": -size})
