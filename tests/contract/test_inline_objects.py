"""Small objects' bytes inline in their metadata row, through the object service, on
SQLite and PostgreSQL, with the local blob store beside them."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cumulo import errors
from cumulo.blobs.localfs import LocalBlobStore
from cumulo.crypto import new_id
from cumulo.metadata.db import Database
from cumulo.metadata.objects import ObjectStore
from cumulo.objects.service import ObjectService
from cumulo.objects.spill import Spill

LIMIT = 1024


def blob_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"]


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.fixture
def service(database: Database, tmp_path: Path) -> ObjectService:
    blobs = LocalBlobStore(tmp_path / "blobs")
    return ObjectService(ObjectStore(database), blobs, max_object_size=10**6, inline_max=LIMIT)


def put(service: ObjectService, project: str, name: str, *parts: bytes) -> None:
    asyncio.run(
        service.put_object(
            project, "c", name, chunks(*parts), content_type="text/plain", metadata={}
        )
    )


async def read(service: ObjectService, project: str, name: str, start: int = 0) -> bytes:
    record = await service.head_object(project, "c", name)
    pieces, _ = await service.resolve(project, record)
    return b"".join([c async for c in service.stream(pieces, start, None)])


def test_small_bodies_live_in_the_row_and_large_ones_in_blobs(
    service: ObjectService, tmp_path: Path
) -> None:
    project = new_id()
    asyncio.run(service.create_container(project, "c"))
    root = tmp_path / "blobs"
    # Exactly the limit, sent in pieces: inline; no file is written.
    small = bytes(range(256)) * (LIMIT // 256)
    put(service, project, "small", small[:100], small[100:])
    put(service, project, "empty")
    assert blob_files(root) == []
    record = asyncio.run(service.head_object(project, "c", "small"))
    assert record.blobs == [] and record.size == LIMIT
    assert record.etag == hashlib.md5(small).hexdigest()
    assert asyncio.run(read(service, project, "small")) == small
    assert asyncio.run(read(service, project, "small", start=1000)) == small[1000:]
    assert asyncio.run(read(service, project, "empty")) == b""
    # One byte more, arriving after the limit was reached: a blob holds it all.
    big = small + b"!"
    put(service, project, "big", big[:LIMIT], big[LIMIT:])
    assert len(blob_files(root)) == 1
    assert asyncio.run(read(service, project, "big")) == big
    listed = asyncio.run(service.list_objects(project, "c"))
    assert [(e.name, e.size) for e in listed] == [
        ("big", LIMIT + 1),
        ("empty", 0),
        ("small", LIMIT),
    ]


def test_replacing_copying_and_deleting_across_both_kinds(
    service: ObjectService, tmp_path: Path
) -> None:
    project = new_id()
    asyncio.run(service.create_container(project, "c"))
    root = tmp_path / "blobs"
    put(service, project, "o", b"x" * (LIMIT + 10))
    assert len(blob_files(root)) == 1
    put(service, project, "o", b"tiny")  # the replaced blob is unlinked
    assert blob_files(root) == []
    assert asyncio.run(read(service, project, "o")) == b"tiny"

    source = asyncio.run(service.head_object(project, "c", "o"))
    copy = service.copy_object(
        source, project, project, "c", "copy", content_type="text/plain", metadata={}, headers={}
    )
    asyncio.run(copy)
    assert asyncio.run(read(service, project, "copy")) == b"tiny"
    asyncio.run(service.delete_object(project, "c", "o"))
    assert asyncio.run(read(service, project, "copy")) == b"tiny"
    with pytest.raises(errors.NoSuchObject):
        asyncio.run(service.head_object(project, "c", "o"))

    put(service, project, "copy", b"y" * (LIMIT * 3))  # inline replaced by a blob
    assert len(blob_files(root)) == 1
    container = asyncio.run(service.container(project, "c"))
    assert (container.object_count, container.bytes_used) == (1, LIMIT * 3)


def test_a_refused_body_leaves_nothing(service: ObjectService, tmp_path: Path) -> None:
    project = new_id()
    asyncio.run(service.create_container(project, "c"))

    async def bad_md5() -> None:
        await service.put_object(
            project,
            "c",
            "o",
            chunks(b"abc"),
            content_type="text/plain",
            metadata={},
            expected_md5="0" * 32,
        )

    with pytest.raises(errors.BadDigest):
        asyncio.run(bad_md5())
    with pytest.raises(errors.NoSuchObject):
        asyncio.run(service.head_object(project, "c", "o"))
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []


def test_inlining_off_keeps_every_body_in_a_blob(database: Database, tmp_path: Path) -> None:
    service = ObjectService(
        ObjectStore(database), LocalBlobStore(tmp_path / "b"), max_object_size=100, inline_max=-1
    )
    project = new_id()
    asyncio.run(service.create_container(project, "c"))
    put(service, project, "empty")
    put(service, project, "one", b"1")
    assert len(blob_files(tmp_path / "b")) == 2
    assert asyncio.run(read(service, project, "one")) == b"1"


def test_spilled_bodies_are_hashed_and_written_in_order(
    service: ObjectService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes past the inline limit go to the disk in runs, hashed and written off the
    event loop: however the chunks fall across runs, the blob and its ETag are the
    body's."""
    monkeypatch.setattr("cumulo.objects.spill.RUN_BYTES", 5000)
    project = new_id()
    asyncio.run(service.create_container(project, "c"))
    body = bytes(range(251)) * 400  # 100,400 bytes: about 20 runs
    sizes = [700, 1, 5000, 333, 9999, 12]
    parts, offset, n = [], 0, 0
    while offset < len(body):
        step = sizes[n % len(sizes)]
        parts.append(body[offset : offset + step])
        offset, n = offset + step, n + 1
    put(service, project, "o", *parts)
    record = asyncio.run(service.head_object(project, "c", "o"))
    assert record.etag == hashlib.md5(body).hexdigest()
    assert asyncio.run(read(service, project, "o")) == body
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []


def test_a_body_that_breaks_or_is_cancelled_mid_spill_leaves_nothing(
    service: ObjectService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cumulo.objects.spill.RUN_BYTES", 4096)
    project = new_id()
    asyncio.run(service.create_container(project, "c"))
    started = asyncio.Event()

    async def body(then: str) -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"z" * 3000
        started.set()
        if then == "break":
            raise ConnectionResetError("the client went away")
        await asyncio.sleep(3600)

    async def send(then: str) -> None:
        await service.put_object(
            project, "c", then, body(then), content_type="text/plain", metadata={}
        )

    async def cancelled() -> None:
        task = asyncio.create_task(send("hang"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with pytest.raises(ConnectionResetError):
        asyncio.run(send("break"))
    started.clear()
    asyncio.run(cancelled())
    # Too large, noticed past the inline limit: refused, nothing kept either.
    with pytest.raises(errors.EntityTooLarge):
        put(service, project, "huge", *[b"q" * 100_000] * 11)
    for name in ("break", "hang", "huge"):
        with pytest.raises(errors.NoSuchObject):
            asyncio.run(service.head_object(project, "c", name))
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []
    assert Spill.in_flight == 0


def test_many_uploads_at_once_keep_one_run_each_past_the_process_cap(
    service: ObjectService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cumulo.objects.spill.RUN_BYTES", 2048)
    monkeypatch.setattr("cumulo.objects.spill.PROCESS_RUNS", 3)
    project = new_id()
    asyncio.run(service.create_container(project, "c"))
    bodies = {f"o{i}": bytes([i]) * (50_000 + i) for i in range(12)}
    seen: list[int] = []

    async def body(data: bytes) -> AsyncIterator[bytes]:
        for offset in range(0, len(data), 1000):
            seen.append(Spill.in_flight)
            yield data[offset : offset + 1000]
            await asyncio.sleep(0)

    async def upload_all() -> None:
        await asyncio.gather(
            *(
                service.put_object(
                    project, "c", name, body(data), content_type="text/plain", metadata={}
                )
                for name, data in bodies.items()
            )
        )

    asyncio.run(upload_all())
    # Past the cap, each of the 12 uploads holds at most one run (and ships one more).
    assert 3 < max(seen) <= 3 + 2 * len(bodies)
    assert Spill.in_flight == 0
    for name, data in bodies.items():
        assert asyncio.run(read(service, project, name)) == data
        assert asyncio.run(service.head_object(project, "c", name)).etag == (
            hashlib.md5(data).hexdigest()
        )
