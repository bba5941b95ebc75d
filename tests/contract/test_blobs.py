"""Every blob engine passes the same contract: the local directory always, SeaweedFS
(a real master and two volume servers, replication 001) when `weed` is installed.

Where the engines honestly differ (an open handle after a delete), the test says so."""

from __future__ import annotations

import http.client
import os
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from cumulo import errors
from cumulo.blobs import BlobStore, BlobWriter
from cumulo.blobs.localfs import LocalBlobStore, LocalWriter
from cumulo.blobs.seaweedfs import (
    PREFIX,
    Chunk,
    SeaweedBlobStore,
    SeaweedWriter,
    decode,
    encode,
    parse_url,
)
from tests.seaweedfs import SeaweedCluster, start_cluster

CHUNK = 1000  # SeaweedFS chunk size in these tests, so a few KB span several chunks


@dataclass
class Engine:
    name: str
    store: BlobStore

    def written(self, writer: BlobWriter) -> str:
        """An id naming whatever the writer has stored so far."""
        if isinstance(writer, LocalWriter):
            return writer.blob
        assert isinstance(writer, SeaweedWriter)
        return encode(list(writer._chunks))

    def damage(self, blob: str) -> None:
        """Cuts the stored bytes short behind the store's back."""
        store = self.store
        if isinstance(store, LocalBlobStore):
            path = store.path(blob)
            path.write_bytes(path.read_bytes()[:-1])
            return
        assert isinstance(store, SeaweedBlobStore)
        chunk = decode(blob)[0]
        for server in store._servers(chunk.fid):  # every replica
            host, _, port = server.rpartition(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request(
                "PUT",
                f"/{chunk.fid}?type=replicate",
                body=b"x" * (chunk.size - 1),
                headers={"Content-Type": "application/octet-stream"},
            )
            assert conn.getresponse().status == 201
            conn.close()


@pytest.fixture(params=["localfs", "seaweedfs"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "localfs":
        yield Engine("localfs", LocalBlobStore(tmp_path / "blobs"))
        return
    cluster: SeaweedCluster = request.getfixturevalue("seaweed_cluster")
    store = SeaweedBlobStore(parse_url(cluster.url()), chunk_bytes=CHUNK)
    yield Engine("seaweedfs", store)
    store.close()


def put(store: BlobStore, data: bytes, piece: int = 777) -> str:
    writer = store.writer()
    for i in range(0, len(data), piece):
        writer.write(data[i : i + piece])
    assert writer.size == len(data)
    return writer.commit()


def whole(store: BlobStore, blob: str, size: int, piece: int = 4096) -> bytes:
    reader = store.open(blob, size)
    try:
        pieces = list(reader.read(0, size, piece))
    finally:
        reader.close()
    assert all(len(p) <= piece for p in pieces)
    return b"".join(pieces)


def test_write_commit_open_read(engine: Engine) -> None:
    data = os.urandom(3500)  # 3.5 SeaweedFS chunks
    blob = put(engine.store, data)
    assert whole(engine.store, blob, len(data)) == data
    assert whole(engine.store, blob, len(data), piece=7) == data


@pytest.mark.parametrize(
    ("offset", "length"),
    [(0, 1), (999, 2), (1000, 1000), (1, 3498), (2500, 1000), (3499, 1), (3500, 0), (10, 0)],
)
def test_ranged_reads_across_chunks(engine: Engine, offset: int, length: int) -> None:
    data = os.urandom(3500)
    blob = put(engine.store, data)
    reader = engine.store.open(blob, len(data))
    try:
        for piece in (1, 64, 5000):
            assert b"".join(reader.read(offset, length, piece)) == data[offset : offset + length]
        # One handle serves several ranges, in any order.
        assert b"".join(reader.read(0, 10, 64)) == data[:10]
    finally:
        reader.close()


def test_exact_chunk_multiples(engine: Engine) -> None:
    for size in (CHUNK, 2 * CHUNK, CHUNK - 1, CHUNK + 1):
        data = os.urandom(size)
        assert whole(engine.store, put(engine.store, data, piece=CHUNK), size) == data


def test_empty_blob(engine: Engine) -> None:
    blob = engine.store.writer().commit()
    reader = engine.store.open(blob, 0)
    assert list(reader.read(0, 0, 10)) == []
    reader.close()
    with pytest.raises(errors.StorageFault):
        engine.store.open(blob, 1)


def test_reading_past_the_end_faults(engine: Engine) -> None:
    data = os.urandom(1500)
    blob = put(engine.store, data)
    with pytest.raises(errors.StorageFault):
        engine.store.open(blob, len(data) + 1)
    reader = engine.store.open(blob, len(data))
    with pytest.raises(errors.StorageFault):
        b"".join(reader.read(1000, 501, 100))
    reader.close()


def test_abort_leaves_nothing_readable(engine: Engine) -> None:
    writer = engine.store.writer()
    writer.write(os.urandom(2500))  # two chunks already sent to SeaweedFS
    written = engine.written(writer)
    writer.abort()
    if isinstance(engine.store, SeaweedBlobStore):
        assert len(decode(written)) == 2
    with pytest.raises(errors.BlobMissing):
        engine.store.open(written, 0)
    if isinstance(engine.store, LocalBlobStore):
        assert list(engine.store.tmp.iterdir()) == []


def test_delete_then_open_is_missing(engine: Engine) -> None:
    blob = put(engine.store, os.urandom(2100))
    engine.store.delete([blob])
    with pytest.raises(errors.BlobMissing) as caught:
        engine.store.open(blob, 0)
    assert caught.value.blob == blob
    engine.store.delete([blob])  # missing: ignored


def test_a_handle_after_delete(engine: Engine) -> None:
    """POSIX keeps an unlinked file's bytes for its descriptor; SeaweedFS deletes at
    once, so its handle fails loudly (never serves other bytes). That is why bytes are
    deleted only by a collector that waits for readers."""
    data = os.urandom(2100)
    blob = put(engine.store, data)
    reader = engine.store.open(blob, len(data))
    engine.store.delete([blob])
    if engine.name == "localfs":
        assert b"".join(reader.read(0, len(data), 512)) == data
    else:
        with pytest.raises(errors.StorageFault, match="404"):
            b"".join(reader.read(0, len(data), 512))
    reader.close()


def test_link_gives_independent_bytes(engine: Engine) -> None:
    data = os.urandom(2100)
    blob = put(engine.store, data)
    copy = engine.store.link(blob, len(data))
    assert copy != blob
    engine.store.delete([blob])
    assert whole(engine.store, copy, len(data)) == data
    again = engine.store.link(copy, len(data))
    engine.store.delete([again])
    assert whole(engine.store, copy, len(data)) == data


def test_a_damaged_blob_faults(engine: Engine) -> None:
    data = os.urandom(2100)
    blob = put(engine.store, data)
    engine.damage(blob)
    with pytest.raises(errors.StorageFault) as caught:
        engine.store.open(blob, len(data))
    assert not isinstance(caught.value, errors.BlobMissing)


def test_linking_a_damaged_blob_faults_and_links_nothing(engine: Engine) -> None:
    """A server-side copy of short bytes is refused as a read of them is: else the copy
    is a new object whose metadata promises bytes it never had."""
    data = os.urandom(2100)
    blob = put(engine.store, data)
    engine.damage(blob)
    with pytest.raises(errors.StorageFault) as caught:
        engine.store.link(blob, len(data))
    assert not isinstance(caught.value, errors.BlobMissing)
    if isinstance(engine.store, LocalBlobStore):
        files = [p for p in engine.store.root.rglob("*") if p.is_file() and p.parent.name != "tmp"]
        assert files == [engine.store.path(blob)]  # no link left behind


def test_a_reference_from_another_engine_faults(engine: Engine) -> None:
    other = uuid.uuid4().hex if engine.name == "seaweedfs" else PREFIX + "3,01637037d6:10"
    with pytest.raises((errors.StorageFault, ValueError)):
        engine.store.open(other, 0)


def test_collect_never_removes_live_blobs(engine: Engine) -> None:
    data = os.urandom(1200)
    blob = put(engine.store, data)
    engine.store.collect(lambda blobs: set(blobs))
    assert whole(engine.store, blob, len(data)) == data


# --- SeaweedFS only ----------------------------------------------------------------


def test_seaweedfs_reference_names_engine_and_chunks(seaweed_cluster: SeaweedCluster) -> None:
    store = SeaweedBlobStore(parse_url(seaweed_cluster.url()))
    blob = put(store, os.urandom(5000))
    # One chunk (the default size is MiBs): fits the metadata's 64-character columns.
    assert blob.startswith("seaweedfs:1:") and len(blob) <= 64
    [chunk] = decode(blob)
    assert chunk.size == 5000
    store.close()


def test_seaweedfs_down_is_a_storage_fault(tmp_path: Path) -> None:
    from tests.harness import free_port

    store = SeaweedBlobStore(parse_url(f"seaweedfs://127.0.0.1:{free_port()}"), timeout=2)
    writer = store.writer()
    writer.write(b"abc")
    with pytest.raises(errors.StorageFault, match="SeaweedFS write failed"):
        writer.commit()
    with pytest.raises(errors.StorageFault, match="aborted"):
        writer.commit()  # a failed write never commits as a shorter blob
    with pytest.raises(errors.StorageFault):
        store.open(PREFIX + "3,01637037d6:10", 10)
    with pytest.raises(errors.StorageFault):
        store.delete([PREFIX + "3,01637037d6:10"])


def test_a_silent_seaweedfs_times_out_as_a_storage_fault() -> None:
    """A master that accepts connections and never answers: every call has a timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        store = SeaweedBlobStore(parse_url(f"seaweedfs://127.0.0.1:{port}"), timeout=0.5)
        started = time.monotonic()
        with pytest.raises(errors.StorageFault, match="timed out"):
            store.open(PREFIX + "3,01637037d6:10", 10)
        writer = store.writer()
        writer.write(b"abc")
        with pytest.raises(errors.StorageFault, match="timed out"):
            writer.commit()
        assert time.monotonic() - started < 10


@pytest.mark.slow
def test_replicated_blobs_survive_a_dead_volume_server(tmp_path: Path) -> None:
    cluster = start_cluster(tmp_path / "weed")
    try:
        store = SeaweedBlobStore(parse_url(cluster.url("001", "survive")), chunk_bytes=CHUNK)
        stored = {put(store, data): data for data in (os.urandom(n) for n in (1, 999, 4321))}
        streaming = max(stored, key=lambda blob: len(stored[blob]))
        reader = store.open(streaming, len(stored[streaming]))
        pieces = reader.read(0, len(stored[streaming]), 100)
        first = next(pieces)
        cluster.kill_volume(0)
        # A read under way goes on from the other replica.
        assert first + b"".join(pieces) == stored[streaming]
        # The store that wrote (locations cached) and a fresh one (locations looked up).
        fresh = SeaweedBlobStore(parse_url(cluster.url("001", "survive")))
        for reader_store in (store, fresh):
            for blob, data in stored.items():
                assert whole(reader_store, blob, len(data), piece=100) == data
        # A write that cannot be replicated is refused, not half-acknowledged.
        writer = store.writer()
        writer.write(b"x" * 10)
        with pytest.raises(errors.StorageFault):
            writer.commit()
        store.close()
        fresh.close()
    finally:
        cluster.stop()


def _flip_on_disk(cluster: SeaweedCluster, server: int, collection: str, blob: str) -> None:
    """Flips one byte of the blob's first chunk in a volume server's data file."""
    data_file = (
        cluster.base / f"volume{server}" / f"{collection}_{decode(blob)[0].fid.split(',')[0]}.dat"
    )
    with open(data_file, "r+b") as f:
        raw = f.read()
        at = raw.find(b"\x00" * 16 + b"marker-0123456789")
        assert at > 0
        f.seek(at + 20)
        f.write(b"X")
        f.flush()
        os.fsync(f.fileno())


def test_seaweedfs_a_corrupted_replica_is_read_from_the_other(
    seaweed_cluster: SeaweedCluster,
) -> None:
    """SeaweedFS checks each needle's CRC on read and answers 500 for a damaged one; the
    adapter then reads the other replica, and faults when no replica is whole."""
    collection = "corrupt" + uuid.uuid4().hex[:8]
    store = SeaweedBlobStore(parse_url(seaweed_cluster.url("001", collection)))
    data = os.urandom(5000) + b"\x00" * 16 + b"marker-0123456789" + os.urandom(5000)
    blob = put(store, data)
    _flip_on_disk(seaweed_cluster, 0, collection, blob)
    for _ in range(6):  # both replicas get asked first some of the time
        assert whole(store, blob, len(data)) == data
    _flip_on_disk(seaweed_cluster, 1, collection, blob)
    with pytest.raises(errors.StorageFault, match="500"):
        whole(store, blob, len(data))
    store.close()


def test_concurrent_writers_and_readers(engine: Engine) -> None:
    """One store serves many threads (its connection pool is shared)."""

    def round_trip(n: int) -> bool:
        data = os.urandom(500 + 700 * n)
        return whole(engine.store, put(engine.store, data, piece=333), len(data)) == data

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(round_trip, range(16)))


def test_seaweedfs_writer_holds_at_most_one_chunk(seaweed_cluster: SeaweedCluster) -> None:
    store = SeaweedBlobStore(parse_url(seaweed_cluster.url()), chunk_bytes=CHUNK)
    writer = store.writer()
    assert isinstance(writer, SeaweedWriter)
    data = os.urandom(5 * CHUNK + 500)
    writer.write(data)  # one call, many chunks
    assert len(writer._buffer) == 500
    blob = writer.commit()
    assert [c.size for c in decode(blob)] == [CHUNK] * 5 + [500]
    assert whole(store, blob, len(data)) == data
    store.close()


def test_seaweedfs_refuses_a_chunk_whose_md5_differs(seaweed_cluster: SeaweedCluster) -> None:
    """The volume server checks Content-MD5, which the adapter sends with every chunk:
    bytes damaged on the way are refused, never stored (pinned here against upgrades)."""
    store = SeaweedBlobStore(parse_url(seaweed_cluster.url()))
    fid, server = store._assign(3)
    host, _, port = server.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(
        "PUT",
        f"/{fid}?fsync=true",
        body=b"abc",
        headers={"Content-Type": "application/octet-stream", "Content-MD5": "A" * 22 + "=="},
    )
    resp = conn.getresponse()
    assert resp.status == 400 and b"Content-MD5" in resp.read()
    conn.close()
    with pytest.raises(errors.BlobMissing):
        store.open(encode([Chunk(fid, 3)]), 3)
    store.close()
