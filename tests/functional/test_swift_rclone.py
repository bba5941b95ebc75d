"""rclone's swift backend against a real server: copy, sync, check, ls, cat, segments."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.functional.swift_support import SwiftAccount, make_account
from tests.harness import BIN, Server, run


@pytest.fixture(scope="module")
def account(server: Server) -> SwiftAccount:
    return make_account(server, "swrclone", "prod", "swrclone-user")


def _tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.txt": b"alpha\n",
        "dir/b.bin": os.urandom(200_000),
        "dir/sub dir/ünï.txt": "ü\n".encode(),
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def test_copy_check_ls_and_download(account: SwiftAccount, workdir: Path) -> None:
    env = account.rclone_env(workdir)
    files = _tree(workdir / "src")
    run(["rclone", "copy", str(workdir / "src"), "myswift:rc-copy"], env)
    run(["rclone", "check", str(workdir / "src"), "myswift:rc-copy"], env)
    listed = run(["rclone", "ls", "myswift:rc-copy"], env).stdout
    assert sorted(line.split(maxsplit=1)[1] for line in listed.splitlines()) == sorted(files)
    assert run(["rclone", "cat", "myswift:rc-copy/a.txt"], env).stdout == "alpha\n"
    run(["rclone", "copy", "myswift:rc-copy", str(workdir / "back")], env)
    for name, data in files.items():
        assert (workdir / "back" / name).read_bytes() == data


def test_sync_deletes_extra_files(account: SwiftAccount, workdir: Path) -> None:
    env = account.rclone_env(workdir)
    _tree(workdir / "src")
    run(["rclone", "sync", str(workdir / "src"), "myswift:rc-sync"], env)
    (workdir / "src" / "a.txt").unlink()
    (workdir / "src" / "new.txt").write_bytes(b"new")
    run(["rclone", "sync", str(workdir / "src"), "myswift:rc-sync"], env)
    run(["rclone", "check", str(workdir / "src"), "myswift:rc-sync"], env)
    names = run(["rclone", "lsf", "-R", "--files-only", "myswift:rc-sync"], env).stdout.split("\n")
    assert "a.txt" not in names and "new.txt" in names


def test_chunked_upload_and_streaming(account: SwiftAccount, workdir: Path) -> None:
    env = account.rclone_env(workdir)
    data = os.urandom(3 * 1024 * 1024 + 7)
    (workdir / "big.bin").write_bytes(data)
    run(
        ["rclone", "copy", "--swift-chunk-size", "1M", str(workdir / "big.bin"), "myswift:rc-big"],
        env,
    )
    run(["rclone", "check", str(workdir / "big.bin"), "myswift:rc-big"], env)
    run(["rclone", "copy", "myswift:rc-big/big.bin", str(workdir / "back")], env)
    assert (workdir / "back" / "big.bin").read_bytes() == data
    # rcat streams with chunked transfer encoding, no length known in advance.
    subprocess.run(
        [str(BIN / "rclone"), "rcat", "myswift:rc-big/streamed.bin"],
        input=data,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    streamed = subprocess.run(
        [str(BIN / "rclone"), "cat", "myswift:rc-big/streamed.bin"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    assert streamed == data
    run(["rclone", "purge", "myswift:rc-big"], env)
    containers = run(["rclone", "lsd", "myswift:"], env).stdout
    assert " rc-big\n" not in containers
