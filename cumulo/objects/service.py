"""The object service: accounts, containers, objects and large objects, over the stores.

It knows nothing of HTTP. Bodies come in as async iterators of bytes and go out the
same way, in bounded chunks, so memory stays flat whatever the object size. An object
becomes visible only after its bytes are durable (the blob store's commit) and its
metadata row is committed; bytes it replaced are unlinked after that commit, and
whatever a crash leaves behind is collected at start-up.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import ParamSpec, TypeVar

from cumulo import errors
from cumulo.blobs import BlobReader, BlobStore, BlobWriter
from cumulo.crypto import new_sortable_id
from cumulo.metadata.objects import ObjectStore, Stored
from cumulo.model import Account, Container, ListEntry, ObjectRecord, Segment
from cumulo.objects.spill import Spill

log = logging.getLogger("cumulo.objects")

P = ParamSpec("P")
T = TypeVar("T")

CHUNK = 1024 * 1024
MAX_NAME_BYTES = 1024
MAX_CONTAINER_NAME_BYTES = 256
MAX_MANIFEST_DEPTH = 10
# A response opens the blobs it reads before its headers go out (see OpenBody), up to
# this many; the rest (a multipart object of many parts, a long manifest) are opened as
# the body reaches them, as Swift's segmented GET fetches every segment after the first.
# The bound keeps a process's descriptors for many such GETs at once.
OPEN_AHEAD = 64
# Reads this small come from the page cache: a thread hop would cost more than they do.
SMALL_READ = 64 * 1024
# A write checks that its container exists before it reads the body, to refuse the
# body unread. A container seen to exist is taken to exist for this long, as a hint
# only: the commit resolves the name itself, so one deleted meanwhile is refused there
# and one created again is the one written into. A missing one is never remembered.
# (On PostgreSQL the check is a round trip: ~0.35 ms of a 4 KiB PUT's ~2.5.)
EXISTS_HINT_SECONDS = 1.0
# How many times an operation that depends on a version it read (a GET's or a copy's
# source, a POST's object) is tried when a concurrent write replaces that version in
# between (see `retrying`). Each retry needs another commit in a sub-millisecond window.
RACE_ATTEMPTS = 8


# Called once a body has ended, before it becomes visible: raises to refuse it, or
# returns the checksums (S3 algorithm → base64) to keep with it.
Finish = Callable[[], dict[str, str]]


@dataclass(frozen=True)
class Piece:
    """Bytes `[offset, offset + length)` of one blob, or of inline `data`."""

    blob: str
    offset: int
    length: int
    data: bytes | None = None


@dataclass
class Received:
    """A body that has ended: in a blob writer not yet committed, or (small enough to
    keep inline) as bytes. The caller commits or aborts it."""

    writer: BlobWriter | None
    data: bytes
    size: int
    etag: str
    checksums: dict[str, str]

    def commit(self) -> Segment:
        """Makes the bytes durable (blocking): a blob, or inline bytes whose
        durability is the metadata commit's."""
        if self.writer is None:
            return Segment("", self.size, self.data)
        return Segment(self.writer.commit(), self.size)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()


async def in_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


def check_container_name(name: str) -> None:
    if not name or "/" in name or len(name.encode()) > MAX_CONTAINER_NAME_BYTES:
        raise errors.InvalidName(
            f"container names are 1-{MAX_CONTAINER_NAME_BYTES} bytes without '/'"
        )
    _check_chars(name)


def check_object_name(name: str) -> None:
    if not name or len(name.encode()) > MAX_NAME_BYTES:
        raise errors.InvalidName(f"object names are 1-{MAX_NAME_BYTES} bytes")
    _check_chars(name)


def _check_chars(name: str) -> None:
    if "\x00" in name or any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        raise errors.InvalidName("names may not contain NUL or invalid UTF-8")


class ObjectService:
    def __init__(
        self,
        store: ObjectStore,
        blobs: BlobStore,
        *,
        max_object_size: int,
        inline_max: int = -1,
        chunk_size: int = CHUNK,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.max_object_size = max_object_size
        # Bodies of at most this many bytes are kept in the metadata row (-1: none).
        self.inline_max = inline_max
        self.chunk_size = chunk_size
        self._seen: dict[tuple[str, str], float] = {}

    # --- maintenance --------------------------------------------------------

    def collect_orphans(self, also_live: set[str] | None = None) -> int:
        """Removes bytes no object (nor `also_live`) references: temp files and crash
        leftovers. Run only while nothing writes (at start-up)."""
        live = self.store.live_blobs() | (also_live or set())
        return self.blobs.collect(lambda batch: live.intersection(batch))

    async def reap_expired(self) -> int:
        """Deletes objects whose X-Delete-At has passed."""
        reaped = 0
        for record in await in_thread(self.store.expired):
            if await in_thread(self.store.reap, record):
                await self.unlink_blobs(record.blobs)
                reaped += 1
        return reaped

    async def unlink_blobs(self, blobs: list[str]) -> None:
        if blobs:
            await in_thread(self.blobs.delete, blobs)

    # --- accounts -----------------------------------------------------------

    async def account(self, project_id: str) -> Account:
        return await in_thread(self.store.account, project_id)

    async def set_account_metadata(self, project_id: str, changes: dict[str, str | None]) -> None:
        await in_thread(self.store.set_account_metadata, project_id, changes)

    async def list_containers(
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
        return await in_thread(
            self.store.list_containers,
            project_id,
            prefix=prefix,
            marker=marker,
            end_marker=end_marker,
            limit=limit,
            reverse=reverse,
            delimiter=delimiter,
        )

    # --- containers ---------------------------------------------------------

    async def create_container(
        self, project_id: str, name: str, metadata: dict[str, str] | None = None
    ) -> bool:
        check_container_name(name)
        return await in_thread(self.store.create_container, project_id, name, metadata or {})

    async def _point_read(self, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A single-row lookup: inline where the store says it is cheap (no thread hop)."""
        if self.store.db.reads_inline:
            return read(*args, **kwargs)
        return await in_thread(read, *args, **kwargs)

    async def container(self, project_id: str, name: str) -> Container:
        """A container with its current counts and metadata (not cached)."""
        return await self._point_read(self.store.container, project_id, name)

    async def container_id(self, project_id: str, name: str) -> str:
        """The id of the container of this name now. No id is cached: the object data
        path's own statements resolve the name themselves (`find_object`, and the PUT
        and DELETE commits), so a container deleted or created again by any process or
        node is seen by the next request."""
        return await self._point_read(self.store.container_id, project_id, name)

    async def _check_container(self, project_id: str, name: str) -> None:
        """Raises NoSuchContainer unless the container exists (or did a moment ago:
        see EXISTS_HINT_SECONDS)."""
        key = (project_id, name)
        now = time.monotonic()
        seen = self._seen.get(key)
        if seen is not None and now - seen < EXISTS_HINT_SECONDS:
            return
        await self.container_id(project_id, name)
        if len(self._seen) > 10000:
            self._seen.clear()
        self._seen[key] = now

    async def set_container_metadata(
        self, project_id: str, name: str, changes: dict[str, str | None]
    ) -> None:
        await in_thread(self.store.set_container_metadata, project_id, name, changes)

    async def delete_container(self, project_id: str, name: str) -> None:
        self._seen.pop((project_id, name), None)
        await self.unlink_blobs(await in_thread(self.store.delete_container, project_id, name))

    async def list_objects(
        self,
        project_id: str,
        container: str,
        *,
        prefix: str = "",
        marker: str = "",
        end_marker: str = "",
        limit: int = 10000,
        reverse: bool = False,
        delimiter: str = "",
    ) -> list[ListEntry]:
        return await in_thread(
            self.store.list_objects,
            await self.container_id(project_id, container),
            prefix=prefix,
            marker=marker,
            end_marker=end_marker,
            limit=limit,
            reverse=reverse,
            delimiter=delimiter,
        )

    # --- objects ------------------------------------------------------------

    async def head_object(self, project_id: str, container: str, name: str) -> ObjectRecord:
        return await self._point_read(self.store.find_object, project_id, container, name)

    async def put_object(
        self,
        project_id: str,
        container: str,
        name: str,
        body: AsyncIterator[bytes],
        *,
        content_type: str,
        metadata: dict[str, str],
        headers: dict[str, str] | None = None,
        expected_md5: str | None = None,
        delete_at: float | None = None,
        finish: Finish | None = None,
    ) -> ObjectRecord:
        """Stores an object. `finish`, if given, runs once the body has ended and before
        anything is visible: it may refuse the body (raise) or return checksums to keep."""
        check_object_name(name)
        await self._check_container(project_id, container)
        received = await self._receive(body, expected_md5, finish, self.inline_max)
        where = (project_id, container)

        def make_record(segment: Segment) -> ObjectRecord:
            return ObjectRecord(
                id=new_sortable_id(),
                container_id="",  # the one the commit finds by name
                name=name,
                size=segment.size,
                etag=received.etag,
                content_type=content_type,
                last_modified=time.time(),
                metadata=metadata,
                headers=headers or {},
                segments=(segment,),
                checksums=received.checksums,
                delete_at=delete_at,
            )

        def make_durable() -> Stored:
            # One thread hop for both steps, in this order: the bytes are durable
            # (commit) before the row that makes them visible is committed.
            record = make_record(received.commit())
            try:
                return self.store.put_object(record, where)
            except BaseException:
                self.blobs.delete(record.blobs)
                raise

        if received.writer is None:
            # Inline bytes: the metadata commit is the only blocking step, and it
            # is awaited without a thread hop.
            stored = await self.store.put_object_async(make_record(received.commit()), where)
        else:
            try:
                stored = await in_thread(make_durable)
            except BaseException:
                received.abort()
                raise
        await self.unlink_blobs(stored.replaced)
        return stored.record

    async def _commit(self, record: ObjectRecord, project_id: str, container: str) -> ObjectRecord:
        """Commits `record` into the container named `container` at the commit."""
        try:
            stored = await in_thread(self.store.put_object, record, (project_id, container))
        except BaseException:
            await self.unlink_blobs(record.blobs)
            raise
        await self.unlink_blobs(stored.replaced)
        return stored.record

    async def write_body(
        self, body: AsyncIterator[bytes], expected_md5: str | None, finish: Finish | None = None
    ) -> tuple[Segment, str, dict[str, str]]:
        """Receives a body into a new blob and makes it durable; its segment, ETag and
        the checksums `finish` returned."""
        received = await self._receive(body, expected_md5, finish, inline_max=-1)
        try:
            segment = await in_thread(received.commit)
        except BaseException:
            received.abort()
            raise
        return segment, received.etag, received.checksums

    async def _receive(
        self,
        body: AsyncIterator[bytes],
        expected_md5: str | None,
        finish: Finish | None,
        inline_max: int,
    ) -> Received:
        """A body received, not yet committed: held in memory while it fits in
        `inline_max` bytes, streamed to a blob writer from the first byte beyond."""
        held: list[bytes] = []
        spill: Spill | None = None
        size = 0
        md5 = hashlib.md5(usedforsecurity=False)
        try:
            async for chunk in body:
                size += len(chunk)
                if size > self.max_object_size:
                    raise errors.EntityTooLarge(
                        f"objects larger than {self.max_object_size} bytes must be segmented"
                    )
                if spill is not None:
                    await spill.add(chunk)
                elif size <= inline_max:
                    md5.update(chunk)
                    held.append(chunk)
                else:
                    # Past the inline limit: what was held goes to a blob, and so does
                    # the rest, hashed and written off the event loop.
                    spill = Spill(self.blobs.writer(), md5)
                    for early in held:
                        spill.writer.write(early)
                    held.clear()
                    await spill.add(chunk)
            if spill is not None:
                await spill.drain()
            etag = md5.hexdigest()
            if expected_md5 is not None and expected_md5.lower() != etag:
                raise errors.BadDigest("the body's MD5 does not match the ETag sent")
            checksums = finish() if finish is not None else {}
        except BaseException:
            if spill is not None:
                await spill.abort()
            raise
        writer = spill.writer if spill is not None else None
        if writer is None and inline_max < 0:
            writer = self.blobs.writer()  # an empty body that must be a blob
        return Received(writer, b"".join(held), size, etag, checksums)

    async def set_object_metadata(
        self,
        project_id: str,
        container: str,
        name: str,
        *,
        metadata: dict[str, str],
        headers: dict[str, str],
        content_type: str | None = None,
        delete_at: float | None = None,
        keep_delete_at: bool = False,
    ) -> ObjectRecord:
        for attempt in range(RACE_ATTEMPTS):
            record = await self.head_object(project_id, container, name)
            updated = replace(
                record,
                metadata=metadata,
                headers=headers,
                content_type=content_type or record.content_type,
                delete_at=record.delete_at if keep_delete_at else delete_at,
            )
            try:
                await in_thread(self.store.update_object, updated)
            except errors.NoSuchObject:
                # That version was replaced (or deleted) since it was read: the POST
                # applies to whatever the name holds now, if anything.
                if attempt == RACE_ATTEMPTS - 1:
                    raise
                continue
            return updated
        raise AssertionError("unreachable")

    async def delete_object(self, project_id: str, container: str, name: str) -> ObjectRecord:
        record = await self.store.delete_object_async(project_id, container, name)
        await self.unlink_blobs(record.blobs)
        return record

    async def copy_object(
        self,
        source: ObjectRecord,
        source_project: str,
        project_id: str,
        container: str,
        name: str,
        *,
        content_type: str,
        metadata: dict[str, str],
        headers: dict[str, str],
        delete_at: float | None = None,
    ) -> ObjectRecord:
        """Copies the source's content (a large object's assembled bytes) to a new name.
        Raises `ObjectChanged` when the source version's bytes are gone (see
        `retrying`, which callers run it under)."""
        check_object_name(name)
        await self._check_container(project_id, container)
        if source.manifest_kind is None:
            # Plain bytes: link the blobs, no copying.
            segments = await self._link_segments(source)
            etag, size, checksums = source.etag, source.size, source.checksums
        else:
            # The copy is plain bytes: its ETag is their MD5, not the manifest's.
            pieces, _ = await self.resolve(source_project, source)
            content = self.stream(pieces, 0, None, source=(source_project, source))
            segment, etag, checksums = await self.write_body(content, None)
            segments, size = (segment,), segment.size
        record = ObjectRecord(
            id=new_sortable_id(),
            container_id="",  # the one the commit finds by name
            name=name,
            size=size,
            etag=etag,
            content_type=content_type,
            last_modified=time.time(),
            metadata=metadata,
            headers=headers,
            segments=segments,
            checksums=checksums,
            delete_at=delete_at,
        )
        return await self._commit(record, project_id, container)

    async def _link_segments(self, source: ObjectRecord) -> tuple[Segment, ...]:
        """New blobs with the bytes of `source`'s (inline bytes are copied with the row).
        A write that replaces or deletes an object unlinks its bytes once committed, so
        a version read a moment ago may have none left: `ObjectChanged`, unless that
        version is still the current one (then the bytes are lost, a storage fault)."""
        linked: list[str] = []
        try:
            for s in source.segments:
                if s.data is None:
                    linked.append(await in_thread(self.blobs.link, s.blob, s.size))
        except errors.BlobMissing:
            await self.unlink_blobs(linked)
            try:
                current = await self._point_read(
                    self.store.get_object, source.container_id, source.name
                )
            except errors.NoSuchObject:
                current = None
            if current is None or current.id != source.id:
                raise errors.ObjectChanged(f"{source.name!r} was replaced while copied") from None
            raise
        except BaseException:
            await self.unlink_blobs(linked)
            raise
        blobs = iter(linked)
        return tuple(
            s if s.data is not None else Segment(next(blobs), s.size) for s in source.segments
        )

    async def retrying(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Runs `operation` (read a version, check the request against it, use its bytes:
        a GET, a copy), again if that version was replaced before its bytes could be
        opened or linked (`ObjectChanged`): it is then evaluated against the version
        that replaced it (or finds it deleted), as if it had arrived just after that
        write."""
        for _ in range(RACE_ATTEMPTS - 1):
            try:
                return await operation()
            except errors.ObjectChanged:
                continue
        return await operation()

    # --- large objects --------------------------------------------------------

    async def put_manifest(
        self,
        project_id: str,
        container: str,
        name: str,
        *,
        kind: str,
        manifest: str,
        size: int,
        etag: str,
        content_type: str,
        metadata: dict[str, str],
        headers: dict[str, str] | None = None,
        delete_at: float | None = None,
        body: bytes = b"",
    ) -> ObjectRecord:
        """Stores a large-object manifest: `slo` (JSON segment list) or `dlo` (prefix).
        A DLO keeps the `body` it was PUT with: Swift serves it when the DLO is read as
        a plain object (`multipart-manifest=get`, or as another DLO's segment)."""
        check_object_name(name)
        await self._check_container(project_id, container)
        segments = await self._manifest_body(body)
        record = ObjectRecord(
            id=new_sortable_id(),
            container_id="",  # the one the commit finds by name
            name=name,
            size=size,
            etag=etag,
            content_type=content_type,
            last_modified=time.time(),
            metadata=metadata,
            headers=headers or {},
            segments=segments,
            delete_at=delete_at,
            manifest_kind=kind,
            manifest=manifest,
        )
        return await self._commit(record, project_id, container)

    async def _manifest_body(self, body: bytes) -> tuple[Segment, ...]:
        if not body:
            return ()
        if len(body) <= self.inline_max:
            return (Segment("", len(body), body),)
        segment, _, _ = await self.write_body(aiter_bytes(body), None)
        return (segment,)

    @staticmethod
    def stored_pieces(record: ObjectRecord) -> list[Piece]:
        """The bytes stored under the object itself; for a manifest, its own body."""
        return [Piece(s.blob, 0, s.size, s.data) for s in record.segments]

    async def resolve(
        self, project_id: str, record: ObjectRecord, depth: int = 0
    ) -> tuple[list[Piece], str]:
        """The pieces an object's content is made of, and its content ETag.

        Swift's semantics: an SLO's sub-SLOs are resolved (to MAX_MANIFEST_DEPTH), but a
        DLO reached as a segment (of a DLO, or of an SLO) is read as a plain object, its
        own stored body: Swift fetches segments with `multipart-manifest=get`. So DLOs
        never nest, a DLO whose prefix matches its own name (or another DLO's) simply
        serves that manifest's body among its segments, and no DLO can loop."""
        if record.manifest_kind is None or (record.manifest_kind == "dlo" and depth > 0):
            return self.stored_pieces(record), record.etag
        if depth >= MAX_MANIFEST_DEPTH:
            raise errors.BrokenLargeObject("large objects nest too deep")
        if record.manifest_kind == "dlo":
            return await self._resolve_dlo(project_id, record.manifest or "", depth)
        return await self._resolve_slo(project_id, record, depth)

    async def _resolve_dlo(
        self, project_id: str, manifest: str, depth: int
    ) -> tuple[list[Piece], str]:
        container, _, prefix = manifest.partition("/")
        pieces: list[Piece] = []
        etags = hashlib.md5(usedforsecurity=False)
        marker = ""
        while True:
            try:
                page = await self.list_objects(
                    project_id, container, prefix=prefix, marker=marker, limit=1000
                )
            except errors.NoSuchContainer:
                break
            if not page:
                break
            segments = await in_thread(
                self.store.get_objects,
                await self.container_id(project_id, container),
                [e.name for e in page],
            )
            for entry in page:
                segment = segments.get(entry.name)
                if segment is None:
                    continue
                more, etag = await self.resolve(project_id, segment, depth + 1)
                pieces.extend(more)
                etags.update(etag.encode())
            marker = page[-1].name
        return pieces, etags.hexdigest()

    async def _resolve_slo(
        self, project_id: str, record: ObjectRecord, depth: int
    ) -> tuple[list[Piece], str]:
        entries = json.loads(record.manifest or "[]")
        by_container: dict[str, list[str]] = {}
        for entry in entries:
            container, _, name = entry["name"].lstrip("/").partition("/")
            by_container.setdefault(container, []).append(name)
        found: dict[tuple[str, str], ObjectRecord] = {}
        for container, names in by_container.items():
            try:
                holder = await self.container_id(project_id, container)
            except errors.NoSuchContainer:
                raise errors.BrokenLargeObject(
                    f"a segment container {container!r} is gone"
                ) from None
            for name, obj in (await in_thread(self.store.get_objects, holder, names)).items():
                found[(container, name)] = obj
        pieces: list[Piece] = []
        for entry in entries:
            container, _, name = entry["name"].lstrip("/").partition("/")
            segment = found.get((container, name))
            if segment is None:
                raise errors.BrokenLargeObject(f"segment {entry['name']!r} is gone")
            more, _ = await self.resolve(project_id, segment, depth + 1)
            if entry.get("range"):
                first, last = entry["range"]
                more = list(_slice(more, first, last - first + 1))
            pieces.extend(more)
        return pieces, record.etag

    # --- reading --------------------------------------------------------------

    async def open_body(
        self,
        pieces: list[Piece],
        spans: list[tuple[int, int]],
        *,
        source: tuple[str, ObjectRecord] | None = None,
    ) -> OpenBody:
        """Opens the blobs holding bytes `[start, end]` (inclusive) of each span, before
        a response's headers go out: a blob that is missing, unreadable or short is a
        `StorageFault` the front end can still answer with a 500.

        `source` (project id, record) is what the pieces were resolved from. A blob found
        missing because a DELETE or overwrite committed after the record was read is not
        a fault: the object's absence (NoSuchObject) or `ObjectChanged` (read it again)."""
        needed: dict[str, int] = {}
        total = 0
        for start, end in spans:
            total += end - start + 1
            for piece in _slice(pieces, start, end - start + 1):
                if piece.data is None:
                    reach = piece.offset + piece.length
                    needed[piece.blob] = max(needed.get(piece.blob, 0), reach)
        ahead = dict(itertools.islice(needed.items(), OPEN_AHEAD))
        try:
            if total <= SMALL_READ:
                handles = self._open_blobs(ahead)
            else:
                handles = await in_thread(self._open_blobs, ahead)
        except errors.BlobMissing as exc:
            if source is not None:
                await self._check_unchanged(*source, exc.blob)
            raise
        return OpenBody(self.blobs, self.chunk_size, pieces, handles)

    def _open_blobs(self, needed: dict[str, int]) -> dict[str, BlobReader]:
        handles: dict[str, BlobReader] = {}
        try:
            for blob, need in needed.items():
                handles[blob] = self.blobs.open(blob, need)
        except BaseException:
            for handle in handles.values():
                handle.close()
            raise
        return handles

    async def _check_unchanged(self, project_id: str, record: ObjectRecord, blob: str) -> None:
        """Raises unless `record` still holds the missing `blob`: NoSuchObject if the
        object was deleted, ObjectChanged if it (or a manifest's segment) was replaced."""
        current = await self._point_read(self.store.get_object, record.container_id, record.name)
        if current.id != record.id:
            raise errors.ObjectChanged(f"{record.name!r} was replaced while being read")
        if record.manifest_kind is not None:
            pieces, _ = await self.resolve(project_id, current)
            if all(piece.blob != blob for piece in pieces + self.stored_pieces(current)):
                raise errors.ObjectChanged(f"a segment of {record.name!r} was replaced")

    async def stream(
        self,
        pieces: list[Piece],
        start: int,
        end: int | None,
        *,
        source: tuple[str, ObjectRecord] | None = None,
    ) -> AsyncIterator[bytes]:
        """Bytes `[start, end]` (inclusive; None = to the end) of the concatenated pieces,
        for reads that send nothing before their first byte (copies, small documents).
        `source` as for `open_body`."""
        last = _last_byte(pieces, end)
        if last < start:
            return
        body = await self.open_body(pieces, [(start, last)], source=source)
        async for chunk in body.once(start, last):
            yield chunk

    async def read_all(self, project_id: str, record: ObjectRecord, limit: int) -> bytes:
        """A small object's whole content (manifests, bulk lists); refuses beyond `limit`."""
        if record.size > limit:
            raise errors.EntityTooLarge(f"more than {limit} bytes")
        pieces, _ = await self.resolve(project_id, record)
        return b"".join([chunk async for chunk in self.stream(pieces, 0, None)])


class OpenBody:
    """A response body whose blobs are open (see `ObjectService.open_body`). A DELETE or
    overwrite unlinks the bytes it replaced after its commit; an open descriptor keeps
    them readable, so a reader that got its headers gets the whole version they
    describe. `stream` reads any range (several, for multipart/byteranges); `close`
    releases the handles once the response is done."""

    def __init__(
        self,
        blobs: BlobStore,
        chunk_size: int,
        pieces: list[Piece],
        handles: dict[str, BlobReader],
    ) -> None:
        self._blobs = blobs
        self._chunk_size = chunk_size
        self._pieces = pieces
        self._handles = handles

    async def stream(self, start: int, end: int | None) -> AsyncIterator[bytes]:
        """Bytes `[start, end]` (inclusive; None = to the end)."""
        chunk_size = self._chunk_size
        last = _last_byte(self._pieces, end)
        for piece in _slice(self._pieces, start, last - start + 1):
            if piece.data is not None:
                for at in range(piece.offset, piece.offset + piece.length, chunk_size):
                    yield piece.data[at : min(at + chunk_size, piece.offset + piece.length)]
                continue
            handle = self._handles.get(piece.blob)
            if handle is None:
                # Beyond OPEN_AHEAD: opened now, and closed once its bytes are sent.
                need = piece.offset + piece.length
                late = await in_thread(self._blobs.open, piece.blob, need)
                try:
                    async for chunk in self._read(late, piece):
                        yield chunk
                finally:
                    late.close()
                continue
            async for chunk in self._read(handle, piece):
                yield chunk

    async def _read(self, handle: BlobReader, piece: Piece) -> AsyncIterator[bytes]:
        reader = handle.read(piece.offset, piece.length, self._chunk_size)
        if piece.length <= SMALL_READ:
            for chunk in reader:
                yield chunk
            return
        while chunk := await in_thread(_next_chunk, reader):
            yield chunk

    async def once(self, start: int, end: int | None) -> AsyncIterator[bytes]:
        """`stream`, then `close`: the whole body of a one-range response."""
        try:
            async for chunk in self.stream(start, end):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def __del__(self) -> None:
        # A response dropped before its body was sent (its stream never started, so
        # `once` never reached its `finally`) still gives its descriptors back.
        if self._handles:
            self.close()


def _last_byte(pieces: list[Piece], end: int | None) -> int:
    total = sum(p.length for p in pieces)
    return total - 1 if end is None else min(end, total - 1)


def _next_chunk(reader: Iterator[bytes]) -> bytes:
    return next(reader, b"")


def _slice(pieces: list[Piece], start: int, length: int) -> list[Piece]:
    """The pieces covering `length` bytes from `start` of their concatenation."""
    out: list[Piece] = []
    position = 0
    for piece in pieces:
        if length <= 0:
            break
        if position + piece.length <= start:
            position += piece.length
            continue
        skip = max(0, start - position)
        take = min(piece.length - skip, length)
        out.append(Piece(piece.blob, piece.offset + skip, take, piece.data))
        length -= take
        start += take
        position += piece.length
    return out


async def aiter_bytes(data: bytes) -> AsyncIterator[bytes]:
    yield data
