"""Reads through the object service, on SQLite and PostgreSQL with the local blob store:
a body's blobs are opened before a response could send headers, and stay readable
through a DELETE or an overwrite; damage is a StorageFault, a lost race is not."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cumulo import errors
from cumulo.blobs.localfs import LocalBlobStore
from cumulo.crypto import new_id
from cumulo.metadata.db import Database
from cumulo.metadata.objects import ObjectStore
from cumulo.objects import service as service_module
from cumulo.objects.service import ObjectService, OpenBody

BIG = 300 * 1024  # above the inline limit: a blob file


@pytest.fixture
def service(database: Database, tmp_path: Path) -> ObjectService:
    blobs = LocalBlobStore(tmp_path / "blobs")
    return ObjectService(
        ObjectStore(database), blobs, max_object_size=10**8, inline_max=1024, chunk_size=64 * 1024
    )


async def _body(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _put(service: ObjectService, project: str, name: str, data: bytes) -> None:
    await service.put_object(
        project, "c", name, _body(data), content_type="application/octet-stream", metadata={}
    )


async def _open(service: ObjectService, project: str, name: str) -> tuple[OpenBody, int]:
    record = await service.head_object(project, "c", name)
    pieces, _ = await service.resolve(project, record)
    size = sum(p.length for p in pieces)
    return await service.open_body(pieces, [(0, size - 1)], source=(project, record)), size


async def _drain(body: OpenBody, end: int) -> bytes:
    return b"".join([chunk async for chunk in body.once(0, end)])


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_an_open_body_survives_delete_and_overwrite(service: ObjectService) -> None:
    async def scenario() -> None:
        project = new_id()
        await service.create_container(project, "c")
        for change in ("delete", "overwrite"):
            old = os.urandom(BIG)
            await _put(service, project, "o", old)
            body, size = await _open(service, project, "o")
            if change == "delete":
                await service.delete_object(project, "c", "o")
            else:
                await _put(service, project, "o", os.urandom(BIG))
            assert await _drain(body, size - 1) == old

    asyncio.run(scenario())


def test_missing_or_short_blobs_are_storage_faults(service: ObjectService, tmp_path: Path) -> None:
    async def scenario() -> None:
        project = new_id()
        await service.create_container(project, "c")
        data = os.urandom(BIG)
        await _put(service, project, "o", data)
        record = await service.head_object(project, "c", "o")
        path = tmp_path / "blobs" / record.blobs[0][:2] / record.blobs[0][2:4] / record.blobs[0]
        path.write_bytes(data[:1000])
        with pytest.raises(errors.StorageFault, match="holds 1000 bytes"):
            await _open(service, project, "o")
        path.unlink()
        with pytest.raises(errors.BlobMissing):
            await _open(service, project, "o")
        # Still there as far as the metadata knows: damage, not a race.
        assert (await service.head_object(project, "c", "o")).id == record.id

    asyncio.run(scenario())


def test_a_blob_gone_because_the_object_changed_is_not_a_fault(service: ObjectService) -> None:
    async def scenario() -> None:
        project = new_id()
        await service.create_container(project, "c")
        await _put(service, project, "o", os.urandom(BIG))
        record = await service.head_object(project, "c", "o")
        pieces, _ = await service.resolve(project, record)
        # Overwritten after its row was read, before its blob was opened.
        await _put(service, project, "o", os.urandom(BIG))
        with pytest.raises(errors.ObjectChanged):
            await service.open_body(pieces, [(0, BIG - 1)], source=(project, record))
        record = await service.head_object(project, "c", "o")
        pieces, _ = await service.resolve(project, record)
        await service.delete_object(project, "c", "o")
        with pytest.raises(errors.NoSuchObject):
            await service.open_body(pieces, [(0, BIG - 1)], source=(project, record))

    asyncio.run(scenario())


def test_a_manifest_whose_segment_changed_is_not_a_fault(service: ObjectService) -> None:
    async def scenario() -> None:
        project = new_id()
        await service.create_container(project, "c")
        await _put(service, project, "seg-1", os.urandom(BIG))
        await service.put_manifest(
            project,
            "c",
            "dlo",
            kind="dlo",
            manifest="c/seg-",
            size=0,
            etag="e",
            content_type="text/plain",
            metadata={},
        )
        record = await service.head_object(project, "c", "dlo")
        pieces, _ = await service.resolve(project, record)
        await service.delete_object(project, "c", "seg-1")  # after the listing was read
        with pytest.raises(errors.ObjectChanged):
            await service.open_body(pieces, [(0, BIG - 1)], source=(project, record))
        # Read again, the DLO has no segment left: an empty body, nothing to open.
        pieces, _ = await service.resolve(project, record)
        assert pieces == []

    asyncio.run(scenario())


def test_pieces_beyond_open_ahead_are_opened_late_and_every_fd_is_closed(
    service: ObjectService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_module, "OPEN_AHEAD", 2)

    async def scenario() -> None:
        project = new_id()
        await service.create_container(project, "c")
        parts = [os.urandom(BIG) for _ in range(4)]
        for index, data in enumerate(parts):
            await _put(service, project, f"s{index}", data)
        entries = []
        for index, data in enumerate(parts):
            record = await service.head_object(project, "c", f"s{index}")
            entries.append({"name": f"/c/s{index}", "hash": record.etag, "bytes": len(data)})
        await service.put_manifest(
            project,
            "c",
            "m",
            kind="slo",
            manifest=json.dumps(entries),
            size=sum(len(p) for p in parts),
            etag="x",
            content_type="application/octet-stream",
            metadata={},
        )
        warm, size = await _open(service, project, "m")  # pools open their connections
        await _drain(warm, size - 1)
        before = _open_fds()
        body, size = await _open(service, project, "m")
        assert _open_fds() == before + 2
        assert await _drain(body, size - 1) == b"".join(parts)
        assert _open_fds() == before
        # A response dropped unsent (its stream never started) gives them back too.
        unsent, _ = await _open(service, project, "m")
        stream = unsent.once(0, None)
        assert _open_fds() == before + 2
        del unsent, stream
        assert _open_fds() == before

    asyncio.run(scenario())


def test_dlo_segments_are_read_as_plain_objects(service: ObjectService) -> None:
    async def scenario() -> None:
        project = new_id()
        await service.create_container(project, "c")
        await _put(service, project, "d-1", b"one")
        for name, body in (("d-self", b"SELF"), ("d-other", os.urandom(5000))):
            await service.put_manifest(
                project,
                "c",
                name,
                kind="dlo",
                manifest="c/d-",
                size=len(body),
                etag="e",
                content_type="text/plain",
                metadata={},
                body=body,
            )
        record = await service.head_object(project, "c", "d-self")
        other = (await service.head_object(project, "c", "d-other")).segments[0]
        assert record.segments[0].data == b"SELF"
        assert other.blob  # beyond the inline limit: a blob, like any body
        pieces, _ = await service.resolve(project, record)
        content = b"".join([c async for c in service.stream(pieces, 0, None)])
        assert other.data is None
        assert content.startswith(b"one") and content.endswith(b"SELF")
        assert len(content) == 3 + 5000 + 4

    asyncio.run(scenario())
