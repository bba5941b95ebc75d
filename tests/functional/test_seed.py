"""The seed's help page, sentence by sentence, with the real `swift` and `openstack` CLIs.

The export blocks are the seed's, verbatim but for the host: OS_AUTH_URL is bare (no
/v3), no domain variables for v3; `/v2.0` and no OS_IDENTITY_API_VERSION for v2.0.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Server, run, v2_env, v3_env


@pytest.fixture(scope="module")
def member(server: Server) -> dict[str, Any]:
    return server.member("system", "ccontini", "ccontini")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_blocks_are_the_seeds(server: Server, member: dict[str, Any]) -> None:
    block = server.cli("creds", "show", "ccontini", "system", "ccontini", "--format", "openrc")
    lines = block.stdout.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [
        "export OS_PASSWORD",
        "export OS_USERNAME",
        "export OS_PROJECT_NAME",
        "export OS_AUTH_URL",
        "export OS_IDENTITY_API_VERSION",
    ]
    assert lines[1].startswith("export OS_USERNAME=system-ccontini-")
    assert lines[1].rsplit("-", 1)[1].isdigit()
    assert lines[2] == "export OS_PROJECT_NAME=system-ccontini"
    assert lines[4] == "export OS_IDENTITY_API_VERSION=3"
    v2 = server.cli("creds", "show", "ccontini", "system", "ccontini", "--format", "openrc-v2")
    assert v2.stdout.splitlines()[3].endswith("/v2.0")
    assert "OS_IDENTITY_API_VERSION" not in v2.stdout


def test_swift_cli_v3_upload_list_download(
    server: Server, member: dict[str, Any], workdir: Path
) -> None:
    env = v3_env(server, member)
    stat = run(["swift", "stat"], env).stdout
    assert f"AUTH_{member['openstack']['project_id']}" in stat
    source = workdir / "hello.bin"
    source.write_bytes(os.urandom(300_000))
    run(["swift", "upload", "photos", "hello.bin"], env, cwd=workdir)
    assert run(["swift", "list"], env).stdout.split() == ["photos"]
    assert run(["swift", "list", "photos"], env).stdout.split() == ["hello.bin"]
    out = workdir / "out"
    out.mkdir()
    run(["swift", "download", "photos", "hello.bin"], env, cwd=out)
    assert _digest(out / "hello.bin") == _digest(source)
    stat = run(["swift", "stat", "photos", "hello.bin"], env).stdout
    assert "Content Length: 300000" in stat
    run(["swift", "delete", "photos", "hello.bin"], env)
    assert run(["swift", "list", "photos"], env).stdout.split() == []


def test_swift_cli_segmented_upload(server: Server, member: dict[str, Any], workdir: Path) -> None:
    env = v3_env(server, member)
    source = workdir / "big.bin"
    source.write_bytes(os.urandom(5 * 1024 * 1024 + 123))
    run(["swift", "upload", "--segment-size", "1048576", "big", "big.bin"], env, cwd=workdir)
    stat = run(["swift", "stat", "big", "big.bin"], env).stdout
    assert "Manifest:" in stat or "Static Large Object" in stat or "X-Static-Large-Object" in stat
    segments = run(["swift", "list", "big_segments"], env).stdout.split()
    assert len(segments) == 6
    out = workdir / "out"
    out.mkdir()
    run(["swift", "download", "big", "big.bin"], env, cwd=out)
    assert _digest(out / "big.bin") == _digest(source)
    run(["swift", "delete", "big", "big.bin"], env)
    assert run(["swift", "list", "big_segments"], env, check=False).stdout.split() == []


def test_openstack_cli_containers_and_objects(
    server: Server, member: dict[str, Any], workdir: Path
) -> None:
    env = v3_env(server, member)
    run(["openstack", "container", "create", "docs"], env)
    listed = json.loads(run(["openstack", "container", "list", "-f", "json"], env).stdout)
    assert "docs" in {c["Name"] for c in listed}
    (workdir / "note.txt").write_text("hola mundo\n")
    run(["openstack", "object", "create", "docs", "note.txt"], env, cwd=workdir)
    objects = json.loads(run(["openstack", "object", "list", "docs", "-f", "json"], env).stdout)
    assert [o["Name"] for o in objects] == ["note.txt"]
    run(
        ["openstack", "object", "save", "--file", "saved.txt", "docs", "note.txt"], env, cwd=workdir
    )
    assert (workdir / "saved.txt").read_text() == "hola mundo\n"
    run(["openstack", "object", "delete", "docs", "note.txt"], env)
    objects = json.loads(run(["openstack", "object", "list", "docs", "-f", "json"], env).stdout)
    assert objects == []


def test_v2_block_with_swift_and_openstack(
    server: Server, member: dict[str, Any], workdir: Path
) -> None:
    env = v2_env(server, member)
    (workdir / "v2.txt").write_text("deprecated but working\n")
    run(["swift", "upload", "legacy", "v2.txt"], env, cwd=workdir)
    assert "legacy" in run(["swift", "list"], env).stdout.split()
    out = workdir / "out"
    out.mkdir()
    run(["swift", "download", "legacy", "v2.txt"], env, cwd=out)
    assert (out / "v2.txt").read_text() == "deprecated but working\n"
    listed = json.loads(run(["openstack", "container", "list", "-f", "json"], env).stdout)
    assert "legacy" in {c["Name"] for c in listed}
