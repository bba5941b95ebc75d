"""The benchmark runs from the README's command and prints every row of its table.

Its figures are not checked here (speed is the bench's business, not the suite's);
what is checked is that each workload ran against a real Cumulo, that none failed, and
that the table and the targets come out, PostgreSQL configuration included when the
suite has a PostgreSQL server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _errors(node: Any, path: str = "") -> list[str]:
    if isinstance(node, dict):
        found = [f"{path}: {node['error']}"] if "error" in node else []
        for key, value in node.items():
            found += _errors(value, f"{path}/{key}")
        return found
    return []


@pytest.mark.slow
def test_the_quick_bench_runs_every_workload_against_cumulo(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "bench.run", "--quick", "--servers", "cumulo,disk"]
    command += ["--json", str(out), "--tmp", str(tmp_path)]
    postgres = os.environ.get("CUMULO_TEST_POSTGRES_URL")
    if postgres:
        command += ["--postgres", postgres]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(out.read_text())
    assert _errors(results) == []
    servers = ["cumulo", "cumulo-pg"] if postgres else ["cumulo"]
    assert sorted(results["servers"]) == servers
    for server in servers:
        got = results["servers"][server]
        for api in ("s3", "swift"):
            assert {"small", "large", "multipart", "list_10k", "list_big"} <= set(got[api])
            for op in ("put", "get", "head", "delete"):
                cell = got[api]["small"]["c64"][op]
                assert cell["ops"] > 0 and cell["errors"] == 0, (server, api, op, cell)
        assert got["identity"]["issue"]["ops"] > 0
        assert got["identity"]["validate"]["ops"] > 0
    table = run.stdout
    for row in (
        "4 KiB PUT c=64 ops/s",
        "64 MiB PUT MB/s",
        "64 MiB GET server peak RSS MiB (tree sum)",
        "multipart 32 MiB",
        "list_big: middle page (1000) ms",
        "token issue /s",
        "token validation /s",
        "disk sequential write",
        "### Targets (issue 5)",
    ):
        assert row in table, row
    if postgres:
        assert "| metric | cumulo | cumulo-pg | cumulo/cumulo-pg |" in table
