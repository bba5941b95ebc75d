"""Nothing the project starts may call out: SeaweedFS reports telemetry to a public
address unless told not to, so every `weed server` / `weed master` the tree starts, in
bench, tests, scripts or docs, turns it off right there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}
SUFFIXES = {".py", ".sh", ".md", ".toml", ".yaml", ".yml", ""}
# `weed [-flags] server|master` in a shell line, or "server"/"master" as the argument
# after a weed executable in a Python argv list.
STARTS = re.compile(
    r"weed\"?\s+(?:-\S+\s+)*(server|master)\b|weed[\w.()\[\]'\"]*,\s*\"(server|master)\","
)


def _files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        if SKIP & set(path.relative_to(ROOT).parts) or not path.is_file():
            continue
        if path.suffix in SUFFIXES and path.name != "test_no_telemetry.py":
            found.append(path)
    return found


def _telemetry_off(subcommand: str, command: str) -> bool:
    flag = "-telemetry=false" if subcommand == "master" else "-master.telemetry=false"
    return flag in command


def test_every_seaweedfs_started_has_telemetry_off() -> None:
    starts = []
    for path in _files():
        text = path.read_text(errors="replace")
        if "weed" not in text:
            continue
        for match in STARTS.finditer(text):
            subcommand = match.group(1) or match.group(2)
            # The command's own arguments: up to the closing bracket of an argv
            # list, or the end of a shell line (continuations included).
            rest = text[match.start() :]
            end = re.search(r"\]" if match.group(2) else r"(?<!\\)\n", rest)
            command = rest[: end.start() if end else len(rest)]
            starts.append((path.relative_to(ROOT), subcommand))
            assert _telemetry_off(subcommand, command), f"{path}: {command[:300]}"
    # The bench and the tests' cluster start one each; a pattern that found none
    # would check nothing.
    assert (Path("bench/servers.py"), "server") in starts
    assert (Path("tests/seaweedfs.py"), "master") in starts


def test_the_check_sees_a_start_without_the_flag() -> None:
    for text, subcommand in (
        ('[weed, "server", "-dir=x"]', "server"),
        ("weed -v=1 master -port=9333\n", "master"),
    ):
        match = STARTS.search(text)
        assert match is not None and (match.group(1) or match.group(2)) == subcommand
        assert not _telemetry_off(subcommand, text)
