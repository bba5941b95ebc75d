"""Blobs in SeaweedFS, spoken to directly: the master hands out file ids, volume servers
hold the bytes. No filer: it would be a second metadata store (whose default store does
not sync), and the metadata database already says which blobs exist.

A blob is a list of chunks of at most `CHUNK_BYTES`, each a SeaweedFS file id ("fid",
`<volume>,<key><cookie>`). Its reference, the blob id the metadata stores, names the
engine and a format version and lists the chunks with their sizes:

    seaweedfs:1:3,01637037d6:8388608;7,02a1b2c3d4:1048576

One chunk's reference is about 40 characters. Longer blobs have longer references: the
metadata store must keep them as text (see docs/design.md, "SeaweedFS engine").

Writes: a writer buffers at most one chunk; each full chunk gets a fid from
`/dir/assign` (with the store's collection and replication) and is PUT to the volume
server the master named, with `fsync=true` and `Content-MD5` (the volume server refuses
bytes whose digest differs). SeaweedFS replicates synchronously: the PUT is answered
only once every replica holds the bytes (the first fsynced; the others are written but
SeaweedFS does not pass `fsync` on to them).

Reads: `/dir/lookup` names a volume's servers (cached for `LOCATION_TTL` seconds, looked
up again when every cached server fails); the chunks are read with ranged GETs, from
another replica when one fails.

Deletes are immediate in SeaweedFS: a deleted fid answers 404 at once, so an open
handle cannot keep the bytes the way an unlinked file's descriptor does. Bytes may
therefore only be deleted by a collector that waits long enough for every reader to
finish; a handle whose chunk vanishes raises `StorageFault` instead of serving
something else.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cumulo import errors
from cumulo.blobs import LiveCheck

ENGINE = "seaweedfs"
FORMAT = 1
PREFIX = f"{ENGINE}:{FORMAT}:"
# A chunk is buffered whole (the writer's memory) and sent in one PUT; SeaweedFS's own
# S3 gateway and filer use chunks of this order.
CHUNK_BYTES = 8 * 1024 * 1024
MAX_CHUNK_BYTES = 256 * 1024 * 1024  # a volume server's default `-fileSizeLimitMB`
TIMEOUT = 30.0  # seconds, for connecting and for each socket read or write
LOCATION_TTL = 30.0  # seconds a volume's server list is trusted
IDLE_CONNECTIONS = 8  # kept per server
WRITE_ATTEMPTS = 3  # a chunk is assigned anew and sent again after a failed PUT
RETRY_PAUSE = 0.2  # seconds, times the attempt's number

_FID = re.compile(r"[0-9]{1,10},[0-9a-f]{9,40}(?:_[0-9]{1,4})?")
_SIZE = re.compile(r"[0-9]{1,12}")
_REPLICATION = re.compile(r"[0-9]{3}")
_COLLECTION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


@dataclass(frozen=True)
class SeaweedSettings:
    master: str  # host:port
    replication: str | None = None  # SeaweedFS's "xyz" placement, e.g. "001"
    collection: str | None = None


def parse_url(url: str) -> SeaweedSettings:
    """`seaweedfs://HOST:PORT[?replication=XYZ][&collection=NAME]`, the master's address;
    `ValueError` with the reason for anything else."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != ENGINE:
        raise ValueError(f"not a seaweedfs:// URL: {url!r}")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ValueError(f"seaweedfs:// URL takes no user, password or fragment: {url!r}")
    if parts.path not in ("", "/"):
        raise ValueError(f"seaweedfs:// URL takes no path: {url!r}")
    host = parts.netloc.rpartition(":")[0]
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"seaweedfs:// URL has a bad port: {url!r}") from None
    if not host or port is None or not 0 < port < 65536 or not _HOST.fullmatch(host):
        raise ValueError(f"seaweedfs:// URL needs the master's HOST:PORT: {url!r}")
    try:
        query = urllib.parse.parse_qs(
            parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)
        )
    except ValueError:
        raise ValueError(f"seaweedfs:// URL has a bad query: {url!r}") from None
    unknown = set(query) - {"replication", "collection"}
    if unknown:
        raise ValueError(f"seaweedfs:// URL has unknown options {sorted(unknown)}: {url!r}")
    if any(len(values) > 1 for values in query.values()):
        raise ValueError(f"seaweedfs:// URL repeats an option: {url!r}")
    replication = query.get("replication", [None])[0]
    if replication is not None and not _REPLICATION.fullmatch(replication):
        raise ValueError(f"replication must be three digits like 001: {replication!r}")
    collection = query.get("collection", [None])[0]
    if collection is not None and not _COLLECTION.fullmatch(collection):
        raise ValueError(f"collection must be 1-64 of A-Z a-z 0-9 _ -: {collection!r}")
    return SeaweedSettings(f"{host}:{port}", replication, collection)


@dataclass(frozen=True)
class Chunk:
    fid: str
    size: int


def encode(chunks: list[Chunk]) -> str:
    return PREFIX + ";".join(f"{c.fid}:{c.size}" for c in chunks)


def decode(blob: str) -> list[Chunk]:
    """The chunks a reference lists; `ValueError` if it is not this engine's."""
    if not blob.startswith(PREFIX):
        raise ValueError(f"not a {ENGINE} format {FORMAT} blob: {blob[:80]!r}")
    body = blob[len(PREFIX) :]
    chunks = []
    for item in body.split(";") if body else []:
        fid, _, size = item.rpartition(":")
        if not _FID.fullmatch(fid) or not _SIZE.fullmatch(size):
            raise ValueError(f"bad {ENGINE} chunk {item[:80]!r}")
        chunks.append(Chunk(fid, int(size)))
    return chunks


class _Fault(Exception):
    """One request failed in a way another server (or a retry) might not."""


class _Response:
    """A response whose body is read by the caller; `release()` returns the connection
    to the pool once the body has been read whole, and closes it otherwise."""

    def __init__(
        self,
        pool: _Pool,
        server: str,
        conn: http.client.HTTPConnection,
        resp: http.client.HTTPResponse,
    ) -> None:
        self.status = resp.status
        self._pool, self._server, self._resp = pool, server, resp
        self._conn: http.client.HTTPConnection | None = conn

    def header(self, name: str) -> str | None:
        return self._resp.getheader(name)

    def read(self, n: int | None = None) -> bytes:
        try:
            return self._resp.read(n) if n is not None else self._resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise _Fault(f"{self._server}: {exc!r}") from None

    def release(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        if self._resp.isclosed():
            self._pool.put(self._server, conn)
        else:
            conn.close()


class _Pool:
    """Keep-alive connections per server, shared by threads (a reader's generator may be
    resumed on another thread than the one that opened it)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._idle: dict[str, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def put(self, server: str, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(server, [])
            if len(idle) < IDLE_CONNECTIONS:
                idle.append(conn)
                return
        conn.close()

    def _take(self, server: str) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(server)
            return idle.pop() if idle else None

    def request(
        self,
        server: str,
        method: str,
        path: str,
        body: bytes | bytearray | None = None,
        headers: dict[str, str] | None = None,
    ) -> _Response:
        """Sends one request; a kept-alive connection the server closed meanwhile is
        replaced once (every request here may be repeated: PUTs name their fid)."""
        for attempt in (0, 1):
            conn = self._take(server) if attempt == 0 else None
            reused = conn is not None
            if conn is None:
                host, _, port = server.rpartition(":")
                conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=self.timeout)
            try:
                conn.request(method, path, body=body, headers=headers or {})
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if reused and not isinstance(exc, TimeoutError):  # not slow: closed
                    continue
                raise _Fault(f"{server}: {method} {path}: {exc!r}") from None
            return _Response(self, server, conn, resp)
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()


def _small(resp: _Response) -> bytes:
    """A small body (JSON, an error), read whole and the connection released."""
    try:
        return resp.read()
    finally:
        resp.release()


def _json(resp: _Response, what: str) -> dict[str, Any]:
    raw = _small(resp)
    try:
        value = json.loads(raw)
    except ValueError:
        raise _Fault(f"{what}: answered {resp.status} with {raw[:200]!r}") from None
    if not isinstance(value, dict):
        raise _Fault(f"{what}: answered {resp.status} with {raw[:200]!r}")
    return value


class SeaweedWriter:
    def __init__(self, store: SeaweedBlobStore) -> None:
        self._store = store
        self._buffer = bytearray()
        self._chunks: list[Chunk] = []
        self._size = 0
        self._done = False

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        limit = self._store.chunk_bytes
        while view:
            room = limit - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) >= limit:
                self._flush()
        self._size += len(data)

    def _flush(self) -> None:
        try:
            self._chunks.append(self._store.put_chunk(self._buffer))
        except BaseException:
            self.abort()
            raise
        self._buffer.clear()

    def commit(self) -> str:
        if self._done:  # aborted, by the caller or by a failed write
            raise errors.StorageFault("SeaweedFS write was aborted; nothing to commit")
        if self._buffer:
            self._flush()
        self._done = True
        return encode(self._chunks)

    def abort(self) -> None:
        """Deletes the chunks already sent, best effort: one that cannot be deleted now
        stays as garbage only a record of the write can find (SeaweedFS has no walk)."""
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        chunks, self._chunks = self._chunks, []
        with contextlib.suppress(errors.StorageFault):
            self._store.delete_chunks(chunks)


class SeaweedReader:
    """Chunks read with ranged GETs, each from whichever replica answers. The bytes stay
    readable only while nothing deletes them (see the module's docstring)."""

    def __init__(self, store: SeaweedBlobStore, blob: str, chunks: list[Chunk]) -> None:
        self._store = store
        self.blob = blob
        self._chunks = chunks

    def read(self, offset: int, length: int, chunk_size: int) -> Iterator[bytes]:
        end = offset + length
        start = 0  # of the current chunk within the blob
        for chunk in self._chunks:
            stop = start + chunk.size
            if stop > offset and start < end:
                lo, hi = max(offset, start) - start, min(end, stop) - start
                yield from self._store.read_chunk(self.blob, chunk, lo, hi, chunk_size)
            start = stop
            if start >= end:
                return
        if start < end:
            raise errors.StorageFault(f"blob {self.blob[:80]} ends at byte {start}, before {end}")

    def close(self) -> None:
        self._chunks = []


class SeaweedBlobStore:
    def __init__(
        self,
        settings: SeaweedSettings,
        *,
        chunk_bytes: int = CHUNK_BYTES,
        timeout: float = TIMEOUT,
        location_ttl: float = LOCATION_TTL,
    ) -> None:
        if chunk_bytes < 1 or chunk_bytes > MAX_CHUNK_BYTES:
            raise ValueError(f"chunk size must be 1 to {MAX_CHUNK_BYTES} bytes: {chunk_bytes}")
        self.settings = settings
        self.chunk_bytes = chunk_bytes
        self.location_ttl = location_ttl
        self._pool = _Pool(timeout)
        self._locations: dict[str, tuple[float, list[str]]] = {}
        self._locations_lock = threading.Lock()

    # --- the BlobStore protocol ------------------------------------------------

    def writer(self) -> SeaweedWriter:
        return SeaweedWriter(self)

    def open(self, blob: str, need: int) -> SeaweedReader:
        chunks = self._decode(blob)
        total = sum(c.size for c in chunks)
        if total < need:
            raise errors.StorageFault(f"blob {blob[:80]} holds {total} bytes, {need} expected")
        for chunk in chunks:
            self._check_chunk(blob, chunk)
        return SeaweedReader(self, blob, chunks)

    def link(self, blob: str, need: int) -> str:
        """A copy of every chunk under new fids: SeaweedFS has no server-side copy and
        no reference counts, so the bytes pass through here, one chunk at a time."""
        chunks = self._decode(blob)
        total = sum(c.size for c in chunks)
        if total < need:
            raise errors.StorageFault(f"blob {blob[:80]} holds {total} bytes, {need} expected")
        copied: list[Chunk] = []
        try:
            for chunk in chunks:
                data = b"".join(self.read_chunk(blob, chunk, 0, chunk.size, chunk.size))
                copied.append(self.put_chunk(data))
        except BaseException:
            with contextlib.suppress(errors.StorageFault):
                self.delete_chunks(copied)
            raise
        return encode(copied)

    def delete(self, blobs: Iterable[str]) -> None:
        for blob in blobs:
            self.delete_chunks(self._decode(blob))

    def collect(self, is_live: LiveCheck) -> int:
        """Nothing to walk: SeaweedFS lists no fids (only the filer would, and there is
        none), so garbage is found from the metadata's own records of writes and
        dropped references, never by scanning the engine."""
        return 0

    def close(self) -> None:
        self._pool.close()

    # --- chunks ----------------------------------------------------------------

    def put_chunk(self, data: bytes | bytearray) -> Chunk:
        """Stores `data` under a new fid, durable on every replica when this returns."""
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        headers = {
            # Without a type the volume server parses the body as a form.
            "Content-Type": "application/octet-stream",
            "Content-MD5": md5,
            "Content-Length": str(len(data)),
        }
        failures: list[str] = []
        for attempt in range(WRITE_ATTEMPTS):
            if attempt:  # the master may be growing volumes, or noticing a dead server
                time.sleep(RETRY_PAUSE * attempt)
            try:
                fid, server = self._assign(len(data))
                resp = self._pool.request(server, "PUT", f"/{fid}?fsync=true", data, headers)
                answer = _json(resp, f"{server}: PUT {fid}")
                if resp.status not in (200, 201) or answer.get("size") != len(data):
                    raise _Fault(f"{server}: PUT {fid} answered {resp.status}: {answer}")
                return Chunk(fid, len(data))
            except _Fault as exc:
                failures.append(str(exc))
        raise errors.StorageFault(f"SeaweedFS write failed: {'; '.join(failures)}")

    def _assign(self, size: int) -> tuple[str, str]:
        query = {"count": "1", "dataSize": str(size)}
        if self.settings.replication:
            query["replication"] = self.settings.replication
        if self.settings.collection:
            query["collection"] = self.settings.collection
        path = "/dir/assign?" + urllib.parse.urlencode(query)
        master = self.settings.master
        answer = _json(self._pool.request(master, "GET", path), f"master {master}: assign")
        fid, server = answer.get("fid"), answer.get("url")
        if answer.get("error") or not isinstance(fid, str) or not isinstance(server, str):
            raise _Fault(f"master {master}: assign: {answer.get('error') or answer}")
        if not _FID.fullmatch(fid):
            raise _Fault(f"master {master}: assign gave a bad fid {fid!r}")
        return fid, server

    def _servers(self, fid: str, fresh: bool = False) -> list[str]:
        """The servers holding `fid`'s volume, in a random order to spread reads."""
        volume = fid.partition(",")[0]
        now = time.monotonic()
        with self._locations_lock:
            cached = self._locations.get(volume)
        if cached is not None and not fresh and cached[0] > now:
            servers = cached[1]
        else:
            master = self.settings.master
            resp = self._pool.request(master, "GET", f"/dir/lookup?volumeId={volume}")
            answer = _json(resp, f"master {master}: lookup {volume}")
            locations = answer.get("locations") or []
            servers = [loc["url"] for loc in locations if isinstance(loc.get("url"), str)]
            if not servers:
                raise _Fault(f"master {master}: volume {volume}: {answer.get('error') or answer}")
            with self._locations_lock:
                self._locations[volume] = (now + self.location_ttl, servers)
        return random.sample(servers, len(servers))

    def _each_server(self, fid: str, failures: list[str]) -> Iterator[str]:
        """Every server for `fid`, then those of a fresh lookup (once); a lookup that
        fails is added to `failures` and ends the list."""
        tried: set[str] = set()
        for fresh in (False, True):
            try:
                servers = self._servers(fid, fresh)
            except _Fault as exc:
                failures.append(str(exc))
                return
            for server in servers:
                if server not in tried:
                    tried.add(server)
                    yield server

    def _check_chunk(self, blob: str, chunk: Chunk) -> None:
        failures: list[str] = []
        missing = 0
        for server in self._each_server(chunk.fid, failures):
            try:
                resp = self._pool.request(server, "HEAD", f"/{chunk.fid}")
                _small(resp)
            except _Fault as exc:
                failures.append(str(exc))
                continue
            if resp.status == 404:  # here; another replica may still hold it
                missing += 1
                failures.append(f"{server}: {chunk.fid} not found")
                continue
            if resp.status != 200:
                failures.append(f"{server}: HEAD {chunk.fid} answered {resp.status}")
                continue
            size = resp.header("Content-Length")
            if size != str(chunk.size):
                raise errors.StorageFault(
                    f"blob {blob[:80]}: chunk {chunk.fid} holds {size} bytes, {chunk.size} expected"
                )
            return
        if missing == len(failures):
            raise errors.BlobMissing(blob)
        raise errors.StorageFault(f"blob {blob[:80]} cannot be opened: {'; '.join(failures)}")

    def read_chunk(self, blob: str, chunk: Chunk, lo: int, hi: int, piece: int) -> Iterator[bytes]:
        """Bytes `lo`..`hi` of a chunk, at most `piece` at a time; after a failure the
        rest comes from another replica."""
        if lo >= hi:
            return
        failures: list[str] = []
        for server in self._each_server(chunk.fid, failures):
            try:
                resp = self._pool.request(
                    server, "GET", f"/{chunk.fid}", headers={"Range": f"bytes={lo}-{hi - 1}"}
                )
            except _Fault as exc:
                failures.append(str(exc))
                continue
            try:
                if resp.status != 206 and not (resp.status == 200 and lo == 0):
                    gone = " (deleted while open?)" if resp.status == 404 else ""
                    failures.append(f"{server}: GET {chunk.fid} answered {resp.status}{gone}")
                    continue
                while lo < hi:
                    data = resp.read(min(piece, hi - lo))
                    if not data:
                        raise _Fault(f"{server}: GET {chunk.fid} ended at byte {lo} of {hi}")
                    lo += len(data)
                    yield data
                return
            except _Fault as exc:
                failures.append(str(exc))
            finally:
                resp.release()
        raise errors.StorageFault(
            f"blob {blob[:80]}: chunk {chunk.fid} cannot be read: {'; '.join(failures)}"
        )

    def delete_chunks(self, chunks: Iterable[Chunk]) -> None:
        """Deletes on one replica, which deletes on the others; already missing is fine."""
        for chunk in chunks:
            failures: list[str] = []
            for server in self._each_server(chunk.fid, failures):
                try:
                    resp = self._pool.request(server, "DELETE", f"/{chunk.fid}")
                    _small(resp)
                except _Fault as exc:
                    failures.append(str(exc))
                    continue
                if resp.status in (200, 202, 204, 404):
                    break
                failures.append(f"{server}: DELETE {chunk.fid} answered {resp.status}")
            else:
                raise errors.StorageFault(
                    f"chunk {chunk.fid} cannot be deleted: {'; '.join(failures)}"
                )

    def _decode(self, blob: str) -> list[Chunk]:
        try:
            return decode(blob)
        except ValueError as exc:
            raise errors.StorageFault(str(exc)) from None
