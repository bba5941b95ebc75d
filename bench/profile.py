"""Profile Cumulo's workers under the bench's load with py-spy, one recording per phase.

    .venv/bin/python -m bench.profile [--seconds 10] [--conc 64] [--out DIR]

Starts Cumulo as ``bench.run`` does, then for each workload (by default S3 4 KiB PUT/GET,
Swift 4 KiB PUT/GET, Keystone token issue; ``--only`` picks others) runs the load at
concurrency ``--conc`` while ``py-spy record --subprocesses --format raw`` samples the
server's process tree for exactly that phase (started and stopped on the load's phase
barrier). Writes the raw collapsed stacks (``<phase>.txt``, loadable by any flame-graph
tool, e.g. ``flamegraph.pl`` or speedscope) and prints the top functions by self and inclusive
share of samples.
"""

from __future__ import annotations

import argparse
import collections
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.apis import cumulo_apis
from bench.load import run_cell
from bench.servers import Server, start_cumulo, which
from bench.workloads import create_container


class Recorder:
    """Called twice per phase by ``run_cell`` (its server-CPU hook): start, then stop."""

    def __init__(self, server: Server, path: Path, rate: int, gil: bool = False) -> None:
        self.server, self.path, self.rate, self.gil = server, path, rate, gil
        self.proc: subprocess.Popen[bytes] | None = None
        self.cpu0 = 0.0
        self.cpu = 0.0

    def __call__(self) -> float:
        if self.proc is None:
            self.cpu0 = self.server.cpu()
            self.proc = subprocess.Popen(
                [
                    which("py-spy") or "py-spy",
                    "record",
                    "--pid",
                    str(self.server.roots[0]),
                    "--subprocesses",
                    "--nonblocking",
                    "--rate",
                    str(self.rate),
                    "--format",
                    "raw",
                    "-o",
                    str(self.path),
                    *(["--gil"] if self.gil else []),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)  # py-spy attaches
        else:
            self.cpu = self.server.cpu() - self.cpu0
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(60)
        return 0.0


class LastPhase:
    """The hook ``run_cell`` calls twice per phase; records only the last phase."""

    def __init__(self, phases: int, recorder: Recorder) -> None:
        self.phases, self.recorder, self.calls = phases, recorder, 0

    def __call__(self) -> float:
        phase = self.calls // 2
        self.calls += 1
        return self.recorder() if phase == self.phases - 1 else 0.0


def summarize(path: Path, top: int = 15) -> dict[str, Any]:
    self_counts: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        frames = [_short(f) for f in frames]
        total += n
        if frames:
            self_counts[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
            if "(cumulo/" in f and not f.startswith(
                ("<module>", "main ", "cmd_serve", "serve", "_worker")
            ):
                ours[f] += n
    pct = lambda c: [(f, round(100 * n / total, 1)) for f, n in c.most_common(top)]  # noqa: E731
    return {"samples": total, "self": pct(self_counts), "inclusive": pct(incl), "cumulo": pct(ours)}


def _short(frame: str) -> str:
    # "func (/path/to/site-packages/pkg/mod.py:123)" -> "func (pkg/mod.py)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.profile")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--conc", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--out", default="bench-profiles")
    parser.add_argument(
        "--gil",
        action="store_true",
        help="sample only the thread holding the GIL (Python CPU, not waits)",
    )
    parser.add_argument(
        "--only",
        default="s3-put,s3-get,swift-put,swift-get,keystone-issue",
        help="phases to record, of s3-/swift-{put,get,head,delete} and keystone-issue",
    )
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="cumulo-profile-"))
    server = start_cumulo(args.workers, base)
    try:
        s3, ks, swift = cumulo_apis(server.info)
        create_container(s3, "prof")
        plans = [
            ("s3", s3, ["put", "get", "head", "delete"]),
            ("swift", swift, ["put", "get", "head", "delete"]),
            ("keystone", ks, ["issue"]),
        ]
        for name, api, phases in plans:
            for phase in phases:
                if f"{name}-{phase}" not in wanted:
                    continue
                # One cell per phase would lose the PUT keys; run the cell with every phase
                # up to this one and record only the last.
                phases_run = phases[: phases.index(phase) + 1]
                recorder = Recorder(server, out / f"{name}-{phase}.txt", args.rate, args.gil)
                hook = LastPhase(len(phases_run), recorder)
                cell = run_cell(
                    api,
                    "prof",
                    phases_run,
                    conc=args.conc,
                    count=10**6,
                    seconds=args.seconds,
                    procs=2,
                    prefix=f"{phase}-",
                    server_cpu=hook,
                )
                r = cell[phase]
                summary = summarize(out / f"{name}-{phase}.txt")
                print(
                    f"\n== {name} {phase}: {r.rate:.0f} ops/s at c={args.conc}, "
                    f"{summary['samples']} samples, server CPU {recorder.cpu:.1f}s"
                )
                for kind in ("self", "cumulo"):
                    print(f"  top {kind}:")
                    for f, p in summary[kind]:
                        print(f"    {p:5.1f}%  {f}")
                sys.stdout.flush()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
