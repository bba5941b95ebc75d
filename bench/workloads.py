"""The workloads, each the same for every server that speaks the API.

Each function returns a dict of figures (JSON-ready). Small-object and identity load go
through ``bench.load`` (forked asyncio clients); large transfers, multipart and
listings use the blocking ``SyncConn`` from the parent, with the server's process
tree sampled for RSS and CPU around them.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.apis import S3Api, SwiftApi
from bench.http import HTTPError, SyncConn
from bench.load import run_cell
from bench.servers import RssSampler, Server

MiB = 1 << 20
CHUNK = 8 * MiB
_PATTERN = bytes(range(256)) * (CHUNK // 256)


def _chunks(size: int) -> Iterator[memoryview]:
    view = memoryview(_PATTERN)
    left = size
    while left > 0:
        n = min(left, CHUNK)
        yield view[:n]
        left -= n


def call(
    api: S3Api | SwiftApi,
    conn: SyncConn,
    method: str,
    container: str,
    key: str = "",
    query: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    ok: tuple[int, ...] = (200, 201, 202, 204),
    **kw: Any,
) -> tuple[int, dict[str, str], bytes, int]:
    m, target, headers, data = api.req(method, container, key, query, body, **kw)
    status, resp, out, n = conn.request(m, target, headers, data)
    if status not in ok:
        raise HTTPError(m, target, status, out)
    return status, resp, out, n


def create_container(api: S3Api | SwiftApi, name: str) -> None:
    conn = SyncConn(api.host, api.port)
    try:
        call(api, conn, "PUT", name, ok=(200, 201, 202, 204, 409))
    finally:
        conn.close()


# --- small objects -----------------------------------------------------------------


def small_objects(
    api: Any,
    container: str,
    server: Server,
    concs: list[int],
    count: int,
    seconds: float,
    procs: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for conc in concs:
        cell = run_cell(
            api,
            container,
            ["put", "get", "head", "delete"],
            conc=conc,
            count=count,
            seconds=seconds,
            procs=1 if conc == 1 else procs,
            prefix=f"c{conc}-",
            server_cpu=server.cpu,
        )
        out[f"c{conc}"] = {op: r.summary() for op, r in cell.items()}
    return out


def rate_cell(
    api: Any, op: str, server: Server, conc: int, count: int, seconds: float, procs: int
) -> dict[str, Any]:
    cell = run_cell(
        api,
        "",
        [op],
        conc=conc,
        count=count,
        seconds=seconds,
        procs=1 if conc == 1 else procs,
        server_cpu=server.cpu,
    )
    return cell[op].summary()


# --- large objects ------------------------------------------------------------------


def touch_free_memory(size: int) -> None:
    """Fills and frees `size` bytes of page cache just before a large transfer.

    A VM whose balloon driver reports free pages to its host (this machine's does)
    hands memory freed more than a few seconds ago back to the host, and the next
    write that needs it pays ~2 s/GiB of page faults in the hypervisor, whichever
    server is being measured. Touching that memory first measures the server, not the
    hypervisor; every server gets the same treatment.
    """
    block = bytes(MiB)
    with tempfile.TemporaryFile() as f:
        for _ in range(size // MiB):
            f.write(block)


def large_object(
    api: S3Api | SwiftApi, container: str, server: Server, size: int, reps: int = 1
) -> dict[str, Any]:
    """`reps` rounds of one streamed PUT then GET of `size` bytes: the median round's
    rate (each round's in `runs_mb_per_s`) and the highest memory seen in any round."""
    key = "large-object"
    out: dict[str, Any] = {"bytes": size}
    pids = server.pids()
    conn = SyncConn(api.host, api.port)
    rounds: dict[str, list[dict[str, Any]]] = {"put": [], "get": []}
    try:
        rss0 = RssSampler(pids)
        with rss0:
            pass
        out["idle_rss_sum_mib"] = round(rss0.peak_sum_kib / 1024, 1)
        out["idle_pss_sum_mib"] = round(rss0.peak_pss_kib / 1024, 1)
        for _ in range(reps):
            for op in ("put", "get"):
                rounds[op].append(_large_transfer(api, conn, container, key, server, size, op))
            call(api, conn, "DELETE", container, key, ok=(200, 204))
    finally:
        conn.close()
    for op, runs in rounds.items():
        median = sorted(runs, key=lambda r: r["mb_per_s"])[len(runs) // 2]
        out[op] = {
            **median,
            "runs_mb_per_s": [r["mb_per_s"] for r in runs],
            **{
                k: max(r[k] for r in runs)
                for k in ("peak_rss_sum_mib", "peak_hwm_max_mib", "peak_pss_sum_mib")
            },
        }
    return out


def _large_transfer(
    api: S3Api | SwiftApi,
    conn: SyncConn,
    container: str,
    key: str,
    server: Server,
    size: int,
    op: str,
) -> dict[str, Any]:
    if op == "put":
        touch_free_memory(size + size // 4)
    cpu0, scpu0 = time.process_time(), server.cpu()
    with RssSampler(server.pids()) as rss:
        t0 = time.perf_counter()
        if op == "put":
            m, target, headers, _ = api.req("PUT", container, key)
            status, _, body, _ = conn.request(m, target, headers, _chunks(size), size)
            got = size
        else:
            m, target, headers, _ = api.req("GET", container, key)
            status, _, body, got = conn.request(m, target, headers, discard=True)
        elapsed = time.perf_counter() - t0
    if status not in (200, 201) or got != size:
        raise HTTPError(m, target, status, body)
    return {
        "seconds": round(elapsed, 3),
        "mb_per_s": round(size / elapsed / 1e6, 1),
        "peak_rss_sum_mib": round(rss.peak_sum_kib / 1024, 1),
        "peak_hwm_max_mib": round(rss.peak_hwm_kib / 1024, 1),
        "peak_pss_sum_mib": round(rss.peak_pss_kib / 1024, 1),
        "client_cpu_s": round(time.process_time() - cpu0, 2),
        "server_cpu_s": round(server.cpu() - scpu0, 2),
    }


# --- multipart ------------------------------------------------------------------------


def _parallel_parts(
    api: S3Api | SwiftApi, parts: int, part_size: int, total: int, parallel: int, put: Any
) -> list[Any]:
    def one(n: int) -> Any:
        conn = SyncConn(api.host, api.port)
        try:
            size = min(part_size, total - (n - 1) * part_size)
            return put(conn, n, size)
        finally:
            conn.close()

    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(one, range(1, parts + 1)))


def multipart(
    api: S3Api | SwiftApi,
    container: str,
    server: Server,
    total: int,
    part_size: int,
    parallel: int,
) -> dict[str, Any]:
    parts = -(-total // part_size)
    key = "multipart-object"
    conn = SyncConn(api.host, api.port)
    touch_free_memory(total + total // 4)
    cpu0, scpu0 = time.process_time(), server.cpu()
    with RssSampler(server.pids()) as rss:
        t0 = time.perf_counter()
        if isinstance(api, S3Api):
            _, _, body, _ = call(api, conn, "POST", container, key, [("uploads", "")])
            upload = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
            assert upload, body
            upload_id = upload.group(1).decode()

            def put(c: SyncConn, n: int, size: int) -> str:
                q = [("partNumber", str(n)), ("uploadId", upload_id)]
                m, target, headers, _ = api.req("PUT", container, key, q)
                status, resp, out, _ = c.request(m, target, headers, _chunks(size), size)
                if status != 200:
                    raise HTTPError(m, target, status, out)
                return resp["etag"]

            etags = _parallel_parts(api, parts, part_size, total, parallel, put)
            doc = "".join(
                f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
                for n, e in enumerate(etags, 1)
            )
            complete = f"<CompleteMultipartUpload>{doc}</CompleteMultipartUpload>".encode()
            _, _, body, _ = call(
                api, conn, "POST", container, key, [("uploadId", upload_id)], complete
            )
            if b"<Error>" in body:
                raise HTTPError("POST", key, 200, body)
        else:

            def put(c: SyncConn, n: int, size: int) -> dict[str, Any]:
                seg = f"{key}-seg/{n:05d}"
                m, target, headers, _ = api.req("PUT", container, seg)
                status, resp, out, _ = c.request(m, target, headers, _chunks(size), size)
                if status != 201:
                    raise HTTPError(m, target, status, out)
                return {
                    "path": f"/{container}/{seg}",
                    "etag": resp["etag"].strip('"'),
                    "size_bytes": size,
                }

            segs = _parallel_parts(api, parts, part_size, total, parallel, put)
            call(
                api,
                conn,
                "PUT",
                container,
                key,
                [("multipart-manifest", "put")],
                json.dumps(segs).encode(),
            )
        elapsed = time.perf_counter() - t0
    _, resp, _, _ = call(api, conn, "HEAD", container, key)
    size = int(resp.get("content-length", "0"))
    if size != total:
        raise HTTPError("HEAD", key, 200, f"size {size} != {total}".encode())
    if isinstance(api, S3Api):
        call(api, conn, "DELETE", container, key)
    else:
        call(api, conn, "DELETE", container, key, [("multipart-manifest", "delete")])
    conn.close()
    return {
        "bytes": total,
        "parts": parts,
        "parallel": parallel,
        "seconds": round(elapsed, 3),
        "mb_per_s": round(total / elapsed / 1e6, 1),
        "peak_rss_sum_mib": round(rss.peak_sum_kib / 1024, 1),
        "client_cpu_s": round(time.process_time() - cpu0, 2),
        "server_cpu_s": round(server.cpu() - scpu0, 2),
    }


# --- listings -----------------------------------------------------------------------


def populate_api(
    api: Any, container: str, server: Server, n: int, seconds: float, procs: int
) -> dict[str, Any]:
    """``n`` empty objects named obj-0000000.. (as many as fit in ``seconds``)."""
    cell = run_cell(
        api,
        container,
        ["put0"],
        conc=32,
        count=n,
        seconds=seconds,
        procs=procs,
        keys="ordered",
        prefix="obj-",
        server_cpu=server.cpu,
    )
    r = cell["put0"]
    return {
        "objects": r.count,
        "seconds": round(r.elapsed, 1),
        "ops_per_s": round(r.rate, 1),
        "errors": r.errors,
        "first_error": r.first_error,
    }


def _page(
    api: S3Api | SwiftApi, conn: SyncConn, container: str, after: str, limit: int, token: str = ""
) -> tuple[int, str, bool]:
    """One listing page: (keys on it, where the next page starts, truncated)."""
    if isinstance(api, S3Api):
        q = [("list-type", "2"), ("max-keys", str(limit))]
        if token:
            q.append(("continuation-token", token))
        elif after:
            q.append(("start-after", after))
        _, _, body, _ = call(api, conn, "GET", container, "", q)
        n = body.count(b"<Key>")
        nxt = re.search(rb"<NextContinuationToken>([^<]+)</NextContinuationToken>", body)
        truncated = b"<IsTruncated>true</IsTruncated>" in body
        return n, nxt.group(1).decode() if nxt else "", truncated
    q = [("format", "json"), ("limit", str(limit))]
    if after:
        q.append(("marker", after))
    _, _, body, _ = call(api, conn, "GET", container, "", q)
    names = json.loads(body) if body else []
    return len(names), names[-1]["name"] if names else "", len(names) == limit


def listing(
    api: S3Api | SwiftApi, container: str, objects: int, full_seconds: float, page_reps: int
) -> dict[str, Any]:
    conn = SyncConn(api.host, api.port)
    out: dict[str, Any] = {"objects": objects}
    # Full listing, in the API's largest pages (S3: 1000 keys; Swift: 10000 names).
    limit = 1000 if isinstance(api, S3Api) else 10000
    t0 = time.perf_counter()
    seen, nxt, truncated, pages = 0, "", True, 0
    while truncated and time.perf_counter() - t0 < full_seconds:
        if isinstance(api, S3Api):
            n, nxt, truncated = _page(api, conn, container, "", limit, nxt)
        else:
            n, nxt, truncated = _page(api, conn, container, nxt, limit)
        seen += n
        pages += 1
    elapsed = time.perf_counter() - t0
    out["full"] = {
        "keys": seen,
        "pages": pages,
        "seconds": round(elapsed, 3),
        "keys_per_s": round(seen / elapsed),
        "complete": not truncated,
    }
    # One page of 1000 keys from the middle (start-after / marker), repeated.
    middle = f"obj-{objects // 2:07d}"
    times = []
    for _ in range(page_reps):
        t1 = time.perf_counter()
        n, _, _ = _page(api, conn, container, middle, 1000)
        times.append(time.perf_counter() - t1)
    out["middle_page"] = {
        "start_after": middle,
        "keys": n,
        "median_ms": round(statistics.median(times) * 1000, 2),
        "min_ms": round(min(times) * 1000, 2),
    }
    conn.close()
    return out


# --- limits -------------------------------------------------------------------------


def disk_bandwidth(directory: Path, mib: int) -> dict[str, Any]:
    path = directory / "dd-test"
    out: dict[str, Any] = {"mib": mib}
    try:
        for name, args in (
            ("write", [f"of={path}", "if=/dev/zero", "conv=fdatasync"]),
            ("read", [f"if={path}", "of=/dev/null", "iflag=direct"]),
        ):
            run = subprocess.run(
                ["dd", "bs=1M", f"count={mib}", *args], capture_output=True, text=True, timeout=300
            )
            m = re.search(r"copied, ([\d.]+) s", run.stderr)
            if m:
                out[f"{name}_mb_per_s"] = round(mib * MiB / float(m.group(1)) / 1e6, 1)
    finally:
        path.unlink(missing_ok=True)
    return out


def wrk(url: str, conns: int, seconds: int, headers: list[str] | None = None) -> dict[str, Any]:
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency"]
    for h in headers or []:
        cmd += ["-H", h]
    run = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", run.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", run.stdout)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "ops_per_s": float(m.group(1)) if m else 0.0,
        "p50_ms": round(float(p50.group(1)) * scale[p50.group(2)], 2) if p50 else None,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }
