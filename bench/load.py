"""Closed-loop load: C connections spread over P forked client processes.

A cell runs a sequence of phases (e.g. put, get, head, delete) over the same keys.
Every phase is bounded twice: at most ``count`` requests in all and at most
``seconds`` of wall time. Processes start and end each phase together on a
barrier that the parent also joins, so the parent can read the server's CPU time
around exactly the phase. Each coroutine owns one keep-alive connection and its own
keys: it PUTs ``count / C`` of them, then GET/HEAD cycle over the ones it put and
DELETE removes them.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.http import AsyncConn

BARRIER_TIMEOUT = 900


@dataclass
class PhaseResult:
    op: str
    count: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))]

    def summary(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "ops": self.count,
            "errors": self.errors,
            "seconds": round(self.elapsed, 3),
            "ops_per_s": round(self.rate, 1),
            "p50_ms": round(self.pct(0.50) * 1000, 2),
            "p99_ms": round(self.pct(0.99) * 1000, 2),
            "client_cpu_s": round(self.client_cpu, 2),
            "server_cpu_s": round(self.server_cpu, 2),
            "first_error": self.first_error,
        }


def naming(kind: str, prefix: str, total: int) -> Callable[[int, int], str]:
    """Key of request ``i`` of global coroutine ``gid``."""
    if kind == "ordered":  # obj-0000000.. interleaved across coroutines: sorted = index order
        return lambda gid, i: f"{prefix}{gid + i * total:07d}"
    return lambda gid, i: f"{prefix}{gid:03d}-{i:06d}"


def _child(
    api: Any,
    container: str,
    phases: list[str],
    proc: int,
    procs: int,
    conc: int,
    count: int,
    seconds: float,
    keys: str,
    prefix: str,
    barrier: Any,
    queue: Any,
) -> None:
    try:
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
    except ImportError:
        runner = asyncio.run
    mine = conc // procs + (1 if proc < conc % procs else 0)
    first_gid = sum(conc // procs + (1 if p < conc % procs else 0) for p in range(proc))
    per_coro = max(1, math.ceil(count / conc))
    key_of = naming(keys, prefix, conc)
    results: list[dict[str, Any]] = []

    async def main() -> None:
        conns = [AsyncConn(api.host, api.port) for _ in range(mine)]
        done = [0] * mine  # keys each coroutine has PUT

        async def worker(j: int, op: str, deadline: float, res: PhaseResult) -> None:
            conn, gid = conns[j], first_gid + j
            lats = res.latencies
            writes = op in ("put", "put0")
            n = per_coro if writes or op in ("issue", "validate", "plain") else done[j]
            if op in ("get", "head") and done[j]:
                n = per_coro
            for i in range(n):
                now = time.perf_counter()
                if now > deadline:
                    break
                idx = i % done[j] if (op in ("get", "head") and done[j]) else i
                method, target, headers, body = api.build(op, container, key_of(gid, idx))
                try:
                    status, _, data = await conn.request(method, target, headers, body)
                except Exception as exc:
                    res.errors += 1
                    res.first_error = res.first_error or repr(exc)
                    await conn.close()
                    continue
                lats.append(time.perf_counter() - now)
                if api.ok(op, status):
                    res.count += 1
                    if writes:
                        done[j] = i + 1
                else:
                    res.errors += 1
                    if not res.first_error:
                        res.first_error = f"{method} {target} -> {status} {data[:200]!r}"

        for op in phases:
            res = PhaseResult(op)
            barrier.wait(BARRIER_TIMEOUT)
            cpu0, t0 = time.process_time(), time.perf_counter()
            deadline = t0 + seconds
            await asyncio.gather(*(worker(j, op, deadline, res) for j in range(mine)))
            res.elapsed = time.perf_counter() - t0
            res.client_cpu = time.process_time() - cpu0
            results.append(res.__dict__)
            barrier.wait(BARRIER_TIMEOUT)
        for conn in conns:
            await conn.close()

    try:
        runner(main())
        queue.put((proc, results, None))
    except Exception:
        queue.put((proc, results, traceback.format_exc()))
        barrier.abort()


def run_cell(
    api: Any,
    container: str,
    phases: list[str],
    *,
    conc: int,
    count: int,
    seconds: float,
    procs: int = 1,
    keys: str = "cell",
    prefix: str = "",
    server_cpu: Callable[[], float] = lambda: 0.0,
) -> dict[str, PhaseResult]:
    """Runs the phases at concurrency ``conc``; returns one merged result per phase."""
    procs = max(1, min(procs, conc))
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(procs + 1)
    queue = ctx.Queue()
    children = [
        ctx.Process(
            target=_child,
            args=(
                api,
                container,
                phases,
                p,
                procs,
                conc,
                count,
                seconds,
                keys,
                prefix,
                barrier,
                queue,
            ),
            daemon=True,
        )
        for p in range(procs)
    ]
    for child in children:
        child.start()
    server = []
    try:
        for _ in phases:
            barrier.wait(BARRIER_TIMEOUT)
            before = server_cpu()
            barrier.wait(BARRIER_TIMEOUT)
            server.append(server_cpu() - before)
    except Exception:  # a child failed: its traceback comes through the queue
        pass
    merged = {op: PhaseResult(op) for op in phases}
    for _ in children:
        proc, results, error = queue.get(timeout=BARRIER_TIMEOUT)
        if error:
            for child in children:
                if child.is_alive():
                    child.kill()
            raise RuntimeError(f"load process {proc} failed:\n{error}")
        for raw in results:
            m = merged[raw["op"]]
            m.count += raw["count"]
            m.errors += raw["errors"]
            m.elapsed = max(m.elapsed, raw["elapsed"])
            m.latencies.extend(raw["latencies"])
            m.client_cpu += raw["client_cpu"]
            m.first_error = m.first_error or raw["first_error"]
    for child in children:
        child.join(30)
        if child.is_alive() and child.pid:
            os.kill(child.pid, 9)
    for op, cpu in zip(phases, server, strict=False):
        merged[op].server_cpu = cpu
    return merged
