"""A lock between processes: flock on a file beside the database."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path


class FileLock:
    """An exclusive lock between processes (flock on a file beside the database)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.Lock()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._local:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock
