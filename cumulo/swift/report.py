"""The summary report of Swift's bulk middleware, shared by bulk delete and SLO.

Swift's `get_response_body`: plain text (`Key: value` lines, then `Errors:` and one
`name, status` line per failure), JSON (the same keys, `Errors` a list of pairs), or XML
(keys lowercased with underscores, under a root tag).
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from cumulo.swift.common import Call

FORMATS = ("text/plain", "application/json", "application/xml", "text/xml")


def report_format(call: Call) -> str:
    """The best acceptable format by the Accept header (Swift's best_match)."""
    best, best_q = "text/plain", 0.0
    for item in call.header("accept").split(","):
        kind, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        kind = kind.strip().lower()
        if kind in FORMATS and quality > best_q:
            best, best_q = kind, quality
    return best


def render_report(
    kind: str, summary: dict[str, Any], problems: list[list[str]], root: str
) -> bytes:
    if kind == "application/json":
        return json.dumps({**summary, "Errors": problems}).encode()
    if kind.endswith("/xml"):
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n', f"<{root}>"]
        for key in sorted(summary):
            tag = key.lower().replace(" ", "_")
            parts.append(f"<{tag}>{escape(str(summary[key]))}</{tag}>")
        parts.append("<errors>")
        for name, status in problems:
            parts.append(
                f"<object><name>{escape(name)}</name><status>{escape(status)}</status></object>"
            )
        parts.append(f"</errors></{root}>")
        return "".join(parts).encode()
    lines = [f"{key}: {summary[key]}\n" for key in sorted(summary)]
    lines.append("Errors:\n")
    lines.extend(f"{name}, {status}\n" for name, status in problems)
    return "".join(lines).encode()
