"""Starting and stopping the servers under test, and watching their processes.

Every server listens on 127.0.0.1 and keeps its state in a temporary directory.
Only processes started here are stopped, by PID (the server and its process tree).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PEERS = Path(os.environ.get("CUMULO_PEERS_DIR", REPO.parent / "shared" / "tools" / "peers"))
CLK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def which(name: str) -> str | None:
    local = BIN / name
    return str(local) if local.exists() else shutil.which(name)


# --- process trees ---------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(roots: list[int]) -> list[int]:
    kids = _children_map()
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if os.path.exists(f"/proc/{pid}"):
            out.append(pid)
            todo.extend(kids.get(pid, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLK


def memory_kib(pids: list[int]) -> tuple[int, int]:
    """(sum of VmRSS, max of VmHWM) over the processes, in KiB."""
    rss = hwm = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except OSError:
            continue
    return rss, hwm


def pss_kib(pids: list[int]) -> int:
    """Sum of proportional set sizes: forked workers' shared pages counted once."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


class RssSampler:
    """Samples the tree's summed RSS every ``interval`` seconds while active."""

    def __init__(self, pids: list[int], interval: float = 0.05) -> None:
        self.pids, self.interval = pids, interval
        self.peak_sum_kib = 0
        self.peak_hwm_kib = 0
        self.peak_pss_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, hwm = memory_kib(self.pids)
            self.peak_sum_kib = max(self.peak_sum_kib, rss)
            self.peak_hwm_kib = max(self.peak_hwm_kib, hwm)
            self.peak_pss_kib = max(self.peak_pss_kib, pss_kib(self.pids))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        rss, hwm = memory_kib(self.pids)
        self.peak_sum_kib = max(self.peak_sum_kib, rss)
        self.peak_hwm_kib = max(self.peak_hwm_kib, hwm)
        self.peak_pss_kib = max(self.peak_pss_kib, pss_kib(self.pids))


# --- servers ------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    roots: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workdir: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)
    stop_cmd: list[str] | None = None
    stop_env: dict[str, str] | None = None

    def pids(self) -> list[int]:
        return tree(self.roots)

    def cpu(self) -> float:
        return cpu_seconds(self.pids())

    def stop(self) -> None:
        if self.stop_cmd:
            subprocess.run(self.stop_cmd, env=self.stop_env, capture_output=True, timeout=60)
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                for pid in tree([proc.pid]):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                proc.wait(5)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _log(workdir: Path, name: str) -> Any:
    return open(workdir / f"{name}.log", "wb")


def _cumulo_cli(data: Path, env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [str(BIN / "cumulo"), *args, "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if out.returncode != 0:
        raise RuntimeError(f"cumulo {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def start_cumulo(
    workers: int, base: Path, fsync: bool = True, metadata_url: str | None = None
) -> Server:
    """`cumulo serve` on its embedded defaults, as the README starts it, plus a user;
    with `metadata_url`, the metadata in that database instead (the scale-out
    configuration's PostgreSQL)."""
    work = Path(tempfile.mkdtemp(prefix="cumulo-", dir=base))
    data = work / "data"
    # Every endpoint on a free port, the portal too: a `make serve` on the defaults
    # may be running beside the bench.
    idp, objp, portalp = free_port(), free_port(), free_port()
    env = dict(os.environ, CUMULO_ADMIN_PASSWORD="bench-admin-password")
    if not fsync:
        env["CUMULO_FSYNC"] = "false"
    if metadata_url:
        env["CUMULO_METADATA_URL"] = metadata_url
    proc = subprocess.Popen(
        [
            str(BIN / "cumulo"),
            "serve",
            "--data-dir",
            str(data),
            "--identity-port",
            str(idp),
            "--object-port",
            str(objp),
            "--portal-port",
            str(portalp),
            "--workers",
            str(workers),
        ],
        stdout=_log(work, "cumulo"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    server = Server("cumulo", [proc.pid], [proc], work)
    try:
        wait_port(idp)
        wait_port(objp)
        _cumulo_cli(data, env, "org", "create", "bench")
        _cumulo_cli(data, env, "env", "create", "bench", "main")
        _cumulo_cli(data, env, "user", "create", "benchuser", "--email", "bench@example.com")
        _cumulo_cli(data, env, "member", "add", "bench", "main", "benchuser", "--role", "admin")
        creds = json.loads(
            _cumulo_cli(
                data, env, "creds", "show", "benchuser", "bench", "main", "--format", "json"
            )
        )
    except Exception:
        server.stop()
        raise
    server.info = {
        "identity_port": idp,
        "object_port": objp,
        "data": str(data),
        "metadata_url": metadata_url or f"sqlite:///{data}/metadata.sqlite3",
        "creds": creds,
        "workers": workers,
    }
    return server


def start_seaweedfs(base: Path, access: str, secret: str) -> Server | None:
    weed = which("weed")
    if weed is None:
        return None
    work = Path(tempfile.mkdtemp(prefix="weed-", dir=base))
    (work / "data").mkdir()
    config = work / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "bench",
                        "credentials": [{"accessKey": access, "secretKey": secret}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    # Ports whose +10000 gRPC twins are free too.
    ports = {}
    for name in ("master", "volume", "filer", "s3"):
        while True:
            p = free_port()
            if p < 55000 and _free(p + 10000):
                ports[name] = p
                break
    proc = subprocess.Popen(
        [
            weed,
            "server",
            # SeaweedFS reports to a public address unless told not to.
            "-master.telemetry=false",
            f"-dir={work / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}",
            f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}",
            "-s3",
            f"-s3.port={ports['s3']}",
            f"-s3.config={config}",
            "-master.volumeSizeLimitMB=1024",
        ],
        stdout=_log(work, "weed"),
        stderr=subprocess.STDOUT,
    )
    server = Server("seaweedfs", [proc.pid], [proc], work, info={"port": ports["s3"]})
    try:
        wait_port(ports["s3"], 90)
    except Exception:
        server.stop()
        raise
    return server


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_moto(base: Path) -> Server | None:
    moto = which("moto_server")
    if moto is None:
        return None
    work = Path(tempfile.mkdtemp(prefix="moto-", dir=base))
    port = free_port()
    proc = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)],
        stdout=_log(work, "moto"),
        stderr=subprocess.STDOUT,
    )
    server = Server("moto", [proc.pid], [proc], work, info={"port": port})
    try:
        wait_port(port)
    except Exception:
        server.stop()
        raise
    return server


def start_swift(base: Path) -> Server | None:
    script = PEERS / "swift_saio.sh"
    if not script.exists() or which("swift-proxy-server") is None or not which("memcached"):
        return None
    work = Path(tempfile.mkdtemp(prefix="saio-", dir=base))
    ports = {
        k: str(free_port())
        for k in ("PROXY_PORT", "ACCOUNT_PORT", "CONTAINER_PORT", "OBJECT_PORT", "MEMCACHE_PORT")
    }
    env = dict(
        os.environ,
        SAIO_DIR=str(work / "saio"),
        SWIFT_BIN=str(Path(which("swift-proxy-server") or "").parent),
        MEMCACHED=which("memcached") or "memcached",
        **ports,
    )
    out = subprocess.run(
        ["bash", str(script), "start"], env=env, capture_output=True, text=True, timeout=180
    )
    server = Server(
        "swift",
        workdir=work,
        stop_cmd=["bash", str(script), "stop"],
        stop_env=env,
        info={"port": int(ports["PROXY_PORT"])},
    )
    pidfile = work / "saio" / "pids"
    if pidfile.exists():
        server.roots = [int(line.split()[1]) for line in pidfile.read_text().split("\n") if line]
    if out.returncode != 0:
        server.stop()
        raise RuntimeError(f"swift_saio.sh start failed: {out.stderr[-2000:]}")
    return server


def start_bare(kind: str, workers: int, base: Path) -> Server | None:
    """bench.bare_app on uvicorn (uvloop + httptools, as cumulo.server) or granian."""
    work = Path(tempfile.mkdtemp(prefix=f"bare-{kind}-", dir=base))
    port = free_port()
    if kind == "uvicorn":
        cmd = [sys.executable, "-m", "bench.bare_app", str(port), str(workers)]
    else:
        if which("granian") is None:
            return None
        cmd = [
            which("granian") or "granian",
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--no-ws",
            "--log-level",
            "warning",
            "bench.bare_app:app",
        ]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=_log(work, kind), stderr=subprocess.STDOUT)
    server = Server(f"bare-asgi-{kind}", [proc.pid], [proc], work, info={"port": port})
    try:
        wait_port(port)
        time.sleep(1.0)  # let every worker come up
    except Exception:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server at `server_url` (dropped after)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"cumulo_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
