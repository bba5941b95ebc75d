"""The results table (Markdown) and the issue's targets, computed from the JSON."""

from __future__ import annotations

from typing import Any

S3_PEERS = ("seaweedfs", "moto")
SWIFT_PEERS = ("swift",)


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if v >= 100:
            return f"{v:,.0f}"
        if v >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _ratio(a: Any, b: Any) -> str:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return "—"
    return f"{a / b:.2f}×"


def _rows(res: dict[str, Any], api: str, peers: tuple[str, ...]) -> list[tuple[str, list[Any]]]:
    servers = ("cumulo", *peers)

    def val(server: str, *path: str) -> Any:
        return _get(res["servers"], server, api, *path)

    rows: list[tuple[str, list[Any]]] = []
    concs = sorted(
        {int(k[1:]) for s in servers for k in (val(s, "small") or {}) if k.startswith("c")}
    )
    for conc in concs:
        for op in ("put", "get", "head", "delete"):
            for metric, label in (
                ("ops_per_s", "ops/s ↑"),
                ("p50_ms", "p50 ms ↓"),
                ("p99_ms", "p99 ms ↓"),
            ):
                rows.append(
                    (
                        f"4 KiB {op.upper()} c={conc} {label}",
                        [val(s, "small", f"c{conc}", op, metric) for s in servers],
                    )
                )
    for op in ("put", "get"):
        size = val("cumulo", "large", "bytes") or 0
        label = f"{size >> 20} MiB" if size < 1 << 30 else f"{size >> 30} GiB"
        rows.append(
            (f"{label} {op.upper()} MB/s ↑", [val(s, "large", op, "mb_per_s") for s in servers])
        )
        rounds = [val(s, "large", op, "runs_mb_per_s") or [] for s in servers]
        if any(len(r) > 1 for r in rounds):
            rows.append(
                (
                    f"{label} {op.upper()} MB/s, each round (median above)",
                    [" / ".join(_fmt(v) for v in r) or None for r in rounds],
                )
            )
        rows.append(
            (
                f"{label} {op.upper()} server peak RSS MiB (tree sum) ↓",
                [val(s, "large", op, "peak_rss_sum_mib") for s in servers],
            )
        )
        rows.append(
            (
                f"{label} {op.upper()} server peak PSS MiB (tree sum) ↓",
                [val(s, "large", op, "peak_pss_sum_mib") for s in servers],
            )
        )
        if op == "put":
            rows.append(
                (
                    "server idle RSS MiB before the large PUT (tree sum)",
                    [val(s, "large", "idle_rss_sum_mib") for s in servers],
                )
            )
    mp = val("cumulo", "multipart") or {}
    rows.append(
        (
            f"multipart {mp.get('bytes', 0) >> 20} MiB / {mp.get('parts', '?')} parts "
            f"({mp.get('parallel', '?')} parallel) MB/s ↑",
            [val(s, "multipart", "mb_per_s") for s in servers],
        )
    )
    for name in ("list_10k", "list_big"):
        rows.append((f"{name}: objects in bucket", [val(s, name, "objects") for s in servers]))
        rows.append(
            (f"{name}: full listing s ↓", [val(s, name, "full", "seconds") for s in servers])
        )
        rows.append(
            (
                f"{name}: full listing keys/s ↑",
                [val(s, name, "full", "keys_per_s") for s in servers],
            )
        )
        rows.append(
            (
                f"{name}: middle page (1000) ms ↓",
                [val(s, name, "middle_page", "median_ms") for s in servers],
            )
        )
    return [(label, values) for label, values in rows if any(v is not None for v in values)]


def _table(
    title: str, header: list[str], rows: list[tuple[str, list[Any]]], ratios: bool = True
) -> str:
    peers = header[1:]
    cols = ["metric", *header] + ([f"cumulo/{p}" for p in peers] if ratios else [])
    lines = [f"### {title}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for label, values in rows:
        cells = [label, *(_fmt(v) for v in values)]
        if ratios:
            cells += [_ratio(values[0], v) for v in values[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render(res: dict[str, Any]) -> str:
    out = []
    m = res["machine"]
    out.append(
        f"## Cumulo bench — {m['date']}, {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_mib']} MiB, Python {m['python']}\n\n`{m['command']}`\n"
    )
    present = set(res["servers"])
    # Cumulo's scale-out configuration (PostgreSQL metadata), when run, is one more
    # column after the peers: its ratio column reads as embedded default / scale-out.
    extra = ("cumulo-pg",) if "cumulo-pg" in present else ()
    s3_peers = tuple(p for p in S3_PEERS if p in present) + extra
    sw_peers = tuple(p for p in SWIFT_PEERS if p in present) + extra
    if present:
        out.append(_table("S3 API", ["cumulo", *s3_peers], _rows(res, "s3", s3_peers)))
        out.append(_table("Swift API", ["cumulo", *sw_peers], _rows(res, "swift", sw_peers)))
        ident = [
            (
                "token issue /s ↑ (Keystone v3 POST; tempauth GET /auth/v1.0)",
                [
                    _get(res["servers"], s, "identity", "issue", "ops_per_s")
                    for s in ("cumulo", *sw_peers)
                ],
            ),
            (
                "token issue p99 ms ↓",
                [
                    _get(res["servers"], s, "identity", "issue", "p99_ms")
                    for s in ("cumulo", *sw_peers)
                ],
            ),
            (
                "token validation /s ↑ (GET /v3/auth/tokens)",
                [
                    _get(res["servers"], s, "identity", "validate", "ops_per_s")
                    for s in ("cumulo", *sw_peers)
                ],
            ),
        ]
        out.append(_table("Identity", ["cumulo", *sw_peers], ident))
    out.append(_limits(res))
    out.append(_cpu(res))
    out.append(_targets(res))
    if res.get("skipped"):
        out.append("Skipped: " + "; ".join(f"{k}: {v}" for k, v in res["skipped"].items()) + "\n")
    return "\n".join(out)


def _limits(res: dict[str, Any]) -> str:
    lines = ["### Limits", "", "| limit | figure |", "|---|---|"]
    lim = res.get("limits", {})
    for kind in ("uvicorn", "granian"):
        bare = lim.get(f"bare_asgi_{kind}")
        if not bare:
            continue
        for key, value in bare.items():
            if isinstance(value, dict) and "ops_per_s" in value:
                tool = "wrk" if key.startswith("wrk") else "bench client"
                lines.append(
                    f"| bare ASGI 4 KiB GET on {kind} ({bare['workers']} workers), "
                    f"{key.replace('wrk_', '')}, {tool} | {_fmt(value['ops_per_s'])} req/s, "
                    f"p50 {_fmt(value.get('p50_ms'))} ms |"
                )
    wrk = _get(res["servers"], "cumulo", "swift", "wrk_get_c64")
    if wrk:
        lines.append(
            f"| Cumulo Swift 4 KiB GET c64, wrk (client cross-check) | "
            f"{_fmt(wrk['ops_per_s'])} req/s, p50 {_fmt(wrk.get('p50_ms'))} ms |"
        )
    disk = lim.get("disk")
    if disk:
        lines.append(
            f"| disk sequential write, dd {disk['mib']} MiB conv=fdatasync | "
            f"{_fmt(disk.get('write_mb_per_s'))} MB/s |"
        )
        lines.append(
            f"| disk sequential read, dd iflag=direct | {_fmt(disk.get('read_mb_per_s'))} MB/s |"
        )
    return "\n".join(lines) + "\n"


def _cpu(res: dict[str, Any]) -> str:
    lines = [
        "### CPU accounting (4 KiB, c=64): is the client the bottleneck?",
        "",
        "| server / API / op | wall s | client CPU s | server CPU s "
        "| client µs/op | server µs/op |",
        "|---|---|---|---|---|---|",
    ]
    for server, data in res["servers"].items():
        for api in ("s3", "swift"):
            cell = _get(data, api, "small", "c64")
            if not cell:
                continue
            for op, r in cell.items():
                n = max(1, r["ops"] + r["errors"])
                lines.append(
                    f"| {server} {api} {op.upper()} | {r['seconds']} | {r['client_cpu_s']} | "
                    f"{r['server_cpu_s']} | {r['client_cpu_s'] / n * 1e6:.0f} | "
                    f"{r['server_cpu_s'] / n * 1e6:.0f} |"
                )
    return "\n".join(lines) + "\n"


def _targets(res: dict[str, Any]) -> str:
    s = res["servers"]
    rows: list[tuple[str, str, str]] = []

    def check(name: str, value: Any, goal: Any, ok: bool | None) -> None:
        verdict = "—" if ok is None else ("met" if ok else "MISSED")
        rows.append((name, f"{_fmt(value)} (target {goal})", verdict))

    def ratio(a: Any, b: Any) -> float | None:
        return a / b if isinstance(a, int | float) and isinstance(b, int | float) and b else None

    for op, goal in (("get", 1.0), ("put", 1.0), ("head", 0.7), ("delete", 0.7)):
        r = ratio(
            _get(s, "cumulo", "s3", "small", "c64", op, "ops_per_s"),
            _get(s, "seaweedfs", "s3", "small", "c64", op, "ops_per_s"),
        )
        check(
            f"S3 4 KiB {op.upper()} c64 vs SeaweedFS",
            r,
            f"≥ {goal}×",
            None if r is None else r >= goal,
        )
    for op in ("put", "get", "head", "delete"):
        r = ratio(
            _get(s, "cumulo", "s3", "small", "c64", op, "ops_per_s"),
            _get(s, "moto", "s3", "small", "c64", op, "ops_per_s"),
        )
        check(f"S3 4 KiB {op.upper()} c64 vs moto", r, "≥ 10×", None if r is None else r >= 10)
    for op in ("get", "put"):
        r = ratio(
            _get(s, "cumulo", "swift", "small", "c64", op, "ops_per_s"),
            _get(s, "swift", "swift", "small", "c64", op, "ops_per_s"),
        )
        check(
            f"Swift 4 KiB {op.upper()} c64 vs OpenStack Swift",
            r,
            "≥ 10×",
            None if r is None else r >= 10,
        )
    for op, goal in (("put", 1.5), ("get", 0.8)):
        mine = _get(s, "cumulo", "s3", "large", op, "mb_per_s")
        peers = [
            v
            for p in s
            if not p.startswith("cumulo")
            for api in ("s3", "swift")
            if (v := _get(s, p, api, "large", op, "mb_per_s"))
        ]
        r = ratio(mine, max(peers)) if peers else None
        check(
            f"1 GiB {op.upper()}, Cumulo S3 vs the best peer (either API)",
            r,
            f"≥ {goal}×",
            None if r is None else r >= goal,
        )
        for kind in ("rss", "pss"):
            rss = max(
                _get(s, "cumulo", api, "large", op, f"peak_{kind}_sum_mib") or 0
                for api in ("s3", "swift")
            )
            check(
                f"1 GiB {op.upper()} Cumulo peak {kind.upper()} MiB (supervisor + workers)",
                float(rss),
                "< 200",
                rss < 200 if rss else None,
            )
    r = ratio(
        _get(s, "cumulo", "s3", "multipart", "mb_per_s"),
        _get(s, "seaweedfs", "s3", "multipart", "mb_per_s"),
    )
    check("multipart 200 MiB vs SeaweedFS", r, "≥ 1.5×", None if r is None else r >= 1.5)
    big = _get(s, "cumulo", "s3", "list_big", "middle_page", "median_ms")
    small = _get(s, "cumulo", "s3", "list_10k", "middle_page", "median_ms")
    n = _get(s, "cumulo", "s3", "list_big", "objects")
    check(
        f"S3 middle page of 1000 from {_fmt(n)} objects, ms",
        big,
        "≤ 10",
        None if big is None else big <= 10,
    )
    r = ratio(big, small)
    check("…same page, big bucket / 10k bucket", r, "≤ 1.5×", None if r is None else r <= 1.5)
    issue = _get(s, "cumulo", "identity", "issue", "ops_per_s")
    check("token issue /s", issue, "≥ 1,000", None if issue is None else issue >= 1000)
    lines = ["### Targets (issue 5)", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + "\n"
