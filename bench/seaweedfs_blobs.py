"""One-off: the SeaweedFS blob adapter's write and read throughput for one large blob,
against a local master and two volume servers (replication 001), printed.

    .venv/bin/python -m bench.seaweedfs_blobs [MiB]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from cumulo.blobs.seaweedfs import SeaweedBlobStore, parse_url
from tests.seaweedfs import start_cluster

PIECE = 64 * 1024  # what a front end hands the writer, and reads back, at a time


def main() -> None:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    with tempfile.TemporaryDirectory(prefix="weed-bench-") as base:
        cluster = start_cluster(Path(base) / "weed")
        try:
            for replication in ("000", "001"):
                store = SeaweedBlobStore(parse_url(cluster.url(replication, "bench")))
                piece = os.urandom(PIECE)
                started = time.perf_counter()
                writer = store.writer()
                for _ in range(mib * 1024 * 1024 // PIECE):
                    writer.write(piece)
                blob = writer.commit()
                wrote = time.perf_counter() - started
                started = time.perf_counter()
                reader = store.open(blob, writer.size)
                got = sum(len(p) for p in reader.read(0, writer.size, PIECE))
                read = time.perf_counter() - started
                assert got == writer.size
                print(
                    f"replication {replication}: {mib} MiB written at {mib / wrote:.0f} MiB/s "
                    f"(fsync), read at {mib / read:.0f} MiB/s"
                )
                store.delete([blob])
                store.close()
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
