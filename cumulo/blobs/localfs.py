"""Blobs as files on a local disk: `<root>/<aa>/<bb>/<id>`, written atomically.

A writer fills `<root>/tmp/<id>`; commit fsyncs the file, renames it into place and
fsyncs the directory, so a blob either exists whole or not at all. Copies are hard
links: the file system keeps the reference count.

While a large blob is written, every `WRITEBACK_BYTES` the writer asks the kernel to
start writing the range it just filled (Linux's `sync_file_range`, which does not
wait): the disk works while the body still arrives, and the fsync at commit finds
little left to flush instead of the whole object.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from cumulo import errors
from cumulo.blobs import LiveCheck

WRITEBACK_BYTES = 8 * 1024 * 1024
_SYNC_FILE_RANGE_WRITE = 2


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """libc's sync_file_range, where there is one (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Starts writing a file range to disk without waiting for it; best effort (the
    fsync at commit is what makes the bytes durable)."""
    fn = _sync_file_range()
    if fn is not None:
        fn(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


class LocalWriter:
    def __init__(self, store: LocalBlobStore) -> None:
        self._store = store
        self.blob = uuid.uuid4().hex
        self._tmp = store.tmp / self.blob
        self._file = open(self._tmp, "wb", buffering=0)  # noqa: SIM115 - closed in commit/abort
        self._size = 0
        self._flushed = 0  # bytes whose writeback has been started

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            assert written is not None
            view = view[written:]
        self._size += len(data)
        if self._store.fsync and self._size - self._flushed >= WRITEBACK_BYTES:
            _start_writeback(self._file.fileno(), self._flushed, self._size - self._flushed)
            self._flushed = self._size

    def commit(self) -> str:
        try:
            if self._store.fsync:
                os.fsync(self._file.fileno())
            self._file.close()
            final = self._store.path(self.blob)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(self._tmp, final)
            if self._store.fsync:
                _fsync_dir(final.parent)
        except BaseException:
            self.abort()
            raise
        return self.blob

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)


class LocalReader:
    """An open blob file: reads are `pread`s on its descriptor, so one handle serves
    several ranges, and the bytes stay readable after the blob is unlinked."""

    def __init__(self, blob: str, fd: int) -> None:
        self.blob = blob
        self._fd = fd

    def read(self, offset: int, length: int, chunk_size: int) -> Iterator[bytes]:
        end = offset + length
        while offset < end:
            try:
                data = os.pread(self._fd, min(chunk_size, end - offset), offset)
            except OSError as exc:
                raise errors.StorageFault(f"blob {self.blob} cannot be read: {exc}") from None
            if not data:
                raise errors.StorageFault(f"blob {self.blob} ends at byte {offset}, before {end}")
            offset += len(data)
            yield data

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    def __init__(self, root: Path, *, fsync: bool = True, create: bool = True) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.fsync = fsync
        if create:  # not for admin commands without a data dir, which store no bytes
            self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, blob: str) -> Path:
        if len(blob) < 5 or not blob.isalnum():
            raise ValueError(f"bad blob id {blob!r}")
        return self.root / blob[:2] / blob[2:4] / blob

    def writer(self) -> LocalWriter:
        return LocalWriter(self)

    def open(self, blob: str, need: int) -> LocalReader:
        try:
            fd = os.open(self.path(blob), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise errors.BlobMissing(blob) from None
        except OSError as exc:
            raise errors.StorageFault(f"blob {blob} cannot be opened: {exc}") from None
        try:
            size = os.fstat(fd).st_size
        except OSError as exc:
            os.close(fd)
            raise errors.StorageFault(f"blob {blob} cannot be read: {exc}") from None
        if size < need:
            os.close(fd)
            raise errors.StorageFault(f"blob {blob} holds {size} bytes, {need} expected")
        return LocalReader(blob, fd)

    def link(self, blob: str, need: int) -> str:
        new = uuid.uuid4().hex
        target = self.path(new)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(self.path(blob), target)
        except FileNotFoundError:
            raise errors.BlobMissing(blob) from None
        # The link shares the inode: a short file stays short, so it is measured once
        # linked (a truncation racing the link is seen too) and the link undone.
        size = target.stat().st_size
        if size < need:
            os.unlink(target)
            raise errors.StorageFault(f"blob {blob} holds {size} bytes, {need} expected")
        if self.fsync:
            _fsync_dir(target.parent)
        return new

    def delete(self, blobs: Iterable[str]) -> None:
        for blob in blobs:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path(blob))

    def collect(self, is_live: LiveCheck) -> int:
        removed = 0
        for entry in os.scandir(self.tmp):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
        batch: list[str] = []

        def flush() -> int:
            live = is_live(batch)
            dead = [b for b in batch if b not in live]
            self.delete(dead)
            batch.clear()
            return len(dead)

        for first in os.scandir(self.root):
            if not first.is_dir() or first.name == "tmp" or len(first.name) != 2:
                continue
            for second in os.scandir(first.path):
                if not second.is_dir():
                    continue
                for blob in os.scandir(second.path):
                    batch.append(blob.name)
                    if len(batch) >= 500:
                        removed += flush()
        if batch:
            removed += flush()
        return removed
