"""The AWS CLI, configured only by the profile `creds show --format aws` prints (no config
file, no --endpoint-url, no AWS_* variables), over HTTP and over HTTPS.

Over HTTPS the CLI sends STREAMING-UNSIGNED-PAYLOAD-TRAILER bodies (aws-chunked inside
HTTP chunked, the CRC in a trailer); over HTTP it signs the body's SHA-256.
"""

from __future__ import annotations

import base64
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.s3_support import (
    MiB,
    S3User,
    make_tls,
    random_file,
    sha256_file,
    unique,
)
from tests.harness import Server, run


@pytest.fixture(scope="module", params=["http", "https"])
def tls_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Path | None]]:
    data = tmp_path_factory.mktemp(f"s3-aws-{request.param}")
    ca: Path | None = None
    args: list[str] = []
    if request.param == "https":
        ca, cert, key = make_tls(data / "tls")
        # Flags of `serve` only: `cumulo creds show` prints the https endpoint from the
        # settings the server recorded in its data dir.
        args = ["--tls-cert", str(cert), "--tls-key", str(key)]
    server = Server(data / "srv", extra_args=args, scheme=request.param).start()
    try:
        yield server, ca
    finally:
        server.stop()
        assert "Traceback" not in server.log(), server.log()[-5000:]


def _user(tls_server: tuple[Server, Path | None], tmp_path: Path, login: str) -> S3User:
    server, ca = tls_server
    home = tmp_path / "home"
    return S3User.create(server, unique("awsorg"), "env", login, home, ca_bundle=ca)


def test_the_printed_profile_is_all_the_cli_needs(
    tls_server: tuple[Server, Path | None], tmp_path: Path
) -> None:
    user = _user(tls_server, tmp_path, "ava")
    server = tls_server[0]
    text = user.profile_text
    assert text.startswith("[default]\n")
    assert f"endpoint_url = {server.object_url}" in text
    assert not (user.home / ".aws" / "config").exists()
    assert "--endpoint-url" not in text
    user.aws("s3", "mb", "s3://first")
    assert "first" in user.aws("s3", "ls").stdout
    user.aws("s3", "rb", "s3://first")


def test_mb_cp_ls_rm_rb(tls_server: tuple[Server, Path | None], tmp_path: Path) -> None:
    user = _user(tls_server, tmp_path, "bob")
    work = tmp_path / "work"
    work.mkdir()
    (work / "small.txt").write_text("hello s3\n")
    big = work / "big.bin"
    digest = random_file(big, 50 * MiB)

    user.aws("s3", "mb", "s3://box")
    user.aws("s3", "cp", "small.txt", "s3://box/dir/small.txt", cwd=work)
    user.aws("s3", "cp", "big.bin", "s3://box/big.bin", cwd=work)
    listing = user.aws("s3", "ls", "s3://box/").stdout
    assert "PRE dir/" in listing and "big.bin" in listing
    assert "small.txt" in user.aws("s3", "ls", "s3://box/dir/").stdout
    assert str(50 * MiB) in user.aws("s3", "ls", "--recursive", "s3://box").stdout

    head = user.aws("s3api", "head-object", "--bucket", "box", "--key", "big.bin").stdout
    assert "-" in head.split('"ETag"')[1].split("\n")[0], head  # multipart ETag: "<md5>-N"

    out = tmp_path / "out"
    out.mkdir()
    user.aws("s3", "cp", "s3://box/big.bin", "big.bin", cwd=out)
    user.aws("s3", "cp", "s3://box/dir/small.txt", "small.txt", cwd=out)
    assert sha256_file(out / "big.bin") == digest
    assert (out / "small.txt").read_text() == "hello s3\n"

    denied = user.aws("s3", "rb", "s3://box", check=False)
    assert denied.returncode != 0 and "BucketNotEmpty" in denied.stderr
    user.aws("s3", "rm", "s3://box/big.bin")
    user.aws("s3", "rm", "--recursive", "s3://box/dir/")
    assert user.aws("s3", "ls", "--recursive", "s3://box").stdout.strip() == ""
    user.aws("s3", "rb", "s3://box")
    assert "box" not in user.aws("s3", "ls").stdout


def test_sync_both_ways(tls_server: tuple[Server, Path | None], tmp_path: Path) -> None:
    user = _user(tls_server, tmp_path, "cy")
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    files = {
        "one.txt": b"1\n",
        "a/two.txt": b"22\n",
        "a/b/three.bin": bytes(range(256)) * 40,
        "spaced name+plus.txt": b"odd\n",
        "ünïcode.txt": b"u\n",
    }
    for name, data in files.items():
        (src / name).write_bytes(data)
    user.aws("s3", "mb", "s3://mirror")
    user.aws("s3", "sync", str(src), "s3://mirror/tree")
    again = user.aws("s3", "sync", str(src), "s3://mirror/tree").stdout
    assert again.strip() == "", f"second sync should copy nothing: {again}"

    dst = tmp_path / "dst"
    user.aws("s3", "sync", "s3://mirror/tree", str(dst))
    for name, data in files.items():
        assert (dst / name).read_bytes() == data

    (src / "one.txt").unlink()
    user.aws("s3", "sync", "--delete", str(src), "s3://mirror/tree")
    user.aws("s3", "sync", "--delete", "s3://mirror/tree", str(dst))
    assert not (dst / "one.txt").exists()
    assert (dst / "a" / "two.txt").read_bytes() == b"22\n"


def test_presign_with_curl(tls_server: tuple[Server, Path | None], tmp_path: Path) -> None:
    user = _user(tls_server, tmp_path, "dee")
    work = tmp_path / "w"
    work.mkdir()
    (work / "p.txt").write_text("presigned\n")
    user.aws("s3", "mb", "s3://pre")
    user.aws("s3", "cp", "p.txt", "s3://pre/p.txt", cwd=work)
    url = user.aws("s3", "presign", "s3://pre/p.txt", "--expires-in", "60").stdout.strip()
    curl = ["curl", "-sS", "-w", "\n%{http_code}"]
    if user.ca_bundle is not None:
        curl += ["--cacert", str(user.ca_bundle)]
    got = run([*curl, url], user.env())
    assert got.stdout == "presigned\n\n200", got.stdout

    short = user.aws("s3", "presign", "s3://pre/p.txt", "--expires-in", "1").stdout.strip()
    time.sleep(2.1)
    expired = run([*curl, short], user.env())
    assert expired.stdout.endswith("403")
    assert "<Code>AccessDenied</Code>" in expired.stdout
    assert "expired" in expired.stdout.lower()


def test_checksums_travel_and_come_back(
    tls_server: tuple[Server, Path | None], tmp_path: Path
) -> None:
    """Whatever the transport (real SHA-256 over HTTP, aws-chunked with a CRC trailer over
    HTTPS), the CRC32 the CLI computed is stored and returned on request."""
    user = _user(tls_server, tmp_path, "eli")
    work = tmp_path / "w"
    work.mkdir()
    data = b"checksummed body\n" * 1000
    (work / "c.bin").write_bytes(data)
    user.aws("s3", "mb", "s3://sums")
    user.aws("s3", "cp", "c.bin", "s3://sums/c.bin", cwd=work)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    out = user.aws(
        "s3api",
        "head-object",
        "--bucket",
        "sums",
        "--key",
        "c.bin",
        "--checksum-mode",
        "ENABLED",
    ).stdout
    assert f'"ChecksumCRC32": "{crc}"' in out, out
    client = user.client()
    head = client.head_object(Bucket="sums", Key="c.bin", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == crc
    assert head["ContentLength"] == len(data)


def test_https_puts_are_aws_chunked_with_a_crc_trailer(
    tls_server: tuple[Server, Path | None], tmp_path: Path
) -> None:
    _, ca = tls_server
    if ca is None:
        pytest.skip("botocore sends aws-chunked trailers over HTTPS only")
    user = _user(tls_server, tmp_path, "fay")
    client = user.client()
    seen: dict[str, str] = {}

    def capture(request: Any, **_: Any) -> None:
        for name, value in request.headers.items():
            seen[name.lower()] = value.decode() if isinstance(value, bytes) else value

    client.meta.events.register("before-send.s3.PutObject", capture)
    client.create_bucket(Bucket="chunky")
    data = b"x" * 70_000
    client.put_object(Bucket="chunky", Key="k", Body=data)
    assert seen["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert seen["content-encoding"] == "aws-chunked"
    assert seen["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert seen["x-amz-decoded-content-length"] == str(len(data))
    got = client.get_object(Bucket="chunky", Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert "ChecksumCRC32" in got
    assert "ContentEncoding" not in got  # aws-chunked is not stored


def test_list_object_versions(tls_server: tuple[Server, Path | None], tmp_path: Path) -> None:
    """`aws s3api list-object-versions`, paged by the CLI, lists every object as its null,
    latest version; deleting that version deletes the object."""
    import json

    user = _user(tls_server, tmp_path, "gus")
    user.aws("s3", "mb", "s3://vers")
    client = user.client()
    keys = [f"v{i}" for i in range(5)]
    for key in keys:
        client.put_object(Bucket="vers", Key=key, Body=key.encode())
    out = user.aws("s3api", "list-object-versions", "--bucket", "vers", "--page-size", "2").stdout
    listed = json.loads(out)
    assert [v["Key"] for v in listed["Versions"]] == keys
    assert {(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]} == {("null", True)}
    user.aws("s3api", "delete-object", "--bucket", "vers", "--key", "v0", "--version-id", "null")
    out = user.aws("s3api", "list-object-versions", "--bucket", "vers", "--max-items", "2").stdout
    page = json.loads(out)
    assert [v["Key"] for v in page["Versions"]] == ["v1", "v2"] and "NextToken" in page
    assert user.aws("s3api", "get-bucket-versioning", "--bucket", "vers").stdout.strip() == ""
