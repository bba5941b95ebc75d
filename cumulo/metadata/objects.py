"""SQL for accounts, containers and objects.

Listings are index range scans on (container, name): a page costs the same whatever
the container's size. With a delimiter, each common prefix found skips the rest of its
names in one seek instead of reading them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Row,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from cumulo import errors
from cumulo.crypto import new_id
from cumulo.metadata import hot
from cumulo.metadata import schema as t
from cumulo.metadata.db import Database
from cumulo.metadata.writer import Shape, WriterClient
from cumulo.model import Account, Container, ListEntry, ObjectRecord, Segment

T = TypeVar("T")

# Greater than any character a name may hold: `prefix + HIGH` ends a prefix range.
HIGH = "\U0010ffff"


def _container(row: Row[Any]) -> Container:
    return Container(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        created_at=row.created_at,
        object_count=row.object_count,
        bytes_used=row.bytes_used,
        metadata=json.loads(row.metadata),
    )


def _object(row: Row[Any]) -> ObjectRecord:
    meta = json.loads(row.metadata)
    return ObjectRecord(
        id=row.id,
        container_id=row.container_id,
        name=row.name,
        size=row.size,
        etag=row.etag,
        content_type=row.content_type,
        last_modified=row.last_modified,
        metadata=meta.get("meta", {}),
        headers=meta.get("headers", {}),
        checksums=meta.get("checksums", {}),
        segments=_segments(row),
        delete_at=row.delete_at,
        manifest_kind=row.manifest_kind,
        manifest=row.manifest,
    )


def _segments(row: Row[Any]) -> tuple[Segment, ...]:
    if row.data is not None:
        return (Segment("", row.size, bytes(row.data)),)
    return tuple(Segment(b, s) for b, s in json.loads(row.segments))


def _object_values(record: ObjectRecord) -> dict[str, Any]:
    inline = [s.data for s in record.segments if s.data is not None]
    if inline and len(record.segments) > 1:
        raise ValueError("inline bytes must be an object's only segment")
    return {
        "id": record.id,
        "container_id": record.container_id,
        "name": record.name,
        "size": record.size,
        "etag": record.etag,
        "content_type": record.content_type,
        "last_modified": record.last_modified,
        "metadata": _metadata_document(record),
        "segments": json.dumps([[s.blob, s.size] for s in record.segments if s.data is None]),
        "data": inline[0] if inline else None,
        "delete_at": record.delete_at,
        "manifest_kind": record.manifest_kind,
        "manifest": record.manifest,
    }


def _metadata_document(record: ObjectRecord) -> str:
    document: dict[str, Any] = {"meta": record.metadata, "headers": record.headers}
    if record.checksums:
        document["checksums"] = record.checksums
    return json.dumps(document)


def _live(now: Any) -> Any:
    return or_(t.objects.c.delete_at.is_(None), t.objects.c.delete_at > now)


# The data path's point lookups, built once (see Database.first).
_GET_OBJECT = select(t.objects).where(
    t.objects.c.container_id == bindparam("container_id"),
    t.objects.c.name == bindparam("name"),
    _live(bindparam("now")),
)


# An object by its container's name: the container is resolved in the same statement,
# so a container deleted or created again is seen at once (no id cached anywhere).
def _by_container_name(*also: Any) -> Any:
    return (
        select(t.objects)
        .select_from(t.containers.join(t.objects, t.objects.c.container_id == t.containers.c.id))
        .where(
            t.containers.c.project_id == bindparam("project_id"),
            t.containers.c.name == bindparam("container"),
            t.objects.c.name == bindparam("name"),
            *also,
        )
    )


_FIND_OBJECT = _by_container_name(_live(bindparam("now")))
_GET_CONTAINER_ID = select(t.containers.c.id).where(
    t.containers.c.project_id == bindparam("project_id"),
    t.containers.c.name == bindparam("name"),
)
# The write path's statements, likewise built once: building and cache-keying them
# on every PUT was most of a group commit's CPU.
_LOCK_CONTAINER = (
    select(t.containers.c.id).where(t.containers.c.id == bindparam("id")).with_for_update()
)
_LOCK_NAMED_CONTAINER = (
    select(t.containers.c.id)
    .where(
        t.containers.c.project_id == bindparam("project_id"),
        t.containers.c.name == bindparam("name"),
    )
    .with_for_update()
)
_LOCK_OBJECT = (
    select(t.objects.c.id, t.objects.c.size, t.objects.c.segments)
    .where(
        t.objects.c.container_id == bindparam("container_id"),
        t.objects.c.name == bindparam("name"),
    )
    .with_for_update()
)
# The object a DELETE removes, found by its container's name in the same statement; only
# the object's row is locked (the counters' UPDATE then takes the container's): holding
# the container's row from the start would queue every DELETE in it (measured on
# PostgreSQL, 16 at once: ~300 deletes/s instead of ~630).
_LOCK_NAMED_OBJECT = _by_container_name().with_for_update(of=t.objects)
_DELETE_OBJECT = delete(t.objects).where(t.objects.c.id == bindparam("id"))
_INSERT_OBJECT = insert(t.objects)
_COUNT_OBJECTS = (
    update(t.containers)
    .where(t.containers.c.id == bindparam("container"))
    .values(
        object_count=t.containers.c.object_count + bindparam("count"),
        bytes_used=t.containers.c.bytes_used + bindparam("size"),
    )
)
# The keys `cumulo.metadata.hot` runs them by.
HOT_STATEMENTS: dict[str, Any] = {
    "lock_container": _LOCK_CONTAINER,
    "lock_named_container": _LOCK_NAMED_CONTAINER,
    "lock_object": _LOCK_OBJECT,
    "lock_named_object": _LOCK_NAMED_OBJECT,
    "container_id": _GET_CONTAINER_ID,
    "delete_object": _DELETE_OBJECT,
    "insert_object": _INSERT_OBJECT,
    "count_objects": _COUNT_OBJECTS,
}
_GET_CONTAINER = select(t.containers).where(
    t.containers.c.project_id == bindparam("project_id"),
    t.containers.c.name == bindparam("name"),
)


class ObjectStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # The node's SQLite writer process, when the server runs one.
        self.writer: WriterClient | None = None

    def hot_shapes(self) -> dict[str, Shape]:
        """The hot statements as the writer process runs them (SQLite only)."""
        shapes: dict[str, Shape] = {}
        for key, statement in HOT_STATEMENTS.items():
            sql, names, row_type = self.db.compiled(statement)
            shapes[key] = (sql, names, list(row_type._fields))
        return shapes

    # --- accounts -----------------------------------------------------------

    def account(self, project_id: str) -> Account:
        with self.db.read() as conn:
            row = conn.execute(
                select(t.accounts).where(t.accounts.c.project_id == project_id)
            ).first()
            totals = conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(t.containers.c.object_count), 0),
                    func.coalesce(func.sum(t.containers.c.bytes_used), 0),
                ).where(t.containers.c.project_id == project_id)
            ).one()
        if row is None:
            raise errors.NotFound("no such account")
        return Account(
            project_id=project_id,
            metadata=json.loads(row.metadata),
            container_count=int(totals[0]),
            object_count=int(totals[1]),
            bytes_used=int(totals[2]),
            created_at=row.created_at,
        )

    def set_account_metadata(self, project_id: str, changes: dict[str, str | None]) -> None:
        def work(conn: Connection) -> None:
            row = conn.execute(
                select(t.accounts.c.metadata).where(t.accounts.c.project_id == project_id)
            ).first()
            if row is None:
                raise errors.NotFound("no such account")
            conn.execute(
                update(t.accounts)
                .where(t.accounts.c.project_id == project_id)
                .values(metadata=json.dumps(_merge(json.loads(row.metadata), changes)))
            )

        self.db.transact(work)

    # --- containers ---------------------------------------------------------

    def create_container(self, project_id: str, name: str, metadata: dict[str, str]) -> bool:
        """Creates the container; False (and metadata merged) when it existed."""

        def work(conn: Connection) -> bool:
            row = conn.execute(
                select(t.containers.c.id, t.containers.c.metadata).where(
                    t.containers.c.project_id == project_id, t.containers.c.name == name
                )
            ).first()
            if row is not None:
                if metadata:
                    merged = _merge(json.loads(row.metadata), dict(metadata))
                    conn.execute(
                        update(t.containers)
                        .where(t.containers.c.id == row.id)
                        .values(metadata=json.dumps(merged))
                    )
                return False
            conn.execute(
                insert(t.containers).values(
                    id=new_id(),
                    project_id=project_id,
                    name=name,
                    created_at=time.time(),
                    metadata=json.dumps(_merge({}, dict(metadata))),
                    object_count=0,
                    bytes_used=0,
                )
            )
            return True

        try:
            return self.db.transact(work)
        except IntegrityError:
            return False  # created concurrently by another request

    def container(self, project_id: str, name: str) -> Container:
        row = self.db.first(_GET_CONTAINER, {"project_id": project_id, "name": name})
        if row is None:
            raise errors.NoSuchContainer(f"no container {name!r}")
        return _container(row)

    def container_id(self, project_id: str, name: str) -> str:
        """The id the container of this name has now (its row alone, not its metadata)."""
        row = self.db.first(_GET_CONTAINER_ID, {"project_id": project_id, "name": name})
        if row is None:
            raise errors.NoSuchContainer(f"no container {name!r}")
        return str(row.id)

    def set_container_metadata(
        self, project_id: str, name: str, changes: dict[str, str | None]
    ) -> None:
        def work(conn: Connection) -> None:
            row = conn.execute(
                select(t.containers.c.id, t.containers.c.metadata).where(
                    t.containers.c.project_id == project_id, t.containers.c.name == name
                )
            ).first()
            if row is None:
                raise errors.NoSuchContainer(f"no container {name!r}")
            conn.execute(
                update(t.containers)
                .where(t.containers.c.id == row.id)
                .values(metadata=json.dumps(_merge(json.loads(row.metadata), changes)))
            )

        self.db.transact(work)

    def delete_container(self, project_id: str, name: str) -> list[str]:
        """Deletes an empty container; returns the blobs of expired objects it held."""

        def work(conn: Connection) -> list[str]:
            row = conn.execute(
                select(t.containers.c.id)
                .where(t.containers.c.project_id == project_id, t.containers.c.name == name)
                .with_for_update()
            ).first()
            if row is None:
                raise errors.NoSuchContainer(f"no container {name!r}")
            # Expired objects awaiting the reaper do not keep a container alive.
            live = conn.execute(
                select(t.objects.c.id)
                .where(t.objects.c.container_id == row.id, _live(time.time()))
                .limit(1)
            ).first()
            if live is not None:
                raise errors.ContainerNotEmpty(f"container {name!r} is not empty")
            blobs = [
                blob
                for (segments,) in conn.execute(
                    select(t.objects.c.segments).where(t.objects.c.container_id == row.id)
                )
                for blob, _ in json.loads(segments)
            ]
            # Uploads in progress go with their container (the schema cascades);
            # their parts' bytes are unreferenced from this commit on.
            uploads = select(t.uploads.c.id).where(t.uploads.c.container_id == row.id)
            blobs += conn.execute(
                select(t.parts.c.blob).where(t.parts.c.upload_id.in_(uploads))
            ).scalars()
            conn.execute(delete(t.parts).where(t.parts.c.upload_id.in_(uploads)))
            conn.execute(delete(t.uploads).where(t.uploads.c.container_id == row.id))
            conn.execute(delete(t.objects).where(t.objects.c.container_id == row.id))
            conn.execute(delete(t.containers).where(t.containers.c.id == row.id))
            return blobs

        return self.db.transact(work)

    def list_containers(
        self,
        project_id: str,
        *,
        prefix: str = "",
        marker: str = "",
        end_marker: str = "",
        limit: int = 10000,
        reverse: bool = False,
        delimiter: str = "",
    ) -> list[Container | ListEntry]:
        c = t.containers
        with self.db.read() as conn:
            return _scan(
                conn,
                select(c).where(c.c.project_id == project_id),
                c.c.name,
                _container,
                Window(prefix, marker, end_marker, limit, reverse, delimiter),
            )

    # --- objects ------------------------------------------------------------

    def get_object(self, container_id: str, name: str) -> ObjectRecord:
        row = self.db.first(
            _GET_OBJECT, {"container_id": container_id, "name": name, "now": time.time()}
        )
        if row is None:
            raise errors.NoSuchObject(f"no object {name!r}")
        return _object(row)

    def find_object(self, project_id: str, container: str, name: str) -> ObjectRecord:
        """The live object at `name` in the container named `container` now."""
        params = {"project_id": project_id, "container": container, "name": name}
        row = self.db.first(_FIND_OBJECT, {**params, "now": time.time()})
        if row is None:
            self.container_id(project_id, container)  # NoSuchContainer, if that is why
            raise errors.NoSuchObject(f"no object {name!r}")
        return _object(row)

    def get_objects(self, container_id: str, names: Iterable[str]) -> dict[str, ObjectRecord]:
        wanted = sorted(set(names))
        found: dict[str, ObjectRecord] = {}
        with self.db.read() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    select(t.objects).where(
                        t.objects.c.container_id == container_id,
                        t.objects.c.name.in_(wanted[start : start + 500]),
                        _live(time.time()),
                    )
                )
                found.update((r.name, _object(r)) for r in rows)
        return found

    def put_object(self, record: ObjectRecord, container: tuple[str, str] | None = None) -> Stored:
        """Makes `record` the object at its name, in the container named by `container`
        (project id, name) at the commit, else in `record.container_id` (see `hot.put`)."""
        return self.db.transact(lambda conn: self.put_in(conn, record, container))

    async def put_object_async(
        self, record: ObjectRecord, container: tuple[str, str] | None = None
    ) -> Stored:
        """`put_object` for a coroutine: through the writer process if there is one,
        else the group commit (see `Database.transact_async`)."""
        if self.writer is not None and self.writer.alive:
            found, replaced = await self.writer.call("put", _object_values(record), container)
            return Stored(replace(record, container_id=found), list(replaced))
        return await self.db.transact_async(lambda conn: self.put_in(conn, record, container))

    def put_in(
        self, conn: Connection, record: ObjectRecord, container: tuple[str, str] | None = None
    ) -> Stored:
        """`put_object` inside the caller's transaction."""
        found, replaced = hot.put(self._runner(conn), _object_values(record), container)
        return Stored(replace(record, container_id=found), replaced)

    def _runner(self, conn: Connection) -> hot.Run:
        return lambda key, params: self.db.execute(conn, HOT_STATEMENTS[key], params)

    def update_object(self, record: ObjectRecord) -> None:
        """Rewrites an object's metadata in place (POST), keeping its bytes."""

        def work(conn: Connection) -> None:
            done = conn.execute(
                update(t.objects)
                .where(t.objects.c.id == record.id)
                .values(
                    metadata=_metadata_document(record),
                    content_type=record.content_type,
                    delete_at=record.delete_at,
                    manifest_kind=record.manifest_kind,
                    manifest=record.manifest,
                )
            )
            if done.rowcount == 0:
                raise errors.NoSuchObject(f"no object {record.name!r}")

        self.db.transact(work)

    def delete_object(self, project_id: str, container: str, name: str) -> ObjectRecord:
        """Deletes the object at `name` in the container named `container` now."""
        return self.db.transact(lambda conn: self._delete_in(conn, project_id, container, name))

    async def delete_object_async(self, project_id: str, container: str, name: str) -> ObjectRecord:
        """`delete_object` for a coroutine (see `put_object_async`)."""
        if self.writer is not None and self.writer.alive:
            row = await self.writer.call("delete", project_id, container, name)
            return _object(self.db.compiled(_LOCK_NAMED_OBJECT)[2]._make(row))
        return await self.db.transact_async(
            lambda conn: self._delete_in(conn, project_id, container, name)
        )

    def _delete_in(
        self, conn: Connection, project_id: str, container: str, name: str
    ) -> ObjectRecord:
        return _object(hot.delete(self._runner(conn), project_id, container, name))

    def list_objects(
        self,
        container_id: str,
        *,
        prefix: str = "",
        marker: str = "",
        end_marker: str = "",
        limit: int = 10000,
        reverse: bool = False,
        delimiter: str = "",
    ) -> list[ListEntry]:
        o = t.objects
        columns = (o.c.name, o.c.size, o.c.etag, o.c.content_type, o.c.last_modified)
        base = select(*columns).where(o.c.container_id == container_id, _live(time.time()))
        with self.db.read() as conn:
            return _scan(
                conn,
                base,
                o.c.name,
                _list_entry,
                Window(prefix, marker, end_marker, limit, reverse, delimiter),
            )

    def expired(self, limit: int = 1000) -> list[ObjectRecord]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.objects)
                .where(t.objects.c.delete_at.is_not(None), t.objects.c.delete_at <= time.time())
                .limit(limit)
            )
            return [_object(r) for r in rows]

    def reap(self, record: ObjectRecord) -> bool:
        """Deletes an expired object unless it was replaced meanwhile."""

        def work(conn: Connection) -> bool:
            row = conn.execute(
                select(t.objects.c.id).where(
                    t.objects.c.id == record.id,
                    t.objects.c.delete_at <= time.time(),
                )
            ).first()
            if row is None:
                return False
            hot.remove(self._runner(conn), record.id, record.container_id, record.size)
            return True

        return self.db.transact(work)

    def live_blobs(self) -> set[str]:
        """Every blob id an object references (for the start-up collection)."""
        with self.db.read() as conn:
            return {
                blob
                for (segments,) in conn.execute(select(t.objects.c.segments))
                for blob, _ in json.loads(segments)
            }


def _list_entry(row: Row[Any]) -> ListEntry:
    return ListEntry(
        name=row.name,
        size=row.size,
        etag=row.etag,
        content_type=row.content_type,
        last_modified=row.last_modified,
    )


@dataclass(frozen=True)
class Stored:
    """What a PUT committed: the record as stored (in the container it went into) and
    the blobs it replaced, to unlink now that nothing references them."""

    record: ObjectRecord
    replaced: list[str]


@dataclass(frozen=True)
class Window:
    """Which names a listing wants: Swift's and S3's listing parameters."""

    prefix: str = ""
    marker: str = ""
    end_marker: str = ""
    limit: int = 10000
    reverse: bool = False
    delimiter: str = ""


def _scan(
    conn: Connection, base: Any, column: Any, make: Callable[[Row[Any]], T], window: Window
) -> list[T | ListEntry]:
    """Range-scans `base` by `column` in byte order, rolling names up to their common
    prefix at `window.delimiter` (each prefix found costs one seek past its names)."""
    prefix, limit, reverse, delimiter = (
        window.prefix,
        window.limit,
        window.reverse,
        window.delimiter,
    )
    entries: list[T | ListEntry] = []
    marker = window.marker
    batch = min(limit, 1000) if delimiter else limit
    while len(entries) < limit:
        query = _name_range(base, column, prefix, marker, window.end_marker, reverse)
        query = query.order_by(column.desc() if reverse else column)
        want = min(batch, limit - len(entries))
        rows = list(conn.execute(query.limit(want)))
        for row in rows:
            name = row.name
            cut = name.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                common = name[: cut + len(delimiter)]
                # A prefix sorts at its own name: one at or before the starting
                # marker was listed on an earlier page.
                start = window.marker
                if not start or (common < start if reverse else common > start):
                    entries.append(ListEntry(name=common, is_prefix=True))
                marker = common if reverse else common + HIGH
                break
            entries.append(make(row))
            marker = name
            if len(entries) >= limit:
                break
        else:
            if len(rows) < want:
                break  # the range is exhausted
    return entries[:limit]


def _merge(current: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    merged = dict(current)
    for key, value in changes.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _name_range(
    query: Any, column: Any, prefix: str, marker: str, end_marker: str, reverse: bool
) -> Any:
    conditions = []
    if prefix:
        conditions += [column >= prefix, column < prefix + HIGH]
    if reverse:
        if marker:
            conditions.append(column < marker)
        if end_marker:
            conditions.append(column > end_marker)
    else:
        if marker:
            conditions.append(column > marker)
        if end_marker:
            conditions.append(column < end_marker)
    return query.where(and_(*conditions)) if conditions else query
