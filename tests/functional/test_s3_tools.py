"""s3cmd (SigV4 and SigV2) and rclone's S3 remote, configured from `creds show` values."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.functional.s3_support import (
    MiB,
    S3User,
    host_port,
    random_file,
    sha256_file,
    unique,
)
from tests.harness import BIN, Server, run


def _tree(root: Path) -> dict[str, bytes]:
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "a.txt": b"alpha\n",
        "sub/b.txt": b"beta\n",
        "sub/deeper/c.bin": os.urandom(3000),
        "with space.txt": b"spaced\n",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


# --- s3cmd ----------------------------------------------------------------------------


def _s3cmd_config(user: S3User, path: Path, *, v2: bool) -> Path:
    endpoint = host_port(user.endpoint_url)
    path.write_text(
        "[default]\n"
        f"access_key = {user.access_key}\n"
        f"secret_key = {user.secret_key}\n"
        f"host_base = {endpoint}\n"
        f"host_bucket = {endpoint}\n"
        f"bucket_location = {user.region}\n"
        "use_https = False\n"
        "check_ssl_certificate = False\n"
        f"signature_v2 = {v2}\n"
        "multipart_chunk_size_mb = 5\n"
    )
    return path


@pytest.mark.parametrize("signature", ["v4", "v2"])
def test_s3cmd(server: Server, tmp_path: Path, signature: str) -> None:
    user = S3User.create(server, unique("cmd"), "env", "sam", tmp_path / "home")
    config = _s3cmd_config(user, tmp_path / "s3cfg", v2=signature == "v2")
    env = user.env()

    def s3cmd(*args: str, check: bool = True) -> Any:
        return run([str(BIN / "s3cmd"), "-c", str(config), *args], env, check=check, cwd=tmp_path)

    s3cmd("mb", "s3://cmdbox")
    assert "s3://cmdbox" in s3cmd("ls").stdout
    (tmp_path / "small.txt").write_text("via s3cmd\n")
    digest = random_file(tmp_path / "big.bin", 12 * MiB)  # multipart with 5 MiB chunks
    s3cmd("put", "small.txt", "s3://cmdbox/dir/small.txt")
    s3cmd("put", "big.bin", "s3://cmdbox/big.bin")
    listing = s3cmd("ls", "s3://cmdbox/").stdout
    assert "DIR" in listing and "s3://cmdbox/dir/" in listing and "s3://cmdbox/big.bin" in listing
    assert "s3://cmdbox/dir/small.txt" in s3cmd("ls", "--recursive", "s3://cmdbox").stdout
    s3cmd("get", "s3://cmdbox/dir/small.txt", "got.txt")
    s3cmd("get", "s3://cmdbox/big.bin", "got.bin")
    assert (tmp_path / "got.txt").read_text() == "via s3cmd\n"
    assert sha256_file(tmp_path / "got.bin") == digest
    info = s3cmd("info", "s3://cmdbox/dir/small.txt").stdout
    assert "MD5 sum" in info

    files = _tree(tmp_path / "tree")
    s3cmd("sync", "tree/", "s3://cmdbox/tree/")
    s3cmd("sync", "s3://cmdbox/tree/", "back/")
    for name, data in files.items():
        assert (tmp_path / "back" / name).read_bytes() == data
    again = s3cmd("sync", "tree/", "s3://cmdbox/tree/").stdout
    assert "upload:" not in again

    s3cmd("del", "s3://cmdbox/dir/small.txt", "s3://cmdbox/big.bin")
    s3cmd("del", "--recursive", "--force", "s3://cmdbox/tree/")
    assert s3cmd("ls", "--recursive", "s3://cmdbox").stdout.strip() == ""
    s3cmd("rb", "s3://cmdbox")
    assert "s3://cmdbox" not in s3cmd("ls").stdout


def test_s3cmd_errors_are_s3_codes(server: Server, tmp_path: Path) -> None:
    user = S3User.create(server, unique("cmd"), "env", "sue", tmp_path / "home")
    config = _s3cmd_config(user, tmp_path / "s3cfg", v2=True)
    text = config.read_text().replace(user.secret_key, "not-the-secret")
    config.write_text(text)
    result = run([str(BIN / "s3cmd"), "-c", str(config), "ls"], user.env(), check=False)
    assert result.returncode != 0 and "SignatureDoesNotMatch" in result.stderr


# --- rclone ---------------------------------------------------------------------------


def _rclone_env(user: S3User, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in user.env().items() if not k.startswith("RCLONE_")}
    env.update(
        RCLONE_CONFIG=str(workdir / "rclone.conf"),
        RCLONE_CONFIG_CUMULO_TYPE="s3",
        RCLONE_CONFIG_CUMULO_PROVIDER="Other",
        RCLONE_CONFIG_CUMULO_ACCESS_KEY_ID=user.access_key,
        RCLONE_CONFIG_CUMULO_SECRET_ACCESS_KEY=user.secret_key,
        RCLONE_CONFIG_CUMULO_ENDPOINT=user.endpoint_url,
        RCLONE_CONFIG_CUMULO_REGION=user.region,
        RCLONE_CONFIG_CUMULO_FORCE_PATH_STYLE="true",
    )
    (workdir / "rclone.conf").touch()
    return env


def test_rclone(server: Server, tmp_path: Path) -> None:
    user = S3User.create(server, unique("rcl"), "env", "ray", tmp_path / "home")
    env = _rclone_env(user, tmp_path)

    def rclone(*args: str) -> Any:
        return run(["rclone", *args], env, cwd=tmp_path)

    files = _tree(tmp_path / "src")
    random_file(tmp_path / "src" / "big.bin", 7 * MiB)
    rclone("mkdir", "cumulo:rbox")
    rclone("copy", "src", "cumulo:rbox/copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M")
    rclone("check", "src", "cumulo:rbox/copy")
    listed = rclone("ls", "cumulo:rbox/copy").stdout
    for name in files:
        assert name in listed
    assert rclone("cat", "cumulo:rbox/copy/a.txt").stdout == "alpha\n"
    assert "rbox" in rclone("lsd", "cumulo:").stdout

    (tmp_path / "src" / "a.txt").unlink()
    (tmp_path / "src" / "new.txt").write_text("new\n")
    rclone("sync", "src", "cumulo:rbox/copy")
    rclone("check", "src", "cumulo:rbox/copy")
    rclone("sync", "cumulo:rbox/copy", "dst")
    rclone("check", "src", "dst")
    assert not (tmp_path / "dst" / "a.txt").exists()
    assert sha256_file(tmp_path / "dst" / "big.bin") == sha256_file(tmp_path / "src" / "big.bin")
    rclone("purge", "cumulo:rbox")
    assert "rbox" not in rclone("lsd", "cumulo:").stdout
