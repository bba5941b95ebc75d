"""The object read path, over Swift and S3: damaged bytes, reads racing a DELETE or an
overwrite, and dynamic large objects read the way Swift reads them.

Bodies here are larger than the inline limit (64 KiB), so their bytes are blob files
under `<data-dir>/blobs/aa/bb/<id>` (cumulo/blobs/localfs.py) that a test can damage.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.functional.s3_support import MiB, S3User, error_code, signed, unique
from tests.functional.swift_support import SwiftAccount
from tests.harness import Server

SWIFT_500 = (
    "<html><h1>Internal Error</h1><p>The server has either erred or is incapable of "
    "performing the requested operation.</p></html>"
)


@pytest.fixture(scope="module")
def user(server: Server, tmp_path_factory: pytest.TempPathFactory) -> S3User:
    return S3User.create(server, unique("rd"), "env", "reader", tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def swift(server: Server, user: S3User) -> SwiftAccount:
    return SwiftAccount(server, user.creds)


@pytest.fixture(scope="module")
def s3(user: S3User) -> object:
    return user.client()


def _blob_file(server: Server, data: bytes) -> Path:
    """The blob file holding exactly `data`."""
    for path in (server.data_dir / "blobs").rglob("*"):
        if (
            path.is_file()
            and path.parent.name != "tmp"
            and path.stat().st_size == len(data)
            and path.read_bytes() == data
        ):
            return path
    raise AssertionError("no blob file holds these bytes")


def _stream_get(url: str, headers: dict[str, str]) -> tuple[http.client.HTTPResponse, bytes]:
    """Starts a GET: its status line and headers, and the first 64 KiB of its body."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    conn.request("GET", target, headers=headers)
    response = conn.getresponse()
    return response, response.read(64 * 1024)


# --- a missing or damaged blob: 500 with the protocol's body, before any header ----------


def test_missing_blob_is_a_500_on_both_apis(
    server: Server, user: S3User, swift: SwiftAccount, s3: object
) -> None:
    data = os.urandom(300 * 1024)
    swift.request("PUT", "/dmg").raise_for_status()
    swift.request("PUT", "/dmg/gone.bin", data=data).raise_for_status()
    _blob_file(server, data).unlink()

    for headers in ({}, {"Range": "bytes=10-20"}, {"Range": "bytes=0-1,5-9"}):
        answer = swift.request("GET", "/dmg/gone.bin", headers=headers)
        assert answer.status_code == 500, answer.status_code
        assert answer.text == SWIFT_500
        assert answer.headers["Content-Type"].startswith("text/html")
        answer = _s3_get(user, "/dmg/gone.bin", headers)
        assert answer.status_code == 500
        assert error_code(answer) == "InternalError"
    # Nothing changed: the metadata still names the object (HEAD reads only that).
    assert swift.request("HEAD", "/dmg/gone.bin").status_code == 200
    assert s3.head_object(Bucket="dmg", Key="gone.bin")["ContentLength"] == len(data)  # type: ignore[attr-defined]
    log = server.log()
    assert "/dmg/gone.bin' failed: blob " in log and "is missing" in log


def test_short_blob_is_a_500(server: Server, user: S3User, swift: SwiftAccount) -> None:
    data = os.urandom(200 * 1024)
    swift.request("PUT", "/dmg").raise_for_status()
    swift.request("PUT", "/dmg/short.bin", data=data).raise_for_status()
    path = _blob_file(server, data)
    path.write_bytes(data[: len(data) // 2])
    answer = swift.request("GET", "/dmg/short.bin")
    assert answer.status_code == 500 and answer.text == SWIFT_500
    answer = _s3_get(user, "/dmg/short.bin", {})
    assert answer.status_code == 500 and error_code(answer) == "InternalError"
    # A range within what is left still reads.
    assert (
        swift.request("GET", "/dmg/short.bin", headers={"Range": "bytes=0-9"}).content
        == (data[:10])
    )
    assert "/dmg/short.bin' failed: blob " in server.log()


def test_copy_of_a_short_blob_is_a_500_and_creates_nothing(
    server: Server, user: S3User, swift: SwiftAccount
) -> None:
    """A whole-object copy links the source's blob: short bytes must fail it as they fail
    a GET, not give 200 and a copy that can never be read."""
    data = os.urandom(200 * 1024)
    swift.request("PUT", "/dmg").raise_for_status()
    swift.request("PUT", "/dmg/cut.bin", data=data).raise_for_status()
    _blob_file(server, data).write_bytes(data[:1000])

    answer = signed(
        server,
        "PUT",
        "/dmg/s3-copy.bin",
        access_key=user.access_key,
        secret_key=user.secret_key,
        region=user.region,
        headers={"x-amz-copy-source": "/dmg/cut.bin"},
    )
    assert answer.status_code == 500 and error_code(answer) == "InternalError"
    answer = swift.request("PUT", "/dmg/swift-copy.bin", headers={"X-Copy-From": "dmg/cut.bin"})
    assert answer.status_code == 500 and answer.text == SWIFT_500
    answer = swift.request("COPY", "/dmg/cut.bin", headers={"Destination": "dmg/swift-copy2.bin"})
    assert answer.status_code == 500 and answer.text == SWIFT_500
    for name in ("s3-copy.bin", "swift-copy.bin", "swift-copy2.bin"):
        assert swift.request("HEAD", f"/dmg/{name}").status_code == 404
    assert "/dmg/s3-copy.bin' failed: blob " in server.log()


def test_missing_segment_blob_of_a_manifest_is_a_500(server: Server, swift: SwiftAccount) -> None:
    swift.request("PUT", "/dmg-slo").raise_for_status()
    segments = [os.urandom(100 * 1024), os.urandom(100 * 1024)]
    manifest = []
    for index, data in enumerate(segments):
        swift.request("PUT", f"/dmg-slo/s{index}", data=data).raise_for_status()
        manifest.append({"path": f"/dmg-slo/s{index}"})
    put = swift.request(
        "PUT", "/dmg-slo/m?multipart-manifest=put", data=json.dumps(manifest).encode()
    )
    assert put.status_code == 201
    _blob_file(server, segments[1]).unlink()
    answer = swift.request("GET", "/dmg-slo/m")
    assert answer.status_code == 500 and answer.text == SWIFT_500


def _s3_get(user: S3User, path: str, headers: dict[str, str]) -> requests.Response:
    client = user.client()
    bucket, _, key = path.lstrip("/").partition("/")
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    return requests.get(url, headers=headers, timeout=30)


# --- a DELETE or overwrite landing mid-read: the reader gets the whole old version --------


def test_swift_get_survives_delete_and_overwrite(swift: SwiftAccount) -> None:
    swift.request("PUT", "/race").raise_for_status()
    old = os.urandom(8 * MiB)
    for change in ("delete", "overwrite"):
        swift.request("PUT", "/race/obj", data=old).raise_for_status()
        response, first = _stream_get(
            swift.storage_url + "/race/obj", {"X-Auth-Token": swift.token()}
        )
        assert response.status == 200
        if change == "delete":
            assert swift.request("DELETE", "/race/obj").status_code == 204
            assert swift.request("GET", "/race/obj").status_code == 404
        else:
            swift.request("PUT", "/race/obj", data=b"new" * 100_000).raise_for_status()
        rest = response.read()
        assert first + rest == old


def test_s3_multipart_get_survives_overwrite_and_delete(user: S3User, s3: object) -> None:
    client = user.client()
    client.create_bucket(Bucket="race-mpu")
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(MiB)]
    for change in ("overwrite", "delete"):
        upload = client.create_multipart_upload(Bucket="race-mpu", Key="big")
        done = []
        for number, data in enumerate(parts, 1):
            etag = client.upload_part(
                Bucket="race-mpu",
                Key="big",
                UploadId=upload["UploadId"],
                PartNumber=number,
                Body=data,
            )["ETag"]
            done.append({"PartNumber": number, "ETag": etag})
        client.complete_multipart_upload(
            Bucket="race-mpu",
            Key="big",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": done},
        )
        url = client.generate_presigned_url(
            "get_object", Params={"Bucket": "race-mpu", "Key": "big"}
        )
        response, first = _stream_get(url, {})
        assert response.status == 200
        if change == "overwrite":
            client.put_object(Bucket="race-mpu", Key="big", Body=b"replaced" * 20_000)
        else:
            client.delete_object(Bucket="race-mpu", Key="big")
        rest = response.read()
        assert first + rest == b"".join(parts), change


def test_slo_get_survives_its_segments_being_deleted(swift: SwiftAccount) -> None:
    swift.request("PUT", "/race-slo").raise_for_status()
    segments = [os.urandom(3 * MiB) for _ in range(3)]
    manifest = []
    for index, data in enumerate(segments):
        swift.request("PUT", f"/race-slo/s{index}", data=data).raise_for_status()
        manifest.append({"path": f"/race-slo/s{index}"})
    put = swift.request(
        "PUT", "/race-slo/m?multipart-manifest=put", data=json.dumps(manifest).encode()
    )
    assert put.status_code == 201
    response, first = _stream_get(
        swift.storage_url + "/race-slo/m", {"X-Auth-Token": swift.token()}
    )
    assert response.status == 200
    deleted = swift.request(
        "DELETE", "/race-slo/m?multipart-manifest=delete", headers={"Accept": "application/json"}
    )
    assert deleted.json()["Number Deleted"] == 4
    assert first + response.read() == b"".join(segments)


# --- DLOs: segments read as plain objects, as Swift's dlo middleware does ---------------


def test_dlo_loop_serves_the_other_manifest_body(user: S3User, swift: SwiftAccount) -> None:
    """dl/x -> dl/y -> dl/x: Swift lists `y` for x and reads it with
    multipart-manifest=get, its own body; nothing recurses, nothing loops."""
    swift.request("PUT", "/dl").raise_for_status()
    for name, target, body in (("x", "dl/y", b"body of x"), ("y", "dl/x", b"y's own body")):
        put = swift.request("PUT", f"/dl/{name}", data=body, headers={"X-Object-Manifest": target})
        assert put.status_code == 201
    expected = {"x": b"y's own body", "y": b"body of x"}
    for name, content in expected.items():
        got = swift.request("GET", f"/dl/{name}")
        assert got.status_code == 200 and got.content == content
        inner = hashlib.md5(content).hexdigest()
        assert got.headers["Etag"] == f'"{hashlib.md5(inner.encode()).hexdigest()}"'
        head = swift.request("HEAD", f"/dl/{name}")
        assert head.status_code == 200 and head.headers["Content-Length"] == str(len(content))
        answer = _s3_get(user, f"/dl/{name}", {})
        assert answer.status_code == 200 and answer.content == content
        assert user.client().head_object(Bucket="dl", Key=name)["ContentLength"] == len(content)
    # The manifest itself, as Swift's dlo middleware lets multipart-manifest=get through.
    raw = swift.request("GET", "/dl/x?multipart-manifest=get")
    assert raw.status_code == 200 and raw.content == b"body of x"
    assert raw.headers["Etag"] == hashlib.md5(b"body of x").hexdigest()
    assert raw.headers["X-Object-Manifest"] == "dl/y"


def test_dlo_whose_prefix_matches_its_own_name(user: S3User, swift: SwiftAccount) -> None:
    swift.request("PUT", "/dl").raise_for_status()
    swift.request("PUT", "/dl/d-1", data=b"one").raise_for_status()
    swift.request("PUT", "/dl/d-2", data=b"two").raise_for_status()
    put = swift.request("PUT", "/dl/d-self", data=b"", headers={"X-Object-Manifest": "dl/d-"})
    assert put.status_code == 201
    got = swift.request("GET", "/dl/d-self")
    assert got.status_code == 200 and got.content == b"onetwo"
    assert _s3_get(user, "/dl/d-self", {}).content == b"onetwo"
    # A manifest with a body is one of its own segments, in name order (Swift's docs).
    put = swift.request("PUT", "/dl/d-self", data=b"SELF", headers={"X-Object-Manifest": "dl/d-"})
    assert put.status_code == 201
    assert swift.request("GET", "/dl/d-self").content == b"onetwoSELF"
    ranged = swift.request("GET", "/dl/d-self", headers={"Range": "bytes=4-7"})
    assert ranged.status_code == 206 and ranged.content == b"woSE"


def test_broken_slo_is_409_on_both_apis(user: S3User, swift: SwiftAccount) -> None:
    swift.request("PUT", "/broken").raise_for_status()
    swift.request("PUT", "/broken/s0", data=b"segment zero").raise_for_status()
    manifest = json.dumps([{"path": "/broken/s0"}]).encode()
    assert swift.request("PUT", "/broken/m?multipart-manifest=put", data=manifest).ok
    assert swift.request("DELETE", "/broken/s0").status_code == 204
    assert swift.request("GET", "/broken/m").status_code == 409
    answer = _s3_get(user, "/broken/m", {})
    assert answer.status_code == 409 and error_code(answer) == "BrokenMPU"
