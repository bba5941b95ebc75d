"""Blob stores hold object bytes under opaque ids; the metadata store says which are live.

Contract: `writer()` hands out a `BlobWriter`; bytes written to it are invisible until
`commit()` returns, which makes them durable (fsync when asked) and returns the blob id.
`abort()` (or a crash) leaves nothing that `collect()` will not remove.

Reading is open, then read: `open()` checks the blob is there and long enough (raising
`StorageFault` otherwise) and returns a handle that keeps its bytes readable until it is
closed, even if the blob is deleted meanwhile (POSIX keeps an unlinked file's bytes for
an open descriptor; SeaweedFS deletes at once, so on that engine only a collector that
waits out every reader may delete). Responses open their blobs before their headers go
out, so a reader that got headers gets the whole body. Handles stream ranges in bounded
chunks, so memory stays flat for any blob size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol


class BlobWriter(Protocol):
    def write(self, data: bytes) -> None: ...
    def commit(self) -> str: ...
    def abort(self) -> None: ...

    @property
    def size(self) -> int: ...


class BlobReader(Protocol):
    def read(self, offset: int, length: int, chunk_size: int) -> Iterator[bytes]:
        """Yields `length` bytes from `offset`, at most `chunk_size` at a time; raises
        `StorageFault` if they cannot all be read."""
        ...

    def close(self) -> None: ...


class BlobStore(Protocol):
    def writer(self) -> BlobWriter: ...

    def open(self, blob: str, need: int) -> BlobReader:
        """A handle on `blob`, which must hold at least `need` bytes (`StorageFault`
        otherwise: missing, unreadable or short)."""
        ...

    def link(self, blob: str, need: int) -> str:
        """A new blob id with the same bytes (cheap where the engine allows); `blob`
        must hold at least `need` bytes, as for `open` (`StorageFault` otherwise): a copy
        of damaged bytes would be a new object that can never be read."""
        ...

    def delete(self, blobs: Iterable[str]) -> None:
        """Removes blobs; missing ones are ignored."""
        ...

    def collect(self, is_live: LiveCheck) -> int:
        """Removes temporary files and blobs `is_live` disowns; returns how many."""
        ...


class LiveCheck(Protocol):
    def __call__(self, blobs: list[str]) -> set[str]:
        """Of these blob ids, the ones the metadata still references."""
        ...
