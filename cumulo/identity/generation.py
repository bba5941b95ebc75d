"""The node's identity generation: a counter every process on the node shares.

Identity facts (who a username or access key is, which tokens are revoked) are cached
per process for a second. A process that changes them on this node — a worker revoking
a token, the portal removing a member, the admin CLI (a separate process on the same
data dir) regenerating a secret — bumps this counter after its commit; every process
compares the counter with the one its cached entries were loaded under on each lookup,
so a change made on the node holds at once in every worker. Other nodes sharing a
PostgreSQL database see it when their one-second entries expire.

The counter is 8 bytes in `<data-dir>/identity.generation`, mapped shared
(`MAP_SHARED`): reading it is a memory load (no system call) on the hot path; bumps
are serialised with `flock`, and are rare (an identity change).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from pathlib import Path

_WORD = struct.Struct("<Q")


class NodeGeneration:
    """`path=None`: a counter private to this process (an admin command run without a
    data dir, where no server of this node can be listening)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fd = -1
        if path is None:
            self._map = mmap.mmap(-1, _WORD.size)
            return
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if os.fstat(self._fd).st_size < _WORD.size:
            # Extending a shorter file only adds zeros: safe when two processes race.
            os.ftruncate(self._fd, _WORD.size)
        self._map = mmap.mmap(self._fd, _WORD.size, mmap.MAP_SHARED)

    def value(self) -> int:
        return int(_WORD.unpack_from(self._map)[0])

    def bump(self) -> int:
        """Announces an identity change committed by this process; returns the new value."""
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            new = (self.value() + 1) % (1 << 64)
            _WORD.pack_into(self._map, 0, new)
            return new
        finally:
            if self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._map.close()
        if self._fd >= 0:
            os.close(self._fd)
