"""The real `swift` and `openstack` CLIs against a real server, configured as the seed says."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.functional.swift_support import SwiftAccount, make_account
from tests.harness import Server, run


@pytest.fixture(scope="module")
def account(server: Server) -> SwiftAccount:
    return make_account(server, "swcli", "prod", "swcli-user")


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_stat_shows_the_account(account: SwiftAccount) -> None:
    out = account.swift("stat").stdout
    assert f"Account: AUTH_{account.project_id}" in out
    assert "Containers:" in out


def test_upload_list_download_round_trip(account: SwiftAccount, workdir: Path) -> None:
    up = workdir / "up"
    files = {
        "hello.txt": b"hello\n",
        "sub dir/ünï cödé.txt": "ü\n".encode(),
        "empty.bin": b"",
        "data.bin": os.urandom(300_000),
    }
    for name, data in files.items():
        _write(up / name, data)
    account.swift("upload", "cli-rt", ".", cwd=up)
    listed = account.swift("list", "cli-rt").stdout.splitlines()
    assert sorted(listed) == sorted(files)
    down = workdir / "down"
    down.mkdir()
    account.swift("download", "cli-rt", cwd=down)
    for name, data in files.items():
        assert (down / name).read_bytes() == data
    assert "cli-rt" in account.swift("list").stdout.splitlines()


def test_segmented_upload_uses_slo_and_downloads_byte_equal(
    account: SwiftAccount, workdir: Path
) -> None:
    data = os.urandom(5 * 1024 * 1024)
    _write(workdir / "big.bin", data)
    account.swift("upload", "--segment-size", "1048576", "cli-big", "big.bin", cwd=workdir)
    stat = account.swift("stat", "cli-big", "big.bin").stdout
    assert "X-Static-Large-Object: True" in stat
    assert "Content Length: 5242880" in stat
    segments = account.swift("list", "cli-big_segments").stdout.splitlines()
    assert len(segments) == 5
    down = workdir / "down"
    down.mkdir()
    account.swift("download", "cli-big", "big.bin", "-o", "copy.bin", cwd=down)
    assert hashlib.md5((down / "copy.bin").read_bytes()).digest() == hashlib.md5(data).digest()
    # Deleting the manifest deletes its segments too (multipart-manifest=delete).
    account.swift("delete", "cli-big", "big.bin")
    assert account.swift("list", "cli-big_segments").stdout.strip() == ""


def test_post_metadata_on_object_container_and_account(
    account: SwiftAccount, workdir: Path
) -> None:
    _write(workdir / "m.txt", b"meta")
    account.swift("upload", "cli-meta", "m.txt", cwd=workdir)
    account.swift("post", "-m", "color:blue", "-m", "Some-Thing:välue", "cli-meta", "m.txt")
    out = account.swift("stat", "cli-meta", "m.txt").stdout
    assert "Meta Color: blue" in out
    assert "Meta Some-Thing: välue" in out
    account.swift("post", "-m", "team:storage", "cli-meta")
    assert "Meta Team: storage" in account.swift("stat", "cli-meta").stdout
    account.swift("post", "-m", "owner:ops")
    assert "Meta Owner: ops" in account.swift("stat").stdout


def test_copy_object(account: SwiftAccount, workdir: Path) -> None:
    _write(workdir / "src.txt", b"copy me")
    account.swift("upload", "cli-copy", "src.txt", cwd=workdir)
    account.swift("copy", "-d", "/cli-copy-dst/dst.txt", "-m", "k:v", "cli-copy", "src.txt")
    out = account.swift("stat", "cli-copy-dst", "dst.txt").stdout
    assert "Meta K: v" in out
    assert hashlib.md5(b"copy me").hexdigest() in out


def test_delete_container_of_many_objects_uses_bulk_delete(
    account: SwiftAccount, workdir: Path
) -> None:
    for index in range(25):
        _write(workdir / "many" / f"o{index:02d}", b"x")
    account.swift("upload", "cli-many", ".", cwd=workdir / "many")
    assert len(account.swift("list", "cli-many").stdout.splitlines()) == 25
    account.swift("delete", "cli-many")
    assert "cli-many" not in account.swift("list").stdout.splitlines()


def test_capabilities_list_only_what_works(account: SwiftAccount) -> None:
    out = account.swift("capabilities", "--json").stdout
    info = json.loads(out)
    assert {"swift", "slo", "bulk_delete"} <= set(info)
    assert not {"tempurl", "formpost", "bulk_upload", "versioned_writes"} & set(info)
    assert info["swift"]["container_listing_limit"] == 10000


def test_openstack_cli_containers_and_objects(account: SwiftAccount, workdir: Path) -> None:
    env = account.env()
    _write(workdir / "os.txt", b"from openstack")
    run(["openstack", "container", "create", "os-cli"], env)
    run(["openstack", "object", "create", "os-cli", "os.txt"], env, cwd=workdir)
    listed = run(["openstack", "object", "list", "os-cli", "-f", "value"], env).stdout
    assert listed.split() == ["os.txt"]
    run(
        ["openstack", "object", "save", "os-cli", "os.txt", "--file", "saved.txt"], env, cwd=workdir
    )
    assert (workdir / "saved.txt").read_bytes() == b"from openstack"
    run(["openstack", "object", "delete", "os-cli", "os.txt"], env)
    run(["openstack", "container", "delete", "os-cli"], env)
